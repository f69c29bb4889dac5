"""The assignment problem (20)-(25) of DeePar, solved exactly as a 0-1 integer program.

Huang et al. 2019 section IV-A: with the delay matrix W fixed (each entry the best cut pair of one
option at the task's bandwidth caps), choose one option per task,

    min  sum_i sum_j w_ij q_ij                                                   (20)
    s.t. sum_i q_ij + q_{i,j+2m}                        <= r_{e_j}   for every edge j    (21)
         sum_i b_i^1 (q_ij + q_{i,j+m} + q_{i,j+2m})    <= B_j^1                       (22)
         sum_i b_i^2 (q_{i,j+m} + q_{i,j+2m})           <= B_j^2                       (23)
         sum_j q_ij = 1 for every task,  q binary                                (24), (25)

Constraints (21)-(23) are written here in the general form "for every resource of finite
capacity, the amounts the chosen options hold add up to at most the capacity" (the same
resources the online scheduler books, :mod:`splitinfer.planners.huang2019.ledger`); on the paper's
scenario that is exactly (21)-(23). The program is solved with HiGHS through
:func:`scipy.optimize.milp` with a zero relative gap, so the reported optimum is the optimum of
(20)-(25) (``status == 0``).

Examples
--------
Two tasks, one edge slot: the task that gains more from the edge gets it, the other runs locally.

>>> import numpy as np
>>> W = np.array([[10.0, 1.0], [10.0, 4.0]])
>>> demand = {(0, 1): {"slot:e": 1.0}, (1, 1): {"slot:e": 1.0}}
>>> sol = solve_assignment(W, demand, {"slot:e": 1.0})
>>> sol.choice, sol.objective, sol.optimal
([1, 0], 11.0, True)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix

__all__ = ["Assignment", "solve_assignment"]


@dataclass(frozen=True)
class Assignment:
    """A solution of (20)-(25): the option index chosen per task, its objective and status."""

    choice: list[int]
    objective: float
    optimal: bool
    dual_bound: float
    status: str


def solve_assignment(W: np.ndarray, demand: Mapping[tuple[int, int], Mapping[str, float]],
                     capacity: Mapping[str, float], time_limit_s: float = 30.0) -> Assignment:
    """Solve the assignment problem (20)-(25) exactly.

    Parameters
    ----------
    W : ndarray, shape (n, 3m+1)
        Delays; ``inf`` (or nan) marks an option the task cannot take (eq. 13).
    demand : mapping
        ``(i, j) -> {resource: amount}`` held by task ``i`` under option ``j``.
    capacity : mapping
        Resource -> capacity; resources not listed are unlimited.
    time_limit_s : float
        HiGHS time limit; if it is hit the best solution found is returned with
        ``optimal=False``.

    Returns
    -------
    Assignment
    """
    W = np.asarray(W, dtype=float)
    n, k = W.shape
    pairs = [(i, j) for i in range(n) for j in range(k) if math.isfinite(W[i, j])]
    if any(not any(p[0] == i for p in pairs) for i in range(n)):
        raise ValueError("a task has no feasible option")
    col = {p: c for c, p in enumerate(pairs)}
    cost = np.array([W[p] for p in pairs])
    rows, cols, vals, lo, hi = [], [], [], [], []
    for i in range(n):  # (24)
        for j in range(k):
            if (i, j) in col:
                rows.append(i)
                cols.append(col[(i, j)])
                vals.append(1.0)
        lo.append(1.0)
        hi.append(1.0)
    res_index: dict[str, int] = {}
    for (i, j), d in demand.items():  # (21)-(23)
        if (i, j) not in col:
            continue
        for res, amount in d.items():
            cap = capacity.get(res, math.inf)
            if amount <= 0 or math.isinf(cap):
                continue
            if res not in res_index:
                res_index[res] = n + len(res_index)
                lo.append(-np.inf)
                hi.append(cap)
            rows.append(res_index[res])
            cols.append(col[(i, j)])
            vals.append(float(amount))
    A = coo_matrix((vals, (rows, cols)), shape=(len(lo), len(pairs))).tocsr()
    res = milp(cost, constraints=LinearConstraint(A, lo, hi), integrality=np.ones(len(pairs)),
               bounds=Bounds(0, 1), options={"time_limit": time_limit_s, "mip_rel_gap": 0.0,
                                             "presolve": True})
    if res.x is None:
        raise ValueError(f"the assignment problem has no solution: {res.message}")
    chosen = [p for c, p in enumerate(pairs) if res.x[c] > 0.5]
    choice = [-1] * n
    for i, j in chosen:
        choice[i] = j
    objective = float(sum(W[i, choice[i]] for i in range(n)))
    bound = float(getattr(res, "mip_dual_bound", objective) or objective)
    return Assignment(choice, objective, res.status == 0, bound, str(res.message))
