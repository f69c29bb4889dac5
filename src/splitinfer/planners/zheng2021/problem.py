"""Zheng's problem P1 read off a :class:`~splitinfer.system.scenario.Scenario`.

Mapping (``docs/algorithms/zheng2021.md``): the paper's edge node ``d`` is this project's *device*
node ``d`` (where the tasks arrive and the first ``gamma_d`` layers run: the first tier of a
task), with ``compute: {flops_per_s: F_d}`` and ``concurrency: 1`` (one FIFO processor: the
M/D/1 queue of eq. 3-2); the cloud ``epsilon`` is the one ``divisible`` cloud node with
``flops_per_s: F_eps``, whose share ``delta_d`` is the dedicated server ``"cloud#d"`` of the
simulator (eqs. 3-4, 3-5); the uplink ``d -> cloud`` is a ``dedicated`` link of rate ``B_d``
(eq. 3-3 is a pure delay; the link's latency and slowdown are included, as the simulator does,
and ``M_d(gamma_d)`` is the bytes on the wire: :func:`~splitinfer.transfer.wire_bytes` of the
cut's float32 bytes in the link's wire dtype, so a ``dtype: float16`` link halves them).
``gamma_d`` is a cut index of the device's model (0: raw input to the cloud, ``last_cut``: all on
the device, nothing sent). The arrival rates ``lambda_d`` come from
``scenario.extra["dmcjia"]["arrival_rates"]`` (device -> tasks per second, what a Poisson
generator was given) or, without it, are estimated as the device's task count over the last
arrival time of the workload (the maximum-likelihood rate of a Poisson process watched until
then).

Examples
--------
>>> from splitinfer.system.load import scenario_from_dict
>>> sc = scenario_from_dict({
...     "result_return": 0,
...     "nodes": [{"name": "d0", "kind": "device", "compute": {"flops_per_s": 4e9}},
...               {"name": "cloud", "kind": "cloud", "compute": {"flops_per_s": 1e11},
...                "divisible": True}],
...     "links": [{"src": "d0", "dst": "cloud", "bandwidth": "8Mbps"}],
...     "models": {"m": {"cuts": [{"transfer_bytes": 1e6}, {"transfer_bytes": 1e4, "head_flops": 1e9},
...                               {"transfer_bytes": 40, "head_flops": 2e9}]}},
...     "workload": {"tasks": [{"device": "d0", "model": "m", "arrival": 0.0}]},
...     "extra": {"dmcjia": {"arrival_rates": {"d0": 1.0}}}})
>>> pb = DmcjiaProblem.from_scenario(sc)
>>> pb.nodes, pb.num_cuts, pb.edge_term[0].round(3).tolist()
(('d0',), (3,), [1.0, 0.302, 0.75])
>>> round(pb.objective([1], [1.0]), 4)      # cut 1 with the whole cloud
0.3117
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from splitinfer.errors import NotApplicableError
from splitinfer.planners.zheng2021.queueing import edge_cloud_delays
from splitinfer.system.plan import TaskPlan
from splitinfer.system.queueing import md1_sojourn, service_rate
from splitinfer.system.scenario import Scenario
from splitinfer.transfer import wire_bytes

__all__ = ["DmcjiaProblem", "arrival_rates"]


def arrival_rates(sc: Scenario) -> dict[str, float]:
    """lambda_d per device with tasks: from ``extra.dmcjia.arrival_rates`` or estimated.

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> sc = NS(extra={}, tasks=[NS(device="a", arrival=1.0), NS(device="a", arrival=4.0),
    ...                          NS(device="b", arrival=2.0)])
    >>> arrival_rates(sc)
    {'a': 0.5, 'b': 0.25}
    """
    given = dict((sc.extra.get("dmcjia") or {}).get("arrival_rates") or {})
    devices = list(dict.fromkeys(t.device for t in sc.tasks))
    missing = [d for d in devices if d not in given]
    out = {d: float(given[d]) for d in devices if d in given}
    if missing:
        horizon = max(t.arrival for t in sc.tasks)
        if horizon <= 0:
            raise NotApplicableError("dmcjia: arrival rates are not given "
                                     "(extra.dmcjia.arrival_rates) and every task arrives at "
                                     "time 0, so they cannot be estimated")
        for d in missing:
            out[d] = sum(1 for t in sc.tasks if t.device == d) / horizon
    return {d: out[d] for d in devices}


@dataclass(frozen=True)
class DmcjiaProblem:
    """P1 of Zheng 2021 for one scenario: per-node constants and every cut's terms.

    Attributes
    ----------
    nodes : tuple of str
        The edge nodes d (devices with tasks), in order of first task.
    cloud : str
    lam, edge_speed : ndarray
        lambda_d and F_d.
    cloud_speed : float
        F_eps.
    num_cuts : tuple of int
        Cuts of each node's model (``gamma_d`` in ``0 .. num_cuts[d] - 1``).
    head_flops, tail_flops, transfer_time, edge_term : list of ndarray
        Per node, per cut: C_d(gamma), C_d - C_d(gamma), T_d,trans (eq. 3-3; 0 at the last cut)
        and T_d,edge + T_d,trans (the cut-only part of P2, eq. 3-8; ``inf`` when the edge queue
        is unstable).
    models : tuple of str
    """

    nodes: tuple[str, ...]
    cloud: str
    lam: np.ndarray
    edge_speed: np.ndarray
    cloud_speed: float
    num_cuts: tuple[int, ...]
    head_flops: tuple[np.ndarray, ...]
    tail_flops: tuple[np.ndarray, ...]
    transfer_time: tuple[np.ndarray, ...]
    edge_term: tuple[np.ndarray, ...]
    models: tuple[str, ...]

    @property
    def size(self) -> int:
        """|D|, the number of edge nodes."""
        return len(self.nodes)

    # ------------------------------------------------------------------ building
    @classmethod
    def from_scenario(cls, sc: Scenario, name: str = "dmcjia") -> DmcjiaProblem:
        """Read P1 off ``sc``; :class:`NotApplicableError` names what does not fit the model."""
        def no(reason: str) -> NotApplicableError:
            return NotApplicableError(f"{name}: {reason} (Zheng's model: devices with "
                                      "flops_per_s and concurrency 1, one divisible FLOP/s cloud, "
                                      "dedicated device -> cloud links)")

        if not sc.tasks:
            raise no("the scenario has no tasks")
        clouds = [c for c in sc.clouds if sc.nodes[c].divisible]
        if len(clouds) != 1 or sc.nodes[clouds[0]].compute != "flops":
            raise no(f"needs exactly one divisible cloud with flops_per_s, found {clouds}")
        cloud = clouds[0]
        rates = arrival_rates(sc)
        nodes = tuple(rates)
        lam, speed, models, nc, heads, tails, trans, terms = [], [], [], [], [], [], [], []
        for d in nodes:
            node = sc.nodes[d]
            if node.compute != "flops" or node.concurrency != 1:
                raise no(f"device {d!r} must have flops_per_s and concurrency 1")
            tasks = [t for t in sc.tasks if t.device == d]
            kinds = {t.model for t in tasks}
            if len(kinds) != 1:
                raise no(f"device {d!r} runs several models {sorted(kinds)}; one task type per node")
            if any(t.samples != 1 for t in tasks):
                raise no(f"device {d!r} has tasks with several samples")
            if not sc.has_link(d, cloud) or sc.link(d, cloud).sharing != "dedicated":
                raise no(f"device {d!r} needs a dedicated link to {cloud!r}")
            model = sc.models[tasks[0].model]
            head = np.asarray(model.head_flops, dtype=float)
            tail = model.flops - head
            tail[-1] = 0.0
            wire = sc.link(d, cloud).dtype  # the plans leave the dtype to the link
            tt = np.array([sc.transfer_time(d, cloud, float(wire_bytes(float(b), wire)))
                           for b in model.transfer_bytes])
            tail = np.maximum(tail, 0.0)
            # nothing left for the cloud (the last cut, or cuts after the last FLOP): the plan
            # is all-local and sends nothing (the paper ignores the result's return)
            tt[tail <= 0] = 0.0
            mu = service_rate(node.speed, head)
            edge = np.asarray(md1_sojourn(rates[d], mu), dtype=float)
            lam.append(rates[d])
            speed.append(node.speed)
            models.append(tasks[0].model)
            nc.append(model.num_cuts)
            heads.append(head)
            tails.append(tail)
            trans.append(tt)
            terms.append(edge + tt)
        return cls(nodes, cloud, np.array(lam), np.array(speed), float(sc.nodes[cloud].speed),
                   tuple(nc), tuple(heads), tuple(tails), tuple(trans), tuple(terms),
                   tuple(models))

    # ------------------------------------------------------------------ evaluation
    def gather(self, gamma: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(edge_term, tail_flops, head_flops)`` per node for the cut vector ``gamma``."""
        g = [int(x) for x in gamma]
        if len(g) != self.size or any(not 0 <= x < n for x, n in zip(g, self.num_cuts, strict=True)):
            raise ValueError(f"gamma {g} out of range for cuts {self.num_cuts}")
        e = np.array([self.edge_term[d][x] for d, x in enumerate(g)])
        w = np.array([self.tail_flops[d][x] for d, x in enumerate(g)])
        c = np.array([self.head_flops[d][x] for d, x in enumerate(g)])
        return e, w, c

    def per_node(self, gamma: Sequence[int], delta: Sequence[float]) -> np.ndarray:
        """T_d of eq. 3-6 per node (``inf`` where a queue is unstable)."""
        _, w, c = self.gather(gamma)
        tt = np.array([self.transfer_time[d][int(x)] for d, x in enumerate(gamma)])
        # eq. 3-3 through the link's time (latency, slowdown) as a byte count at 8 bit/s
        d = edge_cloud_delays(self.lam, self.edge_speed, c, tt, 8.0, self.cloud_speed, w,
                              np.clip(np.asarray(delta, dtype=float), 0.0, 1.0))
        return d.total

    def objective(self, gamma: Sequence[int], delta: Sequence[float]) -> float:
        """P1 (eq. 3-7); ``inf`` if unstable or if the shares exceed 1 (C1)."""
        delta = np.asarray(delta, dtype=float)
        if delta.sum() > 1.0 + 1e-9 or (delta < 0).any():
            return float("inf")
        return float(np.mean(self.per_node(gamma, delta)))

    def min_shares(self, gamma: Sequence[int]) -> np.ndarray:
        """lambda_d (C_d - C_d(gamma_d)) / F_eps: the share below which the cloud queue is unstable."""
        _, w, _ = self.gather(gamma)
        return self.lam * w / self.cloud_speed

    def c3_shares(self, gamma: Sequence[int]) -> np.ndarray:
        """The least share with mu_de >= mu_d (second half of C3); ``inf`` when gamma_d = 0."""
        _, w, c = self.gather(gamma)
        with np.errstate(divide="ignore", invalid="ignore"):
            need = np.where(w > 0, np.where(c > 0, self.edge_speed * w / (self.cloud_speed
                                                                         * np.where(c > 0, c, 1)),
                                            np.inf), 0.0)
        return need

    # ------------------------------------------------------------------ plans
    def read_plan(self, sc: Scenario, plan) -> tuple[tuple[int, ...], np.ndarray]:
        """``(gamma, delta)`` of any plan in P1's space (one cut and one share per node).

        Raises
        ------
        NotApplicableError
            When a node's tasks take different cuts or shares, or a plan is not
            ``local`` or ``device -> cloud``.
        """
        index = {d: k for k, d in enumerate(self.nodes)}
        gamma: list[int | None] = [None] * self.size
        delta: list[float | None] = [None] * self.size
        for t in sc.tasks:
            tp = plan.tasks[t.id]
            k = index[t.device]
            if tp.steps is not None or len(tp.nodes) > 2 or (len(tp.nodes) == 2
                                                              and tp.nodes[1] != self.cloud):
                raise NotApplicableError(f"task {t.id}: plan {tp.nodes} is not local or "
                                         f"{t.device} -> {self.cloud}")
            g = self.num_cuts[k] - 1 if tp.is_local else int(tp.cuts[0])
            s = 0.0 if tp.is_local else float(tp.share or 0.0)
            if gamma[k] is None:
                gamma[k], delta[k] = g, s
            elif gamma[k] != g or abs(delta[k] - s) > 1e-12:
                raise NotApplicableError(f"node {t.device}: tasks with different cuts or shares")
        return tuple(int(g) for g in gamma), np.array(delta, dtype=float)

    def taskplans(self, sc: Scenario, gamma: Sequence[int], delta: Sequence[float]
                  ) -> dict[str, TaskPlan]:
        """Every task's plan: device up to ``gamma_d``, the cloud share ``delta_d`` for the rest.

        A cut that leaves no FLOPs for the cloud is the all-local plan.
        """
        index = {d: k for k, d in enumerate(self.nodes)}
        out = {}
        for t in sc.tasks:
            k = index[t.device]
            g = int(gamma[k])
            if self.tail_flops[k][g] <= 0:
                out[t.id] = TaskPlan(t.id, (t.device,), ())
            else:
                out[t.id] = TaskPlan(t.id, (t.device, self.cloud), (g,), share=float(delta[k]),
                                     share_group=t.device)
        return out
