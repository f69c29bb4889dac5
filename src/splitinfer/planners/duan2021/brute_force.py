"""Brute force for Duan & Wu's BF baseline: the best assignment of cut types to identical jobs.

Two enumerations, both vectorised with NumPy:

* ``orders="johnson"``: every multiset of types (how many jobs get each type; ``C(n + T - 1,
  T - 1)`` of them), each run in Johnson's order of the types, evaluated exactly by
  :func:`~splitinfer.planners.duan2021.flowshop.block_makespans`. Optimal when the tails are 0: Johnson's
  order is optimal for every fixed assignment (Johnson 1954, Duan & Wu 2021 section 4.1), and the types
  passed in are those that survive virtual blocks, which loses nothing (a shorter stage never
  lengthens a flow-shop schedule).
* ``orders="all"``: every sequence of types (``T^n``: every assignment *and* every order),
  evaluated by the flow-shop recursion; independent of Johnson's theorem, for tiny batches.

Examples
--------
>>> seq, span, evaluated = brute_force([4.0, 7.0], [6.0, 2.0], [0.0, 0.0], 2)
>>> seq, span, evaluated
([0, 1], 13.0, 3)
>>> brute_force([4.0, 7.0], [6.0, 2.0], [0.0, 0.0], 2, orders="all")[:2]
([0, 1], 13.0)
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np

from splitinfer.planners.duan2021.flowshop import block_makespans, johnson_order

__all__ = ["brute_force", "count_vectors"]


def count_vectors(n: int, types: int) -> np.ndarray:
    """Every vector of ``types`` non-negative integers summing to ``n`` (stars and bars).

    Examples
    --------
    >>> count_vectors(2, 2).tolist()
    [[0, 2], [1, 1], [2, 0]]
    """
    if types == 1:
        return np.array([[n]])
    bars = np.array(list(itertools.combinations(range(n + types - 1), types - 1)), dtype=np.int64)
    edges = np.concatenate([np.full((len(bars), 1), -1), bars,
                            np.full((len(bars), 1), n + types - 1)], axis=1)
    counts = np.diff(edges, axis=1) - 1
    return counts[np.lexsort(counts.T[::-1])]


def _all_sequences(f: np.ndarray, g: np.ndarray, h: np.ndarray, n: int
                   ) -> tuple[list[int], float, int]:
    seqs = np.array(list(itertools.product(range(f.size), repeat=n)), dtype=np.int64)
    c1 = np.zeros(len(seqs))
    c2 = np.zeros(len(seqs))
    end = np.zeros(len(seqs))
    for k in range(n):
        t = seqs[:, k]
        c1 += f[t]
        c2 = np.maximum(c1, c2) + g[t]
        end = np.maximum(end, c2 + h[t])
    best = int(np.argmin(end))
    return [int(x) for x in seqs[best]], float(end[best]), len(seqs)


def brute_force(f: Sequence[float], g: Sequence[float], h: Sequence[float], n: int, *,
                orders: str = "johnson", max_evaluations: int = 5_000_000
                ) -> tuple[list[int], float, int] | None:
    """The best sequence of job types for ``n`` identical jobs.

    Parameters
    ----------
    f, g, h : sequence of float
        Device time, uplink time and tail of each type.
    n : int
        Number of jobs.
    orders : {"johnson", "all"}
        See the module docstring.
    max_evaluations : int
        Return None instead of evaluating more schedules than this.

    Returns
    -------
    (list of int, float, int) or None
        The types in processing order (ties: the first in enumeration order), the makespan, and
        the number of schedules evaluated.
    """
    fa, ga, ha = (np.asarray(x, dtype=float) for x in (f, g, h))
    types = fa.size
    if n == 0:
        return [], 0.0, 1
    if orders == "all":
        if types ** n > max_evaluations:
            return None
        return _all_sequences(fa, ga, ha, n)
    if math.comb(n + types - 1, types - 1) > max_evaluations:
        return None
    order = johnson_order(fa, ga)
    counts = count_vectors(n, types)
    spans = block_makespans(fa[order], ga[order], counts, ha[order])
    best = int(np.argmin(spans))
    sequence = [order[t] for t in range(types) for _ in range(int(counts[best, t]))]
    return sequence, float(spans[best]), len(counts)
