"""The cloud-share subproblem P4 of Zheng 2021 (eq. 3-11) solved exactly through its KKT conditions.

For fixed cuts, P4 is ``min (1/|D|) sum_d g_d(delta_d)`` subject to ``sum_d delta_d <= 1`` and
``delta_d > lambda_d w_d / F_eps`` (stability), where ``w_d = C_d - C_d(gamma_d)`` is the cloud's
work per task and ``g_d`` the M/D/1 sojourn of eq. 3-5 at service rate ``mu = delta_d F_eps /
w_d``. In the utilisation ``rho = lambda / mu``,

    g(delta) = (1 / lambda) (rho + rho^2 / (2 (1 - rho))),

which is the paper's ``(X^2 - 1) / (2 lambda X)`` with ``X = rho - 1`` (eq. 3-11 prints
``2 lambda_d(delta_d)`` in the denominator: the factor ``X`` is missing there). Each ``g_d`` is
strictly convex and strictly decreasing in ``delta_d`` (``T(mu)`` is convex and decreasing for
``mu > lambda`` and ``mu`` is linear in ``delta``), and tends to infinity at the stability bound,
so the problem is convex, Slater's condition holds whenever ``sum_d lambda_d w_d / F_eps < 1``,
and the KKT conditions are necessary and sufficient: there is a price ``nu > 0`` with
``-g_d'(delta_d) = nu`` for every node with cloud work (clipped to optional lower bounds such as
C3's) and ``sum_d delta_d = 1``. :func:`optimal_shares` finds ``nu`` by root finding on the
(monotone) total share, solving each node's stationarity condition by bisection, and reports the
KKT residuals so a caller can check the certificate.

Examples
--------
>>> a = optimal_shares(lam=[1.0, 1.0], work=[2e9, 2e9], cloud_speed=1e10)
>>> a.delta.round(6).tolist(), a.feasible        # symmetric nodes: equal shares
([0.5, 0.5], True)
>>> round(a.value, 6)                            # mu = 2.5 at each share: 0.4 + 1/7.5
0.533333
>>> optimal_shares(lam=[1.0, 1.0], work=[6e9, 6e9], cloud_speed=1e10).feasible
False
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

__all__ = ["Allocation", "cloud_sojourn", "cloud_sojourn_grad", "shares_for_price",
           "optimal_shares"]


def cloud_sojourn(lam: np.ndarray, work: np.ndarray, cloud_speed: float,
                  delta: np.ndarray) -> np.ndarray:
    """g_d(delta_d): eq. 3-5 at mu = delta F / w (0 with no work, ``inf`` when unstable).

    Examples
    --------
    >>> cloud_sojourn(np.array([1.0]), np.array([2.0]), 10.0, np.array([0.5])).round(6).tolist()
    [0.533333]
    """
    lam, work, delta = (np.asarray(x, dtype=float) for x in (lam, work, delta))
    with np.errstate(divide="ignore", invalid="ignore"):
        mu = delta * cloud_speed / np.where(work > 0, work, 1.0)
        wait = lam / (2.0 * mu * (mu - lam))
        t = np.where(mu > lam, wait + 1.0 / mu, np.inf)
    return np.where(work > 0, t, 0.0)


def cloud_sojourn_grad(lam: np.ndarray, work: np.ndarray, cloud_speed: float,
                       delta: np.ndarray) -> np.ndarray:
    """dg_d / d delta_d (negative; ``-inf`` at or below the stability bound, 0 with no work).

    ``dT/dmu = -(2 mu^2 - 2 mu lambda + lambda^2) / (2 mu^2 (mu - lambda)^2)`` times
    ``dmu/d delta = F / w``.

    Examples
    --------
    >>> g = lambda d: cloud_sojourn(np.array([1.0]), np.array([2.0]), 10.0, np.array([d]))[0]
    >>> num = (g(0.5 + 1e-7) - g(0.5 - 1e-7)) / 2e-7
    >>> bool(abs(cloud_sojourn_grad([1.0], [2.0], 10.0, [0.5])[0] - num) < 1e-5)
    True
    """
    lam, work, delta = (np.asarray(x, dtype=float) for x in (lam, work, delta))
    a = cloud_speed / np.where(work > 0, work, 1.0)
    mu = delta * a
    with np.errstate(divide="ignore", invalid="ignore"):
        d = -(2 * mu * mu - 2 * mu * lam + lam * lam) / (2 * mu * mu * (mu - lam) ** 2) * a
        d = np.where(mu > lam, d, -np.inf)
    return np.where(work > 0, d, 0.0)


def _utilisation_for_slope(kappa: np.ndarray, iterations: int = 60) -> np.ndarray:
    """Solve ``rho^2 (rho^2 - 2 rho + 2) = 2 kappa (1 - rho)^2`` for rho in (0, 1).

    This is the stationarity condition ``-g'(delta) = nu`` written in the utilisation
    ``rho = delta_min / delta`` (``kappa = nu lambda delta_min``): ``-g'(delta) = rho^2 f'(rho) /
    (lambda delta_min)`` with ``f(rho) = rho + rho^2 / (2 (1 - rho))``. The left side minus the
    right is increasing in rho (from ``-2 kappa`` to 1), so safeguarded Newton steps inside the
    bracket converge.
    """
    lo = np.zeros_like(kappa)
    hi = np.ones_like(kappa)
    t = np.sqrt(1.5 * kappa)     # rho / (1 - rho) lies between sqrt(kappa) and sqrt(2 kappa)
    rho = t / (1.0 + t)
    for _ in range(iterations):
        psi = rho * rho * (rho * rho - 2 * rho + 2) - 2 * kappa * (1 - rho) ** 2
        lo = np.where(psi < 0, rho, lo)
        hi = np.where(psi < 0, hi, rho)
        dpsi = 4 * rho ** 3 - 6 * rho ** 2 + 4 * rho + 4 * kappa * (1 - rho)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = rho - psi / dpsi
        inside = (step >= lo) & (step <= hi) & np.isfinite(step)
        new = np.where(inside, step, 0.5 * (lo + hi))
        if np.all(np.abs(new - rho) <= 1e-13 * np.maximum(rho, 1e-300)):
            rho = new
            break
        rho = new
    return rho


def shares_for_price(lam: np.ndarray, work: np.ndarray, cloud_speed: float, nu: float,
                     lower: np.ndarray, upper: float = 1.0) -> np.ndarray:
    """argmin over delta in [lower, upper] of g_d(delta) + nu delta, for every node.

    The stationarity condition ``-g'(delta) = nu`` (``-g'`` decreases from infinity at the
    stability bound to 0) is solved in the utilisation (:func:`_utilisation_for_slope`); with no
    arrivals ``g = w / (F delta)`` and ``delta = sqrt(w / (F nu))``. The answer is clipped to
    ``[lower, upper]``. Nodes without cloud work get 0.

    Examples
    --------
    >>> d = shares_for_price(np.array([1.0]), np.array([2e9]), 1e10, 1.0, np.array([0.0]))
    >>> bool(abs(-cloud_sojourn_grad([1.0], [2e9], 1e10, d)[0] - 1.0) < 1e-9)
    True
    """
    lam, work, lower = (np.asarray(x, dtype=float) for x in (lam, work, lower))
    busy = work > 0
    if nu <= 0:
        return np.where(busy, float(upper), 0.0)
    dmin = lam * work / cloud_speed
    kappa = nu * lam * dmin
    rho = _utilisation_for_slope(kappa)
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = np.where(lam > 0, dmin / rho, np.sqrt(work / (cloud_speed * nu)))
    delta = np.clip(np.where(np.isfinite(delta), delta, upper), lower, upper)
    return np.where(busy, delta, 0.0)


@dataclass(frozen=True)
class Allocation:
    """An allocation of the cloud and its certificate.

    Attributes
    ----------
    delta : ndarray
        Shares per node (0 for nodes without cloud work).
    value : float
        ``sum_d g_d(delta_d) / n`` with ``n`` = ``mean_over`` (``inf`` if infeasible).
    nu : float
        The price (Lagrange multiplier of ``sum delta <= 1``), per unit of the *sum*
        ``sum_d g_d``.
    feasible : bool
        Whether a stable allocation within the budget exists.
    kkt_residual : float
        Largest violation of stationarity (relative), complementarity and the budget.
    """

    delta: np.ndarray
    value: float
    nu: float
    feasible: bool
    kkt_residual: float


def kkt_residual(lam: np.ndarray, work: np.ndarray, cloud_speed: float, delta: np.ndarray,
                 nu: float, lower: np.ndarray) -> float:
    """Largest relative violation of the KKT conditions of P4 at ``(delta, nu)``.

    Stationarity ``-g'(delta) = nu`` where ``lower < delta < 1``; ``-g'(delta) <= nu`` where
    ``delta`` sits on its lower bound; ``sum delta <= 1`` with complementary slackness.
    """
    busy = work > 0
    if not busy.any():
        return 0.0
    slope = -cloud_sojourn_grad(lam, work, cloud_speed, np.where(busy, delta, 1.0))
    scale = max(nu, 1e-300)
    at_lower = busy & (delta <= lower * (1 + 1e-9) + 1e-15)
    interior = busy & ~at_lower
    r = 0.0
    if interior.any():
        r = max(r, float(np.max(np.abs(slope[interior] - nu) / scale)))
    if at_lower.any():
        r = max(r, float(np.max(np.maximum(slope[at_lower] - nu, 0.0) / scale)))
    total = float(delta.sum())
    r = max(r, max(total - 1.0, 0.0), abs(total - 1.0) if nu > 0 else 0.0)
    return r


def optimal_shares(lam: Sequence[float], work: Sequence[float], cloud_speed: float,
                   lower: Sequence[float] | None = None, mean_over: int | None = None
                   ) -> Allocation:
    """Solve P4 to optimality (see the module docstring).

    Parameters
    ----------
    lam, work : sequence of float
        lambda_d and w_d = C_d - C_d(gamma_d) (FLOPs the cloud runs per task; 0: no share).
    cloud_speed : float
        F_eps, FLOP/s.
    lower : sequence of float, optional
        Extra lower bounds on the shares (e.g. the second half of C3).
    mean_over : int, optional
        Divide the sum by this (|D|, default: the number of nodes given).

    Returns
    -------
    Allocation
    """
    lam = np.asarray(lam, dtype=float)
    work = np.asarray(work, dtype=float)
    n = len(lam) if mean_over is None else int(mean_over)
    busy = work > 0
    lower = np.zeros(len(lam)) if lower is None else np.asarray(lower, dtype=float)
    lower = np.where(busy, lower, 0.0)
    stab = np.where(busy, lam * work / cloud_speed, 0.0)
    if not busy.any():
        return Allocation(np.zeros(len(lam)), 0.0, 0.0, True, 0.0)
    if stab.sum() >= 1.0 or np.maximum(stab, lower).sum() > 1.0 or (lower > 1).any():
        return Allocation(np.zeros(len(lam)), float("inf"), float("nan"), False, float("inf"))

    def excess(log_nu: float) -> float:
        return float(shares_for_price(lam, work, cloud_speed, np.exp(log_nu), lower).sum()) - 1.0

    lo_l, hi_l = -60.0, 60.0
    if excess(hi_l) >= 0:  # the lower bounds alone use the whole cloud
        delta = shares_for_price(lam, work, cloud_speed, np.exp(hi_l), lower)
        nu = float(np.exp(hi_l))
    elif excess(lo_l) <= 0:  # one busy node takes the whole cloud: nu = -g'(1)
        delta = shares_for_price(lam, work, cloud_speed, 0.0, lower)
        nu = float(np.min(-cloud_sojourn_grad(lam, work, cloud_speed, np.where(busy, delta, 1.0))
                          [busy]))
    else:
        log_nu = brentq(excess, lo_l, hi_l, xtol=1e-13, rtol=1e-13, maxiter=500)
        nu = float(np.exp(log_nu))
        delta = shares_for_price(lam, work, cloud_speed, nu, lower)
        # the root is exact up to bisection precision: remove the last 1e-12 of excess
        total = delta.sum()
        if total > 1.0:
            free = np.where(busy, delta - np.maximum(stab, lower), 0.0)
            delta = delta - free * (total - 1.0) / free.sum()
    value = float(cloud_sojourn(lam, work, cloud_speed, delta).sum() / n)
    res = kkt_residual(lam, work, cloud_speed, delta, nu, lower)
    return Allocation(delta, value, nu, bool(np.isfinite(value)), res)
