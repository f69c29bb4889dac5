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

On a link whose bandwidth follows a trace (``docs/traces.md``), :class:`TraceClock` paces instead
of the bucket: the bytes of a transfer leave on the trace's rate schedule, counted from the run's
epoch (the scenario's time 0, :meth:`LinkShaper.set_epoch`; the runtime sends it with each
route), integrated over the trace exactly as the simulator does
(:meth:`splitinfer.traces.BandwidthTrace.finish`). The latency is still slept before the first
byte, where the simulator adds it after the last one: the two differ by the rate change during
that latency, at most.

A ``reserved`` link that names a *pool* (Huang et al. 2019's shared capacity B_e) holds the
transfer's reserved rate from that pool for the whole transfer, as the simulator does: a
transfer whose rate does not fit in what the pool has left waits until transfers of the pool
end (:class:`PoolBank`). The links of one pool are sent on by several processes (phones
uploading, an edge returning results), so within a run the pool's level lives in a file per
pool, under the directory ``$SPLITINFER_POOL_DIR`` (``run`` sets it), changed under an exclusive
``flock``; without it (one process) it lives in memory.

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

import fcntl
import hashlib
import heapq
import itertools
import os
import re
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from splitinfer.system.order import service_key

__all__ = ["TokenBucket", "Ticket", "PriorityResource", "LinkShaper", "SHAPING_MODES", "link_shapers",
           "TraceClock", "PoolBank", "POOL_DIR_ENV", "pool_bank"]

#: Environment variable naming the directory that holds a run's pool levels (one file a pool).
POOL_DIR_ENV = "SPLITINFER_POOL_DIR"

SHAPING_MODES = ("bucket", "kernel", "none")

#: How long a free slot waits for a waiter whose ready time has come but who has not come to
#: wait yet (its thread is waking up); after that the slot goes to the next waiter.
HOLD_FOR_LATE_S = 0.25

#: A task's ``(arrival, index)``: the service order's tie-break after priority and ready time.
Order = tuple[float, int]


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


class TraceClock:
    """Paces the bytes of one transfer on a bandwidth trace's rate schedule.

    The scenario time at which the bytes paid so far are all sent is kept; paying ``n`` more
    moves it to ``trace.finish(t, 8 n slowdown)`` and sleeps until then (monotonic
    ``epoch + t``). A caller that comes late (the transport was busy) may catch up on at most
    ``ahead`` seconds of the schedule, as the token bucket's saved tokens allow.

    Parameters
    ----------
    trace : BandwidthTrace
    epoch : float
        Monotonic time of the trace's time 0.
    slowdown : float
        The link's multiplier of the ideal time (bytes are paced ``slowdown`` times slower).
    ahead : float
        Seconds of the schedule a late caller may catch up on.

    Examples
    --------
    >>> import time
    >>> from splitinfer.traces import BandwidthTrace
    >>> epoch = time.monotonic() + 0.3       # the trace's time 0, a little ahead
    >>> clock = TraceClock(BandwidthTrace([0, 0.05], [8e6, 8e5]), epoch)
    >>> w = clock.consume(50_000) + clock.consume(5_000)  # 50 ms at 1 MB/s, then 50 ms at 0.1 MB/s
    >>> round(clock.t, 9), time.monotonic() >= epoch + 0.1
    (0.1, True)
    """

    def __init__(self, trace, epoch: float, slowdown: float = 1.0, ahead: float = 0.05) -> None:
        self.trace = trace
        self.epoch = float(epoch)
        self.slowdown = float(slowdown)
        self.ahead = float(ahead)
        self.t = max(0.0, time.monotonic() - self.epoch)

    def consume(self, n: float) -> float:
        """Pay for ``n`` bytes; sleep until the schedule has sent them; return the wait."""
        now = time.monotonic() - self.epoch
        self.t = self.trace.finish(max(self.t, now - self.ahead), 8.0 * n * self.slowdown)
        wait = self.t - now
        if wait > 0:
            _sleep_until(self.epoch + self.t)
        return max(wait, 0.0)


def _sleep_until(deadline: float) -> None:
    """Sleep to ``deadline`` (monotonic), finishing with short sleeps for accuracy."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        time.sleep(left if left > 0.002 else left / 2)


class Ticket:
    """A place in a :class:`PriorityResource`'s queue, taken before the holder is ready.

    ``key`` is the service-order key (:func:`splitinfer.system.order.service_key` of priority,
    ready, and the task's arrival and index); ``ready`` the monotonic time
    from which the holder wants the slot.
    """

    __slots__ = ("key", "ready", "active", "event")

    def __init__(self, key: tuple, ready: float) -> None:
        self.key = key
        self.ready = ready
        self.active = False
        self.event = threading.Event()


class PriorityResource:
    """``slots`` parallel servers; waiting holders are served by (priority, ready, order).

    ``slots=None`` means unlimited (holding never waits). This is the service order of the
    simulator (:mod:`splitinfer.sim.engine`): lower priority first, then earlier ready time,
    then ``order`` (the task's arrival and generation index).

    A holder may take its place early (:meth:`register`, e.g. a device registers each task's
    first stage in arrival order when it admits the task) and wait for the slot later
    (:meth:`wait`). A free slot goes to the first waiter in key order among those whose ready
    time has come: if that waiter has not come to wait yet (its thread is still waking up at its
    ready time), the slot waits for it rather than going to a later key that happened to be
    scheduled first (for at most ``HOLD_FOR_LATE_S``: a place whose holder never comes does not
    block the resource). So threads that wake at the same moment are served in the plan's order.
    """

    def __init__(self, slots: int | None = 1) -> None:
        if slots is not None and slots < 1:
            raise ValueError(f"slots must be >= 1 or None, got {slots}")
        self.slots = slots
        self.busy = 0
        self._waiting: list[tuple[tuple, int, Ticket]] = []
        self._seq = itertools.count()
        self._lock = threading.Lock()

    @property
    def waiting(self) -> int:
        """Number of holders waiting for a slot (registered ones included)."""
        return len(self._waiting)

    def register(self, priority: float = 0.0, ready: float | None = None, order: Order = (0.0, 0)
                 ) -> Ticket:
        """Take a place in the queue now; :meth:`wait` on the ticket from ``ready`` on."""
        ready = time.monotonic() if ready is None else ready
        arrival, index = order
        ticket = Ticket(service_key(priority, ready, arrival, index), ready)
        with self._lock:
            heapq.heappush(self._waiting, (ticket.key, next(self._seq), ticket))
        return ticket

    def wait(self, ticket: Ticket, timeout: float | None = None) -> None:
        """Wait for the slot of a registered ``ticket``.

        Raises
        ------
        TimeoutError
            No slot within ``timeout`` seconds (the ticket leaves the queue).
        """
        with self._lock:
            ticket.active = True
            self._grant()
        if ticket.event.wait(timeout):
            return
        with self._lock:
            if ticket.event.is_set():
                return
            self._remove(ticket)
        raise TimeoutError(f"no slot within {timeout:.3g} s")

    def cancel(self, ticket: Ticket) -> None:
        """Give up a registered ticket that was never waited on (or free its slot if granted)."""
        with self._lock:
            if ticket.event.is_set():
                self.busy -= 1
            else:
                self._remove(ticket)
            self._grant()

    def _remove(self, ticket: Ticket) -> None:
        self._waiting = [w for w in self._waiting if w[2] is not ticket]
        heapq.heapify(self._waiting)
        self._grant()

    def _grant(self) -> None:
        """Hand free slots to waiters in key order (lock held; see the class docstring)."""
        if self.slots is None:  # unlimited: every waiter that has come is served at once
            ready = [w for w in self._waiting if w[2].active]
            if ready:
                self._waiting = [w for w in self._waiting if not w[2].active]
                heapq.heapify(self._waiting)
                for w in ready:
                    self.busy += 1
                    w[2].event.set()
            return
        while self._waiting and (self.slots is None or self.busy < self.slots):
            now = time.monotonic()
            first = next((w for w in sorted(self._waiting) if w[2].active
                          or now - HOLD_FOR_LATE_S <= w[2].ready <= now), None)
            if first is None:
                return
            if not first[2].active:  # hold the slot for it a little; then serve the others
                timer = threading.Timer(first[2].ready + HOLD_FOR_LATE_S - now + 1e-3,
                                        self._regrant)
                timer.daemon = True
                timer.start()
                return
            self._waiting.remove(first)
            heapq.heapify(self._waiting)
            self.busy += 1
            first[2].event.set()

    def _regrant(self) -> None:
        with self._lock:
            self._grant()

    def acquire(self, priority: float = 0.0, ready: float | None = None, order: Order = (0.0, 0),
                timeout: float | None = None) -> None:
        """Wait for a slot; ``order``, the task's ``(arrival, index)``, breaks ties of ready."""
        self.wait(self.register(priority, ready, order), timeout)

    def release(self) -> None:
        """Free a slot and hand it to the first waiter, if any."""
        with self._lock:
            self.busy -= 1
            self._grant()

    @contextmanager
    def hold(self, priority: float = 0.0, ready: float | None = None, order: Order = (0.0, 0),
             ticket: Ticket | None = None, timeout: float | None = None) -> Iterator[float]:
        """Hold a slot for the ``with`` block; yields the monotonic time the slot was granted."""
        if ticket is None:
            ticket = self.register(priority, ready, order)
        self.wait(ticket, timeout)
        try:
            yield time.monotonic()
        finally:
            self.release()


class PoolBank:
    """Shared capacities (bit/s) that reserved transfers hold while they run (module docstring).

    Parameters
    ----------
    directory : path, optional
        Where the levels live, one file per pool, shared by every process of a run; ``None``
        keeps them in this process.

    Examples
    --------
    >>> bank = PoolBank()
    >>> bank.acquire("edge.access", 40e6, 30e6)
    >>> bank.acquire("edge.access", 40e6, 20e6, timeout=0.05)
    Traceback (most recent call last):
    ...
    TimeoutError: pool 'edge.access': 2e+07 bit/s not free within 0.05 s
    >>> bank.release("edge.access", 30e6)
    >>> bank.acquire("edge.access", 40e6, 20e6, timeout=0.05)
    """

    def __init__(self, directory: str | os.PathLike | None = None) -> None:
        self.directory = None if directory is None else os.fspath(directory)
        self._cond = threading.Condition()
        self._used: dict[str, float] = {}

    def _path(self, pool: str) -> str:
        # A readable stem plus a digest of the exact name: two pools whose names differ only in
        # characters a file name cannot hold ("a/b", "a_b") get different lock files.
        digest = hashlib.sha256(pool.encode("utf-8")).hexdigest()[:16]
        stem = re.sub(r"[^A-Za-z0-9_.-]", "_", pool)[:64]
        return os.path.join(self.directory, f"{stem}-{digest}.pool")

    def _change(self, pool: str, delta: float, capacity: float | None) -> bool:
        """Add ``delta`` to the pool's level unless it would exceed ``capacity`` (a transfer
        alone in its pool always fits); returns whether it did."""
        def fits(used: float) -> bool:
            return capacity is None or used <= 1e-9 or used + delta <= capacity * (1 + 1e-9)
        if self.directory is None:
            with self._cond:
                used = self._used.get(pool, 0.0)
                if not fits(used):
                    return False
                self._used[pool] = max(0.0, used + delta)
                self._cond.notify_all()
                return True
        with open(self._path(pool), "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            fh.seek(0)
            text = fh.read().strip()
            used = float(text) if text else 0.0
            if not fits(used):
                return False
            fh.seek(0)
            fh.truncate()
            fh.write(repr(max(0.0, used + delta)))
            fh.flush()
            return True

    def acquire(self, pool: str, capacity: float, amount: float,
                timeout: float | None = None) -> None:
        """Hold ``amount`` bit/s of ``pool`` (of ``capacity``), waiting until it fits.

        Raises
        ------
        TimeoutError
            It did not fit within ``timeout`` seconds.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._change(pool, float(amount), float(capacity)):
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                raise TimeoutError(f"pool {pool!r}: {amount:.4g} bit/s not free within "
                                   f"{timeout:.3g} s")
            wait = 0.05 if deadline is None else max(0.0, min(0.05, deadline - now))
            if self.directory is None:
                with self._cond:
                    self._cond.wait(wait)
            else:
                time.sleep(min(wait, 0.0005))

    def release(self, pool: str, amount: float) -> None:
        """Give back ``amount`` bit/s of ``pool``."""
        self._change(pool, -float(amount), None)


_BANKS: dict[str | None, PoolBank] = {}
_BANKS_LOCK = threading.Lock()


def pool_bank() -> PoolBank:
    """This process's :class:`PoolBank`: the run's directory ``$SPLITINFER_POOL_DIR`` if set,
    else in memory (every node of the scenario in this process)."""
    key = os.environ.get(POOL_DIR_ENV) or None
    with _BANKS_LOCK:
        if key not in _BANKS:
            _BANKS[key] = PoolBank(key)
        return _BANKS[key]


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
    trace : BandwidthTrace, optional
        The link's rate over time (bucket mode paces on it with :class:`TraceClock`).
    epoch : float, optional
        Monotonic time of the trace's time 0 (:meth:`set_epoch`; default: when the shaper was
        made).
    pool : str, optional
        The pool a ``reserved`` link draws its transfers' rates from, of ``pool_capacity``
        bit/s, held in ``pools`` (default: :func:`pool_bank`).

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
    trace: Any = None
    epoch: float | None = None
    pool: str | None = None
    pool_capacity: float = 0.0
    pools: PoolBank | None = None
    _resource: PriorityResource = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.mode not in SHAPING_MODES:
            raise ValueError(f"shaping mode must be one of {SHAPING_MODES}, got {self.mode!r}")
        self._resource = PriorityResource(1 if self.fifo and self.mode != "none" else None)
        if self.epoch is None:
            self.epoch = time.monotonic()

    def set_epoch(self, epoch: float) -> None:
        """Set the monotonic time of the scenario's time 0 (the run's epoch): a traced link's
        rate schedule runs from it."""
        self.epoch = float(epoch)

    def _clock(self) -> TraceClock:
        return TraceClock(self.trace, self.epoch, self.slowdown,
                          ahead=max(4 * self.chunk_bytes * 8 / max(self.rate, 1.0), 0.05))

    def register(self, priority: float = 0.0, ready: float | None = None, order: Order = (0.0, 0)
                 ) -> Ticket:
        """Take a place in the link's queue before the transfer is ready (see
        :meth:`PriorityResource.register`)."""
        return self._resource.register(priority, ready, order)

    def cancel(self, ticket: Ticket) -> None:
        """Give up a place taken with :meth:`register`."""
        self._resource.cancel(ticket)

    @contextmanager
    def transfer(self, priority: float = 0.0, ready: float | None = None, order: Order = (0.0, 0),
                 ticket: Ticket | None = None, timeout: float | None = None,
                 amount: float | None = None) -> Iterator[float]:
        """Hold the link for one transfer and wait out its latency; yields the start time.

        On a link with a pool the transfer also holds ``amount`` bit/s of it (its reserved
        rate; the link's rate by default) from the start to the end of the block, waiting
        first until it fits (the start time is then when it did)."""
        with self._resource.hold(priority, ready, order, ticket, timeout) as granted:
            held = 0.0
            if self.pool is not None and self.mode != "none":
                bank = self.pools or pool_bank()
                held = float(amount if amount is not None else self.rate)
                left = None if timeout is None else max(0.0, timeout - (time.monotonic() - granted))
                bank.acquire(self.pool, self.pool_capacity, held, left)
                granted = time.monotonic()
            try:
                if self.mode == "bucket" or (self.mode == "kernel" and not self.kernel_delay):
                    _sleep_until(granted + self.latency)
                yield granted
            finally:
                if held:
                    (self.pools or pool_bank()).release(self.pool, held)

    def pace(self, chunks: Iterable[bytes], rate: float | None = None, free: int = 0
             ) -> Iterator[bytes]:
        """Yield ``chunks`` no faster than ``rate`` (the link's by default).

        Each chunk is paid for before it is yielded and the bucket starts empty, so by any time
        ``t`` after the start at most ``rate * t`` bits have left: the last byte leaves no
        earlier than ``8 s / rate``. The bucket may save up to four chunks (or 50 ms of the
        rate) while the transport is busy sending, so the transport's own time overlaps the
        pacing instead of adding to it. The first ``free`` bytes are not paid for: a frame's
        header and metadata are control data, and the simulator times a transfer by its
        tensor's bytes alone (``run`` passes the frame's header and metadata length).
        """
        if self.mode != "bucket":
            yield from chunks
            return
        left = max(0, int(free))
        if self.trace is not None:
            clock = self._clock()
            for chunk in chunks:
                paid, left = max(0, len(chunk) - left), max(0, left - len(chunk))
                if paid:
                    clock.consume(paid)
                yield chunk
            return
        bucket = self._bucket(rate)
        for chunk in chunks:
            paid, left = max(0, len(chunk) - left), max(0, left - len(chunk))
            if paid:
                bucket.consume(paid)
            yield chunk

    def _bucket(self, rate: float | None) -> TokenBucket:
        bps = (rate or self.rate) / self.slowdown
        return TokenBucket(bps, burst=max(4 * self.chunk_bytes, bps / 8 * 0.05))

    def delay(self, nbytes: float, rate: float | None = None) -> None:
        """Wait as long as sending ``nbytes`` would take (used for a unary response)."""
        if self.mode == "bucket" and nbytes > 0:
            bucket = self._bucket(rate) if self.trace is None else self._clock()
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
            pool = link.pool if link.sharing == "reserved" else None
            out[b] = LinkShaper(rate=link.rate, latency=link.latency, slowdown=link.slowdown,
                                fifo=link.sharing == "fifo", mode=mode, kernel_delay=kernel_delay,
                                chunk_bytes=chunk_bytes, trace=link.trace, pool=pool,
                                pool_capacity=float(scenario.pools[pool]) if pool else 0.0)
    return out
