"""``exact``: the optimum of the scenario's objective over chain plans, with OR-Tools CP-SAT.

The yardstick of the conformance suite (issue 3): for small instances it finds the plan —
one chain option per task (local, one cut to a server, or two cuts device -> edge -> cloud)
and the order in which tasks use every contended resource — that minimises the scenario's
objective (mean latency, mean sojourn or makespan), and *proves* a lower bound on it.

Model (:mod:`splitinfer.planners.exact.model`): options as optional interval chains built by
:func:`~splitinfer.system.stages.build_stages` (so it times plans exactly as the simulator does),
``NoOverlap`` / ``AddCumulative`` for resources with 1 / k slots, ``AddCumulative`` of reserved
rates on bandwidth pools, arrival times, precedence inside a task. Durations are rounded **down**
to integer units of ``time_unit_s``, so the solver's best bound is a true lower bound of the
real objective over every chain plan with any priorities and release times (``info["bound"]``,
seconds, also never below the trivial bound of each task's best no-wait latency).

From the solver's schedule to a plan
------------------------------------
The simulator is a priority-list scheduler: a free resource serves its waiting stage of lowest
``priority``. The plan gives every task its chosen option and, as priority, the solver's start
time of the task's first stage on a contended resource. Further candidates also set ``release``
(to the solver's start of the task's first stage, or to the latest release that still makes its
first contended stage ready at the solver's start of it), which reproduces idle time the solver
inserted on purpose (a resource kept free for a short task about to arrive), or to the start of
the task's stages shifted as late as the solver's schedule allows (idle time the solver put
between two stages, such as a pool kept free for another task's return, moves before the
first), the three releases again padded by the most the rounding can accumulate (a solver
time, on durations rounded down, may fall a few units before the real event a release waits
for, such as another task's zero-length return on a shared pool, and lose the tie to it), and
the same seven ordered by the solver's finish times instead. When none of them
reaches the solver's value, the task orders of the chosen options are searched (all orders up
to six tasks, else a pairwise-swap descent). ``info["optimal"]`` is true only when the returned
plan's simulated objective reaches the proven bound (within the rounding of the time unit);
otherwise ``info["gap"]`` says how far it may be. Zero-length stages take their place on
pools and k-slot resources in the model as in the simulator. A last candidate is an
earliest-finish greedy plan (each task in arrival order takes the option that ends it first given
the tasks already placed), whose options also seed the solver's search as a hint; so when a limit
stops an unproven search, ``exact`` still answers at least as well as that heuristic. Each
candidate is simulated with the real durations and the best one is returned; ``info["objective"]`` is its simulated objective
and ``info["solver_objective"]`` the solver's (rounded-down) value. Where one order per task
cannot express the solver's per-resource orders the simulated objective can exceed the
solver's; it can never be below ``info["bound"]``.

Plan space and limits
---------------------
Bandwidth is not a decision: a transfer on a reserved link reserves the link's cap rate, so the
bound covers chain plans at cap rate (``info["plan_space"] = "chain"``); fused-layer ``steps``
plans and general DAG cuts lie outside it. Divisible nodes (shares) and more than ``max_tasks``
tasks raise :class:`~splitinfer.errors.NotApplicableError`.

Limits and determinism: ``time_limit_s`` is a wall-clock limit; ``work_limit`` (optional) is
CP-SAT's deterministic time, a count of work independent of the machine's load. With
``workers=1`` the search is reproducible for a given ``seed`` whenever it ends by proving
optimality or by ``work_limit`` — the conformance suite sets ``work_limit`` for that reason —
and may vary from run to run when the wall clock stops it. (Deterministic time is a poor
proxy for seconds on these models: one unit took 10 to 60 wall seconds on the 2-core CI
machine.) When a limit stops the search, ``info["optimal"]`` is False and ``info["gap"]`` says
how far from the bound the plan may be. Some 6-task instances with several contended
resources (one edge server shared by all tasks, bandwidth pools) are not proven optimal within
seconds; their bound is then mostly the trivial one.

Proven-optimal range
--------------------
Measured (:data:`PROVEN_RANGE`, ``planner_info("exact").proven_range``): every instance of up
to **4 tasks, 164 chain options and 7 nodes** was proven optimal within the default
``time_limit_s = 10`` s (one worker, on a loaded 2-core machine; ``benchmarks/bench_baselines.py``,
random chain scenarios) and within ``work_limit = 1`` (``benchmarks/bench_gap.py``, the DeePar and
GSPI families). At 6 tasks 6 of 9 measured instances were proven (every random chain and
DeePar one, up to 126 options and 9 nodes; none of the GSPI ones, where 6 tasks share one
device and its links), at 8 tasks 3 of 9. Outside the range the returned plan is the best one
found, with ``info["gap"]`` to the proven bound, and ``splitinfer plan`` prints a note when it
is not proven optimal (docs/benchmarks.md has the tables).

Examples
--------
>>> from splitinfer.testing.random import random_chain_scenario
>>> sc = random_chain_scenario(2, max_tasks=3)
>>> plan = ExactPlanner(time_limit_s=5).plan(sc)
>>> plan.info["optimal"], plan.info["status"], plan.info["bound"] <= plan.info["objective"]
(True, 'OPTIMAL', True)
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any

from splitinfer.errors import NotApplicableError
from splitinfer.planners.common.base import BasePlanner
from splitinfer.planners.common.objective import no_wait_cost
from splitinfer.planners.common.registry import ProvenRange, register
from splitinfer.planners.exact.model import (
    Option,
    choose_unit,
    resource_slots,
    solve,
    task_options,
)
from splitinfer.sim import simulate
from splitinfer.system.energy import ENERGY_OBJECTIVES
from splitinfer.system.plan import Plan, TaskPlan
from splitinfer.system.result import OBJECTIVES
from splitinfer.system.scenario import Scenario

__all__ = ["ExactPlanner"]


def _greedy(sc: Scenario, options: list[list[Option]]
            ) -> tuple[list[int], dict[str, TaskPlan]]:
    """Earliest-finish list scheduling: each task in arrival order takes the option that ends it
    first given the tasks already placed (FIFO, simulated). Returns the option indices (the
    solver's hint) and the plan itself, which is also a candidate answer, so ``exact`` is never
    worse than this heuristic when a limit stops the search before it finds better."""
    chosen: dict[str, TaskPlan] = {}
    hint: list[int] = []
    for k, task in enumerate(sc.tasks):
        prefix = sc.with_tasks(sc.tasks[: k + 1])
        best, best_end = 0, None
        for o, opt in enumerate(options[k]):
            res = simulate(prefix, Plan("greedy", {**chosen, task.id: opt.plan}))
            end = res.tasks[k].finish
            if best_end is None or end < best_end - 1e-12:
                best, best_end = o, end
        hint.append(best)
        chosen[task.id] = options[k][best].plan
    return hint, chosen


#: task orders tried exhaustively up to this many tasks (6! = 720 simulations at most)
EXHAUSTIVE_ORDERS = 6


def _reorder(sc: Scenario, plans: dict[str, TaskPlan], target: float, name: str
             ) -> tuple[dict[str, TaskPlan], float]:
    """The best task order (priorities) for fixed options, with and without the plans'
    releases: every order up to :data:`EXHAUSTIVE_ORDERS` tasks, else a pairwise-swap descent
    from the current order. Stops as soon as ``target`` is reached."""
    ids = sorted(plans, key=lambda t: (plans[t].priority, t))
    variants = [plans]
    if any(tp.release is not None for tp in plans.values()):
        variants.append({t: replace(tp, release=None) for t, tp in plans.items()})

    def value_of(base: dict[str, TaskPlan], order: tuple[str, ...]) -> tuple[dict, float]:
        trial = {t: replace(base[t], priority=float(k)) for k, t in enumerate(order)}
        return trial, simulate(sc, Plan(name, trial)).objective(sc.objective)

    best, best_value = value_of(plans, tuple(ids))
    for base in variants:
        if len(ids) <= EXHAUSTIVE_ORDERS:
            orders = itertools.permutations(ids)
            for order in orders:
                trial, value = value_of(base, order)
                if value < best_value - 1e-12:
                    best, best_value = trial, value
                    if best_value <= target:
                        return best, best_value
            continue
        order, current = list(ids), value_of(base, tuple(ids))[1]
        improved = True
        while improved:
            improved = False
            for i, j in itertools.combinations(range(len(order)), 2):
                swapped = list(order)
                swapped[i], swapped[j] = swapped[j], swapped[i]
                trial, value = value_of(base, tuple(swapped))
                if value < current - 1e-12:
                    order, current, improved = swapped, value, True
                    if value < best_value - 1e-12:
                        best, best_value = trial, value
                    if best_value <= target:
                        return best, best_value
    return best, best_value


def _trivial_bound(sc: Scenario, options: list[list[Option]]) -> float:
    """Every task takes at least its best no-wait latency (a bound needing no solver); for the
    energy objectives its best no-wait cost (the time from its first device stage to its finish
    is at least the no-wait time)."""
    if sc.objective in ENERGY_OBJECTIVES:
        return sum(min(no_wait_cost(sc, t, o.plan) for o in opts)
                   for t, opts in zip(sc.tasks, options, strict=True)) / len(options)
    best = [min(o.no_wait for o in opts) for opts in options]
    if sc.objective == "makespan":
        first = min(t.arrival for t in sc.tasks)
        return max(t.arrival + b for t, b in zip(sc.tasks, best, strict=True)) - first
    return sum(best) / len(best)


def _contended(sc: Scenario, stage) -> bool:
    return stage.pool is not None or (stage.resource is not None
                                      and resource_slots(sc, stage.resource) is not None)


def _energy_slack(sc: Scenario, options: list[list[Option]], unit: float, scale: int,
                  horizon_s: float) -> float:
    """How far below the real optimum the rounded energy model's optimum can lie (mean per
    task): finish times and starts rounded down (stages + 2 units of idle time, stages + 1 of
    latency), each term's coefficient rounded down (one objective unit per time unit of idle,
    one for the constant)."""
    latency = sc.objective == "latency+energy"
    w = sc.objective_weight if latency else 1.0
    total = 0.0
    for t, opts in zip(sc.tasks, options, strict=True):
        stages = max(len(o.stages) for o in opts)
        idle_w = sc.nodes[t.device].power.idle
        total += (latency * unit * (stages + 1) + w * idle_w * unit * (stages + 2)
                  + (horizon_s / unit + 2) * unit / scale)
    return total / len(options)


#: Where ``exact`` was measured to prove optimality on every instance (module docstring,
#: "Proven-optimal range"); ``splitinfer plan`` notes an unproven plan outside it.
PROVEN_RANGE = ProvenRange(
    tasks=4, options=164, nodes=7, limit="the default time_limit_s = 10 s or work_limit = 1",
    evidence="benchmarks/bench_baselines.py (random chains, time_limit_s = 10 s) and "
             "benchmarks/bench_gap.py (DeePar and GSPI families, work_limit = 1); "
             "docs/benchmarks.md")


@register("exact", exact=True, objectives=OBJECTIVES, proven_range=PROVEN_RANGE,
          description="Optimal chain options and order for small instances (OR-Tools CP-SAT), "
                      "with a proven lower bound; proven within 10 s up to 4 tasks, 164 chain "
                      "options, 7 nodes.",
          source="the project's yardstick; CP-SAT scheduling model (docs/algorithms/baselines.md)")
class ExactPlanner(BasePlanner):
    """The CP-SAT optimum over chain plans (see the module docstring).

    Parameters
    ----------
    time_limit_s : float
        Wall-clock limit of the search in seconds (default 10).
    max_tasks : int
        Larger scenarios raise NotApplicableError (default 8).
    seed : int
        CP-SAT ``random_seed``.
    workers : int
        CP-SAT ``num_workers``; 1 (default) keeps the search deterministic.
    three_tier : bool
        Include device -> edge -> cloud options (default True).
    time_unit_s : float or None
        Seconds per integer time unit; None picks a power of ten that puts the horizon at
        about 1e9 units.
    work_limit : float or None
        CP-SAT deterministic-time limit (reproducible; see the module docstring).

    Examples
    --------
    >>> ExactPlanner(time_limit_s=1).get_params()["time_limit_s"]
    1
    """

    def __init__(self, time_limit_s: float = 10.0, max_tasks: int = 8, seed: int = 0,
                 workers: int = 1, three_tier: bool = True, time_unit_s: float | None = None,
                 work_limit: float | None = None):
        self.time_limit_s = time_limit_s
        self.work_limit = work_limit
        self.max_tasks = max_tasks
        self.seed = seed
        self.workers = workers
        self.three_tier = three_tier
        self.time_unit_s = time_unit_s

    def _check(self, sc: Scenario) -> None:
        if len(sc.tasks) > self.max_tasks:
            raise NotApplicableError(f"exact: {len(sc.tasks)} tasks exceed max_tasks="
                                     f"{self.max_tasks}")
        divisible = [n for n, node in sc.nodes.items() if node.divisible]
        if divisible:
            raise NotApplicableError(f"exact: divisible nodes {divisible} need shares, which "
                                     "this model does not decide")
        if sc.objective not in OBJECTIVES:
            raise NotApplicableError(f"exact: unknown objective {sc.objective!r}")
        if sc.traced_links:
            names = ", ".join(sc.links[k].name for k in sc.traced_links)
            raise NotApplicableError(f"exact: links {names} follow bandwidth traces, and this "
                                     "model times every transfer at one rate (its optimum and "
                                     "bound would not hold; docs/traces.md)")

    def _plan(self, scenario: Scenario) -> tuple[dict[str, TaskPlan], dict[str, Any]]:
        sc = scenario
        self._check(sc)
        if not sc.tasks:
            return {}, {"optimal": True, "bound": 0.0, "objective": 0.0, "status": "EMPTY",
                        "gap": 0.0, "plan_space": "chain"}
        options = [task_options(sc, t, three_tier=self.three_tier) for t in sc.tasks]
        hint, greedy = _greedy(sc, options)
        horizon = max(t.arrival for t in sc.tasks) + sum(
            max(sum(s.duration for s in o.stages) for o in opts) for opts in options)
        # the energy objectives weigh each time unit by a power: a coarser unit (about 1e6 over
        # the horizon instead of 1e9) keeps their coefficients small and the search fast
        unit = self.time_unit_s or choose_unit(
            horizon, 1e6 if sc.objective in ENERGY_OBJECTIVES else 1e9)
        sol = solve(sc, options, unit=unit, time_limit_s=float(self.time_limit_s),
                    seed=int(self.seed), workers=int(self.workers), hint=hint,
                    work_limit=None if self.work_limit is None else float(self.work_limit))
        n = len(sc.tasks)
        shift = sum(t.arrival for t in sc.tasks) / n if sc.objective != "makespan" else \
            min(t.arrival for t in sc.tasks)
        scale = unit / n if sc.objective != "makespan" else unit
        if sol.scale:  # energy objectives: objective units are unit / sol.scale (s, or J)
            scale = unit / (sol.scale * n)
            shift = shift if sc.objective == "latency+energy" else 0.0
        solver_bound = sol.bound * scale - shift
        bound = max(solver_bound, _trivial_bound(sc, options))
        if sol.objective is None:  # no schedule within the limit: the greedy plan
            candidates = [greedy]
            solver_objective = None
        else:  # the solver's schedule, and the greedy plan it started from
            candidates = [*self._candidates(sc, options, sol, unit), greedy]
            solver_objective = sol.objective * scale - shift
        if sc.objective in ENERGY_OBJECTIVES:  # and every task on its least no-wait cost
            candidates.append({t.id: min((o.plan for o in opts),
                                         key=lambda tp, t=t: no_wait_cost(sc, t, tp))
                               for t, opts in zip(sc.tasks, options, strict=True)})
        best, best_value = None, None
        for plans in candidates:
            value = simulate(sc, Plan(self.name, plans)).objective(sc.objective)
            if best_value is None or value < best_value - 1e-12:
                best, best_value = plans, value
        # the rounding slack: every duration and arrival is rounded down by less than a unit
        slack = unit * (sum(max(len(o.stages) for o in opts) + 1 for opts in options)
                        / (n if sc.objective != "makespan" else 1))
        if sc.objective in ENERGY_OBJECTIVES:
            slack = _energy_slack(sc, options, unit, sol.scale or 1, horizon)
        reach = bound + slack + 1e-9 * abs(bound)
        if sol.objective is not None and best_value > reach:
            # one priority per task did not reproduce the solver's schedule (ties between a
            # zero-duration stage and others, a pool both directions of a link draw from):
            # search the task orders of the solver's options and of the best candidate
            for plans in (candidates[0], best):
                plans, value = _reorder(sc, plans, reach, self.name)
                if value < best_value - 1e-12:
                    best, best_value = plans, value
                if best_value <= reach:
                    break
        # proven optimal only when the returned plan itself reaches the proven bound
        optimal = sol.status == "OPTIMAL" and best_value <= reach
        info = {"optimal": optimal, "status": sol.status, "bound": bound,
                "objective": best_value, "solver_objective": solver_objective,
                "solver_bound": solver_bound,
                "gap": max(0.0, (best_value - bound) / best_value) if best_value > 0 else 0.0,
                "time_unit_s": unit, "options": sum(len(o) for o in options),
                "branches": sol.branches, "plan_space": "chain"}
        return best, info

    def _candidates(self, sc: Scenario, options: list[list[Option]], sol, unit: float
                    ) -> list[dict[str, TaskPlan]]:
        """Plans that try to reproduce the solver's schedule (see the module docstring)."""
        first, last, root, latest, alap = {}, {}, {}, {}, {}
        for k, t in enumerate(sc.tasks):
            opt = options[k][sol.choice[k]]
            st = [x * unit for x in sol.starts[k]]
            contended = [i for i, s in enumerate(opt.stages) if _contended(sc, s)]
            c = contended[0] if contended else 0
            first[t.id] = st[c] if st else 0.0
            last[t.id] = max((st[i] + s.duration for i, s in enumerate(opt.stages)), default=0.0)
            root[t.id] = min(st, default=0.0)
            # the release that makes the first contended stage ready at the solver's start
            ready = [0.0] * len(opt.stages)
            for i, s in enumerate(opt.stages):
                ready[i] = max((ready[d] + opt.stages[d].duration for d in s.deps), default=0.0)
            latest[t.id] = (st[c] - ready[c]) if st else 0.0
            # as late as possible: every stage shifted right up to its successors' shifted
            # starts (the task still ends when the solver ends it), so idle time the solver put
            # between two stages (a pool kept free for another task's stage) moves before the
            # first one, where a release can express it
            late = list(st)
            for i in range(len(opt.stages) - 1, -1, -1):
                succ = [late[j] for j, s in enumerate(opt.stages) if i in s.deps]
                if succ:
                    late[i] = max(st[i], min(succ) - opt.stages[i].duration)
            alap[t.id] = min((late[i] for i, s in enumerate(opt.stages) if not s.deps),
                             default=0.0)
        # the solver's times run on durations rounded down, so a release at a solver time may
        # fall just before the real event it waits for (another task's stage, ready a few
        # units later in real time) and lose the tie: the same releases padded by the most the
        # rounding can accumulate over every stage (a fraction of a microsecond) keep it after;
        # only tasks the solver holds back are padded (a task released at its arrival stays)
        pad = unit * (sum(len(options[k][sol.choice[k]].stages) for k in range(len(sc.tasks)))
                      + 1)
        arrival = {t.id: t.arrival for t in sc.tasks}
        padded = [{tid: v + pad if v > arrival[tid] + 1e-12 else v for tid, v in rel.items()}
                  for rel in (root, latest, alap)]
        out = []
        for prio in (first, last):
            for rel in (None, root, latest, alap, *padded):
                plans = {}
                for k, t in enumerate(sc.tasks):
                    tp = options[k][sol.choice[k]].plan
                    release = None
                    if rel is not None and rel[t.id] > t.arrival + 1e-12:
                        release = float(rel[t.id])
                    plans[t.id] = replace(tp, priority=float(prio[t.id]), release=release)
                out.append(plans)
        return out
