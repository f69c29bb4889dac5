"""The resource book of DeePar's online scheduler: what every scheduled task holds, and when.

Huang et al. 2019 section III: a task holds its reserved bandwidths b1 (device -> edge) and b2 (edge ->
cloud) "once the connection is established" and one of the edge server's r_e slots (eqs. 8-10)
for as long as it runs; Alg. 1 adds a task to the running set I at its start and removes it at
its end. A :class:`Ledger` keeps these holdings as intervals ``[start, end)`` with an amount per
resource, so that Alg. 1 can ask, for a candidate start time and duration, how much of each
resource is left over the whole interval (a task delayed to a future event must not collide
with tasks already booked for later).

Resources are plain names with a capacity: ``"slot:<node>"`` (a node's concurrency, e.g. r_e),
``"pool:<pool>"`` (a reserved-bandwidth pool, B_e^1 or B_e^2, in bit/s), ``"fifo:<link>"`` (a
link that carries one transfer at a time).

Intervals that touch (one ends where the next starts, up to ``TOL`` seconds of rounding) do not
overlap: the amount held at an instant ``p`` is the sum over the holdings with
``start <= p + TOL < end``, and the peak over ``[t0, t1)`` is the largest of these amounts at
``t0`` and at every start inside ``(t0 + TOL, t1 - TOL)``.

How the queries scale
---------------------
Each resource keeps its holdings in an array grown geometrically, and sorted by start and by
end with running sums (:class:`_Track`, rebuilt with NumPy after a booking, at most once per
booking), so the amount held at an instant is two binary searches and the peak over an
interval is the largest of the amounts at the starts inside it, a slice of a precomputed array;
batches of lower bounds (:meth:`Ledger.held_floor`) are answered by a compiled kernel
(:mod:`splitinfer.planners.huang2019._kernel`, O(log n) per time). Holdings that ended are
dropped as the clock passes them (a heap of end times), and the known future event times are
one sorted array. A DeePar run of ``n`` tasks therefore costs O(log n) per instant query instead
of the former scan of every booking at every start (quadratic in the bookings alive).

The amounts are summed in a different order than one booking after another. That gives the
same floating-point result whenever every partial sum is exact — all amounts whole numbers
(slots; bandwidths in bit/s as scenario files give them) and their total below 2**52 — which is
checked per resource; any other resource is answered by the former scan in booking order, so
results never depend on the order of summation. ``splitinfer.testing.deepar_oracle`` keeps the
former ledger, and the tests compare both.

Examples
--------
>>> book = Ledger({"slot:e0": 2, "pool:e0.access": 100.0})
>>> book.book(0.0, 10.0, {"slot:e0": 1, "pool:e0.access": 60.0})
>>> book.book(5.0, 8.0, {"pool:e0.access": 30.0})
>>> book.residual("pool:e0.access", 0.0, 4.0), book.residual("pool:e0.access", 0.0, 6.0)
(40.0, 10.0)
>>> book.residual("pool:e0.access", 10.0, 20.0)
100.0
>>> book.fits({"slot:e0": 1}, 2.0, 3.0), book.times_after(1.0)
(True, [5.0, 8.0, 10.0])
>>> book.held_floor("pool:e0.access", np.array([0.0, 5.0, 8.0]))
array([60., 90., 60.])
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Iterator, Mapping

import numpy as np

__all__ = ["Ledger", "TOL", "warm_kernel"]

#: Seconds of rounding below which two intervals are taken to touch rather than overlap.
TOL = 1e-9

#: Largest total amount of one resource for which sums of whole numbers are exact in float64.
_EXACT = 2.0 ** 52


class _Track:
    """The holdings of one resource: ``(start, end, amount)`` in booking order, and sorted
    arrays with running sums built from them when a query needs them."""

    __slots__ = ("items", "exact", "dead", "_arrays", "_table", "_rows", "_count", "region",
                 "packed")

    def __init__(self) -> None:
        self.items: list[tuple[float, float, float]] = []
        self.exact = True
        self.dead = 0
        self._arrays: tuple[np.ndarray, ...] | None = None
        self._table: np.ndarray | None = None
        # the holdings again as rows (start, end, amount) of an array grown geometrically
        self._rows = np.empty((16, 3))
        self._count = 0
        # where Ledger.packed keeps this track's arrays in its slab: (offset, room), and
        # whether they are current there
        self.region: tuple[int, int] | None = None
        self.packed = False

    def add(self, start: float, end: float, amount: float) -> None:
        self.items.append((start, end, amount))
        if self._count == len(self._rows):
            self._rows = np.concatenate((self._rows, np.empty_like(self._rows)))
        self._rows[self._count] = (start, end, amount)
        self._count += 1
        self._arrays = self._table = None
        self.packed = False
        if self.exact and not amount.is_integer():
            self.exact = False

    def prune(self, keep: float) -> None:
        """Drop the holdings that ended by ``keep``; recheck exactness."""
        self.items = [it for it in self.items if it[1] > keep]
        rows = self._rows[:self._count]
        rows = rows[rows[:, 1] > keep]
        self._count = len(rows)
        self._rows = np.concatenate((rows, np.empty((max(16, len(rows)), 3))))
        self.dead = 0
        self._arrays = self._table = None
        self.packed = False
        self.exact = all(a.is_integer() for _, _, a in self.items)

    def arrays(self) -> tuple[np.ndarray, ...] | None:
        """``(starts, sums by start, ends, sums by end, held at each start + TOL)``, or
        ``None`` when sums out of booking order would not be exact."""
        if not self.exact:
            return None
        if self._arrays is None:
            if not self._count:
                empty = np.zeros(0)
                self._arrays = (empty, np.zeros(1), empty, np.zeros(1), empty)
                return self._arrays
            if float(self._rows[:self._count, 2].sum()) >= _EXACT:
                self.exact = False
                return None
            # stable sorts by start and by end, running sums, the amount held at each start
            # + TOL: one compiled call (_kernel.track_arrays, the same numbers as NumPy's)
            self._arrays = _kernels().track_arrays(self._rows, self._count, TOL)
        return self._arrays

    def slow_peak(self, t0: float, t1: float) -> float:
        """The peak by the definition: a scan of the holdings, summed in booking order."""
        instant = t1 <= t0 + TOL
        items = [(s, e, a) for s, e, a in self.items
                 if e > t0 + TOL and (s <= t0 + TOL if instant else s < t1 - TOL)]
        if not items:
            return 0.0
        points = [t0] if instant else [t0] + [s for s, _, _ in items if s > t0 + TOL]
        return max(sum(a for s, e, a in items if s <= p + TOL < e) for p in points)

    def peak(self, t0: float, t1: float) -> float:
        arrays = self.arrays()
        if arrays is None:
            return self.slow_peak(t0, t1)
        # compiled (_kernel.peak_of): the amount held at t0 + TOL, and the largest held at
        # a start inside the interval; NaN when a holding starts within rounding of t1 (it
        # is outside the interval but could be counted at its last points): answer those
        # rare queries by the definition
        got = _kernels().peak_of(*arrays, float(t0), float(t1), TOL)
        return self.slow_peak(t0, t1) if got != got else got

    def _floor_at(self, times: np.ndarray) -> np.ndarray:
        """The holdings with ``start <= t`` less those ending by ``t + TOL``, at each ``t``:
        at most what the definition counts at the instant ``t`` of any query containing it."""
        starts, sum_s, ends, sum_e, _ = self._arrays  # type: ignore[misc]
        return (sum_s[starts.searchsorted(times, "right")]
                - sum_e[ends.searchsorted(times + TOL, "right")])

    def table(self) -> np.ndarray:
        """Sparse table of :meth:`_floor_at` at every start: ``table[j, i]`` is the largest
        over starts ``i .. i + 2**j - 1`` (range maxima in O(1); entries past the end of a
        level are never read)."""
        if self._table is None:  # compiled (_kernel.floor_table): the same numbers
            starts, sum_s, ends, sum_e, _ = self._arrays  # type: ignore[misc]
            self._table = _kernels().floor_table(starts, sum_s, ends, sum_e, TOL)
        return self._table

    def floor(self, times: np.ndarray, window: float | np.ndarray = 0.0) -> np.ndarray | None:
        """A lower bound of the peak that any query over ``[t, t1)`` with ``t1 >= t + window``
        (or the instant ``t`` when ``window`` is 0) finds, for each ``t`` in ``times``:
        the floor at ``t`` and at every start inside ``(t + TOL, t + window - TOL)``, each
        one of the query's own points. ``window`` is one number or one per time. ``None`` if
        the amounts are not exactly summable. Compiled
        (:func:`splitinfer.planners.huang2019._kernel.floor_at_times`): O(log n) per time."""
        arrays = self._arrays if self._arrays is not None else self.arrays()
        if arrays is None:
            return None
        times = np.ascontiguousarray(times, dtype=float)
        if isinstance(window, np.ndarray):
            windows = np.ascontiguousarray(window, dtype=float)
            wide = len(windows) > 0 and windows.max() > 0.0
        else:
            windows = np.full(len(times), float(window))
            wide = window > 0.0
        starts, sum_s, ends, sum_e, _ = arrays
        if not wide or not len(starts):
            table = _NO_TABLE
        else:
            table = self._table if self._table is not None else self.table()
        out = np.empty(len(times))
        _kernels().floor_at_times(starts, sum_s, ends, sum_e, table, times, windows, TOL, out)
        return out


def _kernels():  # noqa: ANN202 - the module, imported on first use (Numba loads with it)
    """The compiled kernels' module (:mod:`splitinfer.planners.huang2019._kernel`), imported on
    first use and then kept: ``import splitinfer`` does not load Numba, and the hot queries do
    not pay an import statement per call."""
    global _KERNEL
    if _KERNEL is None:
        from splitinfer.planners.huang2019 import _kernel

        _KERNEL = _kernel
    return _KERNEL


_KERNEL = None


#: The sparse table passed when no window holds a start (never read).
_NO_TABLE = np.zeros((1, 1))


def warm_kernel() -> None:
    """Load (compile, or read from Numba's cache) the compiled queries (held floors, the
    events near a change, the cut-pair searches) now, with the
    argument types of every later call, so that the first decision does not pay it (about
    1-2 s in a fresh process). :meth:`~splitinfer.planners.huang2019.deepar.DeeparPlanner.start`
    calls it: a controller that decides online starts its planner before the run, and a
    decision in the run then takes its own time only.

    Examples
    --------
    >>> warm_kernel()
    """
    from splitinfer.planners.huang2019._kernel import (
        best_cut,
        best_delays,
        floor_at_times,
        floor_table,
        near_events,
        near_events_packed,
        next_pair,
        peak_of,
        track_arrays,
    )

    none, one = np.zeros(0), np.zeros(1)
    floor_at_times(none, one, none, one.copy(), _NO_TABLE, one.copy(), one.copy(), TOL,
                   np.empty(1))
    near_events(none, 0, none, np.zeros(1, dtype=np.int64), 0.0, 1e-6, TOL, np.empty(1))
    floor_table(*track_arrays(np.zeros((1, 3)), 1, TOL)[:4], TOL)
    two, three = np.ones(2), np.ones(3)
    best_delays(1, 0, 1, 1, two, two, two, two, two, two, two, three, three, math.nan, one, one,
                np.empty(1))
    best_cut(1, 0, 1, 1, two, two, two, two, two, two, two, three, three, math.nan, 1.0, 1.0,
             np.empty(3))
    meta, index = np.zeros((1, 2), dtype=np.int64), np.zeros(3, dtype=np.int64)
    near_events_packed(none, 0, one, meta, 0.0, 1e-6, TOL, np.empty(1))
    peak_of(none, one, none, one, none, 0.0, 1.0, TOL)
    yes = np.ones(1, dtype=np.bool_)
    next_pair(one, 0, 0, 0.0, math.inf, False, True, False, True, ~yes, one, 1.0, two, meta,
              one, one, yes, index, index[:1], one, yes, yes, index[:1], np.ones((1, 2)), index,
              index[:1], index[:1], np.zeros((1, 4), dtype=np.int64), np.zeros((1, 5, 2)),
              np.zeros((1, 10)), math.nan, TOL, index)


class Ledger:
    """Booked holdings of resources over time (see the module docstring).

    Parameters
    ----------
    capacity : mapping
        Resource name -> capacity (slots or bit/s). Resources not listed are unlimited.
    """

    def __init__(self, capacity: Mapping[str, float]) -> None:
        self.capacity = dict(capacity)
        self._tracks: dict[str, _Track] = {}
        self._ends: list[tuple[float, int]] = []  # heap of (end, booking number)
        self._held: dict[int, tuple[str, ...]] = {}  # booking number -> its resources
        self._times = np.zeros(0)  # every start and end not yet passed, sorted
        self._count = 0
        # the tracks' sorted arrays and tables side by side (see packed); the first two
        # entries are the running sums of a resource that nothing holds
        self._slab = np.zeros(1 << 12)
        self._used = 2

    def book(self, start: float, end: float, demands: Mapping[str, float]) -> None:
        """Hold ``demands`` (resource -> amount) over ``[start, end)``."""
        k = self._count
        self._count += 1
        held = []
        for res, amount in demands.items():
            if amount > 0:
                track = self._tracks.get(res)
                if track is None:
                    track = self._tracks[res] = _Track()
                track.add(start, end, float(amount))
                held.append(res)
        self._held[k] = tuple(held)
        heapq.heappush(self._ends, (end, k))
        low, high = sorted((float(start), float(end)))
        times = self._times  # insert both, each after its equals (np.insert is slow here)
        i = int(times.searchsorted(low, "right"))
        j = int(times.searchsorted(high, "right"))
        out = np.empty(len(times) + 2)
        out[:i] = times[:i]
        out[i] = low
        out[i + 1:j + 1] = times[i:j]
        out[j + 1] = high
        out[j + 2:] = times[j:]
        self._times = out

    def forget(self, now: float) -> None:
        """Drop every holding that ended by ``now`` (they can no longer matter)."""
        keep = now + TOL
        touched = set()
        while self._ends and self._ends[0][0] <= keep:
            _, k = heapq.heappop(self._ends)
            for res in self._held.pop(k):
                self._tracks[res].dead += 1
                touched.add(res)
        for res in touched:
            track = self._tracks[res]
            if 2 * track.dead > len(track.items):
                track.prune(keep)
        cut = int(self._times.searchsorted(keep, "right"))
        if cut > 64 and 2 * cut > len(self._times):
            self._times = self._times[cut:].copy()

    def peak(self, resource: str, t0: float, t1: float) -> float:
        """The largest amount of ``resource`` held at any instant of ``[t0, t1)``
        (the instant ``t0`` alone when ``t1 <= t0``)."""
        track = self._tracks.get(resource)
        return 0.0 if track is None else track.peak(t0, t1)

    def residual(self, resource: str, t0: float, t1: float) -> float:
        """Capacity of ``resource`` left over all of ``[t0, t1)`` (``inf`` if unlimited)."""
        cap = self.capacity.get(resource, math.inf)
        if math.isinf(cap):
            return cap
        return cap - self.peak(resource, t0, t1)

    def fits(self, demands: Mapping[str, float], t0: float, t1: float) -> bool:
        """Whether ``demands`` can be held over ``[t0, t1)`` on top of what is booked."""
        return all(amount <= self.residual(res, t0, t1) * (1 + 1e-9) + 1e-12
                   for res, amount in demands.items() if amount > 0)

    def held_floor(self, resource: str, times: np.ndarray, window: float | np.ndarray = 0.0
                   ) -> np.ndarray | None:
        """For each start time ``t`` in ``times``, a lower bound of :meth:`peak` over any
        interval ``[t, t1)`` with ``t1 >= t + window`` (any interval when ``window`` is 0;
        one window, or one per time), exact whole numbers; ``None`` when the resource's amounts are not exactly summable (see
        the module docstring). Used to rule out, without trying them, starts at which a
        resource is full at once or within ``window``."""
        track = self._tracks.get(resource)
        if track is None:
            return np.zeros(len(times))
        return track.floor(times, window)

    def events(self, now: float, chunk: int = 32) -> Iterator[np.ndarray]:
        """The candidate start times of Alg. 1 in increasing order, in growing chunks:
        ``now``, then every distinct start or end of a booking later than ``now + TOL``."""
        times = self._times
        i = int(times.searchsorted(now + TOL, "right"))
        part = np.concatenate(([now], times[i:i + chunk]))
        i += len(part) - 1
        last = math.nan
        while True:
            fresh = np.empty(len(part), dtype=bool)  # distinct times only
            fresh[0] = part[0] != last
            np.not_equal(part[1:], part[:-1], out=fresh[1:])
            last = float(part[-1])
            if fresh.any():
                yield part[fresh]
            if i >= len(times):
                return
            chunk *= 2
            part = times[i:i + chunk]
            i += len(part)

    def events_near(self, now: float, resources: Iterable[str], margin: float
                    ) -> Iterator[np.ndarray]:
        """The events of :meth:`events` that are within reach of a change of ``resources``,
        in chunks, in increasing order: ``now``; every start or end ``r`` of a holding of one
        of them later than ``now``; the events within ``4 TOL`` before such an ``r``; the
        first event at or after ``r`` (after ``now + TOL``) and those up to ``margin`` after
        it; the events up to ``margin`` after ``now``.

        Every other event ``t`` has a visited event ``p`` at least ``margin`` before it such
        that none of ``resources`` changes in ``(p, t + TOL]``: what is held of them over
        ``[t, t + d)`` is what is held over ``[p, p + (t - p) + d)`` (used by
        :meth:`DeeparPlanner.decide` to leave such events out).
        """
        from splitinfer.planners.huang2019._kernel import near_events, near_events_packed

        resources = list(resources)
        times = self._times
        first = int(times.searchsorted(now + TOL, "right"))
        slab, meta = self.packed(resources)
        if (meta[:, 1] >= 0).all():  # the starts and ends as they lie in the slab
            done, size = 0, 64
            while True:  # as below
                out = np.empty(size)
                count = near_events_packed(times, first, slab, meta, float(now), float(margin),
                                           TOL, out)
                if count > done:
                    yield out[done:count]
                if count < size:
                    return
                done, size = count, 4 * size
        parts = []  # sorted starts and ends after now, one array per resource and column
        for res in resources:
            track = self._tracks.get(res)
            if track is None or not track.items:
                continue
            arrays = track.arrays()
            if arrays is None:
                parts.append(np.sort([t for it in track.items for t in it[:2] if t > now]))
            else:
                for col in (arrays[0], arrays[2]):
                    parts.append(col[col.searchsorted(now, "right"):])
        flat = np.concatenate(parts) if parts else np.zeros(0)
        offsets = np.zeros(len(parts) + 1, dtype=np.int64)
        np.cumsum([len(p) for p in parts], out=offsets[1:])
        # the compiled sweep (_kernel.near_events) stops when its output is full: ask for
        # more, four times as many each time, until it stops short (the events run out)
        done, size = 0, 64
        while True:
            out = np.empty(size)
            count = near_events(times, first, flat, offsets, float(now), float(margin), TOL, out)
            if count > done:
                yield out[done:count]
            if count < size:
                return
            done, size = count, 4 * size

    def packed(self, resources: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
        """The floors of ``resources`` in one array, for the compiled scan
        (:func:`~splitinfer.planners.huang2019._kernel.next_pair`): ``(slab, meta)`` where
        resource ``r``'s ``starts``, ``sums by start``, ``ends``, ``sums by end`` and sparse
        table (row by row) lie one after another from ``slab[meta[r, 0]]``, with
        ``meta[r, 1]`` holdings, or ``meta[r, 1] == -1`` when its amounts are not exactly
        summable (no floor; see the module docstring).

        Each track keeps a region of the slab, rewritten only after a booking changed it, so
        a query costs nothing per holding; a region that outgrows its room moves to the end
        of the slab, which is compacted when half of it lies unused. Why by hand: the compiled
        scan needs every resource of a task in one call, and Numba takes a variable number
        of arrays only as one array.

        Examples
        --------
        >>> book = Ledger({"slot:e0": 2})
        >>> book.book(0.0, 10.0, {"slot:e0": 1})
        >>> slab, meta = book.packed(["slot:e0", "slot:e1"])
        >>> meta.tolist()[1], slab[meta[0, 0]:meta[0, 0] + 6].tolist()
        ([0, 0], [0.0, 0.0, 1.0, 10.0, 0.0, 1.0])
        """
        resources = list(resources)
        meta = np.zeros((len(resources), 2), dtype=np.int64)
        tracks = [self._tracks.get(res) for res in resources]
        for r, track in enumerate(tracks):
            if track is None:
                continue  # offset 0: the sums of nothing held
            arrays = track.arrays()
            if arrays is None:
                meta[r, 1] = -1
                continue
            if not track.packed:
                self._pack(track, arrays)
            meta[r, 1] = len(arrays[0])
        for r, track in enumerate(tracks):  # after every write: a compaction moves regions
            if track is not None and meta[r, 1] >= 0:
                meta[r, 0] = track.region[0]  # type: ignore[index]
        return self._slab, meta

    def _pack(self, track: _Track, arrays: tuple[np.ndarray, ...]) -> None:
        """Write ``track``'s arrays and table into its region of the slab (see :meth:`packed`)."""
        starts, sum_s, ends, sum_e, _ = arrays
        k = len(starts)
        table = track.table() if k else np.zeros((0, 0))
        size = 4 * k + 2 + table.size
        if track.region is None or track.region[1] < size:
            room = size + size // 2 + 16  # the track grows one holding per booking
            if self._used + room > len(self._slab):
                self._grow(room)
            track.region = (self._used, room)
            self._used += room
        off = track.region[0]
        slab = self._slab
        slab[off:off + k] = starts
        slab[off + k:off + 2 * k + 1] = sum_s
        slab[off + 2 * k + 1:off + 3 * k + 1] = ends
        slab[off + 3 * k + 1:off + 4 * k + 2] = sum_e
        slab[off + 4 * k + 2:off + size] = table.ravel()
        track.packed = True

    def _grow(self, room: int) -> None:
        """Make ``room`` entries free at the end of the slab: compact the regions of the live
        tracks when at most half of the slab is theirs, and double its size as needed."""
        live = [t for t in self._tracks.values() if t.region is not None]
        held = sum(t.region[1] for t in live)  # type: ignore[index]
        size = len(self._slab)
        if 2 * (held + room) <= self._used:
            while 2 * (held + room + 2) > size:
                size *= 2
            slab = np.zeros(size)
            used = 2
            for t in live:
                off, r = t.region  # type: ignore[misc]
                slab[used:used + r] = self._slab[off:off + r]
                t.region = (used, r)
                used += r
            self._slab, self._used = slab, used
            return
        while self._used + room > size:
            size *= 2
        slab = np.zeros(size)
        slab[:self._used] = self._slab[:self._used]
        self._slab = slab

    def count_after(self, now: float) -> int:
        """How many starts and ends of bookings are later than ``now + TOL`` (with repeats)."""
        return len(self._times) - int(self._times.searchsorted(now + TOL, "right"))

    def times_after(self, now: float) -> list[float]:
        """The known future events: starts and ends of bookings later than ``now``, sorted."""
        later = self._times[int(self._times.searchsorted(now + TOL, "right")):]
        return sorted(set(later.tolist()))

    def __len__(self) -> int:
        return len(self._ends)
