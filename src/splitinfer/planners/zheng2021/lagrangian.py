"""DMCJIA's inner layer (Zheng 2021 Alg. 1, inner part; eqs. 3-11 and 3-12): the augmented
Lagrangian over the cloud shares.

Problem P4 (eq. 3-11), for fixed cuts: minimise ``T2(delta) = (1/|D|) sum_d g_d(delta_d)`` with

* ``X_d(delta) = lambda_d w_d / (delta_d F_eps) - 1 < 0`` (stability; ``w_d = C_d - C_d(gamma_d)``),
* ``Y(delta) = sum_d delta_d - 1 <= 0`` (the cloud's capacity).

P5 (eq. 3-12) turns the inequalities into equalities with non-negative slack variables ``s_x``
(one per node) and ``s_y``, and minimises the augmented Lagrangian

    L = T2 + alpha . (X + s_x) + beta (Y + s_y) + rho_x / 2 ||X + s_x||^2 + rho_y / 2 (Y + s_y)^2

over ``(delta, s_x, s_y)`` for fixed multipliers; the multipliers then take a step of gradient
*ascent* (``alpha += rho_x (X + s_x)``, ``beta += rho_y (Y + s_y)``: "the values of Lagrange
multiplier and penalty factor are changed by gradient rising method") and the penalties grow
when the constraint violation does not shrink fast enough (Hestenes-Powell-Rockafellar). Each
inner minimisation is ``scipy.optimize.minimize`` (TNC or L-BFGS-B, analytic gradient, bounds
``s >= 0``).

Readings:

* ``X < 0`` is strict; it is enforced as ``s_x >= margin`` (``rho <= 1 - margin``, default
  ``1e-6``) so that every accepted share gives a stable queue.
* ``g_d`` is infinite where ``X_d >= 0``; inside the minimiser it is continued below
  ``rho = 1 - margin / 2`` by its second-order Taylor polynomial (convex and steep), so trial
  points that the line search takes outside the stable region get a finite, large value and
  the multiplier ``alpha`` pushes them back. The continuation is never used at an accepted
  point.
* The answer is checked in code, not trusted from the solver's status: shares are raised to the
  stability margin and, if they then exceed the capacity, the part above each node's floor is
  scaled down; no stable allocation within the capacity means the cuts are infeasible.

Examples
--------
>>> import numpy as np
>>> from splitinfer.planners.zheng2021.shares import optimal_shares
>>> lam, work = np.array([1.0, 2.0, 0.5]), np.array([3e9, 1e9, 5e9])
>>> al = augmented_lagrangian_shares(lam, work, 2e10)
>>> ex = optimal_shares(lam, work, 2e10)
>>> al.feasible, bool(abs(al.value - ex.value) <= 1e-6 * ex.value)
(True, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from splitinfer.planners.zheng2021.shares import cloud_sojourn

__all__ = ["ALResult", "augmented_lagrangian_shares"]


@dataclass(frozen=True)
class ALResult:
    """Outcome of the augmented Lagrangian.

    Attributes
    ----------
    delta : ndarray
        Shares per node after the feasibility check (0 for nodes without cloud work).
    value : float
        ``T2(delta)`` (``inf`` if infeasible).
    feasible : bool
    outer_iterations : int
        Multiplier updates performed.
    violation : float
        Largest constraint violation ``|X + s_x|, |Y + s_y|`` of the last inner solution
        (before the feasibility repair).
    repaired : bool
        Whether the feasibility check had to move the shares.
    alpha, beta : ndarray, float
        Final multipliers.
    """

    delta: np.ndarray
    value: float
    feasible: bool
    outer_iterations: int
    violation: float
    repaired: bool
    alpha: np.ndarray
    beta: float


#: Options of the inner minimisers (``scale``: the objective's magnitude).
_OPTIONS = {
    "TNC": lambda scale: {"maxfun": 2000, "ftol": 0.0, "xtol": 1e-13, "gtol": 1e-13 * scale},
    "L-BFGS-B": lambda scale: {"maxiter": 500, "ftol": 1e-15, "gtol": 1e-12 * scale},
}


class _Sojourn:
    """g_d and g_d' for the busy nodes, lean (no checks), with the quadratic continuation.

    With ``rho = dmin / delta``: ``g = f(rho) / lambda``, ``f(rho) = rho + rho^2 / (2 (1 -
    rho))``, ``g' = -f'(rho) rho / (delta lambda)``; with no arrivals ``g = dmin'/delta`` where
    ``dmin' = w / F``.
    """

    def __init__(self, lam: np.ndarray, work: np.ndarray, F: float, dc: np.ndarray):
        self.lam = lam
        self.poisson = lam > 0
        self.lam_safe = np.where(self.poisson, lam, 1.0)
        self.dmin = lam * work / F
        self.service = work / F            # 1 / (F / w): seconds per task at delta = 1
        self.dc = dc
        self.gc, self.g1c = self._exact(dc)
        h = 1e-7 * dc
        self.g2c = (self._exact(dc + h)[1] - self.g1c) / h

    def _exact(self, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rho = self.dmin / d
        one = 1.0 - rho
        f = rho + rho * rho / (2.0 * one)
        f1 = 1.0 + (2.0 * rho - rho * rho) / (2.0 * one * one)
        g = np.where(self.poisson, f / self.lam_safe, self.service / d)
        dg = np.where(self.poisson, -f1 * rho / (d * self.lam_safe), -self.service / (d * d))
        return g, dg

    def __call__(self, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        inside = d >= self.dc
        g, dg = self._exact(np.where(inside, d, self.dc))
        if inside.all():
            return g, dg
        step = d - self.dc
        gq = self.gc + self.g1c * step + 0.5 * self.g2c * step * step
        return np.where(inside, g, gq), np.where(inside, dg, self.g1c + self.g2c * step)


def augmented_lagrangian_shares(lam: Sequence[float], work: Sequence[float], cloud_speed: float,
                                *, lower: Sequence[float] | None = None,
                                mean_over: int | None = None, margin: float = 1e-6,
                                max_outer: int = 40, tol: float = 1e-10,
                                penalty: float = 10.0, growth: float = 10.0,
                                method: str = "TNC") -> ALResult:
    """Solve P4 with the augmented Lagrangian of P5 (see the module docstring).

    Parameters
    ----------
    lam, work : sequence of float
        lambda_d and the cloud's FLOPs per task w_d (0: the node needs no share).
    cloud_speed : float
        F_eps.
    lower : sequence of float, optional
        Extra lower bounds on the shares (second half of C3), as box bounds of the minimiser.
    mean_over : int, optional
        |D| (default: the number of nodes given).
    margin : float
        Stability margin: accepted shares have utilisation at most ``1 - margin``.
    max_outer : int
        Multiplier updates at most.
    tol : float
        Stop when the constraint violation is below ``tol`` and the objective moved less than
        ``tol`` (relative).
    penalty, growth : float
        Initial penalty factor (relative to the objective's scale) and its growth factor.
    method : {"TNC", "L-BFGS-B"}
        SciPy's bound-constrained minimiser for each inner problem. TNC (truncated Newton, pure
        C) is the default: L-BFGS-B calls BLAS on tiny vectors and becomes ~10x slower when
        OpenBLAS threads compete with other processes for the cores.

    Returns
    -------
    ALResult
    """
    lam = np.asarray(lam, dtype=float)
    work = np.asarray(work, dtype=float)
    n_all = len(lam)
    n = n_all if mean_over is None else int(mean_over)
    lower_all = np.zeros(n_all) if lower is None else np.asarray(lower, dtype=float)
    busy = work > 0
    out = np.zeros(n_all)
    if not busy.any():
        return ALResult(out, 0.0, True, 0, 0.0, False, np.zeros(0), 0.0)
    lm, wk, lb = lam[busy], work[busy], lower_all[busy]
    F = float(cloud_speed)
    dmin = lm * wk / F
    floor = np.maximum(dmin / (1.0 - margin), lb)
    if floor.sum() > 1.0 or (lb > 1).any():
        return ALResult(out, float("inf"), False, 0, float("inf"), False, np.zeros(len(lm)), 0.0)
    dc = np.where(dmin > 0, dmin / (1.0 - 0.5 * margin), 1e-300)
    # start: the floors plus the spare capacity in proportion to them (equal utilisation)
    d0 = floor + (1.0 - floor.sum()) * (floor / floor.sum())
    scale = max(float(cloud_sojourn(lm, wk, F, d0).sum() / n), 1e-12)
    al = _Lagrangian(_Sojourn(lm, wk, F, dc), dmin, n, margin, penalty * scale)
    bounds = [(max(b, 1e-15), 1.0) for b in lb]

    d = d0
    prev_viol, prev_val, outer, viol = np.inf, np.inf, 0, np.inf
    while outer < max_outer:
        outer += 1
        res = minimize(al, d, jac=True, method=method, bounds=bounds,
                       options=_OPTIONS[method](scale))
        d = res.x
        viol = al.update_multipliers(d)
        val = float(cloud_sojourn(lm, wk, F, np.maximum(d, dc)).sum() / n)
        if viol < tol and abs(val - prev_val) <= tol * max(abs(val), 1e-300):
            break
        if viol > 0.25 * prev_viol:
            al.rho_x, al.rho_y = al.rho_x * growth, al.rho_y * growth
        prev_viol, prev_val = viol, val
    d, repaired = _repair(d, floor)
    out[busy] = d
    value = float(cloud_sojourn(lm, wk, F, d).sum() / n)
    return ALResult(out, value, bool(np.isfinite(value)), outer, viol, repaired, al.alpha, al.beta)


class _Lagrangian:
    """The augmented Lagrangian of P5 (eq. 3-12) at the current multipliers and penalties.

    Constraints ``X = dmin / delta - 1 + s_x = 0`` (stability, slacks ``s_x`` in
    ``[margin, 1]``) and ``Y = sum(delta) - 1 + s_y = 0`` (C1, slack ``s_y`` in ``[0, 1]``);
    multipliers ``alpha`` (one per node) and ``beta``, penalties ``rho_x`` and ``rho_y``.
    Calling it gives ``(L, dL/d delta)`` at the slacks that minimise ``L`` for that delta.
    """

    def __init__(self, sojourn: _Sojourn, dmin: np.ndarray, n: int, margin: float,
                 rho: float) -> None:
        self.sojourn, self.dmin, self.n, self.margin = sojourn, dmin, n, margin
        self.rho_x = self.rho_y = rho
        self.alpha, self.beta = np.zeros(len(dmin)), 0.0

    def slacks(self, d: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float]:
        """X, Y and the slacks that minimise L for this delta (a box-constrained quadratic)."""
        X = self.dmin / d - 1.0
        Y = d.sum() - 1.0
        sx = np.clip(-X - self.alpha / self.rho_x, self.margin, 1.0)
        sy = min(max(-Y - self.beta / self.rho_y, 0.0), 1.0)
        return X, sx, Y, sy

    def __call__(self, d: np.ndarray) -> tuple[float, np.ndarray]:
        g, dg = self.sojourn(d)
        X, sx, Y, sy = self.slacks(d)
        cx = X + sx
        cy = Y + sy
        alpha, beta, rho_x, rho_y, n = self.alpha, self.beta, self.rho_x, self.rho_y, self.n
        val = g.sum() / n + alpha @ cx + beta * cy + 0.5 * rho_x * cx @ cx + 0.5 * rho_y * cy * cy
        # d/d delta at the optimal slacks (envelope theorem)
        grad = dg / n + (alpha + rho_x * cx) * (-self.dmin / (d * d)) + (beta + rho_y * cy)
        return float(val), grad

    def update_multipliers(self, d: np.ndarray) -> float:
        """Gradient ascent on the multipliers at ``d``; returns the constraint violation."""
        X, sx, Y, sy = self.slacks(d)
        cx = X + sx
        cy = Y + sy
        self.alpha = self.alpha + self.rho_x * cx
        self.beta = self.beta + self.rho_y * cy
        return max(float(np.max(np.abs(cx))), abs(float(cy)))


def _repair(d: np.ndarray, floor: np.ndarray) -> tuple[np.ndarray, bool]:
    """Shares made feasible (checked here, not trusted from the solver): at least the floors,
    at most 1 in all (the spare above the floors scaled down)."""
    d = d.copy()
    repaired = False
    if (d < floor).any():
        d = np.maximum(d, floor)
        repaired = True
    if d.sum() > 1.0:
        free = d - floor
        d = floor + free * (1.0 - floor.sum()) / free.sum()
        repaired = True
    return d, repaired
