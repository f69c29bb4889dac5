"""The exact optimum of Zheng's P1 (eq. 3-7): branch and bound over the cuts with Lagrangian
bounds, and the convex share problem solved to optimality at every leaf.

P1 separates but for one coupling constraint: ``T = (1/|D|) sum_d [E_d(gamma_d) +
g_d(gamma_d, delta_d)]`` with ``sum_d delta_d <= 1``, where ``E_d`` is the edge and transfer
delay (eqs. 3-2, 3-3) and ``g_d`` the cloud delay (eq. 3-5). For fixed cuts the share problem is
convex and :func:`~splitinfer.planners.zheng2021.shares.optimal_shares` solves it exactly (KKT).
Over the cuts, the Lagrangian relaxation of the capacity constraint with price ``nu >= 0``,

    q(nu) = sum_d min_{gamma_d, delta_d} [E_d + g_d + nu delta_d] - nu  <=  |D| T*,

is a lower bound for every ``nu`` (weak duality) and separates per node. Branch and bound fixes
the nodes' cuts one after another (depth first, the options in the order of the relaxation's
choice), bounds every partial assignment by ``max_nu q(nu)`` over the free nodes, and prunes a
branch whose bound is not below the best complete assignment. When the search ends, the best
assignment is optimal (``optimal = True``); a node limit ends it earlier with the gap reported.

Before branching, each node's options are reduced to the non-dominated ones: ``g_d`` depends on
the cut only through the cloud work ``w_d(gamma)`` (smaller is better pointwise) and the share's
lower bound, so a cut with no smaller ``E_d`` than another cut that leaves no more cloud work
can be dropped.

Examples
--------
>>> import numpy as np
>>> E = [np.array([2.0, 1.0, 1.5]), np.array([2.0, 1.2, 1.0])]
>>> W = [np.array([4e9, 2e9, 0.0]), np.array([4e9, 1e9, 0.0])]
>>> res = branch_and_bound(E, W, lam=np.array([1.0, 1.0]), cloud_speed=1e10)
>>> res.gamma, res.optimal
((1, 2), True)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar

from splitinfer.planners.zheng2021.shares import cloud_sojourn, optimal_shares, shares_for_price

__all__ = ["ExactResult", "pareto_options", "branch_and_bound"]


@dataclass(frozen=True)
class ExactResult:
    """The optimum (or best found) of P1 and its certificate.

    Attributes
    ----------
    gamma : tuple of int
    delta : ndarray
    value : float
        P1 at ``(gamma, delta)`` (``inf`` if no stable plan exists).
    bound : float
        Proven lower bound of P1 (equal to ``value`` up to the tolerance when optimal).
    optimal : bool
    nodes : int
        Branch-and-bound nodes explored.
    kkt_residual : float
        Of the share problem at the returned cuts.
    """

    gamma: tuple[int, ...]
    delta: np.ndarray
    value: float
    bound: float
    optimal: bool
    nodes: int
    kkt_residual: float


def pareto_options(edge: np.ndarray, work: np.ndarray, lower: np.ndarray) -> list[int]:
    """Cuts of one node not dominated in ``(E, w, lower)``; infeasible cuts (``inf``) dropped.

    Examples
    --------
    >>> pareto_options(np.array([3.0, 1.0, 2.0, np.inf]), np.array([1.0, 2.0, 2.0, 0.0]),
    ...                np.zeros(4))
    [0, 1]
    """
    keep = []
    ok = np.isfinite(edge) & (lower <= 1.0)
    idx = [i for i in range(len(edge)) if ok[i]]
    for i in idx:
        dominated = False
        for j in idx:
            if j == i:
                continue
            le = edge[j] <= edge[i] and work[j] <= work[i] and lower[j] <= lower[i]
            strict = edge[j] < edge[i] or work[j] < work[i] or lower[j] < lower[i]
            if le and (strict or j < i):
                dominated = True
                break
        if not dominated:
            keep.append(i)
    return keep


class _Relaxation:
    """Lagrangian bounds over flattened (node, option) arrays."""

    def __init__(self, lam, F, E, W, L, owner):
        self.lam, self.F, self.E, self.W, self.L, self.owner = lam, F, E, W, L, owner

    def per_option(self, nu: float, mask: np.ndarray) -> np.ndarray:
        lam = self.lam[self.owner[mask]]
        d = shares_for_price(lam, self.W[mask], self.F, nu, self.L[mask])
        return self.E[mask] + cloud_sojourn(lam, self.W[mask], self.F, d) + nu * d

    def q(self, nu: float, mask: np.ndarray, n_nodes: int) -> float:
        v = self.per_option(nu, mask)
        owners = self.owner[mask]
        best = np.full(n_nodes, np.inf)
        np.minimum.at(best, owners, v)
        return float(best.sum() - nu)

    def bound(self, mask: np.ndarray, n_nodes: int) -> tuple[float, float]:
        """``(max_nu q(nu), argmax)`` by a bounded scalar search on log nu (any nu is valid)."""
        res = minimize_scalar(lambda x: -self.q(math.exp(x), mask, n_nodes), bounds=(-25.0, 25.0),
                              method="bounded", options={"xatol": 1e-5})
        best, arg = -float(res.fun), math.exp(float(res.x))
        at0 = self.q(0.0, mask, n_nodes)
        return (at0, 0.0) if at0 > best else (best, arg)


def branch_and_bound(edge: Sequence[np.ndarray], work: Sequence[np.ndarray], lam: np.ndarray,
                     cloud_speed: float, lower: Sequence[np.ndarray] | None = None, *,
                     max_nodes: int = 20000, rel_tol: float = 1e-9) -> ExactResult:
    """Minimise P1 over cuts and shares (see the module docstring).

    Parameters
    ----------
    edge : sequence of ndarray
        Per node, per cut: ``E_d(gamma)`` (edge sojourn + transfer; ``inf`` if unstable).
    work : sequence of ndarray
        Per node, per cut: cloud FLOPs per task ``w_d(gamma)``.
    lam : ndarray
        lambda_d.
    cloud_speed : float
        F_eps.
    lower : sequence of ndarray, optional
        Per node, per cut: extra lower bound on the share (second half of C3).
    max_nodes : int
        Branch-and-bound nodes at most (then ``optimal`` is False and the gap is reported).
    rel_tol : float
        Relative optimality tolerance of the pruning.

    Returns
    -------
    ExactResult
    """
    n = len(edge)
    lam = np.asarray(lam, dtype=float)
    F = float(cloud_speed)
    if lower is None:
        lower = [np.zeros(len(e)) for e in edge]
    opts = _options_per_node(edge, work, lower, lam, F)
    if any(not o for o in opts):
        return ExactResult(tuple(0 for _ in range(n)), np.zeros(n), math.inf, math.inf, True, 0,
                           math.inf)
    search = _Search(opts, edge, work, lower, lam, F)
    best_choice, best_val, best_delta, best_res = search.run(max_nodes, rel_tol)
    gamma = tuple(int(opts[d][k]) for d, k in enumerate(best_choice))
    optimal = not search.open_bounds
    bound = best_val if optimal else min([best_val, *search.open_bounds])
    delta = np.zeros(n) if not math.isfinite(best_val) else np.asarray(best_delta, dtype=float)
    return ExactResult(gamma, delta, best_val, bound, optimal, search.explored, best_res)


def _options_per_node(edge: Sequence[np.ndarray], work: Sequence[np.ndarray],
                      lower: Sequence[np.ndarray], lam: np.ndarray, F: float) -> list[list[int]]:
    """Per node, the cuts worth branching on: stable ones not dominated in (E, w, lower bound
    of the share, the stability floor included)."""
    opts: list[list[int]] = []
    for d in range(len(edge)):
        stab = lam[d] * np.asarray(work[d]) / F
        lo = np.where(np.asarray(work[d]) > 0, np.maximum(np.asarray(lower[d], dtype=float), 0.0),
                      0.0)
        e = np.where(stab < 1.0, np.asarray(edge[d], dtype=float), np.inf)
        opts.append(pareto_options(e, np.asarray(work[d], dtype=float), np.maximum(lo, stab)))
    return opts


class _Search:
    """Depth-first branch and bound over the nodes' options, one node per level.

    The options of all nodes are flattened into arrays (``owner``: the node of each option,
    ``start``: where each node's options begin). A partial choice is bounded by the Lagrangian
    relaxation over the options still allowed (:class:`_Relaxation`); a full choice (a leaf) is
    valued exactly, with the share problem solved to optimality (:func:`optimal_shares`).
    """

    def __init__(self, opts: list[list[int]], edge: Sequence[np.ndarray],
                 work: Sequence[np.ndarray], lower: Sequence[np.ndarray], lam: np.ndarray,
                 F: float) -> None:
        self.n, self.lam, self.F = len(opts), lam, F
        owner = np.concatenate([[d] * len(o) for d, o in enumerate(opts)]).astype(int)
        cut = np.concatenate([o for o in opts]).astype(int)
        pairs = list(zip(owner, cut, strict=True))
        self.E = np.array([edge[d][c] for d, c in pairs], dtype=float)
        self.W = np.array([work[d][c] for d, c in pairs], dtype=float)
        self.L = np.array([lower[d][c] if work[d][c] > 0 else 0.0 for d, c in pairs], dtype=float)
        self.owner = owner
        self.relax = _Relaxation(lam, F, self.E, self.W, self.L, owner)
        self.start = np.concatenate([[0], np.cumsum([len(o) for o in opts])])
        self.explored = 0
        self.open_bounds: list[float] = []

    def leaf(self, choice: Sequence[int]) -> tuple[float, np.ndarray, float]:
        """P1, the optimal shares and their KKT residual for one option per node."""
        idx = np.array([self.start[d] + k for d, k in enumerate(choice)])
        alloc = optimal_shares(self.lam, self.W[idx], self.F, lower=self.L[idx], mean_over=self.n)
        if not alloc.feasible:
            return math.inf, alloc.delta, alloc.kkt_residual
        return float(self.E[idx].sum() / self.n + alloc.value), alloc.delta, alloc.kkt_residual

    def order(self, nu: float, d: int) -> list[int]:
        """Node ``d``'s options, best first at the price ``nu``."""
        sel = np.flatnonzero(self.owner == d)
        v = self.relax.per_option(nu, np.isin(np.arange(len(self.owner)), sel))
        return [int(k) for k in np.argsort(v, kind="stable")]

    def allowed(self, choice: Sequence[int]) -> np.ndarray:
        """The options a partial choice leaves: the chosen one for decided nodes, all others."""
        mask = np.ones(len(self.owner), dtype=bool)
        for dd, kk in enumerate(choice):
            mask[self.start[dd]:self.start[dd + 1]] = False
            mask[self.start[dd] + kk] = True
        return mask

    def run(self, max_nodes: int, rel_tol: float) -> tuple[list[int], float, np.ndarray, float]:
        """The best choice found, its value, shares and KKT residual (``explored`` and
        ``open_bounds`` say whether it is proven)."""
        n = self.n
        full = np.ones(len(self.owner), dtype=bool)
        root_bound, root_nu = self.relax.bound(full, n)
        # incumbent: the relaxation's own choice at the best price
        first = [self.order(root_nu, d)[0] for d in range(n)]
        best_val, best_delta, best_res = self.leaf(first)
        best_choice = list(first)
        stack: list[tuple[list[int], float, float]] = [([], root_bound / n, root_nu)]
        while stack:
            choice, bnd, nu = stack.pop()
            if bnd >= best_val * (1 - rel_tol):
                continue
            if self.explored >= max_nodes:
                self.open_bounds.append(bnd)
                continue
            self.explored += 1
            children = []
            for k in self.order(nu, len(choice)):
                new = choice + [k]
                if len(new) == n:
                    val, delta, res = self.leaf(new)
                    if val < best_val:
                        best_val, best_delta, best_res, best_choice = val, delta, res, new
                    continue
                b, nu_b = self.relax.bound(self.allowed(new), n)
                children.append((new, b / n, nu_b))
            # depth first, most promising child on top
            for child in sorted(children, key=lambda c: c[1], reverse=True):
                stack.append(child)
        return best_choice, best_val, best_delta, best_res
