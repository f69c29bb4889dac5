"""Compiled queries of DeePar's resource book (Numba, ``nopython`` mode).

Why Numba: as for the simulator's loop (:mod:`splitinfer.sim._kernel`), it installs from PyPI as
binary wheels on Linux, macOS and Windows with its own LLVM, and the query stays readable Python
over NumPy arrays. :mod:`splitinfer.planners.huang2019.ledger` imports this module on the first
query that needs it (never at ``import splitinfer``); the functions are compiled once and cached
on disk (``cache=True``).

:func:`near_events` sweeps the events of
:meth:`~splitinfer.planners.huang2019.ledger.Ledger.events_near` (the candidate starts of Alg. 1
near a change of the task's resources) in one pass over merged sorted arrays.

:func:`floor_at_times` answers :meth:`~splitinfer.planners.huang2019.ledger.Ledger.held_floor`
for a batch of start times: two binary searches per time for the amount held from it, and the
range maximum of a sparse table for the starts inside its window — O(log n) per time, with no
NumPy temporaries (the queries are many and small: one per resource and chunk of events in every
decision of Alg. 1). The arithmetic is the ledger's, operation for operation, so the answers are
the same floating-point numbers.

:func:`next_pair` walks the (event, option) pairs of Alg. 1's scan in order and returns the
next one that its gates and bounds do not rule out (:func:`_pair_bounds`), reading every
resource's floors from one packed array (``Ledger.packed``): the planner calls it about twice
per task instead of a dozen NumPy and Python steps per pair.

:func:`track_arrays` and :func:`floor_table` rebuild a resource's sorted arrays and sparse table
after a booking touches it (one call each instead of a dozen small NumPy calls).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, inline="always")
def _right(a: np.ndarray, x: float) -> int:
    """``np.searchsorted(a, x, "right")``: the first index whose value is above ``x``."""
    lo, hi = 0, len(a)
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] <= x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, inline="always")
def _left(a: np.ndarray, x: float) -> int:
    """``np.searchsorted(a, x, "left")``: the first index whose value is at least ``x``."""
    lo, hi = 0, len(a)
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, inline="always")
def _left_from(a: np.ndarray, x: float, start: int) -> int:
    """:func:`_left` when every ``a[i]`` before ``start`` is below ``x`` (a search that goes
    on from an earlier answer): gallops forward from ``start``, then bisects, so a short step
    costs a few comparisons. The same index."""
    n = len(a)
    if start >= n or a[start] >= x:
        return start
    lo = start + 1  # a[lo - 1] < x
    step = 1
    hi = lo
    while hi < n and a[hi] < x:
        lo = hi + 1
        hi = lo + step
        step *= 2
    if hi > n:
        hi = n
    return lo + _left(a[lo:hi], x)  # a[lo - 1] < x, and a[hi] >= x or hi == n


@njit(cache=True, inline="always")
def _right_from(a: np.ndarray, x: float, start: int) -> int:
    """:func:`_right` when every ``a[i]`` before ``start`` is at most ``x`` (as
    :func:`_left_from`). The same index."""
    n = len(a)
    if start >= n or a[start] > x:
        return start
    lo = start + 1
    step = 1
    hi = lo
    while hi < n and a[hi] <= x:
        lo = hi + 1
        hi = lo + step
        step *= 2
    if hi > n:
        hi = n
    return lo + _right(a[lo:hi], x)


@njit(cache=True)
def floor_at_times(starts: np.ndarray, sum_s: np.ndarray, ends: np.ndarray, sum_e: np.ndarray,
                   table: np.ndarray, times: np.ndarray, window: np.ndarray, tol: float,
                   out: np.ndarray) -> None:
    """Fill ``out[q]`` with the floor held from ``times[q]`` (see ``_Track.floor``).

    ``starts``/``ends`` are the holdings' starts and ends, sorted, with running sums of their
    amounts ``sum_s``/``sum_e`` (one longer, from 0); ``table[j, i]`` is the largest floor at
    starts ``i .. i + 2**j - 1`` (read only where a window holds a start); ``window[q] > 0``
    also takes the floors at the starts inside ``(t + tol, t + window[q] - tol)``.

    Examples
    --------
    >>> s = np.array([0.0, 5.0]); e = np.array([8.0, 10.0])
    >>> out = np.empty(2)
    >>> floor_at_times(s, np.array([0.0, 60.0, 90.0]), e, np.array([0.0, 30.0, 90.0]),
    ...                np.array([[60.0, 90.0]]), np.array([0.0, 1.0]), np.array([0.0, 6.0]),
    ...                1e-9, out)
    >>> out.tolist()
    [60.0, 90.0]
    """
    flat = table.reshape(-1)  # row j of the table at j * len(starts)
    for q in range(len(times)):
        out[q] = _floor_core(starts, sum_s, ends, sum_e, flat, times[q], window[q], tol)


@njit(cache=True, inline="always")
def _floor_core(starts: np.ndarray, sum_s: np.ndarray, ends: np.ndarray, sum_e: np.ndarray,
                table: np.ndarray, t: float, w: float, tol: float) -> float:
    """The floor held from ``t`` over a window ``w`` (see :func:`floor_at_times`), with the
    sparse table flat, row ``j`` from ``j * len(starts)``: the one definition that
    :func:`floor_at_times` and :func:`_floor_one` both run."""
    k = len(starts)
    value = sum_s[_right(starts, t)] - sum_e[_right(ends, t + tol)]
    if k > 0 and w > 0.0:
        lo = _right(starts, t + tol)
        hi = _left(starts, (t + w) - tol)
        if hi > lo:
            d = hi - lo
            level = 0
            while (2 << level) <= d:
                level += 1
            a = table[level * k + lo]
            b = table[level * k + hi - (1 << level)]
            peak = a if a >= b else b
            if peak > value:
                value = peak
    return value


@njit(cache=True)
def peak_of(starts: np.ndarray, sum_s: np.ndarray, ends: np.ndarray, sum_e: np.ndarray,
            at_starts: np.ndarray, t0: float, t1: float, tol: float) -> float:
    """``_Track.peak`` on a resource's sorted arrays: the largest amount held at an instant of
    ``[t0, t1)`` (``t0`` alone when ``t1 <= t0 + tol``), or NaN when a start lies within
    rounding of ``t1`` (the caller then answers by the definition). The same operations as
    the NumPy code it replaces, so the same number; one call instead of six searches and a
    slice.

    Examples
    --------
    >>> s, e = np.array([0.0, 5.0]), np.array([8.0, 10.0])
    >>> sums, at = np.array([0.0, 60.0, 90.0]), np.array([60.0, 90.0])
    >>> peak_of(s, sums, e, np.array([0.0, 60.0, 90.0]), at, 0.0, 4.0, 1e-9)
    60.0
    >>> peak_of(s, sums, e, np.array([0.0, 60.0, 90.0]), at, 0.0, 6.0, 1e-9)
    90.0
    """
    x0 = t0 + tol
    held = sum_s[_right(starts, x0)] - sum_e[_right(ends, x0)] if len(starts) else 0.0
    if t1 <= x0:
        return held
    hi_x = t1 - tol
    if _right(starts, t1 + tol) > _left(starts, hi_x - tol):
        return np.nan
    lo, hi = _right(starts, x0), _left(starts, hi_x)
    if hi > lo:
        m = at_starts[lo]
        for i in range(lo + 1, hi):
            if at_starts[i] > m:
                m = at_starts[i]
        return m if m > held else held
    return held


@njit(cache=True)
def near_events(times: np.ndarray, first: int, parts: np.ndarray, offsets: np.ndarray,
                now: float, margin: float, tol: float, out: np.ndarray) -> int:
    """Write the first events of ``Ledger.events_near`` into ``out``; return how many.

    ``times`` are the ledger's known events (sorted, with repeats), ``first`` the index of the
    first one later than ``now + tol``; ``parts[offsets[p]:offsets[p + 1]]`` is the ``p``-th
    sorted array of starts or ends (of the resources asked about) later than ``now``. The
    events are ``now``, then the distinct values of ``times[first:]`` at the indices of the
    carry range ``[first, right(now + margin))`` and, for every ``r`` of the parts, of
    ``[max(left(r - 4 tol), first), right(times[at] + margin))`` with ``at = left(r)`` (or
    ``first`` when ``r <= now + tol``), in increasing order. Both ends of these ranges grow
    with ``r``, so the parts are merged (smallest head first) and the ranges swept once; the
    sweep stops when ``out`` is full (a return value of ``len(out)`` means there may be more:
    call again with a longer ``out``).

    Why hand-written: the query is specific to Alg. 1's event scan (Huang et al. 2019,
    section IV-B) over this ledger; NumPy answers it only with a temporary array per step.

    Examples
    --------
    >>> times = np.array([1.0, 2.0, 2.0, 3.0, 7.0, 9.0])
    >>> out = np.empty(8)
    >>> k = near_events(times, 0, np.array([7.0]), np.array([0, 1]), 0.5, 1e-6, 1e-9, out)
    >>> out[:k].tolist()
    [0.5, 7.0]
    """
    return _near_sweep(times, first, parts, offsets[:-1], offsets[1:], now, margin, tol, out)


@njit(cache=True)
def near_events_packed(times: np.ndarray, first: int, slab: np.ndarray, meta: np.ndarray,
                       now: float, margin: float, tol: float, out: np.ndarray) -> int:
    """:func:`near_events` of the resources packed in ``slab`` (``Ledger.packed``: each
    resource's sorted starts and ends later than ``now`` are the parts), every one exactly
    summable (``meta[r, 1] >= 0``).

    Examples
    --------
    >>> times = np.array([1.0, 2.0, 2.0, 3.0, 7.0, 9.0])
    >>> slab = np.array([0.0, 0.0, 7.0, 0.0, 1.0, 9.0, 0.0, 1.0])  # one holding [7, 9)
    >>> out = np.empty(8)
    >>> k = near_events_packed(times, 0, slab, np.array([[2, 1]]), 0.5, 1e-6, 1e-9, out)
    >>> out[:k].tolist()
    [0.5, 7.0, 9.0]
    """
    n_res = len(meta)
    lo = np.empty(2 * n_res, dtype=np.int64)
    hi = np.empty(2 * n_res, dtype=np.int64)
    for r in range(n_res):
        off, k = meta[r, 0], meta[r, 1]
        for col, at in ((0, off), (1, off + 2 * k + 1)):
            lo[2 * r + col] = at + _right(slab[at:at + k], now)
            hi[2 * r + col] = at + k
    return _near_sweep(times, first, slab, lo, hi, now, margin, tol, out)


@njit(cache=True, inline="always")
def _near_sweep(times: np.ndarray, first: int, parts: np.ndarray, lo_p: np.ndarray,
                hi_p: np.ndarray, now: float, margin: float, tol: float, out: np.ndarray) -> int:
    """The sweep of :func:`near_events` over the sorted parts ``parts[lo_p[p]:hi_p[p]]``."""
    n = len(times)
    k = len(lo_p)
    heads = lo_p.copy()
    count = 0
    if len(out) == 0:
        return 0
    out[0] = now
    count = 1
    last = now  # every value of times[first:] is above now + tol
    pos = first
    cur_hi = _right(times, now + margin)
    if cur_hi < first:
        cur_hi = first
    hint_at = hint_lo = hint_hi = 0
    while True:
        while pos < cur_hi:
            v = times[pos]
            pos += 1
            if v != last:
                if count == len(out):
                    return count
                out[count] = v
                count += 1
                last = v
        pick = -1
        r = np.inf
        for p in range(k):
            h = heads[p]
            if h < hi_p[p] and parts[h] < r:
                r = parts[h]
                pick = p
        if pick < 0:
            return count
        heads[pick] += 1
        # r only grows, and so do the three searches: each goes on from its last answer
        if r > now + tol:
            at = hint_at = _left_from(times, r, hint_at)
        else:
            at = first
        if at >= n:
            continue
        lo = hint_lo = _left_from(times, r - 4 * tol, hint_lo)
        if lo < first:
            lo = first
        hi = hint_hi = _right_from(times, times[at] + margin, hint_hi)
        if lo > pos:
            pos = lo
        if hi > cur_hi:
            cur_hi = hi


@njit(cache=True, inline="always")
def _least(m: float, v: float) -> float:
    """``np.minimum(m, v)``: the smaller, NaN if either is NaN."""
    if v < m or v != v or m != m:
        return v if m == m else m
    return m


@njit(cache=True, error_model="numpy")
def best_delays(kind: int, lo: int, hi: int, last: int, hd: np.ndarray, he: np.ndarray,
                hc: np.ndarray, up_bytes: np.ndarray, up_link: np.ndarray,
                bb_bytes: np.ndarray, bb_link: np.ndarray, back1_link: np.ndarray,
                back2_link: np.ndarray, ret: float, b1: np.ndarray, b2: np.ndarray,
                out: np.ndarray) -> None:
    """``out[i]``: the best cut pair's delay of one option at the rates ``(b1[i], b2[i])``.

    The search of :meth:`~splitinfer.planners.huang2019.delay.TaskCurves.best` (Huang et al.
    2019 section IV-A, eqs. 1-6), delay only, for many pairs of rates at once, with the
    operations of the NumPy search it replaced (kept in the tests) in the same order (so the
    same floating-point numbers, NaN propagated as :func:`numpy.minimum` does). ``kind``: 1 edge, 2 cloud,
    3 edge + cloud; cuts ``c1`` in ``[lo, hi)``. ``hd``, ``he``, ``hc``: head times on the
    device, edge and cloud. A transfer of ``x`` wire bytes over a link ``(latency, slowdown)``
    at rate ``r`` takes ``latency + slowdown * 8.0 * x / r`` (:func:`splitinfer.transfer.
    transfer_time`); ``up_bytes``/``bb_bytes`` are the wire bytes of every cut on the uplink and
    the backbone, ``back1_link``/``back2_link`` are ``(latency, slowdown, result wire bytes)`` of
    the return hops; ``ret`` replaces the return when not NaN (a constant ``result_return``).

    Why hand-written: its element, :func:`_delay_one`, is the inner loop of DeePar's bounds
    (Alg. 1, pruning of the event scan: :func:`_pair_bounds`); as NumPy it allocated a
    matrix per call for a handful of rates.

    Examples
    --------
    >>> h = np.array([0.0, 1.0, 2.0]); z = np.zeros(3); link = np.array([0.0, 1.0])
    >>> out = np.empty(1)
    >>> best_delays(1, 0, 2, 2, h, z, z, np.array([8.0, 4.0, 0.0]), link, z, link,
    ...             np.array([0.0, 1.0, 1.0]), link, np.nan, np.array([8.0]), np.array([1.0]),
    ...             out)
    >>> out.tolist()
    [6.0]
    """
    for i in range(len(b1)):
        out[i] = _delay_one(kind, lo, hi, last, hd, he, hc, up_bytes, up_link, bb_bytes,
                            bb_link, back1_link, back2_link, ret, b1[i], b2[i])


@njit(cache=True, inline="always", error_model="numpy")
def _delay_one(kind: int, lo: int, hi: int, last: int, hd: np.ndarray, he: np.ndarray,
               hc: np.ndarray, up_bytes: np.ndarray, up_link: np.ndarray,
               bb_bytes: np.ndarray, bb_link: np.ndarray, back1_link: np.ndarray,
               back2_link: np.ndarray, ret: float, r1: float, r2: float) -> float:
    """One element of :func:`best_delays`: the best cut pair's delay at ``(r1, r2)``."""
    if ret == ret:
        back1 = ret
    else:
        back1 = back1_link[0] + back1_link[1] * 8.0 * back1_link[2] / r1
    if kind == 1:
        m = np.inf
        for c in range(lo, hi):
            up = hd[c] + (up_link[0] + up_link[1] * 8.0 * up_bytes[c] / r1)
            v = ((up - he[c]) + he[last]) + back1
            m = v if c == lo else _least(m, v)
        return m
    if ret == ret:
        back = ret
    else:
        back = (back2_link[0] + back2_link[1] * 8.0 * back2_link[2] / r2) + back1
    if kind == 2:
        m = np.inf
        for c in range(lo, hi):
            up = hd[c] + (up_link[0] + up_link[1] * 8.0 * up_bytes[c] / r1)
            hop = ((bb_link[0] + bb_link[1] * 8.0 * bb_bytes[c] / r2) + hc[last]) - hc[c]
            v = (up + hop) + back
            m = v if c == lo else _least(m, v)
        return m
    # edge + cloud: c1 in [lo, hi), c2 in (lo, last); the best c1 for c2 = lo + 1 + k is
    # the prefix minimum of f over [lo, lo + min(k, hi - lo - 1)]
    pref = np.inf
    m = np.inf
    for k in range(last - lo - 1):
        if k < hi - lo:
            c = lo + k
            up = hd[c] + (up_link[0] + up_link[1] * 8.0 * up_bytes[c] / r1)
            f = up - he[c]
            pref = f if k == 0 else _least(pref, f)
        c2 = lo + 1 + k
        hop = ((bb_link[0] + bb_link[1] * 8.0 * bb_bytes[c2] / r2) + hc[last]) - hc[c2]
        v = pref + (he[c2] + hop)
        m = v if k == 0 else _least(m, v)
    return m + back


@njit(cache=True, error_model="numpy")
def best_cut(kind: int, lo: int, hi: int, last: int, hd: np.ndarray, he: np.ndarray,
             hc: np.ndarray, up_bytes: np.ndarray, up_link: np.ndarray, bb_bytes: np.ndarray,
             bb_link: np.ndarray, back1_link: np.ndarray, back2_link: np.ndarray, ret: float,
             r1: float, r2: float, out: np.ndarray) -> bool:
    """The best cut pair of one option at the rates ``r1``, ``r2``: ``out[:] = (c1, c2,
    delay)``; ``False`` (``out`` unset) when a NaN arose, for the caller's NumPy search.

    :meth:`~splitinfer.planners.huang2019.delay.TaskCurves.best`'s search (Huang et al. 2019
    section IV-A, eqs. 1-6) with its operations in the same order and its ties (the first
    minimum, as :func:`numpy.argmin`); arguments as for :func:`best_delays`. Why hand-written:
    DeePar searches a handful of options per task many times, and the NumPy search spent its
    time creating small arrays.

    Examples
    --------
    >>> h = np.array([0.0, 1.0, 2.0]); z = np.zeros(3); link = np.array([0.0, 1.0])
    >>> out = np.empty(3)
    >>> best_cut(1, 0, 2, 2, h, z, z, np.array([8.0, 4.0, 0.0]), link, z, link,
    ...          np.array([0.0, 1.0, 1.0]), link, np.nan, 8.0, 1.0, out), out.tolist()
    (True, [1.0, 2.0, 6.0])
    """
    if ret == ret:
        back1 = ret
        back = ret
    else:
        back1 = back1_link[0] + back1_link[1] * 8.0 * back1_link[2] / r1
        back = 0.0
        if kind != 1:
            back = (back2_link[0] + back2_link[1] * 8.0 * back2_link[2] / r2) + back1
    m = np.inf
    c1 = c2 = -1
    if kind == 1 or kind == 2:
        for c in range(lo, hi):
            up = hd[c] + (up_link[0] + up_link[1] * 8.0 * up_bytes[c] / r1)
            if kind == 1:
                v = ((up - he[c]) + he[last]) + back1
            else:
                hop = ((bb_link[0] + bb_link[1] * 8.0 * bb_bytes[c] / r2) + hc[last]) - hc[c]
                v = (up + hop) + back
            if v != v:
                return False
            if c == lo or v < m:
                m = v
                c1 = c
        out[0] = c1
        out[1] = last if kind == 1 else c1
        out[2] = m
        return True
    pref = np.inf
    at = -1
    for k in range(last - lo - 1):
        if k < hi - lo:
            c = lo + k
            up = hd[c] + (up_link[0] + up_link[1] * 8.0 * up_bytes[c] / r1)
            f = up - he[c]
            if f != f:
                return False
            if k == 0 or f < pref:
                pref = f
                at = c
        c = lo + 1 + k
        hop = ((bb_link[0] + bb_link[1] * 8.0 * bb_bytes[c] / r2) + hc[last]) - hc[c]
        v = pref + (he[c] + hop)
        if v != v:
            return False
        if k == 0 or v < m:
            m = v
            c1 = at
            c2 = c
    out[0] = c1
    out[1] = c2
    out[2] = m + back
    return True


@njit(cache=True)
def track_arrays(rows: np.ndarray, count: int, tol: float
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The sorted arrays of one resource's holdings (``_Track.arrays``): starts, running sums
    by start, ends, running sums by end, held at each start + ``tol``, from the first ``count``
    rows ``(start, end, amount)`` in booking order.

    The same numbers as the NumPy code it replaces: a stable sort (mergesort; the permutation
    of a stable sort is unique), running sums added left to right as :func:`numpy.cumsum`
    does, the same binary searches. One call instead of a dozen NumPy calls: the ledger
    rebuilds these after every booking that touches the resource.

    Examples
    --------
    >>> rows = np.array([[2.0, 5.0, 1.0], [0.0, 3.0, 2.0]])
    >>> starts, sum_s, ends, sum_e, at = track_arrays(rows, 2, 1e-9)
    >>> starts.tolist(), sum_s.tolist(), ends.tolist(), sum_e.tolist(), at.tolist()
    ([0.0, 2.0], [0.0, 2.0, 3.0], [3.0, 5.0], [0.0, 2.0, 3.0], [2.0, 3.0])
    """
    s = rows[:count, 0].copy()
    e = rows[:count, 1].copy()
    by_s = np.argsort(s, kind="mergesort")
    by_e = np.argsort(e, kind="mergesort")
    starts = np.empty(count)
    ends = np.empty(count)
    sum_s = np.zeros(count + 1)
    sum_e = np.zeros(count + 1)
    for i in range(count):
        starts[i] = s[by_s[i]]
        ends[i] = e[by_e[i]]
        if i == 0:
            sum_s[1] = rows[by_s[0], 2]
            sum_e[1] = rows[by_e[0], 2]
        else:
            sum_s[i + 1] = sum_s[i] + rows[by_s[i], 2]
            sum_e[i + 1] = sum_e[i] + rows[by_e[i], 2]
    at_starts = np.empty(count)
    for i in range(count):
        x = starts[i] + tol
        at_starts[i] = sum_s[_right(starts, x)] - sum_e[_right(ends, x)]
    return starts, sum_s, ends, sum_e, at_starts


@njit(cache=True)
def floor_table(starts: np.ndarray, sum_s: np.ndarray, ends: np.ndarray, sum_e: np.ndarray,
                tol: float) -> np.ndarray:
    """``_Track.table``: the sparse table of range maxima of the floor at every start (row
    ``j``, column ``i``: the largest over starts ``i .. i + 2**j - 1``; ``-inf`` past the end
    of a row), the same numbers as the NumPy code it replaces (maxima are exact).

    Examples
    --------
    >>> t = floor_table(np.array([0.0, 1.0, 2.0]), np.array([0.0, 1.0, 3.0, 4.0]),
    ...                 np.array([5.0, 5.0, 5.0]), np.zeros(4), 1e-9)
    >>> t.tolist()
    [[1.0, 3.0, 4.0], [3.0, 4.0, -inf]]
    """
    count = len(starts)
    levels = 1
    while 2 ** levels <= count:
        levels += 1
    table = np.empty((levels, count))
    for i in range(count):
        t = starts[i]
        table[0, i] = sum_s[_right(starts, t)] - sum_e[_right(ends, t + tol)]
    width, size = 1, count
    for j in range(1, levels):
        size -= width
        for i in range(size):
            a, b = table[j - 1, i], table[j - 1, i + width]
            table[j, i] = a if a >= b else b
        for i in range(size, count):
            table[j, i] = -np.inf
        width *= 2
    return table


@njit(cache=True, inline="always")
def _floor_one(slab: np.ndarray, off: int, k: int, t: float, w: float, tol: float) -> float:
    """:func:`floor_at_times` for one time ``t`` and window ``w``, on a resource packed at
    ``slab[off:]`` by ``Ledger.packed``: ``starts`` (``k``), ``sum_s`` (``k + 1``), ``ends``
    (``k``), ``sum_e`` (``k + 1``), then the sparse table row by row (``k`` each). The same
    operations, so the same number."""
    return _floor_core(slab[off:off + k], slab[off + k:off + 2 * k + 1],
                       slab[off + 2 * k + 1:off + 3 * k + 1],
                       slab[off + 3 * k + 1:off + 4 * k + 2], slab[off + 4 * k + 2:], t, w, tol)


@njit(cache=True, inline="always")
def _most(m: float, v: float) -> float:
    """``np.maximum(m, v)``: the larger, NaN if either is NaN."""
    if m != m or v != v:
        return m if m != m else v
    return v if v > m else m


#: What :func:`next_pair` returns.
STOP, EXHAUSTED, CANDIDATE = 0, 1, 2


@njit(cache=True, error_model="numpy")
def _pair_bounds(k: int, tau: float, rounds: int, w_cap: float, floor0: np.ndarray,
                 slab: np.ndarray, res_meta: np.ndarray, res_cap: np.ndarray,
                 res_pool: np.ndarray, gate_off: np.ndarray, gate_res: np.ndarray,
                 gate_limit: np.ndarray, gate_unit: np.ndarray, hop_n: np.ndarray,
                 hop_cap: np.ndarray, hp_off: np.ndarray, hp_res: np.ndarray,
                 rows: np.ndarray, ints: np.ndarray, curv: np.ndarray, lnk: np.ndarray,
                 ret: float, tol: float, held: np.ndarray, has: np.ndarray, dt: float,
                 cut: float
                 ) -> tuple[bool, float]:
    """Whether option ``k`` can still fit from start ``tau``, and a lower bound of its delay
    from there (Huang et al. 2019 Alg. 1: a pair that fails here would fail or lose in
    ``DeeparPlanner._try``, lines 10-12).

    Round 0 takes the bandwidth that the floors ``floor0`` (the least held over the shortest
    window of any option on each resource) leave at most: the option's delay there, ``d``, is
    a lower bound of its delay from ``tau`` (a run gets no more bandwidth, and less bandwidth
    never shortens the best cut pair, eqs. 1-6). Every later round then knows that ``_try``
    asks for the bandwidth left over at least ``[tau, tau + d)`` (its fixed point stops at a
    window within ``tol`` of the delay, which is at least ``d``) and that ``Ledger.fits``
    checks that long; so the gates hold again with the window ``d`` (a little less, for
    rounding), and the bandwidth left over it gives a larger ``d``. ``held``/``has`` are
    scratch arrays of one entry per resource. The rounds stop early once ``dt + bound`` is
    above ``cut`` (the caller passes over such a pair whatever the later rounds find: they
    only raise the bound and rule out more).
    """
    for q in range(hp_off[2 * k], hp_off[2 * k + hop_n[k]]):
        r = hp_res[q]
        has[r] = res_meta[r, 1] >= 0
        held[r] = floor0[r]
    alive = True
    low = w_cap
    row = rows[k]  # the option's row of the cut searches' data (TaskCurves.pack), -1: none
    kind = lo = hi = last = 0
    if row >= 0:
        kind, lo, hi, last = ints[row, 0], ints[row, 1], ints[row, 2], ints[row, 3]
    for step in range(rounds + 1):
        r1 = r2 = 0.0
        for h in range(hop_n[k]):
            cap = hop_cap[k, h]
            rate = cap
            for q in range(hp_off[2 * k + h], hp_off[2 * k + h + 1]):
                r = hp_res[q]
                if has[r]:
                    rate = _least(rate, res_cap[r] - held[r])
            if not rate > cap * 1e-9:
                alive = False
            if h == 0:
                r1 = rate
            else:
                r2 = rate
        if not alive:
            break
        if kind == 0:
            got = np.inf  # no cut pair at all (TaskCurves.kernel_args is False)
        else:
            got = _delay_one(kind, lo, hi, last, curv[row, 0], curv[row, 1], curv[row, 2],
                             curv[row, 3], lnk[row, 0:2], curv[row, 4], lnk[row, 2:4],
                             lnk[row, 4:7], lnk[row, 7:10], ret, r1, r2 if hop_n[k] > 1 else r1)
        low = _most(low, got)
        if step == rounds or dt + low > cut:
            break
        window = low * (1 - 1e-9) - 1e-7  # under the delay, by far more than rounding
        if not window > 4 * tol:
            window = 0.0
        for g in range(gate_off[k], gate_off[k + 1]):
            r = gate_res[g]
            size = res_meta[r, 1]
            if size < 0:
                continue  # not exactly summable: no floor
            floor = _floor_one(slab, res_meta[r, 0], size, tau, window, tol)
            left = res_cap[r] - floor
            limit = gate_limit[g]
            if gate_unit[g]:
                if not limit <= left * (1 + 1e-9) + 1e-12:
                    alive = False
            elif not left > limit:
                alive = False
            if res_pool[r]:
                held[r] = floor
                has[r] = True
    return alive, low


@njit(cache=True, error_model="numpy")
def next_pair(taus: np.ndarray, i0: int, k0: int, now: float, best: float, has_best: bool,
              delayed: bool, literal: bool, prune: bool, fitted: np.ndarray,
              w_caps: np.ndarray, w_min: float, slab: np.ndarray, res_meta: np.ndarray,
              res_cap: np.ndarray, res_wmin: np.ndarray, res_pool: np.ndarray,
              gate_off: np.ndarray, gate_res: np.ndarray, gate_limit: np.ndarray,
              gate_unit: np.ndarray, has_gates: np.ndarray, hop_n: np.ndarray,
              hop_cap: np.ndarray, hp_off: np.ndarray, hp_res: np.ndarray, rows: np.ndarray,
              ints: np.ndarray, curv: np.ndarray, lnk: np.ndarray, ret: float, tol: float,
              out: np.ndarray) -> int:
    """The next (event, option) pair of Alg. 1's scan (Huang et al. 2019, lines 6-15) that
    ``DeeparPlanner._try`` must try, from event ``taus[i0]`` and option ``k0`` on: ``out[:] =
    (i, k)`` and ``CANDIDATE``; ``EXHAUSTED`` when no pair of ``taus`` is left; ``STOP`` when
    the scan ends here (lines 6-8: a best is known and no later start can beat it).

    The options are in the order of their delay at the caps (``w_caps``, increasing). A pair
    is passed over when it cannot win or cannot fit, for the reasons ``DeeparPlanner``
    documents: ``dt + w_cap`` above the best; with ``literal`` (line 12 compares W's entry)
    an option that already fitted; a gate closed at the start (a resource full over the
    shortest window any run of the option asks for: ``res_wmin``, the floor of
    :func:`floor_at_times`); and, once a best is known, the bounds of
    :func:`_pair_bounds` (two rounds: bandwidth left at most -> least delay -> a longer
    window -> less bandwidth), with ``prune``. Every floor needs ``tau < 1e6`` (the rounding
    margin of the gates); a resource with ``res_meta[r, 1] < 0`` has none.

    Why hand-written: the scan visits tens of pairs per task and was a dozen NumPy and
    Python calls per pair; this is one call per pair that must really be tried (about two
    per task).
    """
    n_opt = len(w_caps)
    n_res = len(res_cap)
    floor0 = np.empty(n_res)
    known = np.zeros(n_res, dtype=np.bool_)
    held = np.empty(n_res)
    has = np.zeros(n_res, dtype=np.bool_)
    slack = 1e-9 * (1.0 + abs(best))
    for i in range(i0, len(taus)):
        tau = taus[i]
        dt = tau - now
        if has_best and (not delayed or dt + w_min > best):
            return STOP
        floors = tau < 1e6
        known[:] = False  # the floors at tau, found when a gate first asks
        for k in range(k0 if i == i0 else 0, n_opt):
            if has_best and dt + w_caps[k] > best:
                break  # so are the options after it (w_caps sorted)
            if has_best and literal and fitted[k]:
                continue
            if floors and has_gates[k]:
                is_open = True
                for g in range(gate_off[k], gate_off[k + 1]):
                    r = gate_res[g]
                    size = res_meta[r, 1]
                    if size < 0:
                        continue
                    if not known[r]:
                        floor0[r] = _floor_one(slab, res_meta[r, 0], size, tau, res_wmin[r],
                                               tol)
                        known[r] = True
                    left = res_cap[r] - floor0[r]
                    limit = gate_limit[g]
                    if gate_unit[g]:
                        if not limit <= left * (1 + 1e-9) + 1e-12:
                            is_open = False
                            break
                    elif not left > limit:
                        is_open = False
                        break
                if not is_open:
                    continue
                if has_best and hop_n[k] > 0:
                    ok, low = _pair_bounds(k, tau, 2, w_caps[k], floor0, slab, res_meta,
                                           res_cap, res_pool, gate_off, gate_res, gate_limit,
                                           gate_unit, hop_n, hop_cap, hp_off, hp_res, rows,
                                           ints, curv, lnk, ret, tol, held, has, dt,
                                           best + slack if prune else np.inf)
                    if not ok or (prune and dt + low > best + slack):
                        continue
            out[0] = i
            out[1] = k
            return CANDIDATE
    return EXHAUSTED
