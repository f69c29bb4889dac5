"""Zheng's edge-cloud delay model: the per-node delay of eq. 3-6 and the objective P1 (3-7).

Zheng, "Research on Cloud-edge Joint Task Inference Algorithm in Edge Intelligence"
(section 3.2.2). Every edge node ``d`` receives Poisson arrivals at
rate ``lambda_d`` and runs the first ``gamma_d`` layers of the model (``C_d(gamma_d)`` FLOPs) on
its own processor of speed ``F_d``: an M/D/1 queue with service rate ``mu_d = F_d / C_d(gamma_d)``
(eq. 3-1) and mean sojourn eq. 3-2. The cut tensor of ``M_d(gamma_d)`` bytes then crosses the
uplink in ``8 M / B_d`` seconds, a pure delay (eq. 3-3), and the share ``delta_d`` of the cloud
(speed ``F_eps``) serves the rest as a second M/D/1 queue with ``mu_de = delta_d F_eps / (C_d -
C_d(gamma_d))`` (eqs. 3-4, 3-5). P1 is the mean of ``T_d`` over the nodes (eq. 3-7).

Readings (physically sound, written down as the seed asks):

* Units: FLOPs and FLOP/s (the paper's "GFLOPS" are multiply-accumulates; reading both its
  model sizes and its speeds as MACs gives the same times, see ``docs/algorithms/zheng2021.md``).
  ``M`` is in bytes, so eq. 3-3 is ``8 M / B`` with ``B`` in bit/s.
* Unstable queues (``lambda >= mu`` at the edge or at a cloud share) give ``inf``, never a
  finite or negative delay (:mod:`splitinfer.system.queueing`); so does ``P1``.
* A node that runs the whole model (no cloud work) sends nothing and needs no share: its cloud
  term is 0 whatever ``delta_d`` (the caller passes ``transfer_bytes = 0`` for that cut: the
  paper ignores the result return, section 3.2.2).
* ``delta_d = 0`` with cloud work left is an unstable (never served) queue: ``inf``.
* Eq. 3-5 treats the cloud share's input as Poisson. In a real tandem it is the output of the
  edge's M/D/1 queue (shifted by a constant transfer time), whose departures are at least
  ``1 / mu_d`` apart. When the share is at least as fast as the edge (``mu_de >= mu_d``, the
  second half of the paper's constraint C3), a task therefore never waits in the cloud, and the
  true mean delay is ``T_edge + T_trans + 1 / mu_de``: :func:`tandem_delay` returns it. When the
  edge does no work (``gamma_d = 0``) the cloud input is Poisson and eq. 3-5 is exact.

Examples
--------
>>> d = edge_cloud_delays(lam=1.0, edge_speed=4.0, head_flops=2.0, transfer_bytes=1e5,
...                       bandwidth=8e6, cloud_speed=10.0, tail_flops=2.0, share=0.5)
>>> round(float(d.edge), 6), round(float(d.trans), 6), round(float(d.cloud), 6)
(0.75, 0.1, 0.533333)
>>> p1_objective(lam=[1.0, 1.0], edge_speed=4.0, head_flops=[2.0, 8.0], transfer_bytes=0.0,
...              bandwidth=8e6, cloud_speed=10.0, tail_flops=[2.0, 0.0], share=[0.5, 0.0])
inf

(the second node runs 8 FLOPs at 4 FLOP/s per task but receives one task per second).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from splitinfer.system.entities import Link
from splitinfer.system.queueing import md1_sojourn

__all__ = ["EdgeCloudDelays", "edge_cloud_delays", "p1_objective", "tandem_delay",
           "cloud_never_waits"]


@dataclass(frozen=True)
class EdgeCloudDelays:
    """Per-node terms of Zheng 2021 eq. 3-6 (arrays, one entry per edge node; ``inf`` if unstable).

    Attributes
    ----------
    edge : ndarray
        ``T_d,edge``, eq. 3-2 (queueing + computing on the edge node).
    trans : ndarray
        ``T_d,trans``, eq. 3-3 (pure transfer delay).
    cloud : ndarray
        ``T_d,cloud``, eq. 3-5 (queueing + computing on the cloud share).
    mu_edge, mu_cloud : ndarray
        Service rates of eqs. 3-1 and 3-4 (``inf`` for a piece with no work, 0 for no share).
    """

    edge: np.ndarray
    trans: np.ndarray
    cloud: np.ndarray
    mu_edge: np.ndarray
    mu_cloud: np.ndarray

    @property
    def total(self) -> np.ndarray:
        """``T_d`` of eq. 3-6."""
        return self.edge + self.trans + self.cloud

    @property
    def stable(self) -> np.ndarray:
        """Whether every queue of the node has a steady state."""
        return np.isfinite(self.total)


def _rate(speed: np.ndarray, flops: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(flops > 0, speed / np.where(flops > 0, flops, 1.0), np.inf)


def edge_cloud_delays(lam: Any, edge_speed: Any, head_flops: Any, transfer_bytes: Any,
                      bandwidth: Any, cloud_speed: Any, tail_flops: Any,
                      share: Any) -> EdgeCloudDelays:
    """The terms of ``T_d`` (Zheng 2021 eqs. 3-1 to 3-6) for every edge node, broadcast together.

    Parameters
    ----------
    lam : array_like
        Arrival rates lambda_d, tasks per second (>= 0).
    edge_speed : array_like
        F_d, FLOP/s (> 0).
    head_flops : array_like
        C_d(gamma_d), FLOPs the edge runs per task (>= 0).
    transfer_bytes : array_like
        M_d(gamma_d), bytes sent to the cloud per task (0 when nothing is offloaded).
    bandwidth : array_like
        B_d, bit/s (> 0).
    cloud_speed : array_like
        F_eps, FLOP/s of the whole cloud (> 0).
    tail_flops : array_like
        C_d - C_d(gamma_d), FLOPs the cloud runs per task (>= 0).
    share : array_like
        delta_d in [0, 1].

    Returns
    -------
    EdgeCloudDelays

    Raises
    ------
    ValueError
        Negative work, bytes or rates, non-positive speeds or bandwidths, shares outside [0, 1].

    Examples
    --------
    >>> d = edge_cloud_delays(1.0, 1.0, 2.0, 0.0, 1.0, 1.0, 0.0, 0.0)   # 2 s service at 1/s
    >>> float(d.total)
    inf
    """
    lam, fe, c, m, b, fc, w, s = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (
        lam, edge_speed, head_flops, transfer_bytes, bandwidth, cloud_speed, tail_flops, share)))
    if (fe <= 0).any() or (fc <= 0).any() or (b <= 0).any():
        raise ValueError("speeds and bandwidths must be > 0")
    if (c < 0).any() or (w < 0).any() or (m < 0).any() or (lam < 0).any():
        raise ValueError("FLOPs, bytes and arrival rates must be >= 0")
    if (s < 0).any() or (s > 1).any() or np.isnan(s).any():
        raise ValueError("cloud shares must lie in [0, 1]")
    mu_e = _rate(fe, c)
    mu_c = np.where(w > 0, s * fc / np.where(w > 0, w, 1.0), np.inf)
    edge = np.asarray(md1_sojourn(lam, mu_e), dtype=float)
    trans = np.asarray(Link("edge", "cloud", b).time(m), dtype=float)  # eq. 3-3: 8 m / b
    served = mu_c > 0
    cloud = np.full(mu_c.shape, np.inf)
    if served.any():
        cloud[served] = md1_sojourn(lam[served], mu_c[served])
    return EdgeCloudDelays(edge, trans, cloud, mu_e, mu_c)


def p1_objective(lam: Any, edge_speed: Any, head_flops: Any, transfer_bytes: Any,
                 bandwidth: Any, cloud_speed: Any, tail_flops: Any, share: Any) -> float:
    """Objective P1 (Zheng 2021 eq. 3-7): the mean of ``T_d`` over the edge nodes.

    Returns ``inf`` when any queue is unstable or when the shares add up to more than 1
    (constraint C1). Parameters as in :func:`edge_cloud_delays`.

    Examples
    --------
    >>> p1_objective([0.5, 0.5], 1.0, [1.0, 1.0], 0.0, 1.0, 1.0, [0.0, 0.0], [0.0, 0.0])
    1.5
    >>> p1_objective(0.5, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.2)
    Traceback (most recent call last):
    ...
    ValueError: cloud shares must lie in [0, 1]
    """
    d = edge_cloud_delays(lam, edge_speed, head_flops, transfer_bytes, bandwidth, cloud_speed,
                          tail_flops, share)
    shares = np.broadcast_to(np.asarray(share, dtype=float), d.total.shape)
    if shares.sum() > 1.0 + 1e-9:
        return float("inf")
    return float(np.mean(d.total))


def cloud_never_waits(delays: EdgeCloudDelays) -> np.ndarray:
    """Nodes where a task never waits at its cloud share in the real tandem (``mu_de >= mu_d``).

    Examples
    --------
    >>> d = edge_cloud_delays([1.0, 1.0], 4.0, [2.0, 2.0], 0.0, 1.0, 10.0, [2.0, 2.0], [0.5, 0.1])
    >>> cloud_never_waits(d).tolist()
    [True, False]
    """
    return np.asarray(delays.mu_cloud >= delays.mu_edge)


def tandem_delay(delays: EdgeCloudDelays) -> np.ndarray:
    """Mean delay per node of the real edge -> link -> cloud tandem, where it is known exactly.

    ``T_edge + T_trans + 1 / mu_de`` where the share is at least as fast as the edge (no cloud
    waiting, see the module docstring), eq. 3-6 where the edge does no work (Poisson input to
    the cloud), ``nan`` elsewhere (the share then waits less than eq. 3-5 says, by an amount
    with no closed form). ``inf`` for unstable nodes.

    Examples
    --------
    >>> d = edge_cloud_delays(1.0, 4.0, 2.0, 0.0, 1.0, 10.0, 2.0, 0.5)
    >>> float(d.total), float(tandem_delay(d))      # eq. 3-5 adds a wait that never happens
    (1.2833333333333332, 1.15)
    """
    service = np.where(np.isinf(delays.mu_cloud), 0.0,
                       1.0 / np.where(delays.mu_cloud > 0, delays.mu_cloud, 1.0))
    exact = delays.edge + delays.trans + service
    out = np.where(cloud_never_waits(delays), exact,
                   np.where(np.isinf(delays.mu_edge), delays.total, np.nan))
    return np.where(np.isfinite(delays.total), out, np.inf)
