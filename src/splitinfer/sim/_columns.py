"""Compiled per-task array passes around the event loop (Numba, cached, imported lazily).

Building a run of 10^6 tasks and reading its result back are a handful of passes over per-task
and per-stage arrays. As chains of NumPy operations each pass allocated several temporaries
(``np.repeat``, gathers, a sort in ``np.unique``) and took about as long as the event loop
itself; here each is one loop that writes its outputs in place. Like
:mod:`splitinfer.sim._kernel`, this module imports Numba, so it is imported only when a
simulation runs (``import splitinfer`` and the CLI stay fast) and its functions are compiled once
per installation and then loaded from Numba's on-disk cache.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: The largest key range (as a multiple of the number of rows, plus a constant) that
#: :func:`dense_groups` handles; above it the caller sorts (:func:`numpy.unique`).
DENSE_FACTOR, DENSE_EXTRA = 4, 1 << 16


def dense_fits(size: int, rows: int) -> bool:
    """Whether keys in ``[0, size)`` over ``rows`` rows are few enough for a dense table."""
    return size <= DENSE_FACTOR * rows + DENSE_EXTRA


@njit(cache=True)
def dense_groups(key, size):
    """Group rows by a small non-negative integer key, without sorting.

    Parameters
    ----------
    key : ndarray of int64
        One key per row, each in ``[0, size)``.
    size : int
        The key range (a table of this length is allocated).

    Returns
    -------
    first, which : ndarray of int64
        Groups are numbered in increasing key order (as :func:`numpy.unique` does);
        ``first[g]`` is the first row of group ``g`` and ``which[i]`` the group of row ``i``.
    """
    n = len(key)
    seen = np.full(size, -1, np.int64)  # the first row of every key
    for i in range(n):
        k = key[i]
        if seen[k] < 0:
            seen[k] = i
    groups = 0
    for k in range(size):
        if seen[k] >= 0:
            groups += 1
    first = np.empty(groups, np.int64)
    code = np.empty(size, np.int64)
    g = 0
    for k in range(size):
        if seen[k] >= 0:
            first[g] = seen[k]
            code[k] = g
            g += 1
    which = np.empty(n, np.int64)
    for i in range(n):
        which[i] = code[key[i]]
    return first, which


@njit(cache=True)
def alloc_rows(ks, t_tmpl, tp_off, ts_ndeps, ts_res, used, t_base, t_rem, g_task, g_left,
               r_count):
    """Give the tasks ``ks`` consecutive global stage rows from ``used`` on.

    Sets each task's first row (``t_base``) and stages left (``t_rem``), each row's task and
    dependencies left, and counts the stages installed on every resource (``r_count``).
    Returns the rows in use afterwards.
    """
    g = used
    for a in range(len(ks)):
        k = ks[a]
        m = t_tmpl[k]
        o = tp_off[m]
        n = tp_off[m + 1] - o
        t_base[k] = g
        t_rem[k] = n
        for j in range(n):
            g_task[g + j] = k
            g_left[g + j] = ts_ndeps[o + j]
            r = ts_res[o + j]
            if r >= 0:
                r_count[r] += 1
        g += n
    return g


@njit(cache=True)
def first_events(lo, t_tmpl, arriving, arrival, release, tp_off, ts_ndeps, arrive, ready):
    """The events known before a run, for tasks ``lo, lo + 1, ...`` in the order added.

    An arriving task (decided online) has one arrival event at its arrival; a decided task has
    a ready event at its release for each root stage of its template, in stage order.

    Returns
    -------
    time, kind, task, stage : ndarray
        One row per event (``stage`` is -1 for an arrival).
    empty : ndarray of int64
        Decided tasks without stages (local indices): they finish at their release.
    """
    n = len(arriving)
    count = 0
    nempty = 0
    for a in range(n):
        if arriving[a]:
            count += 1
            continue
        m = t_tmpl[lo + a]
        o = tp_off[m]
        size = tp_off[m + 1] - o
        if size == 0:
            nempty += 1
        for j in range(size):
            if ts_ndeps[o + j] == 0:
                count += 1
    time = np.empty(count, np.float64)
    kind = np.empty(count, np.int64)
    task = np.empty(count, np.int64)
    stage = np.empty(count, np.int64)
    empty = np.empty(nempty, np.int64)
    e = 0
    z = 0
    for a in range(n):
        if arriving[a]:
            time[e] = arrival[a]
            kind[e] = arrive
            task[e] = lo + a
            stage[e] = -1
            e += 1
            continue
        m = t_tmpl[lo + a]
        o = tp_off[m]
        size = tp_off[m + 1] - o
        if size == 0:
            empty[z] = a
            z += 1
        for j in range(size):
            if ts_ndeps[o + j] == 0:
                time[e] = release[a]
                kind[e] = ready
                task[e] = lo + a
                stage[e] = j
                e += 1
    return time, kind, task, stage, empty


@njit(cache=True)
def is_sorted(time, key):
    """Whether the rows are in increasing ``(time, key)`` order."""
    for i in range(1, len(time)):
        if time[i] < time[i - 1] or (time[i] == time[i - 1] and key[i] <= key[i - 1]):
            return False
    return True


@njit(cache=True)
def stage_columns(tmpl, t_base, tp_off, ts_res, tlabel, first, stage, resource, label, rows):
    """The per-stage columns of a result, in task order.

    For task ``k`` (template ``tmpl[k]``) writes rows ``first[k]:first[k + 1]``: the stage
    index within the task, its resource and its label (from the template rows ``ts_res`` and
    ``tlabel``), and, when ``rows`` is not empty, the engine's global row of the stage.
    Returns whether every task's global rows are its result rows (then the engine's time
    columns are the result's as they are).
    """
    same = True
    for k in range(len(tmpl)):
        o = tp_off[tmpl[k]]
        b = first[k]
        n = first[k + 1] - b
        if t_base[k] != b:
            same = False
        for j in range(n):
            stage[b + j] = j
            resource[b + j] = ts_res[o + j]
            label[b + j] = tlabel[o + j]
            if len(rows):
                rows[b + j] = t_base[k] + j
    return same
