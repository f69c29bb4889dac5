"""Starting and stopping the processes of a run (``splitinfer serve ...`` / ``device ...``).

Each process is the ``splitinfer`` command line run by this Python interpreter, with its output
in ``<run dir>/logs/<name>.log``, one intra-op thread (``OMP_NUM_THREADS=1``; the commands also
call ``torch.set_num_threads(1)``), and the shared secret, if any, in its environment rather
than on its command line. Readiness and hand-overs go through small files in the run directory
(a process writes its ``--ready-file`` when it serves), which works the same inside network
namespaces, where the driver cannot reach the processes' sockets.

Examples
--------
>>> cli_argv("serve", "worker", "--help")[-3:]
['serve', 'worker', '--help']
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from splitinfer.errors import SplitInferError

__all__ = ["cli_argv", "Launcher", "ProcessDied"]

_ENTRY = "import sys; from splitinfer.cli import main; main(sys.argv[1:])"


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
    """

    def __init__(self, run_dir: str | Path, token: str | None = None) -> None:
        self.run_dir = Path(run_dir)
        (self.run_dir / "logs").mkdir(parents=True, exist_ok=True)
        self.token = token
        self.procs: dict[str, subprocess.Popen] = {}
        self._logs: dict[str, Path] = {}

    def start(self, name: str, argv: list[str], prefix: list[str] | None = None
              ) -> subprocess.Popen:
        """Start ``prefix + argv`` as process ``name``."""
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "PYTHONUNBUFFERED": "1"}
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
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(grace)

    def stop_all(self) -> None:
        """Stop every process started here."""
        for name in list(self.procs):
            self.stop(name)
