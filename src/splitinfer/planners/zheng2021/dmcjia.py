"""DMCJIA (Zheng 2021): cuts by a binary genetic algorithm, cloud shares by an augmented
Lagrangian, minimising the M/D/1 mean delay P1; its exact yardstick and the paper's baselines.

Zheng, *Research on Cloud-edge Joint Task Inference Algorithm in Edge Intelligence* (Journal of
Computers, 2021), sections 3 and 4.2.2.

* ``dmcjia`` — Alg. 1 (Table 3): the outer binary GA over the cut vector Gamma
  (:mod:`splitinfer.planners.zheng2021.genetic`, pymoo; K = 50, N = 32, P1 = 0.01, P2 = 0.1 of Table 5), whose fitness
  ``-T(Gamma, Delta)`` (eq. 3-10) needs, for every individual, the inner augmented Lagrangian over
  the shares Delta (P4/P5, eqs. 3-11, 3-12; :mod:`splitinfer.planners.zheng2021.lagrangian`). ``inner="kkt"`` replaces the
  inner loop by the exact KKT solution (:mod:`splitinfer.planners.zheng2021.shares`), for comparison.
* ``dmcjia-exact`` — the optimum of P1: branch and bound over the cuts with Lagrangian bounds,
  the convex share problem solved exactly at the leaves (:mod:`splitinfer.planners.zheng2021.branch_and_bound`). It proves
  P1's optimum (``info["optimal"]``, ``info["p1_bound"]``). Its ``info["bound"]``, the yardstick
  the conformance suite holds every plan of the family to, is a bound on the *simulated* mean
  latency instead: P1 is a steady-state mean, and a finite run (a handful of tasks) may see less
  queueing than it predicts, so it is no bound there. The simulated bound is every task alone on
  its best cut with the whole cloud (no queueing, share 1), which no plan can beat.
* ``greedy`` — section 4.2.2 (2): every node offloads at the cut that sends the fewest bytes
  (ties: the earliest, i.e. the most work to the cloud), and the cloud is shared in proportion
  to the work each node sends it per second (``lambda_d w_d``).
* ``cloud-only`` — section 4.2.2 (1), an alias of the common ``cloud`` planner (raw input to the
  cloud, equal shares 1/|D|: identical on this model).
* ``zheng-neurosurgeon`` — section 4.2.2 (3), Neurosurgeon as Zheng describes it: aware of the
  load and of the number of nodes (per node the cut with the least M/D/1 delay T_d of eq. 3-6 on
  an equal share 1/|D|). The common ``neurosurgeon`` planner stays the classic queue-blind one
  (each task's best no-wait cut, as if alone).

The mapping of the paper's model onto a scenario (the paper's edge node is our device node)
and every reading are in :mod:`splitinfer.planners.zheng2021.problem`, :mod:`splitinfer.planners.zheng2021.queueing`
and ``docs/algorithms/zheng2021.md``. ``dmcjia``, ``dmcjia-exact`` and ``greedy`` report
``info["objective_p1"]``, P1 of their plan (``greedy`` returns its plan even when a queue is
unstable, with P1 = ``inf`` and ``info["stable"] = False``; the two optimisers raise
:class:`~splitinfer.errors.NotApplicableError` when no cut vector is stable);
:func:`p1_of_plan` evaluates P1 for any plan, e.g. the aliases'.

Examples
--------
>>> from splitinfer.planners import get_planner
>>> from splitinfer.testing.family_zheng2021 import small_zheng2021
>>> sc = small_zheng2021(0)
>>> exact = get_planner("dmcjia-exact").plan(sc)
>>> ga = get_planner("dmcjia", pop_size=10, generations=5).plan(sc)
>>> exact.info["optimal"], ga.info["objective_p1"] >= exact.info["p1_bound"] * (1 - 1e-9)
(True, True)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from splitinfer.errors import NotApplicableError
from splitinfer.papers import cite
from splitinfer.planners.common.base import BasePlanner
from splitinfer.planners.common.registry import alias, register
from splitinfer.planners.zheng2021.branch_and_bound import branch_and_bound
from splitinfer.planners.zheng2021.genetic import run_ga
from splitinfer.planners.zheng2021.lagrangian import augmented_lagrangian_shares
from splitinfer.planners.zheng2021.problem import DmcjiaProblem
from splitinfer.planners.zheng2021.shares import optimal_shares
from splitinfer.system.plan import TaskPlan
from splitinfer.system.scenario import Scenario
from splitinfer.system.stages import no_wait_latency

__all__ = ["DmcjiaPlanner", "DmcjiaExactPlanner", "GreedyPlanner", "ZhengNeurosurgeonPlanner",
           "p1_of_plan", "no_wait_bound", "load_aware_cuts"]

SOURCE = cite("zheng2021")


def _lower(pb: DmcjiaProblem, gamma, c3: bool) -> np.ndarray | None:
    return pb.c3_shares(gamma) if c3 else None


def _describe(pb: DmcjiaProblem, gamma, delta, value: float) -> dict[str, Any]:
    return {"objective_p1": float(value),
            "gamma": {d: int(g) for d, g in zip(pb.nodes, gamma, strict=True)},
            "delta": {d: float(x) for d, x in zip(pb.nodes, delta, strict=True)},
            "stable": bool(math.isfinite(value))}


def p1_of_plan(sc: Scenario, plan) -> tuple[float, np.ndarray]:
    """P1 (eq. 3-7) of any plan with one cut and one share per node, and T_d per node.

    Examples
    --------
    >>> from splitinfer.planners import get_planner
    >>> from splitinfer.testing.family_zheng2021 import small_zheng2021
    >>> sc = small_zheng2021(1)
    >>> plan = get_planner("cloud-only").plan(sc)
    >>> value, per_node = p1_of_plan(sc, plan)
    >>> bool(np.isclose(value, per_node.mean()))
    True
    """
    pb = DmcjiaProblem.from_scenario(sc)
    gamma, delta = pb.read_plan(sc, plan)
    per = pb.per_node(gamma, delta)
    value = pb.objective(gamma, delta)
    return value, per


def no_wait_bound(sc: Scenario) -> float:
    """Mean over tasks of each task's least no-wait latency with the whole cloud (share 1).

    A lower bound of the simulated mean latency of every plan in which a task runs on its
    device and at most one share of the cloud (queueing only adds; a share is at most 1).
    """
    pb = DmcjiaProblem.from_scenario(sc)
    best: dict[str, float] = {}
    for t in sc.tasks:
        if t.device in best:
            continue
        k = pb.nodes.index(t.device)
        options = [TaskPlan(t.id, (t.device,), ())]
        options += [TaskPlan(t.id, (t.device, pb.cloud), (c,), share=1.0)
                    for c in range(pb.num_cuts[k] - 1)]
        best[t.device] = min(no_wait_latency(sc, t, tp) for tp in options)
    return float(np.mean([best[t.device] for t in sc.tasks]))


#: DMCJIA's presets (see :class:`DmcjiaPlanner`)
PRESETS: dict[str, dict[str, Any]] = {
    "paper": {"pop_size": 50, "generations": 32, "c3": True, "seeded": False, "patience": None},
    "improved": {"pop_size": 50, "generations": 100, "c3": False, "seeded": True,
                 "patience": 15},
}


def greedy_cuts(sc: Scenario, pb: DmcjiaProblem) -> tuple[int, ...]:
    """The greedy baseline's cuts (Zheng 2021 sec. 4.2.2 (2)): per node the offloading cut
    that sends the least data (the first of equals)."""
    gamma = []
    for k in range(pb.size):
        model = sc.models[pb.models[k]]
        offload = [c for c in range(pb.num_cuts[k]) if pb.tail_flops[k][c] > 0]
        gamma.append(min(offload, key=lambda c: (float(model.transfer_bytes[c]), c)))
    return tuple(gamma)


@register("dmcjia",
          description="Zheng 2021 Alg. 1: binary GA over the cuts, augmented Lagrangian over the "
                      "cloud shares, minimising the M/D/1 mean delay P1.",
          source=f"{SOURCE}, Alg. 1 (Table 3), eqs. 3-7, 3-10..3-12")
class DmcjiaPlanner(BasePlanner):
    """DMCJIA (see the module docstring).

    Parameters
    ----------
    pop_size, generations : int
        K and N (Table 5: 50 and 32). ``None``: the preset's (50 and 32 for ``"paper"``; 50 and
        at most 100 for ``"improved"``, which stops earlier on convergence).
    mutation, crossover : float
        P1 (per-bit flip, 0.01) and P2 (per-mating crossover, 0.1).
    inner : {"al", "kkt"}
        The paper's augmented Lagrangian (default) or the exact KKT solution of P4.
    c3 : bool
        Also require every cloud share to be at least as fast as its edge node (the second half
        of constraint C3, ``mu_d <= mu_de``; off by default: see ``docs/algorithms/zheng2021.md``).
    seed : int
        Seeds the GA.
    preset : {"improved", "paper"}
        ``"paper"``: Alg. 1 as written — a random initial population, exactly N generations,
        constraint C3 in full (``c3`` defaults to True). ``"improved"`` (default): the initial
        population also holds the cuts of the baselines (greedy's least-transfer cuts,
        cloud-only's raw input and ``zheng-neurosurgeon``'s load-aware cuts), so elitism keeps
        DMCJIA never above them; the GA stops when
        the best has not improved for 15 generations; C3's second half is off.

    Examples
    --------
    >>> DmcjiaPlanner(generations=3)
    DmcjiaPlanner(pop_size=None, generations=3, mutation=0.01, crossover=0.1, inner='al', c3=None, seed=0, preset='improved')
    """

    general = False

    def __init__(self, pop_size: int | None = None, generations: int | None = None,
                 mutation: float = 0.01, crossover: float = 0.1, inner: str = "al",
                 c3: bool | None = None, seed: int = 0, preset: str = "improved"):
        if inner not in ("al", "kkt"):
            raise ValueError(f"inner must be 'al' or 'kkt', got {inner!r}")
        if preset not in PRESETS:
            raise ValueError(f"preset must be one of {sorted(PRESETS)}, got {preset!r}")
        self.pop_size, self.generations = pop_size, generations
        self.mutation, self.crossover = mutation, crossover
        self.inner, self.c3, self.seed, self.preset = inner, c3, seed, preset

    @property
    def _settings(self) -> dict[str, Any]:
        out = dict(PRESETS[self.preset])
        for key in ("pop_size", "generations", "c3"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out

    def _shares(self, pb: DmcjiaProblem, gamma) -> tuple[np.ndarray, float, dict[str, Any]]:
        _, w, _ = pb.gather(gamma)
        lower = _lower(pb, gamma, self._settings["c3"])
        if self.inner == "al":
            r = augmented_lagrangian_shares(pb.lam, w, pb.cloud_speed, lower=lower,
                                            mean_over=pb.size)
            return r.delta, r.value, {"outer_iterations": r.outer_iterations,
                                      "violation": r.violation, "repaired": r.repaired}
        a = optimal_shares(pb.lam, w, pb.cloud_speed, lower=lower, mean_over=pb.size)
        return a.delta, a.value, {"kkt_residual": a.kkt_residual}

    def _plan(self, scenario: Scenario):
        pb = DmcjiaProblem.from_scenario(scenario, self.name)
        solved: dict[tuple[int, ...], tuple[np.ndarray, float, dict]] = {}

        def evaluate(gamma: tuple[int, ...]) -> float:
            e, _, _ = pb.gather(gamma)
            if not np.isfinite(e).all():
                return math.inf
            delta, cloud, extra = self._shares(pb, gamma)
            solved[gamma] = (delta, cloud, extra)
            return float(e.sum() / pb.size + cloud)

        cfg = self._settings
        initial = ()
        if cfg["seeded"]:  # the baselines' cuts: greedy's, cloud-only's raw input and the
            # load-aware Neurosurgeon's (with its equal shares re-optimised, never worse)
            initial = (greedy_cuts(scenario, pb), tuple(0 for _ in range(pb.size)),
                       tuple(load_aware_cuts(pb)[0]))
        res = run_ga(evaluate, pb.num_cuts, pop_size=cfg["pop_size"],
                     generations=cfg["generations"], mutation=self.mutation,
                     crossover=self.crossover, seed=self.seed, initial=initial,
                     patience=cfg["patience"])
        if not math.isfinite(res.value):
            raise NotApplicableError(f"{self.name}: no cut vector found with stable queues "
                                     "(every edge or cloud share is overloaded)")
        delta, _, extra = solved[res.gamma]
        value = pb.objective(res.gamma, delta)
        info = _describe(pb, res.gamma, delta, value)
        info.update({"history": res.history, "evaluations": res.evaluations, "inner": extra,
                     "preset": self.preset})
        return pb.taskplans(scenario, res.gamma, delta), info


@register("dmcjia-exact",
          description="Optimum of Zheng's P1: branch and bound over the cuts with Lagrangian "
                      "bounds, exact convex cloud shares (KKT).",
          source=f"{SOURCE}, eq. 3-7 (P1); yardstick of DMCJIA", exact=True)
class DmcjiaExactPlanner(BasePlanner):
    """The proven optimum of P1 (see the module docstring).

    Parameters
    ----------
    c3 : bool
        As for :class:`DmcjiaPlanner`.
    max_nodes : int
        Branch-and-bound nodes at most; beyond, ``info["optimal"]`` is False and
        ``info["p1_gap"]`` says how far from the bound the plan may be.

    Examples
    --------
    >>> DmcjiaExactPlanner()
    DmcjiaExactPlanner(c3=False, max_nodes=20000)
    """

    general = False

    def __init__(self, c3: bool = False, max_nodes: int = 20000):
        self.c3, self.max_nodes = c3, max_nodes

    def _plan(self, scenario: Scenario):
        pb = DmcjiaProblem.from_scenario(scenario, self.name)
        lower = None
        if self.c3:
            lower = []
            for k in range(pb.size):
                c, w = pb.head_flops[k], pb.tail_flops[k]
                with np.errstate(divide="ignore", invalid="ignore"):
                    lower.append(np.where(w > 0, np.where(c > 0, pb.edge_speed[k] * w
                                                          / (pb.cloud_speed * np.where(c > 0, c, 1)),
                                                          np.inf), 0.0))
        res = branch_and_bound(pb.edge_term, pb.tail_flops, pb.lam, pb.cloud_speed, lower,
                               max_nodes=self.max_nodes)
        if not math.isfinite(res.value):
            raise NotApplicableError(f"{self.name}: no cut vector has stable queues")
        value = pb.objective(res.gamma, res.delta)
        info = _describe(pb, res.gamma, res.delta, value)
        gap = max(0.0, (value - res.bound) / value) if value > 0 else 0.0
        info.update({"optimal": bool(res.optimal), "p1_bound": float(res.bound), "p1_gap": gap,
                     "bb_nodes": res.nodes, "kkt_residual": float(res.kkt_residual),
                     "bound": no_wait_bound(scenario), "plan_space": None})
        return pb.taskplans(scenario, res.gamma, res.delta), info


@register("greedy",
          description="Zheng's greedy baseline: least-transfer offloading cut, cloud shares "
                      "in proportion to the work sent per second.",
          source=f"{SOURCE}, sec. 4.2.2 (2)")
class GreedyPlanner(BasePlanner):
    """Least data transmitted, cloud shares proportional to ``lambda_d w_d``.

    Examples
    --------
    >>> GreedyPlanner()
    GreedyPlanner()
    """

    general = False

    def _plan(self, scenario: Scenario):
        pb = DmcjiaProblem.from_scenario(scenario, self.name)
        gamma = greedy_cuts(scenario, pb)
        _, w, _ = pb.gather(gamma)
        load = pb.lam * w
        delta = load / load.sum() if load.sum() > 0 else np.zeros(pb.size)
        value = pb.objective(gamma, delta)
        return pb.taskplans(scenario, gamma, delta), _describe(pb, gamma, delta, value)


alias("cloud-only", "cloud",
      description="Zheng's cloud-only baseline: the raw input to the cloud, equal shares.",
      source=f"{SOURCE}, sec. 4.2.2 (1) (= cloud)")


def load_aware_cuts(pb: DmcjiaProblem) -> tuple[tuple[int, ...], np.ndarray, bool]:
    """Per node, the cut with the least mean delay T_d (eq. 3-6) on an equal cloud share.

    The share is ``1 / |D|`` (the number of connected edge nodes); T_d counts the node's own
    M/D/1 queue (eq. 3-2), the transfer (eq. 3-3) and the queue of its cloud share (eq. 3-5) at
    the node's arrival rate. Ties go to running everything on the node, then to the smallest
    cut. A node with no stable cut takes the cut with the least unloaded latency (``1/mu``
    terms only) and the third value is False.

    Returns
    -------
    gamma : tuple of int
    delta : ndarray
        ``1 / |D|`` for every node that offloads, 0 for an all-local node.
    stable : bool
    """
    size = pb.size
    delta = np.full(size, 1.0 / size)
    gamma, stable = [], True
    for k in range(size):
        local = pb.num_cuts[k] - 1
        order = [local] + list(range(local))
        values = []
        for c in order:
            g = [pb.num_cuts[j] - 1 for j in range(size)]
            g[k] = c
            values.append(float(pb.per_node(g, delta)[k]))
        if not math.isfinite(min(values)):
            stable = False
            unloaded = [pb.head_flops[k][c] / pb.edge_speed[k] + pb.transfer_time[k][c]
                        + pb.tail_flops[k][c] * size / pb.cloud_speed for c in order]
            gamma.append(order[int(np.argmin(unloaded))])
        else:
            gamma.append(order[int(np.argmin(values))])
    _, w, _ = pb.gather(gamma)
    return tuple(gamma), np.where(w > 0, delta, 0.0), stable


@register("zheng-neurosurgeon",
          description="Zheng's Neurosurgeon baseline: per node the cut with the least M/D/1 mean "
                      "delay, aware of the load and of the number of nodes (equal cloud shares).",
          source=f"{SOURCE}, sec. 4.2.2 (3) (Neurosurgeon, Kang et al. 2017, load-aware)")
class ZhengNeurosurgeonPlanner(BasePlanner):
    """Neurosurgeon as Zheng 2021 section 4.2.2 (3) describes its baseline.

    Zheng's Neurosurgeon "considers ... the load of cloud server, the number of connected
    devices" and "does not consider the resource allocation problem of the cloud, so ... the task
    of each edge node is equally allocated". Here each node ``d`` takes the cut that minimises
    its own delay ``T_d`` of eq. 3-6 (edge M/D/1 queue at ``lambda_d``, transfer, cloud M/D/1
    queue) with the share ``1 / |D|`` (:func:`load_aware_cuts`): it sees the load its own
    arrivals put on the node and on its share, and how many nodes split the cloud, but does not
    choose shares. The classic ``neurosurgeon`` planner is queue-blind instead: each task's
    least no-wait latency, as if alone. ``info["objective_p1"]`` is P1 of the plan.

    Examples
    --------
    >>> from splitinfer.testing.family_zheng2021 import small_zheng2021
    >>> plan = ZhengNeurosurgeonPlanner().plan(small_zheng2021(0))
    >>> sorted({round(tp.share, 4) for tp in plan.tasks.values() if not tp.is_local})
    [0.3333]
    """

    general = False

    def _plan(self, scenario: Scenario):
        pb = DmcjiaProblem.from_scenario(scenario, self.name)
        gamma, delta, stable = load_aware_cuts(pb)
        info = _describe(pb, gamma, delta, pb.objective(gamma, delta))
        info["stable"] = bool(stable and info["stable"])
        return pb.taskplans(scenario, gamma, delta), info
alias("dmcjia-paper", "dmcjia",
      description="DMCJIA exactly as Zheng 2021 Alg. 1: random initial population, K = 50, "
                  "N = 32 generations, constraint C3 in full.",
      source=f"{SOURCE}, Alg. 1 (Table 3), Table 5", preset="paper")
