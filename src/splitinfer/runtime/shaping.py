"""In-process bandwidth shaping at the sender, and priority-ordered resources.

A scenario link ``src -> dst`` takes ``latency + slowdown * 8 s / rate`` seconds to carry ``s``
bytes, and a ``fifo`` link carries one transfer at a time (:mod:`splitinfer.system.stages`). The
runtime reproduces that at the process that sends on the link:

* :class:`TokenBucket` paces the bytes: tokens (bytes) accrue at ``rate / 8`` per second up to
  ``burst`` bytes; sending ``n`` bytes takes ``n`` tokens and waits while the balance is negative.
  Each transfer gets a fresh, empty bucket, so a message of ``s`` bytes leaves in ``8 s / rate``
  seconds whatever the link did before (the per-transfer rate cap of the scenario model).
* :class:`LinkShaper` adds the propagation latency (a sleep before the first byte, while the
  link is held) and, on a ``fifo`` link, holds a :class:`PriorityResource` with one slot for the
  whole transfer, so concurrent transfers queue as in the simulator (lower priority first, then
  the time they became ready, then arrival order).

``mode="kernel"`` leaves the rate to the kernel (``tc tbf`` on a veth, see
:mod:`splitinfer.runtime.netns`) and only keeps the FIFO hold and, when the kernel cannot add
delay itself (no ``sch_netem``), the latency sleep; ``mode="none"`` does nothing (unshaped).

Examples
--------
>>> import time
>>> bucket = TokenBucket(rate_bps=8e6)          # 1 MB/s
>>> t0 = time.perf_counter(); waited = bucket.consume(100_000); dt = time.perf_counter() - t0
>>> 0.09 < dt < 0.5
True
>>> res = PriorityResource(slots=1)
>>> with res.hold(priority=0.0, ready=0.0):
...     res.busy
1
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["TokenBucket", "PriorityResource", "LinkShaper", "SHAPING_MODES", "link_shapers"]

SHAPING_MODES = ("bucket", "kernel", "none")


class TokenBucket:
    """A token bucket in bytes: ``rate_bps / 8`` tokens per second, at most ``burst`` saved.

    Parameters
    ----------
    rate_bps : float
        Rate in bit/s.
    burst : float, optional
        Bucket depth in bytes (default 16 KiB): how much unused rate may be saved while idle.
    initial : float
        Tokens at the start (default 0: a new transfer cannot burst).

    Examples
    --------
    >>> TokenBucket(8e6, initial=5000).try_consume(4000)
    True
    """

    def __init__(self, rate_bps: float, burst: float = 16384.0, initial: float = 0.0) -> None:
        if rate_bps <= 0:
            raise ValueError(f"rate must be positive, got {rate_bps}")
        self.rate = rate_bps / 8.0  # bytes per second
        self.burst = float(burst)
        self._tokens = float(initial)
        self._last = time.monotonic()
        self._lock = threading.Lock()

    def _refill(self, now: float) -> None:
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now

    def try_consume(self, n: float) -> bool:
        """Take ``n`` tokens if they are there now; never waits."""
        with self._lock:
            self._refill(time.monotonic())
            if self._tokens >= n:
                self._tokens -= n
                return True
            return False

    def consume(self, n: float) -> float:
        """Take ``n`` tokens, sleeping until the balance is back to zero; returns the wait."""
        with self._lock:
            now = time.monotonic()
            self._refill(now)
            self._tokens -= n
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            _sleep_until(now + wait)
        return wait


def _sleep_until(deadline: float) -> None:
    """Sleep to ``deadline`` (monotonic), finishing with short sleeps for accuracy."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        time.sleep(left if left > 0.002 else left / 2)


class PriorityResource:
    """``slots`` parallel servers; waiting holders are served by (priority, ready, arrival).

    ``slots=None`` means unlimited (holding never waits). This is the service order of the
    simulator (:mod:`splitinfer.sim.engine`): lower priority first, then earlier ready time,
    then first come.
    """

    def __init__(self, slots: int | None = 1) -> None:
        if slots is not None and slots < 1:
            raise ValueError(f"slots must be >= 1 or None, got {slots}")
        self.slots = slots
        self.busy = 0
        self._waiting: list[tuple[float, float, int, int, threading.Event]] = []
        self._seq = itertools.count()
        self._lock = threading.Lock()

    @property
    def waiting(self) -> int:
        """Number of holders waiting for a slot."""
        return len(self._waiting)

    def acquire(self, priority: float = 0.0, ready: float | None = None, order: int = 0) -> None:
        """Wait for a slot; ``order`` (e.g. the task's generation index) breaks ties of ready."""
        ready = time.monotonic() if ready is None else ready
        with self._lock:
            if self.slots is None or (self.busy < self.slots and not self._waiting):
                self.busy += 1
                return
            event = threading.Event()
            heapq.heappush(self._waiting, (priority, ready, order, next(self._seq), event))
        event.wait()

    def release(self) -> None:
        """Free a slot and hand it to the first waiter, if any."""
        with self._lock:
            if self._waiting:
                heapq.heappop(self._waiting)[-1].set()  # the slot passes on; busy is unchanged
            else:
                self.busy -= 1

    @contextmanager
    def hold(self, priority: float = 0.0, ready: float | None = None, order: int = 0
             ) -> Iterator[float]:
        """Hold a slot for the ``with`` block; yields the monotonic time the slot was granted."""
        self.acquire(priority, ready, order)
        try:
            yield time.monotonic()
        finally:
            self.release()


@dataclass
class LinkShaper:
    """The sender's side of one directed link (see the module docstring).

    Parameters
    ----------
    rate : float
        Bit/s (the per-transfer cap; a reserved rate may be lower).
    latency : float
        Seconds added before the first byte.
    slowdown : float
        The scenario's multiplier of ``8 s / rate``: bytes are paced at ``rate / slowdown``.
    fifo : bool
        One transfer at a time (the scenario's ``sharing: fifo``).
    mode : {"bucket", "kernel", "none"}
        Who shapes the rate (module docstring).
    kernel_delay : bool
        In kernel mode, whether the kernel adds the latency (``netem``); if not, we sleep.
    chunk_bytes : int
        Pacing granularity.

    Examples
    --------
    >>> import time
    >>> link = LinkShaper(rate=8e6, latency=0.01)
    >>> with link.transfer() as started:
    ...     t0 = time.monotonic()
    ...     n = sum(len(c) for c in link.pace([b"x" * 50_000]))
    >>> n, 0.05 < time.monotonic() - started < 0.5
    (50000, True)
    """

    rate: float
    latency: float = 0.0
    slowdown: float = 1.0
    fifo: bool = False
    mode: Literal["bucket", "kernel", "none"] = "bucket"
    kernel_delay: bool = False
    chunk_bytes: int = 65536
    _resource: PriorityResource = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.mode not in SHAPING_MODES:
            raise ValueError(f"shaping mode must be one of {SHAPING_MODES}, got {self.mode!r}")
        self._resource = PriorityResource(1 if self.fifo and self.mode != "none" else None)

    @contextmanager
    def transfer(self, priority: float = 0.0, ready: float | None = None, order: int = 0
                 ) -> Iterator[float]:
        """Hold the link for one transfer and wait out its latency; yields the start time."""
        with self._resource.hold(priority, ready, order) as granted:
            if self.mode == "bucket" or (self.mode == "kernel" and not self.kernel_delay):
                _sleep_until(granted + self.latency)
            yield granted

    def pace(self, chunks: Iterable[bytes], rate: float | None = None) -> Iterator[bytes]:
        """Yield ``chunks`` no faster than ``rate`` (the link's by default).

        Each chunk is paid for before it is yielded and the bucket starts empty, so by any time
        ``t`` after the start at most ``rate * t`` bits have left: the last byte leaves no
        earlier than ``8 s / rate``. The bucket may save up to four chunks (or 50 ms of the
        rate) while the transport is busy sending, so the transport's own time overlaps the
        pacing instead of adding to it.
        """
        if self.mode != "bucket":
            yield from chunks
            return
        bucket = self._bucket(rate)
        for chunk in chunks:
            bucket.consume(len(chunk))
            yield chunk

    def _bucket(self, rate: float | None) -> TokenBucket:
        bps = (rate or self.rate) / self.slowdown
        return TokenBucket(bps, burst=max(4 * self.chunk_bytes, bps / 8 * 0.05))

    def delay(self, nbytes: float, rate: float | None = None) -> None:
        """Wait as long as sending ``nbytes`` would take (used for a unary response)."""
        if self.mode == "bucket" and nbytes > 0:
            bucket = self._bucket(rate)
            left = float(nbytes)
            while left > 0:
                step = min(left, self.chunk_bytes)
                bucket.consume(step)
                left -= step


def link_shapers(scenario, src: str, mode: str = "bucket", kernel_delay: bool = False,
                 chunk_bytes: int = 65536) -> dict[str, LinkShaper]:
    """One :class:`LinkShaper` per scenario link leaving ``src``, keyed by destination.

    Bytes are paced at ``rate / slowdown``, so a transfer takes ``latency + slowdown * 8 s /
    rate`` as in :meth:`splitinfer.system.entities.Link.time`.

    Examples
    --------
    >>> from splitinfer.system.load import scenario_from_dict
    >>> sc = scenario_from_dict({
    ...     "nodes": [{"name": "d", "kind": "device", "compute": {"flops_per_s": 1e9}},
    ...               {"name": "e", "kind": "edge", "compute": {"flops_per_s": 1e9}}],
    ...     "links": [{"src": "d", "dst": "e", "bandwidth": "8Mbps", "latency": "5ms",
    ...                "slowdown": 2, "sharing": "fifo"}],
    ...     "models": {"m": {"cuts": [{"transfer_bytes": 1}, {"transfer_bytes": 1}]}},
    ...     "workload": {"tasks": [{"device": "d", "model": "m"}]}})
    >>> s = link_shapers(sc, "d")["e"]
    >>> s.rate / s.slowdown, s.latency, s.fifo
    (4000000.0, 0.005, True)
    """
    out = {}
    for (a, b), link in scenario.links.items():
        if a == src:
            out[b] = LinkShaper(rate=link.rate, latency=link.latency, slowdown=link.slowdown,
                                fifo=link.sharing == "fifo", mode=mode, kernel_delay=kernel_delay,
                                chunk_bytes=chunk_bytes)
    return out
