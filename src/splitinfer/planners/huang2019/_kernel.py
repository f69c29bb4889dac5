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
    n = len(starts)
    for q in range(len(times)):
        t = times[q]
        value = sum_s[_right(starts, t)] - sum_e[_right(ends, t + tol)]
        w = window[q]
        if n > 0 and w > 0.0:
            lo = _right(starts, t + tol)
            hi = _left(starts, (t + w) - tol)
            if hi > lo:
                d = hi - lo
                level = 0
                while (2 << level) <= d:
                    level += 1
                a = table[level, lo]
                b = table[level, hi - (1 << level)]
                peak = a if a >= b else b
                if peak > value:
                    value = peak
        out[q] = value


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
    n = len(times)
    k = len(offsets) - 1
    heads = offsets[:k].copy()
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
            if h < offsets[p + 1] and parts[h] < r:
                r = parts[h]
                pick = p
        if pick < 0:
            return count
        heads[pick] += 1
        at = _left(times, r) if r > now + tol else first
        if at >= n:
            continue
        lo = _left(times, r - 4 * tol)
        if lo < first:
            lo = first
        hi = _right(times, times[at] + margin)
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
    operations of ``DeeparPlanner._delays`` in the same order (so the same floating-point
    numbers, NaN propagated as :func:`numpy.minimum` does). ``kind``: 1 edge, 2 cloud,
    3 edge + cloud; cuts ``c1`` in ``[lo, hi)``. ``hd``, ``he``, ``hc``: head times on the
    device, edge and cloud. A transfer of ``x`` wire bytes over a link ``(latency, slowdown)``
    at rate ``r`` takes ``latency + slowdown * 8.0 * x / r`` (:func:`splitinfer.transfer.
    transfer_time`); ``up_bytes``/``bb_bytes`` are the wire bytes of every cut on the uplink and
    the backbone, ``back1_link``/``back2_link`` are ``(latency, slowdown, result wire bytes)`` of
    the return hops; ``ret`` replaces the return when not NaN (a constant ``result_return``).

    Why hand-written: it is the inner loop of DeePar's bounds (Alg. 1, pruning of the event
    scan); as NumPy it allocated a matrix per call for a handful of rates.

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
    has_ret = ret == ret
    for i in range(len(b1)):
        r1 = b1[i]
        if has_ret:
            back1 = ret
        else:
            back1 = back1_link[0] + back1_link[1] * 8.0 * back1_link[2] / r1
        if kind == 1:
            m = np.inf
            for c in range(lo, hi):
                up = hd[c] + (up_link[0] + up_link[1] * 8.0 * up_bytes[c] / r1)
                v = ((up - he[c]) + he[last]) + back1
                m = v if c == lo else _least(m, v)
            out[i] = m
            continue
        r2 = b2[i]
        if has_ret:
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
            out[i] = m
            continue
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
        out[i] = m + back


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
