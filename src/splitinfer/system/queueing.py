"""Analytic single-server queues: M/D/1 and M/M/1 utilisation, mean wait and mean sojourn.

Zheng 2021 (section 3.2.2) models every edge node and every cloud share as an M/D/1 queue: Poisson
arrivals at rate lambda, a fixed service time 1/mu, one server, FIFO. Its eqs. 3-2 and 3-5 give
the mean time a task spends there (queueing plus service),

    T = lambda / (2 mu (mu - lambda)) + 1 / mu,

with the service rate of eq. 3-1, mu_d = F_d / C_d(gamma_d) (FLOP/s over the FLOPs of the piece;
the paper prints ``C_d(lambda_d)``, a typo for the head FLOPs ``C_d(gamma_d)``), and of eq. 3-4,
mu = delta F / (C - C(gamma)) for a share delta of the cloud. The M/M/1 formulas (exponential
service, Zheng's reference [13]) are here for comparison.

Readings chosen here (physically sound, written down as the seed asks):

* A queue is stable only when lambda < mu (utilisation rho < 1). Zheng's constraint C3 writes
  ``lambda_d <= mu_d``, but at lambda = mu the mean delay is unbounded, so lambda >= mu is
  *unstable*: every delay function returns ``math.inf`` there (never a negative or finite number),
  and :func:`is_stable` says so. Optimisers can use the infinity as a penalty; callers that want
  an exception pass ``strict=True`` and get :class:`UnstableQueueError`.
* A piece with no work (zero FLOPs) has mu = inf and takes no time: wait 0, sojourn 0.
* lambda = 0 (no arrivals) gives wait 0 and sojourn 1/mu (the delay a lone task would see).
* Negative or NaN rates are input errors and raise :class:`ValueError`.

Every function takes scalars or NumPy arrays (broadcast together) and returns a ``float`` for
scalar input, an array otherwise.

Examples
--------
>>> md1_sojourn(0.5, 1.0)          # rho = 0.5: wait 0.5, service 1
1.5
>>> mm1_sojourn(0.5, 1.0)          # exponential service waits twice as long
2.0
>>> md1_sojourn(1.0, 1.0)          # lambda >= mu: unstable, unbounded mean delay
inf
>>> md1_sojourn([0.2, 0.8, 1.2], 1.0).round(4).tolist()
[1.125, 3.0, inf]
>>> service_rate(flops_per_s=4e9, flops=2e9)          # Zheng 2021 eq. 3-1: 2 tasks per second
2.0
>>> service_rate(flops_per_s=4e9, flops=2e9, share=0.25)  # eq. 3-4 with delta = 0.25
0.5
"""

from __future__ import annotations

from typing import Any

import numpy as np

from splitinfer.errors import SplitInferError

__all__ = [
    "UnstableQueueError",
    "utilisation",
    "is_stable",
    "service_rate",
    "md1_wait",
    "md1_sojourn",
    "md1_queue_length",
    "mm1_wait",
    "mm1_sojourn",
    "mm1_queue_length",
]


class UnstableQueueError(SplitInferError, ValueError):
    """Arrivals at least as fast as service (lambda >= mu): the queue grows without bound."""


def _rates(lam: Any, mu: Any) -> tuple[np.ndarray, np.ndarray, bool]:
    lam_a = np.asarray(lam, dtype=float)
    mu_a = np.asarray(mu, dtype=float)
    if np.isnan(lam_a).any() or np.isnan(mu_a).any():
        raise ValueError("arrival and service rates must not be NaN")
    if (lam_a < 0).any():
        raise ValueError(f"arrival rate lambda must be >= 0, got {lam!r}")
    if (mu_a <= 0).any():
        raise ValueError(f"service rate mu must be > 0, got {mu!r}")
    scalar = lam_a.ndim == 0 and mu_a.ndim == 0
    lam_a, mu_a = np.broadcast_arrays(lam_a, mu_a)
    return lam_a, mu_a, scalar


def _out(values: np.ndarray, scalar: bool) -> float | np.ndarray:
    return float(values) if scalar else values


def _check(lam: np.ndarray, mu: np.ndarray, strict: bool) -> np.ndarray:
    stable = lam < mu
    if strict and not stable.all():
        i = int(np.flatnonzero(~stable)[0])
        raise UnstableQueueError(
            f"unstable queue: arrival rate {lam.flat[i]:.6g}/s >= service rate "
            f"{mu.flat[i]:.6g}/s (utilisation >= 1, the mean delay is unbounded)")
    return stable


def utilisation(lam: Any, mu: Any) -> float | np.ndarray:
    """Server utilisation rho = lambda / mu (may exceed 1: then the queue is unstable).

    Parameters
    ----------
    lam : float or array_like
        Arrival rate lambda, tasks per second (>= 0).
    mu : float or array_like
        Service rate mu, tasks per second (> 0; ``inf`` for a stage with no work).

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> utilisation(3.0, 4.0)
    0.75
    """
    lam_a, mu_a, scalar = _rates(lam, mu)
    with np.errstate(invalid="ignore"):
        rho = np.where(np.isinf(mu_a), 0.0, lam_a / mu_a)
    return _out(rho, scalar)


def is_stable(lam: Any, mu: Any) -> bool | np.ndarray:
    """Whether the queue has a steady state: lambda < mu.

    Examples
    --------
    >>> is_stable(0.9, 1.0), is_stable(1.0, 1.0)
    (True, False)
    """
    lam_a, mu_a, scalar = _rates(lam, mu)
    stable = lam_a < mu_a
    return bool(stable) if scalar else stable


def service_rate(flops_per_s: Any, flops: Any, share: Any = 1.0) -> float | np.ndarray:
    """Tasks per second a node serves: mu = share x F / C (Zheng 2021 eqs. 3-1 and 3-4).

    Parameters
    ----------
    flops_per_s : float or array_like
        Node speed F in FLOP/s (> 0).
    flops : float or array_like
        FLOPs C of the piece each task runs there (>= 0; 0 gives ``inf``: no work, no delay).
    share : float or array_like
        Fraction delta in (0, 1] of the node's capacity (a divisible cloud's share).

    Examples
    --------
    >>> service_rate(1e9, 0.0)
    inf
    """
    f = np.asarray(flops_per_s, dtype=float)
    c = np.asarray(flops, dtype=float)
    s = np.asarray(share, dtype=float)
    if (f <= 0).any() or (c < 0).any() or (s <= 0).any() or (s > 1).any():
        raise ValueError("need flops_per_s > 0, flops >= 0 and 0 < share <= 1")
    with np.errstate(divide="ignore"):
        mu = np.where(c == 0, np.inf, s * f / np.where(c == 0, 1.0, c))
    return float(mu) if mu.ndim == 0 else mu


def md1_wait(lam: Any, mu: Any, *, strict: bool = False) -> float | np.ndarray:
    """Mean time in the queue before service, M/D/1: lambda / (2 mu (mu - lambda)).

    The first term of Zheng 2021 eqs. 3-2 and 3-5 (Pollaczek-Khinchine with zero service
    variance). ``inf`` when lambda >= mu (or :class:`UnstableQueueError` with ``strict``).

    Examples
    --------
    >>> md1_wait(0.5, 1.0)
    0.5
    >>> md1_wait(2.0, 1.0)
    inf
    """
    lam_a, mu_a, scalar = _rates(lam, mu)
    stable = _check(lam_a, mu_a, strict)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = lam_a / (2.0 * mu_a * (mu_a - lam_a))
    w = np.where(np.isinf(mu_a), 0.0, np.where(stable, w, np.inf))
    return _out(w, scalar)


def md1_sojourn(lam: Any, mu: Any, *, strict: bool = False) -> float | np.ndarray:
    """Mean sojourn (wait plus service), M/D/1: lambda / (2 mu (mu - lambda)) + 1 / mu.

    Zheng 2021 eq. 3-2 (edge node) and eq. 3-5 (cloud share). ``inf`` when lambda >= mu.

    Parameters
    ----------
    lam, mu : float or array_like
        Arrival and service rates (tasks per second).
    strict : bool
        Raise :class:`UnstableQueueError` instead of returning ``inf`` for lambda >= mu.

    Examples
    --------
    >>> round(md1_sojourn(6.0, 10.0), 6)    # rho = 0.6: 0.075 s waiting + 0.1 s service
    0.175
    """
    lam_a, mu_a, scalar = _rates(lam, mu)
    w = np.asarray(md1_wait(lam_a, mu_a, strict=strict), dtype=float)
    with np.errstate(divide="ignore"):
        s = w + 1.0 / mu_a
    return _out(s, scalar)


def md1_queue_length(lam: Any, mu: Any, *, strict: bool = False) -> float | np.ndarray:
    """Mean number waiting (not in service), M/D/1: rho^2 / (2 (1 - rho)) = lambda x wait.

    Examples
    --------
    >>> md1_queue_length(0.5, 1.0)
    0.25
    """
    lam_a, mu_a, scalar = _rates(lam, mu)
    w = np.asarray(md1_wait(lam_a, mu_a, strict=strict), dtype=float)
    return _out(np.where(lam_a == 0, 0.0, lam_a * w), scalar)


def mm1_wait(lam: Any, mu: Any, *, strict: bool = False) -> float | np.ndarray:
    """Mean time in the queue before service, M/M/1: lambda / (mu (mu - lambda)).

    Twice the M/D/1 wait at the same rates. ``inf`` when lambda >= mu.

    Examples
    --------
    >>> mm1_wait(0.5, 1.0)
    1.0
    """
    lam_a, mu_a, scalar = _rates(lam, mu)
    stable = _check(lam_a, mu_a, strict)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = lam_a / (mu_a * (mu_a - lam_a))
    w = np.where(np.isinf(mu_a), 0.0, np.where(stable, w, np.inf))
    return _out(w, scalar)


def mm1_sojourn(lam: Any, mu: Any, *, strict: bool = False) -> float | np.ndarray:
    """Mean sojourn, M/M/1: 1 / (mu - lambda). ``inf`` when lambda >= mu.

    Examples
    --------
    >>> mm1_sojourn(3.0, 4.0)
    1.0
    """
    lam_a, mu_a, scalar = _rates(lam, mu)
    w = np.asarray(mm1_wait(lam_a, mu_a, strict=strict), dtype=float)
    with np.errstate(divide="ignore"):
        s = w + 1.0 / mu_a
    return _out(s, scalar)


def mm1_queue_length(lam: Any, mu: Any, *, strict: bool = False) -> float | np.ndarray:
    """Mean number waiting (not in service), M/M/1: rho^2 / (1 - rho).

    Examples
    --------
    >>> mm1_queue_length(0.5, 1.0)
    0.5
    """
    lam_a, mu_a, scalar = _rates(lam, mu)
    w = np.asarray(mm1_wait(lam_a, mu_a, strict=strict), dtype=float)
    return _out(np.where(lam_a == 0, 0.0, lam_a * w), scalar)

