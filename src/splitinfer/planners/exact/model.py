"""The CP-SAT model behind the ``exact`` planner: chain options, stages on resources, one
objective.

Every task chooses one of its chain options (:func:`~splitinfer.planners.common.options.chain_options`);
an option is a list of timed stages (:func:`~splitinfer.system.stages.build_stages`) that become
optional fixed-size interval variables, present iff the option is chosen. Constraints:

* exactly one option per task; root stages start no earlier than the task's arrival;
  a stage starts after the stages it depends on end;
* resources as the simulator has them (:mod:`splitinfer.sim.engine`): ``NoOverlap`` on one-slot
  resources (FIFO links, concurrency-1 nodes, shares), ``AddCumulative`` with capacity ``k`` on
  k-slot nodes, nothing on unlimited ones (dedicated and reserved links, concurrency ``null``),
  and ``AddCumulative`` of the reserved rates on every bandwidth pool;
* objective: the sum of task finish times (mean latency and mean sojourn: the arrivals are
  constants) or the largest finish time (makespan); for ``energy`` and ``latency+energy``
  (:mod:`splitinfer.system.energy`) the sum of the tasks' device energies (weighted, plus the
  finish times) written as ``P_idle (f - s0) + sum over device stages of (P_role - P_idle) d``:
  the first term is linear in the task's finish ``f`` and the start ``s0`` of its first device
  stage, the second a constant of the chosen option (:func:`energy_terms`).

Durations are integers in units of ``unit`` seconds, **rounded down**, arrivals rounded down,
pool demands rounded down and pool capacities kept: every schedule the simulator can produce for
a chain plan, with its start times rounded down, is then a feasible solution of this model whose
objective is not larger than the real one (see ``docs/algorithms/baselines.md`` for the short
proof), so the solver's proven bound is a lower bound of the real objective over all chain plans
with any priorities and release times.

Examples
--------
>>> from splitinfer.testing.random import random_chain_scenario
>>> sc = random_chain_scenario(2, max_tasks=2)
>>> opts = [task_options(sc, t) for t in sc.tasks]
>>> sol = solve(sc, opts, unit=1e-6, time_limit_s=5.0, seed=0, workers=1)
>>> sol.status, len(sol.choice) == len(sc.tasks)
('OPTIMAL', True)
"""

from __future__ import annotations

import math
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from splitinfer.errors import InfeasiblePlanError, NotApplicableError
from splitinfer.planners.common.options import chain_options
from splitinfer.system.energy import ENERGY_OBJECTIVES, NONE, stage_role
from splitinfer.system.entities import Power, Task
from splitinfer.system.plan import TaskPlan
from splitinfer.system.scenario import Scenario
from splitinfer.system.stages import Stage, build_stages

__all__ = ["Option", "task_options", "resource_slots", "choose_unit", "Solution", "solve",
           "energy_terms", "energy_scale"]


@dataclass(frozen=True)
class Option:
    """One chain plan of one task with its timed stages."""

    plan: TaskPlan
    stages: tuple[Stage, ...]

    @property
    def no_wait(self) -> float:
        """Latency without waiting: the longest path through the stages."""
        finish: list[float] = []
        for s in self.stages:
            finish.append(max((finish[d] for d in s.deps), default=0.0) + s.duration)
        return max(finish, default=0.0)


def task_options(sc: Scenario, task: Task, *, three_tier: bool = True) -> list[Option]:
    """Every distinct, non-dominated executable chain option of ``task``.

    Options that cannot run (a reservation above a pool's capacity) are left out, options with
    identical stages are kept once, and an option is dropped when another one uses the same
    resources in the same precedence structure with every stage no longer (and no larger pool
    claim): keeping the other option's start times in any schedule gives a schedule at least as
    good for any regular objective (mean latency, makespan), so the optimum and the bound are
    unchanged while the model shrinks (on chain models most cuts are dominated).
    """
    groups: dict[tuple, list[Option]] = {}
    seen: set[tuple] = set()
    for tp in chain_options(sc, task, three_tier=three_tier):
        try:
            stages = tuple(build_stages(sc, task, tp))
        except InfeasiblePlanError:
            continue
        if any(s.pool is not None and s.amount > sc.pools[s.pool] * (1 + 1e-9) for s in stages):
            continue
        key = tuple((s.resource, s.duration, s.deps, s.pool, s.amount) for s in stages)
        if key in seen:
            continue
        seen.add(key)
        shape = tuple((s.resource, s.deps, s.pool) for s in stages)
        groups.setdefault(shape, []).append(Option(tp, stages))
    out: list[Option] = []
    # a shorter stage can cost more energy when the device's idle power exceeds its power in
    # that stage's role; then no option dominates another for the energy objectives
    prune = sc.objective not in ENERGY_OBJECTIVES or _idle_is_least(sc.nodes[task.device].power)
    for opts in groups.values():
        for o in opts:
            if not prune or not any(_dominates(p, o) for p in opts if p is not o):
                out.append(o)
    order = {id(o): i for i, o in enumerate(o for g in groups.values() for o in g)}
    return sorted(out, key=lambda o: order[id(o)])


def _idle_is_least(power: Power | None) -> bool:
    return power is None or power.idle <= min(power.compute, power.transmit, power.receive)


def energy_terms(sc: Scenario, task: Task, opt: Option) -> tuple[int | None, float, float]:
    """The option's energy as ``(first, idle_w, fixed_j)``: the index of its first device stage
    (``None`` if it has none), the device's idle power, and the constant part
    sum over device stages of (P_role - P_idle) x duration (J), so that the task's device energy
    is ``idle_w * (finish - start of stage first) + fixed_j`` (:mod:`splitinfer.system.energy`;
    a chain option's device stages come first, so ``first`` starts no later than the others).
    """
    power = sc.nodes[task.device].power
    watts = (power.compute, power.transmit, power.receive)
    first, fixed = None, 0.0
    for i, s in enumerate(opt.stages):
        role = stage_role(s, task.device)
        if role == NONE:
            continue
        first = i if first is None else first
        fixed += (watts[role] - power.idle) * s.duration
    return first, power.idle, fixed


def energy_scale(sc: Scenario, horizon_units: int, latency: bool, resolution: float = 1e3) -> int:
    """Objective units per time unit (a power of ten): the smallest positive idle-power (or
    latency) coefficient gets about ``resolution`` units, within what 64-bit integers allow
    (about 1e17 for ``len(sc.tasks)`` tasks over ``horizon_units``); small coefficients keep
    the search fast."""
    w = sc.objective_weight if sc.objective == "latency+energy" else 1.0
    powers = [sc.nodes[t.device].power for t in sc.tasks]
    pmax = max((max(p.compute, p.idle, p.transmit, p.receive) for p in powers), default=1.0)
    per_unit = max(1.0 if latency else 0.0, w * pmax, 1e-12)
    room = 1e17 / (max(horizon_units, 1) * max(len(sc.tasks), 1) * per_unit)
    if not room >= 1:  # even one objective unit per time unit overflows the integers
        raise NotApplicableError(f"exact: the energy objective's coefficients (weight x power "
                                 f"up to {w * pmax:.3g} per second) are too large for CP-SAT's "
                                 "64-bit integers; use a smaller weight_s_per_j or power figures")
    least = min([w * p.idle for p in powers if p.idle > 0] + ([1.0] if latency else []),
                default=w * pmax or 1.0)
    want = math.ceil(math.log10(resolution / least)) if least > 0 else 0
    cap = math.floor(math.log10(room)) if room >= 1 else 0
    return int(10 ** max(0, min(want, cap)))


def _dominates(a: Option, b: Option) -> bool:
    """True when ``a`` is no longer than ``b`` at every stage (same shape) and shorter at one,
    or equal everywhere and first in enumeration order is kept by the caller's dedup."""
    le = all(x.duration <= y.duration and x.amount <= y.amount
             for x, y in zip(a.stages, b.stages, strict=True))
    lt = any(x.duration < y.duration or x.amount < y.amount
             for x, y in zip(a.stages, b.stages, strict=True))
    return le and lt


def resource_slots(sc: Scenario, resource: str) -> int | None:
    """Parallel slots of a resource as the simulator has them (``None`` = unlimited)."""
    return sc.resource_slots(resource)


def choose_unit(horizon_s: float, span: float = 1e9) -> float:
    """A power of ten (seconds) that puts ``horizon_s`` at about ``span`` units at most.

    Examples
    --------
    >>> choose_unit(10.0), choose_unit(0.0)
    (1e-08, 1e-09)
    """
    if horizon_s <= 0:
        return 1e-9
    return 10.0 ** math.ceil(math.log10(horizon_s / span))


@dataclass
class Solution:
    """What the solver found: chosen option and stage start units per task, and the bound."""

    status: str
    choice: list[int]
    starts: list[list[int]]
    objective: int | None
    bound: float
    branches: int
    deterministic_time: float
    #: for the energy objectives: objective units per time unit (the value in seconds, or
    #: joules for ``energy``, is objective x unit / scale); 0 otherwise
    scale: int = 0


def _down(x: float, unit: float) -> int:
    return int(math.floor(x / unit + 1e-9))


def _path_units(opt: Option, unit: float) -> int:
    """Longest path through an option's stages in rounded-down units."""
    finish: list[int] = []
    for s in opt.stages:
        finish.append(max((finish[d] for d in s.deps), default=0) + _down(s.duration, unit))
    return max(finish, default=0)


def _solve_interruptibly(solver: Any, model: Any) -> Any:
    """``solver.solve(model)``, but Ctrl-C stops the search *and* raises ``KeyboardInterrupt``.

    CP-SAT catches SIGINT by default and ends the search as if its time limit had been reached,
    so an interrupted run would come back as an ordinary (unproven) plan. Here CP-SAT leaves
    SIGINT to Python (``catch_sigint_signal = False``) and runs in a helper thread (it releases
    the GIL) while this thread waits; a ``KeyboardInterrupt`` stops the search, waits for the
    solver to return and propagates.
    """
    solver.parameters.catch_sigint_signal = False
    if threading.current_thread() is not threading.main_thread():
        return solver.solve(model)  # signals reach the main thread only
    box: dict[str, Any] = {}
    done = threading.Event()  # not Thread.join: an interrupted join can return early (3.11)

    def work() -> None:
        try:
            box["status"] = solver.solve(model)
        except BaseException as exc:  # re-raised in the caller's thread below
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=work, name="cp-sat", daemon=True).start()
    try:
        while not done.wait(0.05):
            pass
    except KeyboardInterrupt:
        solver.stop_search()
        done.wait()
        raise
    if "error" in box:
        raise box["error"]
    return box["status"]


def _zero_points(model: Any, items: list, capacity: int) -> None:
    """A zero-length stage still takes its place on a cumulative resource (as in the
    simulator, where it waits until the resource can hold it); CP-SAT's ``AddCumulative``
    ignores zero-size intervals, so: its demand plus the demands of the intervals that strictly
    contain its instant stay within the capacity. Every simulated schedule satisfies this with
    its starts rounded down, so the bound stays a lower bound."""
    for a, (sa, da, la, qa) in enumerate(items):
        if da != 0 or qa + sum(q for _, d, _, q in items if d != 0) <= capacity:
            continue
        inside = []
        for b, (sb, db, lb, qb) in enumerate(items):
            if b == a or db == 0:
                continue
            before = model.new_bool_var("")
            after = model.new_bool_var("")
            within = model.new_bool_var("")
            model.add(sa <= sb).only_enforce_if(before)
            model.add(sa >= sb + db).only_enforce_if(after)
            model.add_bool_or([before, after, within, la.Not(), lb.Not()])
            inside.append((within, qb))
        if inside:
            model.add(qa + sum(q * w for w, q in inside) <= capacity).only_enforce_if(la)


def solve(sc: Scenario, options: list[list[Option]], *, unit: float, time_limit_s: float,
          seed: int, workers: int, hint: list[int] | None = None,
          work_limit: float | None = None) -> Solution:
    """Build and solve the model (see the module docstring).

    Parameters
    ----------
    sc : Scenario
    options : list of list of Option
        Per task (in ``sc.tasks`` order) its options.
    unit : float
        Seconds per integer time unit.
    time_limit_s : float
        Wall-clock limit (``max_time_in_seconds``).
    work_limit : float, optional
        CP-SAT's deterministic-time limit (``max_deterministic_time``): a count of work that
        does not depend on the machine's load, so a search it stops is reproducible.
    seed, workers : int
        ``random_seed`` and ``num_workers`` of CP-SAT.
    hint : list of int, optional
        An option index per task to start from.
    """
    from ortools.sat.python import cp_model

    model = cp_model.CpModel()
    arrivals = [_down(t.arrival, unit) for t in sc.tasks]
    horizon = max(arrivals, default=0) + sum(
        max(sum(_down(s.duration, unit) for s in o.stages) for o in opts) for opts in options) + 1
    uses = _Uses()
    lits: list[list] = []
    starts: list[list[list]] = []
    ends = []
    for k, opts in enumerate(options):
        lits_k, starts_k, end_k = _add_task(model, k, opts, arrivals[k], horizon, unit, uses,
                                            None if hint is None else hint[k])
        lits.append(lits_k)
        starts.append(starts_k)
        ends.append(end_k)
    _add_capacities(model, sc, uses)
    scale = 0
    if sc.objective == "makespan":
        span = model.new_int_var(0, horizon, "makespan")
        model.add_max_equality(span, ends)
        model.minimize(span)
    elif sc.objective in ENERGY_OBJECTIVES:
        scale = _minimize_energy(model, sc, options, lits, starts, ends, unit, horizon)
    else:
        model.minimize(sum(ends))
    solver = cp_model.CpSolver()
    p = solver.parameters
    p.num_workers = workers
    p.random_seed = seed
    p.max_time_in_seconds = time_limit_s
    if work_limit is not None:
        p.max_deterministic_time = work_limit
    status = _solve_interruptibly(solver, model)
    name = solver.status_name(status)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return Solution(name, [], [], None, solver.best_objective_bound, solver.num_branches,
                        solver.deterministic_time, scale)
    choice = [next(o for o, lit in enumerate(lk) if solver.boolean_value(lit)) for lk in lits]
    st_units = [[solver.value(v) for v, _ in starts[k][choice[k]]] for k in range(len(lits))]
    return Solution(name, choice, st_units, int(solver.objective_value),
                    solver.best_objective_bound, solver.num_branches, solver.deterministic_time,
                    scale)


def _minimize_energy(model: Any, sc: Scenario, options: list[list[Option]], lits: list[list],
                     starts: list[list[list]], ends: list, unit: float, horizon: int) -> int:
    """Minimise sum over tasks of [latency x scale] + weight x energy x scale / unit (integers,
    every term rounded down so that the bound stays a lower bound); returns ``scale``."""
    latency = sc.objective == "latency+energy"
    w = sc.objective_weight if latency else 1.0
    scale = energy_scale(sc, horizon, latency)
    terms = []
    for k, task in enumerate(sc.tasks):
        idle_coef = 0
        fixed = []
        s0 = model.new_int_var(0, horizon, f"s0_{k}")
        for o, opt in enumerate(options[k]):
            first, idle_w, fixed_j = energy_terms(sc, task, opt)
            idle_coef = int(math.floor(w * idle_w * scale))
            fixed.append(int(math.floor(w * fixed_j * scale / unit)))
            if first is None:  # nothing on the device: no idle time charged
                model.add(s0 == ends[k]).only_enforce_if(lits[k][o])
            else:
                model.add(s0 == starts[k][o][first][0]).only_enforce_if(lits[k][o])
        # idle >= (finish - s0) - 1: s0 is rounded down by less than one unit
        idle = model.new_int_var(0, horizon, f"idle{k}")
        model.add(idle >= ends[k] - s0 - 1)
        # redundant: at least the chosen option's no-wait path (the LP relaxation's bound)
        model.add(idle >= sum(lit * _path_units(opt, unit) for lit, opt in
                              zip(lits[k], options[k], strict=True)) - 1)
        terms.append(idle_coef * idle + sum(f * lit for f, lit in zip(fixed, lits[k], strict=True)))
        if latency:
            terms.append(scale * ends[k])
    model.minimize(sum(terms))
    return scale


@dataclass
class _Uses:
    """What every resource and pool carries, collected while the tasks are added: intervals (with
    their demand, for pools) and ``(start, units, literal, demand)`` for :func:`_zero_points`."""

    by_resource: dict[str, list] = field(default_factory=lambda: defaultdict(list))
    by_pool: dict[str, list] = field(default_factory=lambda: defaultdict(list))
    span_res: dict[str, list] = field(default_factory=lambda: defaultdict(list))
    span_pool: dict[str, list] = field(default_factory=lambda: defaultdict(list))


def _add_task(model: Any, k: int, opts: list[Option], arrival: int, horizon: int, unit: float,
              uses: _Uses, hint: int | None) -> tuple[list, list[list], Any]:
    """Task ``k``: one literal per option (exactly one true), each option's stages as optional
    intervals in precedence order, and the task's end; returns ``(literals, starts, end)``."""
    end_k = model.new_int_var(arrival, horizon, f"end{k}")
    lits_k, starts_k = [], []
    for o, opt in enumerate(opts):
        lit = model.new_bool_var(f"x{k}_{o}")
        lits_k.append(lit)
        st_vars = []
        for i, s in enumerate(opt.stages):
            dur = _down(s.duration, unit)
            st = model.new_int_var(arrival, horizon, f"s{k}_{o}_{i}")
            st_vars.append((st, dur))
            for d in s.deps:
                model.add(st >= st_vars[d][0] + st_vars[d][1]).only_enforce_if(lit)
            if s.resource is not None or s.pool is not None:
                iv = model.new_optional_fixed_size_interval_var(st, dur, lit, f"i{k}_{o}_{i}")
                if s.resource is not None:
                    uses.by_resource[s.resource].append(iv)
                    uses.span_res[s.resource].append((st, dur, lit, 1))
                if s.pool is not None:
                    uses.by_pool[s.pool].append((iv, int(math.floor(s.amount))))
                    uses.span_pool[s.pool].append((st, dur, lit, int(math.floor(s.amount))))
            model.add(end_k >= st + dur).only_enforce_if(lit)
        starts_k.append(st_vars)
    model.add_exactly_one(lits_k)
    # redundant: a task ends no earlier than its chosen option's no-wait latency (gives the
    # LP relaxation the trivial bound, which the optional precedences alone do not)
    model.add(end_k >= arrival + sum(lit * _path_units(opt, unit)
                                     for lit, opt in zip(lits_k, opts, strict=True)))
    if hint is not None:
        for o, lit in enumerate(lits_k):
            model.add_hint(lit, o == hint)
    return lits_k, starts_k, end_k


def _add_capacities(model: Any, sc: Scenario, uses: _Uses) -> None:
    """Slots of every contended resource (NoOverlap, or Cumulative for k slots) and the capacity
    of every pool (Cumulative of the reserved rates), plus the zero-point cuts."""
    for res in sorted(uses.by_resource):
        slots = resource_slots(sc, res)
        if slots is None:
            continue
        ivs = uses.by_resource[res]
        if slots == 1:
            model.add_no_overlap(ivs)
        elif len(ivs) > slots:
            model.add_cumulative(ivs, [1] * len(ivs), slots)
    for pool in sorted(uses.by_pool):
        ivs = [iv for iv, _ in uses.by_pool[pool]]
        demands = [d for _, d in uses.by_pool[pool]]
        if sum(demands) > sc.pools[pool]:
            model.add_cumulative(ivs, demands, int(math.floor(sc.pools[pool] * (1 + 1e-9))))
    for res in sorted(uses.span_res):
        slots = resource_slots(sc, res)
        if slots is not None and slots > 1:
            _zero_points(model, uses.span_res[res], slots)
    for pool in sorted(uses.span_pool):
        _zero_points(model, uses.span_pool[pool], int(math.floor(sc.pools[pool] * (1 + 1e-9))))
