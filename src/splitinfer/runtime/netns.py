"""Kernel-mode shaping: one network namespace per node, veth pairs per link, ``tc`` on each end.

For a scenario, :class:`NetnsTopology` creates (as root, Linux only):

* a namespace ``<prefix>-<k>`` for every node (and one for the controller);
* for every pair of nodes joined by a link in either direction, a veth pair with one end in each
  namespace, addresses ``10.200.<k>.1/24`` and ``10.200.<k>.2/24`` (private addresses inside our
  own namespaces; nothing else is ever a target);
* on each end, an egress ``tbf`` qdisc at the link's ``rate / slowdown`` from that end (token
  bucket filter: ``burst`` a few packets, a queue of about 200 ms so TCP is paced, not dropped),
  under a ``netem delay <latency>`` qdisc when the kernel has ``sch_netem``; without it the
  sending process sleeps the latency itself (:class:`~splitinfer.runtime.shaping.LinkShaper`
  with ``kernel_delay=False``);
* unshaped veth pairs ``10.201.<k>.0/24`` from the controller's namespace to every device.

A link whose bandwidth follows a trace (``docs/traces.md``) starts at its rate at time 0;
:meth:`NetnsTopology.follow_traces` then changes each such ``tbf`` with ``tc qdisc change`` on
the trace's schedule from the run's epoch, in windows of at least :data:`TC_STEP_S` (the mean
rate of each window: ``tc`` cannot follow a Mahimahi trace's every millisecond).

Processes are started inside a namespace with ``ip netns exec``. :meth:`NetnsTopology.delete`
removes every namespace (and with them the veth ends); use the topology as a context manager so
that happens on errors too. A topology records its owner's pid in ``OWNERS/<prefix>``; when the
owner died without deleting it (``SIGKILL``), the next topology created on the machine removes
those namespaces first (:func:`sweep_stale`). :func:`netns_permitted` says whether this machine allows it at all.

Examples
--------
>>> tbf_args(8e6)[:4]
['tbf', 'rate', '8000000bit', 'burst']
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from splitinfer.system.scenario import Scenario

__all__ = ["netns_permitted", "NetnsTopology", "tbf_args", "CONTROLLER_NODE", "sweep_stale",
           "OWNERS", "TraceFollower", "TC_STEP_S"]

CONTROLLER_NODE = "__controller__"
#: Shortest time between two ``tc qdisc change`` of one traced link (seconds).
TC_STEP_S = 0.05
#: Lowest rate given to ``tbf`` (an outage in a trace): 8 kbit/s.
TC_MIN_RATE = 8000.0
#: Where topologies record the pid that owns them (root only, like the namespaces).
OWNERS = Path("/run/splitinfer-netns")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale(owners: Path | None = None) -> list[str]:
    """Delete the namespaces of topologies whose owner process is gone; their names.

    Returns
    -------
    list of str
        The namespaces removed.
    """
    owners = owners or OWNERS
    removed: list[str] = []
    if not owners.is_dir():
        return removed
    for f in owners.iterdir():
        try:
            pid = int(f.read_text().strip() or "0")
        except (OSError, ValueError):
            continue
        if pid > 0 and _alive(pid):
            continue
        listing = _ip("netns", "list", check=False).stdout
        for line in listing.splitlines():
            name = line.split()[0] if line.split() else ""
            if name.startswith(f"{f.name}-"):
                _ip("netns", "del", name, check=False)
                removed.append(name)
        f.unlink(missing_ok=True)
    return removed


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check, timeout=20)


def netns_permitted() -> bool:
    """Whether ``ip netns add`` works here (root, the ``ip`` tool, a kernel that allows it)."""
    if shutil.which("ip") is None or shutil.which("tc") is None or os.geteuid() != 0:
        return False
    name = f"si-probe-{secrets.token_hex(4)}"
    try:
        if _ip("netns", "add", name, check=False).returncode != 0:
            return False
        _ip("netns", "del", name, check=False)
        return True
    except (OSError, subprocess.SubprocessError):
        return False


def tbf_args(rate_bps: float) -> list[str]:
    """``tc`` arguments of a token bucket filter at ``rate_bps``.

    ``burst`` is two full-size packets or 2 ms of the rate, whichever is larger; ``limit`` is
    the queue (200 ms of the rate, at least 256 KiB) beyond which the kernel would drop.
    """
    burst = int(max(2 * 1514, rate_bps / 8 * 0.002))
    limit = int(max(256 * 1024, rate_bps / 8 * 0.2))
    return ["tbf", "rate", f"{int(rate_bps)}bit", "burst", str(burst), "limit", str(limit)]


@dataclass
class NetnsTopology:
    """Namespaces and shaped veth pairs for a scenario (module docstring).

    Parameters
    ----------
    scenario : Scenario
    prefix : str, optional
        Namespace name prefix; random by default so that runs never collide.

    Attributes
    ----------
    namespaces : dict
        Node name (and ``CONTROLLER_NODE``) -> namespace name.
    addresses : dict
        ``(src, dst)`` -> the IP of ``dst`` on the veth pair that joins it to ``src``.
    kernel_delay : bool
        Whether netem adds the link latencies (else the senders sleep them).
    """

    scenario: Scenario
    prefix: str = field(default_factory=lambda: f"si{secrets.token_hex(3)}")
    namespaces: dict[str, str] = field(default_factory=dict)
    addresses: dict[tuple[str, str], str] = field(default_factory=dict)
    kernel_delay: bool = False
    _created: list[str] = field(default_factory=list)
    _traced: list[tuple[str, str, str, str]] = field(default_factory=list)

    def __enter__(self) -> NetnsTopology:
        self.create()
        return self

    def __exit__(self, *exc: object) -> None:
        self.delete()

    def create(self) -> None:
        """Create everything; on any failure, remove what was made and raise.

        First removes the namespaces of topologies whose owner died (:func:`sweep_stale`), and
        records this process as the owner of this one.
        """
        sweep_stale()
        try:
            OWNERS.mkdir(parents=True, exist_ok=True)
            (OWNERS / self.prefix).write_text(str(os.getpid()))
            self._create()
        except BaseException:
            self.delete()
            raise

    def _add_ns(self, node: str) -> str:
        name = f"{self.prefix}-{len(self.namespaces)}"
        _ip("netns", "add", name)
        self._created.append(name)
        _ip("-n", name, "link", "set", "lo", "up")
        self.namespaces[node] = name
        return name

    def _veth(self, k: int, a: str, b: str, net: int) -> tuple[str, str, str, str]:
        tag = "v" if net == 200 else "c"
        ea, eb = f"{self.prefix}{tag}{k}a", f"{self.prefix}{tag}{k}b"
        na, nb = self.namespaces[a], self.namespaces[b]
        _ip("link", "add", ea, "netns", na, "type", "veth", "peer", "name", eb, "netns", nb)
        ipa, ipb = f"10.{net}.{k}.1", f"10.{net}.{k}.2"
        _ip("-n", na, "addr", "add", f"{ipa}/24", "dev", ea)
        _ip("-n", nb, "addr", "add", f"{ipb}/24", "dev", eb)
        _ip("-n", na, "link", "set", ea, "up")
        _ip("-n", nb, "link", "set", eb, "up")
        return ea, eb, ipa, ipb

    def _shape(self, ns: str, dev: str, src: str, dst: str) -> None:
        link = self.scenario.links.get((src, dst))
        if link is None:
            return
        rate = link.rate / link.slowdown
        if link.trace is not None:
            self._traced.append((ns, dev, src, dst))
        tc = ["ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", dev]
        if self.kernel_delay and link.latency > 0:
            subprocess.run([*tc, "root", "handle", "1:", "netem", "delay",
                            f"{link.latency * 1e6:.0f}us"], check=True, capture_output=True)
            subprocess.run([*tc, "parent", "1:", "handle", "2:", *tbf_args(rate)], check=True,
                           capture_output=True)
        else:
            subprocess.run([*tc, "root", *tbf_args(rate)], check=True, capture_output=True)

    def _netem_available(self, ns: str) -> bool:
        r = subprocess.run(["ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", "lo", "root",
                            "netem", "delay", "1ms"], capture_output=True)
        if r.returncode == 0:
            subprocess.run(["ip", "netns", "exec", ns, "tc", "qdisc", "del", "dev", "lo", "root"],
                           capture_output=True)
        return r.returncode == 0

    def _create(self) -> None:
        sc = self.scenario
        for node in sc.nodes:
            self._add_ns(node)
        self._add_ns(CONTROLLER_NODE)
        self.kernel_delay = self._netem_available(self.namespaces[CONTROLLER_NODE])
        pairs = sorted({tuple(sorted(k)) for k in sc.links})
        if len(pairs) > 250 or len(sc.devices) > 250:
            raise ValueError("kernel mode supports at most 250 node pairs and 250 devices")
        for k, (a, b) in enumerate(pairs):
            ea, eb, ipa, ipb = self._veth(k, a, b, 200)
            self.addresses[(a, b)] = ipb
            self.addresses[(b, a)] = ipa
            self._shape(self.namespaces[a], ea, a, b)
            self._shape(self.namespaces[b], eb, b, a)
        for k, dev in enumerate(sc.devices):
            _, _, ipc, ipd = self._veth(k, CONTROLLER_NODE, dev, 201)
            self.addresses[(dev, CONTROLLER_NODE)] = ipc

    def rate_schedule(self, until: float, step: float = TC_STEP_S
                      ) -> list[tuple[float, list[str]]]:
        """``(time, tc command)`` pairs that make every traced link follow its trace up to
        ``until`` seconds after the epoch (the first window is the rate set at creation)."""
        out = []
        for ns, dev, src, dst in self._traced:
            link = self.scenario.links[(src, dst)]
            times, rates = link.trace.coarse(max(step, TC_STEP_S), until)
            where = (["parent", "1:", "handle", "2:"] if self.kernel_delay and link.latency > 0
                     else ["root"])
            for t, r in zip(times[1:].tolist(), rates[1:].tolist(), strict=True):
                rate = max(round(r / link.slowdown), TC_MIN_RATE)
                out.append((t, ["ip", "netns", "exec", ns, "tc", "qdisc", "change", "dev", dev,
                                *where, *tbf_args(rate)]))
        return sorted(out, key=lambda x: x[0])

    def follow_traces(self, epoch: float, until: float) -> TraceFollower:
        """Start changing the traced links' rates on schedule (monotonic ``epoch`` = time 0);
        :meth:`TraceFollower.stop` ends it."""
        follower = TraceFollower(self.rate_schedule(until), epoch)
        follower.start()
        return follower

    def exec_prefix(self, node: str) -> list[str]:
        """The command prefix that runs a program inside ``node``'s namespace."""
        return ["ip", "netns", "exec", self.namespaces[node]]

    def delete(self) -> None:
        """Remove every namespace this topology created (veth ends go with them)."""
        while self._created:
            _ip("netns", "del", self._created.pop(), check=False)
        (OWNERS / self.prefix).unlink(missing_ok=True)


class TraceFollower(threading.Thread):
    """Runs ``tc`` commands at their times after ``epoch`` (see :meth:`NetnsTopology.follow_traces`).

    Examples
    --------
    >>> import time
    >>> f = TraceFollower([(0.0, ["true"])], time.monotonic()); f.start(); f.join(5)
    >>> f.applied, f.failed
    (1, 0)
    """

    def __init__(self, schedule: list[tuple[float, list[str]]], epoch: float) -> None:
        super().__init__(daemon=True, name="trace-follower")
        self.schedule, self.epoch = schedule, epoch
        self.applied = self.failed = 0
        self._halt = threading.Event()

    def run(self) -> None:
        """Apply each command at its time from the epoch, until :meth:`stop`."""
        for t, argv in self.schedule:
            if self._halt.wait(max(0.0, self.epoch + t - time.monotonic())):
                return
            r = subprocess.run(argv, capture_output=True, timeout=20)
            if r.returncode == 0:
                self.applied += 1
            else:
                self.failed += 1

    def stop(self) -> None:
        """Stop before the next change."""
        self._halt.set()
