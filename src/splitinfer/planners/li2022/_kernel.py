"""Compiled step loop of Minimizing Waiting (Li et al. 2022 Alg. 1 lines 10-14; Numba).

Why Numba: as for the simulator's loop (:mod:`splitinfer.sim._kernel`), it installs from PyPI as
binary wheels on Linux, macOS and Windows with its own LLVM, and the loop stays readable Python
over NumPy arrays. :func:`~splitinfer.planners.li2022.min_waiting.mw_schedule` imports this
module on its first call (never at ``import splitinfer``); the function is compiled once and
cached on disk (``cache=True``).

Alg. 1 picks the paths one at a time (eq. 8), so the loop is sequential: each step depends on
the device and link times the previous steps left. Written with NumPy calls per step it cost
about 25 microseconds a path, and ``mw-paper`` (every grid up to every tile, Alg. 1 line 3)
schedules millions of paths on a 224 x 224 input. The arithmetic is the NumPy loop's,
operation for operation, so the schedule is the same.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def mw_steps(local: np.ndarray, tx: np.ndarray, c_local: np.ndarray, mem_ptr: np.ndarray,
             mem_idx: np.ndarray, c0: int, o0: int, fifo: bool, rtol: float,
             order: np.ndarray, off: np.ndarray) -> None:
    """Fill ``order`` and ``off`` with the schedule of eqs. 7-8 from its first choice.

    Parameters
    ----------
    local, tx : ndarray, shape (P, m)
        Every path's local-completion and transfer times by offload option.
    c_local : ndarray, shape (C, m)
        ``local`` of each class of identical paths (its first member's row).
    mem_ptr, mem_idx : ndarray of int64
        The members of class ``c``, in ascending path number:
        ``mem_idx[mem_ptr[c]:mem_ptr[c + 1]]``.
    c0, o0 : int
        Eq. 7's class and offload option (the first step).
    fifo : bool
        The link sends one transfer at a time (``Timing.fifo``).
    rtol : float
        Relative tolerance of a tie.
    order, off : ndarray of int64, shape (P,)
        Output: the path order and each path's offload option ``o_p - 1``.

    Examples
    --------
    >>> import numpy as np
    >>> local = np.array([[0.0, 1.0, 2.0]] * 2); tx = np.array([[1.0, 0.5, 0.25]] * 2)
    >>> order = np.empty(2, dtype=np.int64); off = np.empty(2, dtype=np.int64)
    >>> mw_steps(local, tx, local[:1].copy(), np.array([0, 2]), np.array([0, 1]), 0, 0, True,
    ...          1e-12, order, off)
    >>> order.tolist(), (off + 1).tolist()
    ([0, 1], [1, 2])
    """
    n_paths, m = local.shape
    n_cls = c_local.shape[0]
    head = mem_ptr[:-1].copy()  # next unused member of each class
    alive = np.ones(n_cls, dtype=np.bool_)
    gap = np.empty((n_cls, m))
    dev = 0.0
    tx_end = 0.0
    c = c0
    o = o0
    for k in range(n_paths):
        if k > 0:
            # eq. 8: device completion closest to the previous transmission completion
            target = tx_end - dev
            best = np.inf
            for i in range(n_cls):
                if alive[i]:
                    for j in range(m):
                        g = abs(c_local[i, j] - target)
                        gap[i, j] = g
                        if g < best:
                            best = g
            bound = best + rtol * max(1.0, abs(tx_end))
            o = -1
            for j in range(m - 1, -1, -1):  # the most layers on the device
                for i in range(n_cls):
                    if alive[i] and gap[i, j] <= bound:
                        o = j
                        break
                if o >= 0:
                    break
            c = -1
            low = 0
            for i in range(n_cls):  # then the lowest path number
                if alive[i] and gap[i, o] <= bound:
                    p_i = mem_idx[head[i]]
                    if c < 0 or p_i < low:
                        c = i
                        low = p_i
        p = mem_idx[head[c]]
        head[c] += 1
        if head[c] >= mem_ptr[c + 1]:
            alive[c] = False
        order[k] = p
        off[p] = o
        dev += local[p, o]
        start = dev
        if fifo and tx_end > dev:
            start = tx_end
        tx_end = start + tx[p, o]
