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
    n_paths, m = local.shape
    rows = np.concatenate([local, tx, srv], axis=1)
    _, first, cls = np.unique(rows, axis=0, return_index=True, return_inverse=True)
    cls = cls.reshape(-1)
    by_class = np.argsort(cls, kind="stable")
    members = np.split(by_class, np.cumsum(np.bincount(cls))[:-1])  # ascending path numbers
    head = [0] * first.size  # next unused member of each class
    nxt = np.array([float(mem[0]) for mem in members])  # its path number (inf: exhausted)
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
    live = np.arange(first.size)
    live_local = c_local
    dev = tx_end = 0.0
    for k in range(n_paths):
        if k > 0:
            # eq. 8: device completion closest to the previous transmission completion
            gap = np.abs(live_local - (tx_end - dev))
            best = gap.min()
            cand = gap <= best + _RTOL * max(1.0, abs(tx_end))
            o = int(np.flatnonzero(cand.any(axis=0))[-1])  # the most layers on the device
            tied = live[cand[:, o]]
            c = int(tied[np.argmin(nxt[tied])])  # then the lowest path number
        mem = members[c]
        p = int(mem[head[c]])
        head[c] += 1
        if head[c] < mem.size:
            nxt[c] = mem[head[c]]
        else:
            nxt[c] = np.inf
            live = live[live != c]
            live_local = c_local[live]
        order[k], off[p] = p, o
        dev += local[p, o]
        start = max(dev, tx_end) if t.fifo else dev
        tx_end = start + tx[p, o]
    return order, off
