"""Fused-layer model parallelism with partial offloading: ``mw``, ``fl-bf`` and ``nfl`` (Li et al. 2022).

Li et al. 2022 (Li, Wang, Zhou, Duan, Wu) tiles the first ``tau`` conv/pool
layers of a DNN into ``P`` FL paths (section II-A; :mod:`splitinfer.graph.receptive`), runs the
first layers of each path on the end device, sends the rest to the edge server (ES), fuses the
paths on the ES and finishes the network there (section II-B, eqs. 1-6;
:mod:`splitinfer.planners.li2022.timing`). Registered planners:

``mw``
    Minimizing Waiting, Alg. 1: for every FL path length ``tau = 1 .. l`` and every tile grid
    (line 3; ``grids="square"`` gives the paper's MW(k x k), ``grids="2x2"`` its MW(2x2)), the
    path order and offload layers by eqs. 7 and 8 (:mod:`splitinfer.planners.li2022.min_waiting`); the
    strategy with the least completion time (eqs. 4-6) wins, a later one on ties (line 20 uses
    ``<=``).
``fl-bf``
    Brute Force (section IV): for every ``tau`` and grid, the optimal order and offload layers
    (:mod:`splitinfer.planners.li2022.brute_force`, exact). With ``with_chain=True`` (default) the best
    single cut of the chain (``nfl``) competes too, so that the result is optimal over every plan
    of the paper's model -- the yardstick of the ``li2022`` family when the grids cover every
    fused-layer size (``info["optimal"]``, ``info["bound"]``). ``grids="2x2",
    with_chain=False`` is the paper's BF(2x2).
``mw-paper``, ``fl-bf-paper``
    The paper presets (:mod:`splitinfer.planners.common.presets`): ``mw`` with Alg. 1 line 3's
    every ``P`` on every balanced grid (``grids="all", max_paths=None``; the default caps ``P``
    at 256 on square grids, the paper's MW(k x k) of Fig. 4), and ``fl-bf`` without the chain
    cut (``with_chain=False``: the paper's BF searches fused-layer plans only). Registered as
    fixed parameters rather than a ``preset`` argument, since ``max_paths=None`` already means
    "no cap".
``nfl``
    No FL (section IV): partial offloading without FL, i.e. the best single cut of the chain
    (run everything locally included) by no-wait latency -- exactly Neurosurgeon's per-task
    partition, so ``nfl`` is an alias of ``neurosurgeon`` (a general planner).

Readings of ambiguous passages (see ``docs/algorithms/li2022.md``):

* Offload layer ``o_p`` may be ``tau + 1`` (all small layers on the device, the path's tile of
  the fused layer sent); Fig. 3 lists only ``1 .. tau`` but nothing excludes it and it is the
  natural end of the range (the fused layer itself always joins on the ES, eq. 5).
* "``S_tau`` divided into ``P`` layers of the same size" is a balanced ``gh x gw`` grid; the
  grids enumerated are ``k x k`` (``"square"``), every ``gh x gw`` with ``gh gw <= max_paths``
  (``"all"``), or a list such as ``"2x2"`` or ``"2x2,3x3"``.
* With several tasks, each is planned as if alone (the paper has one task); the simulator then
  shares the device, link and ES among them. With several reachable servers each is tried.

Examples
--------
>>> from splitinfer.planners import get_planner
>>> from splitinfer.planners.li2022.scenarios import li2022_scenario
>>> from splitinfer.sim import simulate
>>> sc = li2022_scenario("alexnet", rate="2MB/s")
>>> plan = get_planner("mw", grids="2x2").plan(sc)
>>> s = plan.info["strategies"]["t0"]
>>> s["grid"], s["paths"]
([2, 2], 4)
>>> abs(simulate(sc, plan).mean_latency - plan.info["predicted_latency"]["t0"]) < 1e-9
True
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from splitinfer.errors import NotApplicableError
from splitinfer.graph.receptive import FLGeometry, path_costs
from splitinfer.papers import cite
from splitinfer.planners.classic.neurosurgeon import best_single_cut
from splitinfer.planners.common.base import BasePlanner
from splitinfer.planners.common.registry import alias, register
from splitinfer.planners.li2022.brute_force import bf_schedule
from splitinfer.planners.li2022.min_waiting import mw_schedule
from splitinfer.planners.li2022.taskplan import fl_taskplan
from splitinfer.planners.li2022.timing import (
    completion,
    geometry_for,
    option_times,
    timing_for,
)
from splitinfer.system.plan import TaskPlan
from splitinfer.system.scenario import Scenario

__all__ = ["MWPlanner", "FLBruteForcePlanner", "fl_grids", "MAX_UNCAPPED_PATHS"]

_SOURCE = cite("li2022")

#: Most path schedules an uncapped search (``max_paths=None``: ``mw-paper``) takes on per task;
#: beyond it the planner does not apply (raises :class:`~splitinfer.errors.NotApplicableError`
#: naming the count). SqueezeNet's 224 x 224 input is 5.3e7, Tiny YOLOv2's 416 x 416 is 8.5e9.
MAX_UNCAPPED_PATHS = 3e8


def fl_grids(geom: FLGeometry, tau: int, grids: str, max_paths: int | None = None
             ) -> list[tuple[int, int]]:
    """The tile grids ``(gh, gw)`` of one path length that a planner enumerates.

    Examples
    --------
    >>> g = FLGeometry.from_layers("m", (1, 8, 8), [("conv", 3, 2, 1, 2)])   # S_1 = 4 x 4
    >>> fl_grids(g, 1, "square")
    [(1, 1), (2, 2), (3, 3), (4, 4)]
    >>> fl_grids(g, 1, "all", max_paths=2)
    [(1, 1), (1, 2), (2, 1)]
    >>> fl_grids(g, 1, "2x2,5x5")
    [(2, 2)]
    """
    sh, sw = geom.fused_size(tau)
    cap = max_paths if max_paths is not None else sh * sw
    if grids == "square":
        out = [(k, k) for k in range(1, min(sh, sw) + 1)]
    elif grids == "all":
        out = [(a, b) for a in range(1, sh + 1) for b in range(1, sw + 1)]
    else:
        out = []
        for part in grids.split(","):
            try:
                a, b = (int(v) for v in part.lower().split("x"))
            except ValueError:
                raise NotApplicableError(f"cannot read grid {part!r}; write e.g. '2x2'") from None
            if a <= sh and b <= sw:
                out.append((a, b))
    return [g for g in out if g[0] * g[1] <= cap]


class _FusedPlanner(BasePlanner):
    """Shared loop: every task, every reachable server, every ``(tau, grid)``."""

    general = False
    grids: str
    max_paths: int | None
    max_tau: int | None

    def _solve(self, t, local, tx, srv, tail) -> tuple[float, np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _strategies(self, geom: FLGeometry) -> Iterator[tuple[int, tuple[int, int]]]:
        last = geom.num_units if self.max_tau is None else min(self.max_tau, geom.num_units)
        for tau in range(1, last + 1):
            for grid in fl_grids(geom, tau, self.grids, self.max_paths):
                yield tau, grid

    def _best_fl(self, sc: Scenario, task, geom: FLGeometry) -> tuple[float, TaskPlan, dict]:
        best: tuple[float, TaskPlan, dict] | None = None
        reasons = []
        if self.max_paths is None:  # uncapped (mw-paper): say so rather than run for days
            work = sum(gh * gw for _, (gh, gw) in self._strategies(geom))
            if work > MAX_UNCAPPED_PATHS:
                raise NotApplicableError(
                    f"task {task.id}: every grid of every FL path length of {task.model!r} "
                    f"is {work:.3g} path schedules (Li et al. 2022 Alg. 1 line 3 uncapped; "
                    f"the limit is {MAX_UNCAPPED_PATHS:.0e}, a few minutes): use 'mw' (square "
                    "grids up to 16 x 16) or give max_paths")
        for server in sc.reachable_servers(task.device):
            try:
                t = timing_for(sc, task, server)
            except NotApplicableError as exc:
                reasons.append(str(exc))
                continue
            for tau, grid in self._strategies(geom):
                costs = path_costs(geom, tau, grid)
                local, tx, srv = option_times(t, costs)
                tail = costs.tail_flops * t.samples / t.f_srv
                value, order, off = self._solve(t, local, tx, srv, tail)
                if best is None or self._better(value, best[0]):
                    tp = fl_taskplan(task.id, t, costs, order, off, geom)
                    best = (value, tp, {
                        "kind": "fl", "server": server, "tau": tau, "grid": list(grid),
                        "paths": costs.num_paths, "order": order.tolist(),
                        "offload": (off + 1).tolist(), "fused_size": list(geom.fused_size(tau)),
                        "redundant_flops": costs.redundant_flops})
        if best is None:
            why = "; ".join(reasons) or f"device {task.device!r} reaches no server"
            raise NotApplicableError(f"task {task.id}: no fused-layer plan: {why}")
        return best

    def _better(self, value: float, incumbent: float) -> bool:
        return value < incumbent

    def _extra(self, sc: Scenario, task, best: tuple[float, TaskPlan, dict]
               ) -> tuple[float, TaskPlan, dict]:
        return best

    def _plan(self, sc: Scenario):
        cache: dict = {}
        plans: dict[str, TaskPlan] = {}
        info: dict[str, Any] = {"predicted_latency": {}, "strategies": {}}
        for task in sc.tasks:
            geom = geometry_for(sc, task.model, cache)
            best = self._extra(sc, task, self._best_fl(sc, task, geom))
            plans[task.id] = best[1]
            info["predicted_latency"][task.id] = best[0]
            info["strategies"][task.id] = best[2]
        self._finish_info(sc, info, cache)
        return plans, info

    def _finish_info(self, sc: Scenario, info: dict, cache: dict) -> None:
        """Hook for the exact planner's bound."""


@register("mw", description="Minimizing Waiting: FL strategy, path order and offload layers "
          "by eqs. 7-8, best over tau and grids.",
          source=f"{_SOURCE}, Alg. 1, eqs. 4-8")
class MWPlanner(_FusedPlanner):
    """Minimizing Waiting (Li et al. 2022 Alg. 1).

    Parameters
    ----------
    grids : str
        ``"square"`` (k x k grids, the paper's MW(k x k)), ``"all"`` (every ``gh x gw``, Alg. 1
        line 3) or a list such as ``"2x2"`` (MW(2x2)).
    max_paths : int, optional
        Largest number of paths ``P`` tried. Alg. 1 line 3 runs ``P`` up to
        ``S_tau^L S_tau^W`` (``None``); the default 256 (``k <= 16``) keeps planning within
        seconds on 224 x 224 and 416 x 416 inputs, where ``S_1`` reaches 109 and 416. On AlexNet
        and SqueezeNet with Table I speeds the uncapped search picks the same plan
        (``benchmarks/bench_fused.py`` checks it).
    max_tau : int, optional
        Longest FL path tried (default every FL layer of the model).
    """

    def __init__(self, grids: str = "square", max_paths: int | None = 256,
                 max_tau: int | None = None) -> None:
        self.grids, self.max_paths, self.max_tau = grids, max_paths, max_tau

    def _solve(self, t, local, tx, srv, tail):
        order, off = mw_schedule(t, local, tx, srv)
        return completion(t, local, tx, srv, order, off, tail), order, off

    def _better(self, value: float, incumbent: float) -> bool:
        return value <= incumbent  # Alg. 1 line 20


@register("fl-bf", description="Brute Force over FL path orders and offload layers per tau and "
          "grid (plus the best chain cut): exact in its plan space.",
          source=f"{_SOURCE}, section IV (BF), eqs. 4-6", exact=True)
class FLBruteForcePlanner(_FusedPlanner):
    """Brute Force (Li et al. 2022 section IV), exact within its grids.

    Parameters
    ----------
    grids : str
        As for ``mw``; default ``"all"`` with ``max_paths=4``.
    max_paths : int, optional
        Largest ``P`` tried (the search grows quickly with ``P``).
    max_tau : int, optional
        Longest FL path tried.
    with_chain : bool
        Let the best single chain cut (``nfl``) compete, so that the optimum covers plans
        without FL too.
    max_states : int
        Give up (``NotApplicableError``) beyond this many partial schedules per strategy.

    Notes
    -----
    ``info["optimal"]`` is true (with ``info["bound"]`` the optimal objective) when the search
    covered the paper's whole plan space: one task, one server, ``with_chain``, no ``max_tau``,
    and every grid ``gh x gw`` of every fused-layer size (``grids="all"`` and ``max_paths`` at
    least ``S_tau^L S_tau^W`` for every ``tau``).
    """

    def __init__(self, grids: str = "all", max_paths: int | None = 4, max_tau: int | None = None,
                 with_chain: bool = True, max_states: int = 2_000_000) -> None:
        self.grids, self.max_paths, self.max_tau = grids, max_paths, max_tau
        self.with_chain, self.max_states = with_chain, max_states

    def _solve(self, t, local, tx, srv, tail):
        return bf_schedule(t, local, tx, srv, tail, self.max_states)

    def _extra(self, sc, task, best):
        if not self.with_chain:
            return best
        value, tp = _best_chain(sc, task)
        if value < best[0]:
            return value, tp, {"kind": "chain", "nodes": list(tp.nodes), "cuts": list(tp.cuts)}
        return best

    def _finish_info(self, sc: Scenario, info: dict, cache: dict) -> None:
        complete = (len(sc.tasks) == 1 and len(sc.servers) == 1 and self.with_chain
                    and self.max_tau is None and self.grids == "all"
                    and all(self.max_paths is None or self.max_paths >= int(np.prod(
                        g.fused_size(tau))) for g in cache.values()
                        for tau in range(1, g.num_units + 1)))
        info["optimal"] = bool(complete)
        if complete:
            info["bound"] = float(next(iter(info["predicted_latency"].values())))
            info["plan_space"] = None


# The paper presets: Alg. 1 line 3 takes every number of paths P = 1 .. S_tau^L S_tau^W (no cap,
# every gh x gw grid); the paper's BF covers fused-layer plans only (no single chain cut).
alias("mw-paper", "mw", description="MW exactly as Li et al. 2022 Alg. 1: every number of FL paths "
      "P up to the fused layer's size (line 3), every balanced grid, no cap.",
      source=f"{_SOURCE}, Alg. 1 (line 3), eqs. 4-8", grids="all", max_paths=None)
alias("fl-bf-paper", "fl-bf", description="BF as Li et al. 2022 section IV: every FL path order "
      "and offload layer, fused-layer plans only (no single chain cut competes).",
      source=f"{_SOURCE}, section IV (BF)", with_chain=False)

# No FL = Neurosurgeon's best single cut (importing the module registers it first)
alias("nfl", "neurosurgeon", description="No FL: the best single cut of the chain (or all "
      "local) by no-wait latency.", source=f"{_SOURCE}, section IV (NFL baseline)")


def _best_chain(sc: Scenario, task) -> tuple[float, TaskPlan]:
    tp, value = best_single_cut(sc, task)
    return float(value), tp
