"""Simulating a plan on a scenario, and driving an online planner task by task.

Examples
--------
The two-job example of Duan & Wu 2021 section 1 (Fig. 2): a shared uplink; job times are
(local, offload) = (4, 6) at the first cut and (7, 2) at the second. Cutting both jobs at the
same point gives a makespan of 16; cutting them differently gives 13.

>>> from splitinfer.system import scenario_from_dict, Plan, TaskPlan
>>> sc = scenario_from_dict({"objective": "makespan", "result_return": 0,
...     "nodes": [{"name": "pi", "kind": "device", "compute": {"table": True}},
...               {"name": "cloud", "kind": "cloud", "compute": {"table": True},
...                "concurrency": None}],
...     "links": [{"src": "pi", "dst": "cloud", "bandwidth": 8, "sharing": "fifo"}],
...     "models": {"m": {"cuts": [{"transfer_bytes": 99}, {"transfer_bytes": 6},
...                               {"transfer_bytes": 2}, {"transfer_bytes": 0}],
...                      "table": {"pi": {"head": [0, 4, 7, 99]},
...                                "cloud": {"tail": [0, 0, 0, 0]}}}},
...     "workload": {"tasks": [{"device": "pi", "model": "m"}, {"device": "pi", "model": "m"}]}})
>>> same = Plan("x", {t: TaskPlan(t, ("pi", "cloud"), (1,)) for t in ("t0", "t1")})
>>> simulate(sc, same).makespan
16.0
>>> mixed = Plan("x", {"t0": TaskPlan("t0", ("pi", "cloud"), (1,)),
...                    "t1": TaskPlan("t1", ("pi", "cloud"), (2,), priority=1)})
>>> simulate(sc, mixed).makespan
13.0
"""

from __future__ import annotations

import gc
import time
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import numpy as np

from splitinfer.errors import InfeasiblePlanError
from splitinfer.sim.engine import Engine
from splitinfer.system.energy import attach_energy
from splitinfer.system.plan import Plan, TaskPlan
from splitinfer.system.planner import OnlinePlanner, State
from splitinfer.system.result import Result, Timeline
from splitinfer.system.scenario import Scenario
from splitinfer.system.stages import Stage, build_stages

__all__ = ["simulate", "simulate_online", "check_shares"]


class ShareLedger:
    """Shares of divisible nodes granted so far, checked one plan at a time.

    Each share group (default: the task's device) is one dedicated server of the node; all tasks
    of a group must use the same share, and the shares of a node add up to at most 1 (Zheng 2021
    constraint C2: sum of delta_d <= 1). Adding a plan costs O(nodes it uses), so an online run
    checks every decision as it is made without re-reading the earlier ones.
    """

    def __init__(self, sc: Scenario) -> None:
        self._sc = sc
        self._divisible = {n for n, node in sc.nodes.items() if node.divisible}
        self._groups: dict[tuple[str, str], float] = {}
        self._total = dict.fromkeys(self._divisible, 0.0)

    def add(self, tp: TaskPlan) -> None:
        """Record ``tp``'s shares; raise :class:`InfeasiblePlanError` if they do not fit."""
        if not self._divisible:
            return
        used = set(tp.nodes) if tp.steps is None else {s.node for s in tp.steps if s.node}
        for node in used & self._divisible:
            key = (node, tp.share_group or self._sc.task(tp.task).device)
            share = tp.share or 0.0
            if key in self._groups:
                if abs(self._groups[key] - share) > 1e-12:
                    raise InfeasiblePlanError(f"share group {key[1]!r} on {node!r} has two shares "
                                              f"{self._groups[key]} and {tp.share}")
                continue
            self._groups[key] = share
            self._total[node] += share
            if self._total[node] > 1 + 1e-9:
                raise InfeasiblePlanError(f"shares of node {node!r} add up to "
                                          f"{self._total[node]:.6g} > 1")


def check_shares(sc: Scenario, plans: list[TaskPlan]) -> None:
    """Raise if the shares of a divisible node are inconsistent or add up to more than 1
    (see :class:`ShareLedger`)."""
    ledger = ShareLedger(sc)
    for tp in plans:
        ledger.add(tp)


def _records(sc: Scenario, eng: Engine, planner: str, info: dict) -> Result:
    """The engine's arrays as a columnar :class:`Result` (no per-stage objects are built)."""
    n = len(sc.tasks)
    fin = eng.task_finish[:n]
    if np.isnan(fin).any():
        k = int(np.flatnonzero(np.isnan(fin))[0])
        raise RuntimeError(f"task {sc.tasks[k].id} did not finish (stuck on a pool larger than "
                           "its capacity?)")
    from splitinfer.sim._columns import dense_fits, stage_columns

    tmpl = eng.t_tmpl[:n]
    offsets = eng.template_offsets
    sizes = np.diff(offsets)[tmpl]
    first = np.zeros(n + 1, np.int64)
    np.cumsum(sizes, out=first[1:])
    total = int(first[-1])
    labels: dict[tuple, int] = {}
    tlabel = np.array([labels.setdefault((s.name, s.kind, s.node), len(labels))
                       for stages in eng.templates for s in stages], np.int64)
    local, resource, label = (np.empty(total, np.int64) for _ in range(3))
    t_base = eng.t_base[:n]
    rows = np.empty(0 if np.array_equal(t_base, first[:-1]) else total, np.int64)
    stage_columns(tmpl, t_base, offsets, eng.template_resource, tlabel, first, local, resource,
                  label, rows)
    # engine rows in task order: tasks installed in task order (every offline run) own their
    # rows already, and the engine's columns are handed over without a copy
    times = [col[:total] if not len(rows) else col[rows]
             for col in (eng.g_ready, eng.g_start, eng.g_end)]
    # offloaded: some stage runs on a node other than the device, per (template, device)
    tc = task_columns(sc)
    ndev = len(tc["device_names"])
    pair = tmpl * ndev + tc["device"]
    size = len(eng.templates) * ndev
    dense = dense_fits(size, n)
    if dense:  # a table of the pairs in use (no sort)
        seen = np.zeros(size, bool)
        seen[pair] = True
        uniq = np.flatnonzero(seen)
    else:
        uniq, inv = np.unique(pair, return_inverse=True)
    nodes = [{s.node for s in stages} - {None} for stages in eng.templates]
    away = np.array([bool(nodes[p // ndev] - {tc["device_names"][p % ndev]})
                     for p in uniq.tolist()], bool)
    if dense:
        table = np.zeros(size, bool)
        table[uniq] = away
        offloaded = table[pair]
    else:
        offloaded = away[inv.ravel()]
    timeline = Timeline(
        ids=tc["ids"], devices=tc["devices"], models=tc["models"],
        arrival=tc["arrival"], finish=fin.copy(), offloaded=offloaded, first=first, stage=local,
        resource=resource, label=label, ready=times[0], start=times[1], end=times[2],
        resources=list(eng.resource_names), labels=list(labels))
    capacity = {r: (1.0 if s == float("inf") else float(s)) for r, s in eng.slots().items()}
    result = Result(sc.name, planner, measured=False, capacity=capacity,
                    info={"events": eng.events, **info}, timeline=timeline)
    return attach_energy(result, sc, devices=tc["device_names"])


def _check_pools(sc: Scenario, stages: list[Stage], task_id: str) -> None:
    for s in stages:
        if s.pool is not None and s.amount > sc.pools[s.pool] * (1 + 1e-9):
            raise InfeasiblePlanError(f"task {task_id}: reserves {s.amount:.4g} bit/s of pool "
                                      f"{s.pool!r} whose capacity is {sc.pools[s.pool]:.4g}")


def simulate(scenario: Scenario, plan: Plan) -> Result:
    """Execute ``plan`` on ``scenario`` and return every task's timeline.

    Parameters
    ----------
    scenario : Scenario
    plan : Plan
        Must decide every task of the scenario.

    Returns
    -------
    Result
        Simulated (``measured=False``) per-task, per-stage records and metrics.

    Raises
    ------
    InfeasiblePlanError
        A task without a decision, or a decision the scenario cannot execute. Tasks are never
        silently dropped.
    """
    with _gc_paused():
        return _simulate(scenario, plan)


@contextmanager
def _gc_paused():
    """Pause the cyclic garbage collector while a run allocates its ~10^6 acyclic objects.

    The engine and the records hold no reference cycles (reference counting frees them), but
    the collector would still rescan the growing heap many times: about 45 % of the time of a
    10^5-task run. The previous state is restored on exit, also on errors.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


_COLUMNS: dict[int, tuple] = {}  # id(scenario.tasks) -> (tasks, columns); a few recent ones


def task_columns(scenario: Scenario) -> dict[str, Any]:
    """The scenario's tasks as columns (ids, devices, models, codes, arrival, index, samples).

    Cached for the last few task tuples, since sweeps simulate one scenario many times.
    """
    tasks = scenario.tasks
    hit = _COLUMNS.get(id(tasks))
    if hit is not None and hit[0] is tasks:
        return hit[1]
    devices = [t.device for t in tasks]
    models = [t.model for t in tasks]
    dev_names = sorted(set(devices))
    model_names = sorted(set(models))
    dev_code = {d: i for i, d in enumerate(dev_names)}
    model_code = {m: i for i, m in enumerate(model_names)}
    cols = {"ids": [t.id for t in tasks], "devices": devices, "models": models,
            "device_names": dev_names,
            "device": np.array([dev_code[d] for d in devices], np.int64),
            "model": np.array([model_code[m] for m in models], np.int64),
            "samples": np.array([t.samples for t in tasks], np.int64),
            "arrival": np.array([t.arrival for t in tasks], float),
            "index": np.array([t.index for t in tasks], np.int64)}
    if len(_COLUMNS) >= 4:
        _COLUMNS.pop(next(iter(_COLUMNS)))
    _COLUMNS[id(tasks)] = (tasks, cols)
    return cols


def _row_keys(parts: list[np.ndarray]) -> tuple[np.ndarray, int]:
    """One integer per row of the non-negative integer columns ``parts`` (equal rows, equal
    keys) and the key range: a mixed-radix number when it fits in 62 bits, else the rows'
    rank."""
    radix = [int(p.max()) + 1 if len(p) else 1 for p in parts]
    size = float(np.prod(np.array(radix, float)))
    if size < 2.0 ** 62:
        key = np.zeros(len(parts[0]), np.int64)
        for p, r in zip(parts, radix, strict=True):
            key = key * r + p
        return key, int(size)
    rank = np.unique(np.column_stack(parts), axis=0, return_inverse=True)[1].ravel()
    return rank, int(rank.max(initial=-1)) + 1


def _groups(key: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """``(first, which)``: the first row of each distinct key (in key order) and every row's
    group, as ``np.unique(key, return_index=True, return_inverse=True)[1:]``; by one compiled
    pass over a table when the key range is small (no sort)."""
    from splitinfer.sim._columns import dense_fits, dense_groups

    if dense_fits(size, len(key)):
        return dense_groups(key, size)
    _, first, which = np.unique(key, return_index=True, return_inverse=True)
    return first, which.ravel()


def _add_columns(scenario: Scenario, plan: Plan, eng: Engine) -> None:
    """Add a :class:`~splitinfer.system.plan.ChainColumns` plan without a TaskPlan per task."""
    cols, tc = plan.columns, task_columns(scenario)
    node_code = np.array([sorted(scenario.nodes).index(x) if x in scenario.nodes else -2
                          for x in cols.node_names] + [-1], np.int64)
    nodes = node_code[cols.nodes]  # -1 padding stays -1 (the last entry)
    if (nodes == -2).any():
        bad = next(x for x in cols.node_names if x not in scenario.nodes)
        raise InfeasiblePlanError(f"plan {plan.planner!r} uses unknown node {bad!r}")
    parts = [tc["device"], tc["model"], tc["samples"] - tc["samples"].min()]
    parts += [nodes[:, j] + 1 for j in range(nodes.shape[1])]
    parts += [cols.cuts[:, j] + 1 for j in range(cols.cuts.shape[1])]
    if any(p.min(initial=0) < 0 for p in parts):
        raise InfeasiblePlanError(f"plan {plan.planner!r} has negative cuts")
    first, which = _groups(*_row_keys(parts))
    lists = []
    for k in first.tolist():
        task = scenario.tasks[k]
        stages = build_stages(scenario, task, cols.row(k))
        _check_pools(scenario, stages, task.id)
        lists.append(stages)
    arrival = tc["arrival"]
    rel = cols.release
    release = np.where(np.isnan(rel), arrival, np.maximum(arrival, np.nan_to_num(rel)))
    eng.add_tasks(np.arange(len(arrival)), lists, which, arrival, release, cols.priority,
                  tc["index"])


def _add_plans(scenario: Scenario, plan: Plan, eng: Engine) -> None:
    """Add every task of a plan given as TaskPlan objects."""
    plans = plan.tasks
    missing = [t.id for t in scenario.tasks if t.id not in plans]
    if missing:
        raise InfeasiblePlanError(f"plan {plan.planner!r} decides no path for {len(missing)} "
                                  f"task(s), e.g. {missing[:3]}")
    if any(node.divisible for node in scenario.nodes.values()):
        check_shares(scenario, list(plans.values()))
    # Tasks with the same device, model, samples and chain decision have identical stages: build
    # them once and share the (read-only) list, which also lets the engine compile it once.
    shared: dict[tuple, int] = {}
    lists: list[list[Stage]] = []
    which = []
    release = []
    priority = []
    for task in scenario.tasks:
        tp = plans[task.id]
        if tp.task != task.id:
            raise InfeasiblePlanError(f"plan {plan.planner!r} files the decision for task "
                                      f"{tp.task!r} under {task.id!r}")
        key = None if tp.steps is not None else (
            task.device, task.model, task.samples, tp.nodes, tp.cuts, tp.bandwidth, tp.share,
            tp.share_group)
        m = shared.get(key) if key is not None else None
        if m is None:
            stages = build_stages(scenario, task, tp)
            _check_pools(scenario, stages, task.id)
            m = len(lists)
            lists.append(stages)
            if key is not None:
                shared[key] = m
        which.append(m)
        release.append(task.arrival if tp.release is None else max(task.arrival, tp.release))
        priority.append(tp.priority)
    tc = task_columns(scenario)
    eng.add_tasks(np.arange(len(which)), lists, which, tc["arrival"], release, priority,
                  tc["index"])


def _simulate(scenario: Scenario, plan: Plan) -> Result:
    t0 = time.perf_counter()
    eng = Engine(scenario.resource_slots, scenario.pools)
    cols = plan.columns
    if cols is not None and cols.ids == task_columns(scenario)["ids"]:
        _add_columns(scenario, plan, eng)
    else:
        _add_plans(scenario, plan, eng)
    t1 = time.perf_counter()
    eng.run()
    t2 = time.perf_counter()
    result = _records(scenario, eng, plan.planner, {})
    t3 = time.perf_counter()
    result.info.update(sim_time_s=t3 - t0, build_s=t1 - t0, loop_s=t2 - t1, records_s=t3 - t2)
    return result


def simulate_online(scenario: Scenario, planner: OnlinePlanner, name: str | None = None
                    ) -> tuple[Plan, Result]:
    """Run an online planner inside the simulation: each task is decided when it arrives.

    The planner sees a :class:`~splitinfer.system.planner.State` with the clock, its earlier
    decisions and the tasks finished so far; the scenario it sees has no task list. On links
    whose bandwidth follows a trace it sees the rate in force at the decision
    (:meth:`~splitinfer.system.scenario.Scenario.at`), and the measured throughputs of the
    transfers of finished tasks (``State.throughput``), for planners that estimate the rate.

    Returns
    -------
    (Plan, Result)
        The decisions (with ``plan_time_s`` = time spent inside ``decide``) and the timeline.
    """
    label = name or getattr(planner, "name", type(planner).__name__)
    hidden = replace(scenario, tasks=())
    planner.start(hidden)
    decided: dict[str, TaskPlan] = {}
    ledger = ShareLedger(scenario)
    finished: dict[str, float] = {}
    spent = [0.0]
    reported = [0]  # how many entries of eng.finish_order are in ``finished``
    traced = bool(scenario.traced_links)
    throughput: dict[tuple[str, str], list[float]] = {k: [] for k in scenario.traced_links}

    def measure(j: int) -> None:
        """Record the throughput of every traced transfer of finished task ``j``."""
        stages = eng.templates[int(eng.t_tmpl[j])]
        base = int(eng.t_base[j])
        for i, st in enumerate(stages):
            if st.traced is not None and st.traced.bits > 0:
                busy = eng.g_end[base + i] - eng.g_start[base + i] - st.traced.latency
                if busy > 0:
                    throughput[(st.src, st.dst)].append(st.traced.bits / busy)
    shared: dict[tuple, list[Stage]] = {}
    eng = Engine(scenario.resource_slots, scenario.pools)
    tasks = scenario.tasks

    def supplier(k: int):
        def supply(now: float):
            if reported[0] < eng.num_finished:  # what has finished by now, in finishing order
                order, fin = eng.finish_positions, eng.task_finish
                while reported[0] < len(order) and fin[order[reported[0]]] <= now:
                    j = int(order[reported[0]])
                    finished[tasks[j].id] = float(fin[j])
                    reported[0] += 1
                    if traced:
                        measure(j)
            task = tasks[k]
            c0 = time.perf_counter()
            view = hidden.at(now) if traced else hidden
            tp = planner.decide(task, State(now, view, decided, finished, throughput))
            spent[0] += time.perf_counter() - c0
            if tp.task != task.id:
                raise InfeasiblePlanError(f"{label} answered for task {tp.task!r} when asked "
                                          f"about {task.id!r}")
            decided[task.id] = tp
            ledger.add(tp)
            key = None if tp.steps is not None else (
                task.device, task.model, task.samples, tp.nodes, tp.cuts, tp.bandwidth,
                tp.share, tp.share_group)
            stages = shared.get(key) if key is not None else None
            if stages is None:  # identical decisions share one stage list (one template)
                stages = build_stages(scenario, task, tp)
                _check_pools(scenario, stages, task.id)
                if key is not None:
                    shared[key] = stages
            release = now if tp.release is None else max(now, tp.release)
            return stages, release, tp.priority

        return supply

    for k, task in enumerate(tasks):
        eng.add_arrival(k, task.arrival, task.index, supplier(k))
    eng.run()
    params = planner.get_params() if hasattr(planner, "get_params") else {}
    plan = Plan(label, dict(decided), params, spent[0], {"online": True})
    return plan, _records(scenario, eng, label, {})
