"""Brute Force for one FL strategy: the optimal path order and offload layers (Li et al. 2022 sec. IV).

The paper's BF "traverses all feasible solutions": every path scheduling order (``P!``) and
every offload layer of every path (``(tau + 1)^P``). Enumerating them literally costs
``P! (tau + 1)^P`` evaluations (24 x 23^4 = 6.7 million for SqueezeNet at ``P = 4``), so this
module traverses the same space as a dynamic programme over the set of paths already scheduled,
and drops partial schedules that another one dominates. A partial schedule is summarised by
four times -- device free, link free, ES free, and the latest path completion so far -- and
every later completion is a max-plus expression that never decreases when any of them grows
(:mod:`splitinfer.planners.li2022.timing`), so a state that is no better in all four than
another state of the same set of paths can never lead to a strictly better plan. Dropping it is
therefore exact: the result is the optimum of the full enumeration (the tests compare the two on
small instances).

Examples
--------
>>> import numpy as np
>>> from splitinfer.planners.li2022.timing import Timing, completion
>>> t = Timing(1.0, 4.0, 0.0, 1.0, 8.0, fifo=True, serial=True, ret=0.0)
>>> local = np.array([[0.0, 1.0, 2.0], [0.0, 1.5, 2.0]])
>>> tx = np.array([[1.0, 0.5, 0.25], [1.0, 0.4, 0.3]])
>>> srv = np.array([[0.5, 0.25, 0.0], [0.5, 0.3, 0.0]])
>>> best, order, off = bf_schedule(t, local, tx, srv, tail=0.0)
>>> best == completion(t, local, tx, srv, order, off, tail=0.0)
True
"""

from __future__ import annotations

import numpy as np

from splitinfer.errors import NotApplicableError
from splitinfer.planners.li2022.timing import Timing

__all__ = ["bf_schedule", "pareto_front"]


def pareto_front(x: np.ndarray, block: int = 1024) -> np.ndarray:
    """Indices of the rows of ``x`` that no other row dominates (``<=`` in every column).

    Of identical rows the first is kept. Rows are sorted lexicographically, so a row can only be
    dominated by an earlier one, and (by transitivity) then also by an earlier row that is kept:
    each block of rows is checked against the rows kept so far and against the earlier rows of
    the block, all vectorised.

    Examples
    --------
    >>> pareto_front(np.array([[1, 2], [2, 1], [2, 2], [1, 2]])).tolist()
    [0, 1]
    """
    n = x.shape[0]
    order = np.lexsort(x.T[::-1])
    xs = x[order]
    keep = np.zeros(n, dtype=bool)
    front = xs[:0]
    for s in range(0, n, block):
        blk = xs[s: s + block]
        dom = np.zeros(blk.shape[0], dtype=bool)
        for f in range(0, front.shape[0], 1024):
            dom |= (front[None, f: f + 1024] <= blk[:, None]).all(-1).any(1)
        alive = np.flatnonzero(~dom)  # only these can dominate later rows of the block
        sub = blk[alive]
        earlier = (sub[None, :] <= sub[:, None]).all(-1)  # earlier[i, j]: row j <= row i
        dom[alive] |= (earlier & np.tri(alive.size, k=-1, dtype=bool)).any(1)
        keep[s: s + blk.shape[0]] = ~dom
        front = np.concatenate([front, blk[~dom]])
    return np.sort(order[keep])


def bf_schedule(t: Timing, local: np.ndarray, tx: np.ndarray, srv: np.ndarray, tail: float,
                max_states: int = 2_000_000) -> tuple[float, np.ndarray, np.ndarray]:
    """The optimal order and offload options of one FL strategy.

    Parameters
    ----------
    t : Timing
    local, tx, srv : ndarray, shape (P, tau + 1)
        From :func:`~splitinfer.planners.li2022.timing.option_times`.
    tail : float
        ES seconds after the fused layer.
    max_states : int
        Give up (``NotApplicableError``) when more partial schedules than this survive.

    Returns
    -------
    best : float
        The minimal completion time (eq. 6).
    order, off : ndarray of int
        A schedule and ``o_p - 1`` per path that reach it.
    """
    n_paths, m = local.shape
    full = (1 << n_paths) - 1
    has = np.arange(m) < m - 1
    # per subset: states (dev, link, es, done) and back pointers (parent row, path, option)
    states: dict[int, np.ndarray] = {0: np.zeros((1, 4))}
    back: dict[int, np.ndarray] = {0: np.zeros((0, 3), dtype=np.int64)}
    total = 0
    for size in range(1, n_paths + 1):
        nxt: dict[int, list] = {}
        for mask, st in states.items():
            if bin(mask).count("1") != size - 1:
                continue
            for p in range(n_paths):
                if mask >> p & 1:
                    continue
                dev = st[:, :1] + local[p][None, :]                      # (n, m)
                link = (np.maximum(dev, st[:, 1:2]) if t.fifo else dev) + tx[p][None, :]
                if t.serial:
                    es = np.where(has[None, :], np.maximum(link, st[:, 2:3]) + srv[p][None, :],
                                  st[:, 2:3])
                    fin = np.where(has[None, :], es, link)
                else:
                    es = np.broadcast_to(st[:, 2:3], link.shape)
                    fin = link + srv[p][None, :]
                done = np.maximum(st[:, 3:4], fin)
                cand = np.stack([dev, link, es, done], axis=-1).reshape(-1, 4)
                rows = np.repeat(np.arange(st.shape[0]), m)
                opts = np.tile(np.arange(m), st.shape[0])
                ptr = np.stack([rows, np.full_like(rows, p), opts, np.full_like(rows, mask)], 1)
                nxt.setdefault(mask | 1 << p, []).append((cand, ptr))
        states = {}
        for mask, parts in nxt.items():
            cand = np.concatenate([c for c, _ in parts])
            ptr = np.concatenate([q for _, q in parts])
            if not t.fifo:
                cand[:, 1] = 0.0  # the link state does not matter
            if not t.serial:
                cand[:, 2] = 0.0
            keep = pareto_front(cand)
            states[mask] = cand[keep]
            back[mask] = ptr[keep]
            total += keep.size
            if total > max_states:
                raise NotApplicableError(f"brute force over {n_paths} paths keeps more than "
                                         f"{max_states} partial schedules; use fewer paths")
    final = states[full]
    i = int(np.argmin(final[:, 3]))
    best = float(final[i, 3]) + tail + t.ret
    order, off = [], np.zeros(n_paths, dtype=np.int64)
    mask = full
    while mask:
        row, p, o, parent = back[mask][i]
        order.append(int(p))
        off[p] = o
        mask, i = int(parent), int(row)
    return best, np.asarray(order[::-1], dtype=np.int64), off
