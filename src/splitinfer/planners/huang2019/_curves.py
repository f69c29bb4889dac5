"""Compiled per-task delay curves of DeePar (Numba, ``nopython`` mode).

The online planner (Alg. 1 of Huang et al. 2019) sets up every arriving task the same way: the
head times of its model on its device, its edge servers and the cloud (eqs. 1, 3, 5), the bytes
that cross every cut (eqs. 2, 4, 6), and the best cut pair of each option of its row of the
delay matrix W at the bandwidth caps (section IV-A). As Python and NumPy that is a dozen small
array operations and one compiled call per option, which cost more than the arithmetic; here it
is one call per head curve and one for the whole row.

:func:`scaled_head` is :meth:`~splitinfer.planners.huang2019.delay.TaskCurves.head`'s curve;
:func:`pack_rows` gathers a task's *pack*
(:meth:`~splitinfer.planners.huang2019.delay.TaskCurves.pack`) and runs :func:`best_row` on each
of its rows, which is :func:`~splitinfer.planners.huang2019._kernel.best_cut`'s search with the
same floating-point operations in the same order, so the same numbers (a test compares them).

Why Numba: as for the other kernels of the package (:mod:`splitinfer.planners.huang2019._kernel`),
it installs from PyPI as binary wheels on Linux, macOS and Windows with its own LLVM, and the
code stays readable Python over NumPy arrays. Imported on the first compiled
:class:`~splitinfer.planners.huang2019.delay.TaskCurves` that needs it (never at ``import
splitinfer``); compiled once and cached on disk (``cache=True``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from splitinfer.planners.huang2019._kernel import best_cut


@njit(cache=True)
def scaled_head(curve: np.ndarray, last: int, speed: float, samples: float,
                out: np.ndarray) -> None:
    """``out[c] = samples * max((curve[c] - curve[0]) / speed, 0.0)`` for ``c`` in
    ``0 .. last``, and ``out[0] = 0`` (no piece at all).

    The head time of all ``samples`` before every cut (Huang et al. 2019 eqs. 1, 3, 5): with
    ``curve`` the FLOPs before each cut and ``speed`` the node's FLOP/s, or the profiled
    seconds with ``speed = 1.0`` (a division by one is exact). The operations of
    :meth:`~splitinfer.planners.huang2019.delay.TaskCurves.head`'s NumPy code, element by
    element (``max`` as ``numpy.where(0.0 > t, 0.0, t)``: a NaN stays).

    Examples
    --------
    >>> out = np.empty(3)
    >>> scaled_head(np.array([1.0, 3.0, 0.0, 9.0]), 2, 2.0, 10.0, out)
    >>> out.tolist()
    [0.0, 10.0, 0.0]
    """
    c0 = curve[0]
    for c in range(last + 1):
        t = (curve[c] - c0) / speed
        if 0.0 > t:
            t = 0.0
        out[c] = samples * t
    out[0] = 0.0


@njit(cache=True, error_model="numpy")
def best_row(ints: np.ndarray, curv: np.ndarray, lnk: np.ndarray, ret: float, k: int,
             r1: float, r2: float, out: np.ndarray) -> bool:
    """The best cut pair of row ``k`` of a pack at the rates ``r1``, ``r2``: ``out[:3] = (c1,
    c2, delay)``; ``False`` (``out`` unset) when a NaN arose, for the caller's NumPy search.

    A pack (:meth:`~splitinfer.planners.huang2019.delay.TaskCurves.pack`) holds one row per
    option: ``ints[k] = (kind, lo, hi, last)`` (kind 1 edge, 2 cloud, 3 edge + cloud; ``c1``
    in ``[lo, hi)``), ``curv[k] = (hd, he, hc, up, bb)`` (head times on the device, the edge
    and the cloud; wire bytes of every cut on the uplink and the backbone) and ``lnk[k] =
    (latency, slowdown)`` of the uplink and of the backbone, then ``(latency, slowdown, result
    wire bytes)`` of the two return hops; ``ret`` replaces the return when not NaN (a constant
    ``result_return``). A transfer of ``x`` wire bytes at rate ``r`` takes ``latency +
    slowdown * 8.0 * x / r`` (:func:`splitinfer.transfer.transfer_time`).

    :func:`~splitinfer.planners.huang2019._kernel.best_cut` (Huang et al. 2019 section IV-A,
    eqs. 1-6; an edge + cloud pair by the prefix minimum over ``c1``) on the row's views: one
    search, so the same numbers and ties.

    Examples
    --------
    >>> ints = np.array([[1, 0, 2, 2]]); curv = np.zeros((1, 5, 3)); lnk = np.zeros((1, 10))
    >>> curv[0, 0] = [0.0, 1.0, 2.0]; curv[0, 3] = [8.0, 4.0, 0.0]
    >>> lnk[0, :2] = [0.0, 1.0]; lnk[0, 4:7] = [0.0, 1.0, 1.0]
    >>> out = np.empty(3)
    >>> best_row(ints, curv, lnk, np.nan, 0, 8.0, 1.0, out), out.tolist()
    (True, [1.0, 2.0, 6.0])
    """
    return best_cut(ints[k, 0], ints[k, 1], ints[k, 2], ints[k, 3], curv[k, 0], curv[k, 1],
                    curv[k, 2], curv[k, 3], lnk[k, 0:2], curv[k, 4], lnk[k, 2:4], lnk[k, 4:7],
                    lnk[k, 7:10], ret, r1, r2, out)


@njit(cache=True, error_model="numpy")
def pack_rows(table: np.ndarray, curves: np.ndarray, ret: float, ints: np.ndarray,
              curv: np.ndarray, lnk: np.ndarray, res: np.ndarray) -> None:
    """Fill a task's pack ``(ints, curv, lnk)`` from its ``table`` and distinct ``curves``,
    and ``res`` with the best cut pair of every row at its caps.

    ``table[k]`` (21 numbers) is ``ints[k]`` (4), the rows of ``curves`` that make ``curv[k]``
    (5), ``lnk[k]`` (10) and the rates ``(r1, r2)`` (see :func:`best_row`); ``res[k] = (c1,
    c2, delay, found)`` with ``found`` 0.0 where a NaN arose (:func:`best_row` ``False``).
    The outputs come from the caller (returning new arrays costs more than filling them).

    Examples
    --------
    >>> curves = np.array([[0.0, 0.0, 0.0], [0.0, 1.0, 2.0], [8.0, 4.0, 0.0]])
    >>> table = np.array([[1, 0, 2, 2, 1, 0, 0, 2, 0, 0.0, 1.0, 0, 0, 0.0, 1.0, 1.0, 0, 0, 0,
    ...                    8.0, np.nan]])
    >>> ints, curv = np.empty((1, 4), dtype=np.int64), np.empty((1, 5, 3))
    >>> lnk, res = np.empty((1, 10)), np.empty((1, 4))
    >>> pack_rows(table, curves, np.nan, ints, curv, lnk, res)
    >>> ints.tolist(), curv[0, 3].tolist(), res.tolist()
    ([[1, 0, 2, 2]], [8.0, 4.0, 0.0], [[1.0, 2.0, 6.0, 1.0]])
    """
    n, size = table.shape[0], curves.shape[1]
    for k in range(n):
        for q in range(4):
            ints[k, q] = np.int64(table[k, q])
        for q in range(5):
            r = np.int64(table[k, 4 + q])
            for c in range(size):
                curv[k, q, c] = curves[r, c]
        for q in range(10):
            lnk[k, q] = table[k, 9 + q]
    out = np.empty(3)
    for k in range(n):
        found = best_row(ints, curv, lnk, ret, k, table[k, 19], table[k, 20], out)
        res[k, 0] = out[0] if found else 0.0
        res[k, 1] = out[1] if found else 0.0
        res[k, 2] = out[2] if found else 0.0
        res[k, 3] = 1.0 if found else 0.0


def warm() -> None:
    """Load the kernels now (compile them, or read them from Numba's cache) with the argument
    types of every later call, so that the first decision of an online run does not pay it
    (a fifth of a second and more on a loaded machine; seconds to compile). A planner calls it
    when it starts, as :func:`splitinfer.planners.huang2019.ledger.warm_kernel` loads the
    ledger's kernels.

    Examples
    --------
    >>> warm()
    """
    out = np.empty(2)
    curve = np.zeros(2)
    frozen = np.zeros(2)
    frozen.flags.writeable = False  # a loaded profile's curves are read only
    scaled_head(curve, 1, 1.0, 1.0, out)
    scaled_head(frozen, 1, 1.0, 1.0, out)
    ints = np.array([[1, 0, 1, 1]], dtype=np.int64)
    curv, lnk = np.zeros((1, 5, 2)), np.zeros((1, 10))
    pack_rows(np.zeros((1, 21)), np.zeros((1, 2)), np.nan, ints, curv, lnk, np.zeros((1, 4)))
    best_row(ints, curv, lnk, np.nan, 0, 1.0, 1.0, np.empty(3))
