"""Starting and stopping the processes of a run (``splitinfer serve ...`` / ``device ...``).

Each process is the ``splitinfer`` command line run by this Python interpreter, with its output
in ``<run dir>/logs/<name>.log``, one intra-op thread (``OMP_NUM_THREADS=1``; the commands also
call ``torch.set_num_threads(1)``), and the shared secret, if any, in its environment rather
than on its command line. Readiness and hand-overs go through small files in the run directory
(a process writes its ``--ready-file`` when it serves), which works the same inside network
namespaces, where the driver cannot reach the processes' sockets.

No orphans: every process is started in its own process group (so a terminal's Ctrl-C reaches
the driver only, which then stops them all, and :meth:`Launcher.stop` signals the whole group),
with a parent-death signal (Linux ``prctl(PR_SET_PDEATHSIG, SIGKILL)``, set first thing in the
child) and, everywhere, a watch in the child (:func:`child_main`) that exits when its parent process is
gone. So when the driver dies, even by ``SIGKILL``, its workers, devices and controller die with
it and free their ports. :func:`terminate_like_interrupt` makes ``SIGTERM`` stop the driver the
way Ctrl-C does (its ``finally`` blocks stop the processes).

Examples
--------
>>> cli_argv("serve", "worker", "--help")[-3:]
['serve', 'worker', '--help']
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from splitinfer.errors import SplitInferError

__all__ = ["cli_argv", "Launcher", "ProcessDied", "child_main", "terminate_like_interrupt",
           "PARENT_ENV"]

_ENTRY = "import sys; from splitinfer.runtime.launch import child_main; child_main(sys.argv[1:])"
#: Environment variable holding the pid of the process that started this one.
PARENT_ENV = "SPLITINFER_PARENT_PID"
_PR_SET_PDEATHSIG = 1


def _prctl() -> object | None:
    """libc's ``prctl`` (Linux), looked up before any fork; ``None`` elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _prctl()


def _die_with_parent(parent: int) -> None:
    """In a launched process: ask for SIGKILL when ``parent`` dies, and exit now if it already
    has (it is no longer this process's parent).

    Set here, after exec, rather than in a ``preexec_fn`` between fork and exec: with a
    ``preexec_fn`` CPython runs the interpreter's fork hooks and takes the import lock before
    forking, and a pytest worker that had served gRPC once hung there for good (a wait no
    timeout could break). The check of the parent after the ``prctl`` closes the window in
    which the parent could die before it."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent:
        raise SystemExit(1)


def _watch_parent(parent: int, interval: float = 0.5) -> None:
    """Exit this process as soon as ``parent`` is no longer its parent (it died)."""
    def run() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os._exit(1)

    threading.Thread(target=run, name="parent-watch", daemon=True).start()


#: The GIL switch interval of the run's processes (Python's default is 5 ms).
SWITCH_INTERVAL_S = 5e-4


def fine_switching() -> None:
    """Let a thread that waits for the GIL have it after at most :data:`SWITCH_INTERVAL_S`.

    A device or worker runs every stage of every task in its own thread: while one computes a
    piece (Python between torch's operators holds the GIL), another paces a transfer's bytes or
    takes a slot that was just handed to it. At Python's default of 5 ms such a thread waited up
    to 5 ms per hand-over, a delay the simulator has no notion of (docs/runtime.md, *The
    stage-graph executor*).
    """
    sys.setswitchinterval(SWITCH_INTERVAL_S)


#: How much lower than the rest of its process a thread that computes a piece runs (nice steps).
COMPUTE_NICE = 10


@contextlib.contextmanager
def background_compute() -> Iterator[None]:
    """Within this block, the calling thread (one that computes a piece) runs
    :data:`COMPUTE_NICE` steps below the other threads of its process (Linux, where a thread
    has its own nice value; a no-op elsewhere or where it is not allowed).

    A node of a run is pinned to its own CPU. There, a thread that sends a finished piece's
    tensors, takes a link that was just handed over, or answers a call shares that CPU with the
    thread that has started computing the next piece; at equal priority the scheduler let the
    sender wait for the computation's time slice, 3-15 ms per hand-over in the stage tables of
    fused-layer tiles (Li et al., 2022) and of bursts of uploads (Duan & Wu, 2021). On a real
    device the network stack does not wait for the application's computation, and the simulator
    starts a transfer when its data and its link are ready; so compute threads yield the CPU to
    the run's control and transfer threads at once. CPU time spent sending still slows the
    computation, as it would on the device. Every computation of a run does this: the route's
    compute stages, a worker timing its pieces and a device's stand-in
    (:mod:`splitinfer.runtime.calibrate`), so that they share a CPU as equals. Only the
    computation: a compute stage waits for its slot, holds its paced time and hands the slot on
    at the thread's own priority (where raising it back is not allowed, e.g. an unprivileged
    user, the thread stays below; a stage's thread ends with its stage).

    Examples
    --------
    >>> with background_compute():
    ...     pass
    """
    tid = threading.get_native_id()
    before = None
    if sys.platform.startswith("linux"):
        try:
            before = os.getpriority(os.PRIO_PROCESS, tid)
            os.setpriority(os.PRIO_PROCESS, tid, min(19, before + COMPUTE_NICE))
        except (OSError, AttributeError):
            before = None
    try:
        yield
    finally:
        if before is not None:
            with contextlib.suppress(OSError):  # raising priority back needs the privilege
                os.setpriority(os.PRIO_PROCESS, tid, before)


def child_main(argv: list[str]) -> None:
    """Entry point of a launched process: run ``splitinfer ARGV``, dying with the launcher.

    The launcher's pid comes in :data:`PARENT_ENV`. (Behind ``ip netns exec`` the launcher is
    still the parent: ``ip`` replaces itself with the command.)
    """
    parent = os.environ.get(PARENT_ENV, "")
    if parent.isdigit():
        _die_with_parent(int(parent))
        _watch_parent(int(parent))
    fine_switching()
    from splitinfer.cli import main

    main(argv)


@contextlib.contextmanager
def terminate_like_interrupt() -> Iterator[None]:
    """Within this block (main thread only), ``SIGTERM`` raises ``KeyboardInterrupt`` as Ctrl-C
    does, so cleanup runs; the previous handler is restored after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class ProcessDied(SplitInferError, RuntimeError):
    """A process of the run exited early; the message holds the tail of its log."""


def cli_argv(*args: str) -> list[str]:
    """The argv that runs ``splitinfer ARGS`` with this interpreter."""
    return [sys.executable, "-c", _ENTRY, *args]


class Launcher:
    """Starts named processes, waits for their files, and stops them all.

    Parameters
    ----------
    run_dir : path
        Where ``logs/`` goes.
    token : str, optional
        Put in each process's environment as ``SPLITINFER_TOKEN``.
    env : dict, optional
        More environment for every process (e.g. the ``SPLITINFER_TLS_*`` client settings).
    """

    def __init__(self, run_dir: str | Path, token: str | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.run_dir = Path(run_dir)
        (self.run_dir / "logs").mkdir(parents=True, exist_ok=True)
        self.token = token
        self.env = dict(env or {})
        self.procs: dict[str, subprocess.Popen] = {}
        self._logs: dict[str, Path] = {}

    def start(self, name: str, argv: list[str], prefix: list[str] | None = None
              ) -> subprocess.Popen:
        """Start ``prefix + argv`` as process ``name``."""
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "PYTHONUNBUFFERED": "1", PARENT_ENV: str(os.getpid()), **self.env}
        if self.token:
            env["SPLITINFER_TOKEN"] = self.token
        log = self.run_dir / "logs" / f"{name}.log"
        with open(log, "wb") as fh:
            proc = subprocess.Popen([*(prefix or []), *argv], stdout=fh, stderr=subprocess.STDOUT,
                                    env=env, start_new_session=True)
        self.procs[name] = proc
        self._logs[name] = log
        return proc

    def log_tail(self, name: str, lines: int = 15) -> str:
        """The last lines of a process's log."""
        try:
            return "\n".join(self._logs[name].read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def check_alive(self, names: list[str] | None = None) -> None:
        """Raise :class:`ProcessDied` if one of ``names`` (default all) has exited."""
        for name in names or list(self.procs):
            code = self.procs[name].poll()
            if code is not None:
                raise ProcessDied(f"process {name!r} exited with status {code}:\n"
                                  f"{self.log_tail(name)}")

    def wait_files(self, paths: list[Path], timeout: float, watch: list[str] | None = None) -> None:
        """Wait until every path exists, checking that the watched processes still run."""
        deadline = time.monotonic() + timeout
        while not all(p.exists() for p in paths):
            self.check_alive(watch)
            if time.monotonic() > deadline:
                missing = [str(p) for p in paths if not p.exists()]
                raise TimeoutError(f"waited {timeout:.0f} s for {missing}")
            time.sleep(0.05)

    def stop(self, name: str, grace: float = 3.0) -> None:
        """Terminate one process (then kill it after ``grace`` seconds)."""
        proc = self.procs.get(name)
        if proc is None or proc.poll() is not None:
            return
        self._signal(proc, signal.SIGTERM)
        self._signal(proc, signal.SIGCONT)  # a stopped process (pause) takes its SIGTERM now
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            self._signal(proc, signal.SIGKILL)
            proc.wait(grace)

    def pause(self, name: str) -> None:
        """Stop process ``name`` with ``SIGSTOP`` (fault injection: alive, but it answers
        nothing; :meth:`stop` still ends it, ``SIGKILL`` reaching a stopped process)."""
        proc = self.procs.get(name)
        if proc is not None and proc.poll() is None:
            self._signal(proc, signal.SIGSTOP)

    @staticmethod
    def _signal(proc: subprocess.Popen, sig: int) -> None:
        """Signal the process's group (it leads one), or the process if the group is gone."""
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(sig)

    def stop_all(self) -> None:
        """Stop every process started here."""
        for name in list(self.procs):
            self.stop(name)
