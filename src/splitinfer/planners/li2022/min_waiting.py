"""Minimizing Waiting for one FL strategy: the path order and offload layers of Li et al. 2022 Alg. 1.

For a fixed FL strategy (``tau``, the tile grid), Alg. 1 lines 5-14 pick the paths one by one:

* **First path (eq. 7, lines 5-9).** Over every path ``p`` and offload layer ``v``, minimise the
  transmission completion time ``T_p(v - 1) + t_v^tr`` (the device starts the path at time 0
  and the link is free). Ties: "the offloading strategy which has the minimum local computation
  time"; remaining ties (identical paths): the lowest path number, then the fewest local layers.
* **Later paths (eq. 8, lines 10-14).** The ``k``-th path and its offload layer ``v'`` minimise
  ``|T_{k-1}(v) - t_v^es - T_k(v' - 1)|``: the device finishes the layers before ``v'`` as close
  as possible to the moment the previous path's transfer completes, so the next transfer starts
  without the link or the device waiting. ``T_{k-1}(v) - t_v^es`` is read as that transmission
  completion time (the text: "as close as possible to the transmission completion time of the
  (p-1)-th scheduling path"), and ``T_k(v' - 1)`` as the absolute time at which the device,
  having computed the earlier paths' local layers in order, finishes the layers before ``v'``.
  Ties: "the layer which has the maximum number of previous layers on the path", then the lowest
  path number.

Offload layer ``o_p = tau + 1`` (every small layer on the device, the path's tile of the fused
layer sent) is a candidate like the others: the fused layer always joins on the ES (eq. 5).

Examples
--------
Two identical two-layer paths; the device is slow, so eq. 7 sends path 0's input at once, and
eq. 8 lets path 1 compute on the device while path 0 transmits.

>>> import numpy as np
>>> from splitinfer.planners.li2022.timing import Timing
>>> t = Timing(1.0, 4.0, 0.0, 1.0, 8.0, fifo=True, serial=True, ret=0.0)
>>> local = np.array([[0.0, 1.0, 2.0]] * 2)
>>> tx = np.array([[1.0, 0.5, 0.25]] * 2)
>>> srv = np.array([[0.5, 0.25, 0.0]] * 2)
>>> order, off = mw_schedule(t, local, tx, srv)
>>> order.tolist(), (off + 1).tolist()          # o_p for path 0 and path 1
([0, 1], [1, 2])
"""

from __future__ import annotations

import numpy as np

from splitinfer.planners.li2022.timing import Timing

__all__ = ["mw_schedule"]

_RTOL = 1e-12


def _close(values: np.ndarray, best: float) -> np.ndarray:
    return values <= best + _RTOL * max(1.0, abs(best))


_MIX = np.random.default_rng(2022).integers(1, 2**63, size=256, dtype=np.uint64) | np.uint64(1)


def _classes(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group identical rows: ``(first, cls)``, each class's first row and each row's class.

    The rows are hashed (their float bits times odd constants, summed modulo 2**64) and
    grouped by hash with a 1-D sort; every row is then checked equal to its class's first, and
    on any mismatch (a hash collision, or NaN) the rows are grouped by ``np.unique(axis=0)``
    instead. Sorting rows byte-wise was most of ``mw-paper``'s time. Which of two equal rows
    leads a class, and how classes are numbered, does not change the schedule: the step loop
    breaks every tie by the lowest path number.

    Examples
    --------
    >>> first, cls = _classes(np.array([[1.0, 2.0], [3.0, 4.0], [1.0, 2.0]]))
    >>> bool(cls[0] == cls[2] != cls[1]), sorted(first.tolist())
    (True, [0, 1])
    """
    rows = np.ascontiguousarray(rows, dtype=float)
    n, w = rows.shape
    if w <= _MIX.size:
        bits = rows.view(np.uint64)
        with np.errstate(over="ignore"):
            h = (bits * _MIX[:w]).sum(axis=1, dtype=np.uint64)
        _, first, cls = np.unique(h, return_index=True, return_inverse=True)
        cls = cls.reshape(-1)
        if np.array_equal(rows, rows[first][cls]):
            return first, cls
    _, first, cls = np.unique(rows, axis=0, return_index=True, return_inverse=True)
    return first, cls.reshape(-1)


def mw_schedule(t: Timing, local: np.ndarray, tx: np.ndarray, srv: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """Path order and offload options by eqs. 7 and 8.

    Parameters
    ----------
    t : Timing
    local, tx, srv : ndarray, shape (P, tau + 1)
        From :func:`~splitinfer.planners.li2022.timing.option_times`.

    Returns
    -------
    order : ndarray of int, shape (P,)
        The path scheduling strategy ``S`` (path numbers in schedule order).
    off : ndarray of int, shape (P,)
        ``o_p - 1`` for every path ``p`` (the offload strategy ``O``).

    Notes
    -----
    Paths with identical cost rows (interior tiles of a large grid) form one class; each step
    scans the classes that still have paths and takes the class's lowest-numbered path, which
    is exactly the per-path rule with its tie-breaks, in O(classes) per step.
    """
    from splitinfer.planners.li2022._kernel import mw_steps

    n_paths, m = local.shape
    first, cls = _classes(np.concatenate([local, tx, srv], axis=1))
    by_class = np.argsort(cls, kind="stable").astype(np.int64)  # ascending path numbers
    mem_ptr = np.concatenate([[0], np.cumsum(np.bincount(cls))]).astype(np.int64)
    nxt = by_class[mem_ptr[:-1]].astype(float)  # each class's lowest path number
    c_local, c_tx = local[first], tx[first]
    order = np.empty(n_paths, dtype=np.int64)
    off = np.empty(n_paths, dtype=np.int64)
    # eq. 7: minimal transmission completion, then minimal local time, then lowest (p, o)
    done_tx = c_local + c_tx
    cand = _close(done_tx, float(done_tx.min()))
    loc = np.where(cand, c_local, np.inf)
    cand &= _close(loc, float(loc.min()))
    key = np.where(cand, nxt[:, None] * m + np.arange(m)[None, :], np.inf)
    c, o = divmod(int(np.argmin(key)), m)
    # eq. 8, path by path (compiled: the steps are sequential, _kernel's docstring)
    mw_steps(np.ascontiguousarray(local, dtype=float), np.ascontiguousarray(tx, dtype=float),
             np.ascontiguousarray(c_local, dtype=float), mem_ptr, by_class, c, o, bool(t.fifo),
             _RTOL, order, off)
    return order, off
