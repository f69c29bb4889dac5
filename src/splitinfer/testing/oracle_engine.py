"""The reference engine: the project's former pure-Python event loop, kept as the test oracle.

:class:`splitinfer.sim.engine.Engine` (compiled, :mod:`splitinfer.sim._kernel`) replaced it for
users; the tests and ``benchmarks/bench_sim_oracle.py`` check that both give every stage of
every task the same ready, start and end times (:func:`reference_run`,
:func:`reference_online`, :func:`max_difference`). It is written for clarity, not speed, and
nothing outside the tests uses it.

Semantics (the compiled engine's as well): it knows nothing about models, papers or planners;
it executes, for every task, a small DAG of timed stages (built by
:func:`splitinfer.system.stages.build_stages`) on named resources. A resource has a number of
parallel slots (1 = one at a time; ``None`` = unlimited) and a queue ordered by
:func:`~splitinfer.system.order.service_key` (priority, ready time, task arrival, task
generation index), then stage index and task id: FIFO by default, first-generated-first-served
for ties (Shi et al. 2021 section 2.2), or the plan's order when it gives priorities (Duan & Wu's
Johnson order). A stage may also hold an amount of a pool (reserved bandwidth, Huang et al. 2019
eqs. 13-16) for its duration; a queue whose head does not fit in its pool waits (no overtaking,
so FIFO is kept). Events within 1e-12 s of the earliest pending one are handled as one batch —
finishes, then arrivals, then newly ready stages — and only then are idle resources given work,
in resource-name order, so that tie rules do not depend on the order events were created.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Sequence

import numpy as np

from splitinfer.system.order import service_key
from splitinfer.system.stages import Stage

__all__ = ["Engine", "INF_SLOTS", "reference_run", "reference_online", "max_difference",
           "random_workload", "compare_engines"]

INF_SLOTS = math.inf
_FINISH, _ARRIVE, _READY = 0, 1, 2
_EPS = 1e-12
_NAN = math.nan


class _Resource:
    __slots__ = ("name", "slots", "busy", "queue", "busy_time", "mark")

    def __init__(self, name: str, slots: float) -> None:
        self.name = name
        self.slots = slots
        self.busy = 0
        self.queue: list = []
        self.busy_time = 0.0
        self.mark = -1  # id of the last batch that touched this resource


class _Compiled:
    """The static part of a stage list: resources, durations, pools, successors, roots."""

    __slots__ = ("stages", "res", "dur", "pool", "amount", "succ", "left", "roots", "n", "traced")

    def __init__(self, stages: Sequence[Stage], resource: Callable[[str], _Resource]) -> None:
        n = len(stages)
        succ: list[list[int]] = [[] for _ in range(n)]
        for i, s in enumerate(stages):
            for d in s.deps:
                succ[d].append(i)
        self.stages = stages
        self.n = n
        self.res = tuple(None if s.resource is None else resource(s.resource) for s in stages)
        self.dur = tuple(s.duration for s in stages)
        self.traced = tuple(s.traced for s in stages)
        self.pool = tuple(s.pool for s in stages)
        self.amount = tuple(s.amount for s in stages)
        self.succ = tuple(tuple(x) for x in succ)
        self.left = tuple(len(s.deps) for s in stages)
        self.roots = tuple(i for i, s in enumerate(stages) if not s.deps)

    def end(self, j: int, t: float) -> float:
        """When stage ``j`` started at ``t`` ends (over its bandwidth trace, if it has one)."""
        tr = self.traced[j]
        return t + self.dur[j] if tr is None else tr.end(t)


class _Task:
    """The running state of one task."""

    __slots__ = ("c", "left", "prio", "arrival", "index", "remaining", "ready", "start", "end")


class Engine:
    """Event loop over tasks made of stage DAGs.

    Parameters
    ----------
    slots : callable
        ``slots(resource_name) -> int | None`` (``None`` = unlimited), asked once per resource.
    pools : dict
        Pool name -> capacity (same unit as the stages' ``amount``).

    Notes
    -----
    Use :meth:`add_task` for every task known in advance, or :meth:`add_arrival` with a
    callback that supplies a task's stages when it arrives (online planning), then :meth:`run`.
    After the run, ``start``, ``end`` and ``ready`` hold per task and stage the times,
    ``finish`` the task finish times and ``finish_order`` the task ids in finishing order.
    Stage lists are read, never modified, so one list may be shared by many tasks.

    Examples
    --------
    >>> e = Engine(lambda r: 1, {})
    >>> a = [Stage("c", "compute", "cpu", "cpu", 2.0, ())]
    >>> b = [Stage("c", "compute", "cpu", "cpu", 1.0, ())]
    >>> e.add_task(0, a, 0.0, 0.0); e.add_task(1, b, 0.0, 0.0)
    >>> e.run(); e.finish
    {0: 2.0, 1: 3.0}
    """

    def __init__(self, slots: Callable[[str], int | None], pools: dict[str, float]) -> None:
        self._slots_of = slots
        self._res: dict[str, _Resource] = {}
        self._pool_cap = dict(pools)
        self._pool_used = dict.fromkeys(pools, 0.0)
        self._pool_waiters: dict[str, set[str]] = {p: set() for p in pools}
        self._heap: list = []
        self._seq = 0
        self._compiled: dict[int, _Compiled] = {}
        self._tasks: dict[int, _Task] = {}
        self._on_arrive: dict[int, tuple[float, int, Callable]] = {}
        self._batch = 0
        self.stages: dict[int, Sequence[Stage]] = {}
        self.ready: dict[int, list[float]] = {}
        self.start: dict[int, list[float]] = {}
        self.end: dict[int, list[float]] = {}
        self.finish: dict[int, float] = {}
        self.finish_order: list[int] = []  # task ids in the order they finished
        self.now = 0.0
        self.events = 0

    # ------------------------------------------------------------------ building
    def _push(self, time: float, kind: int, task: int, stage: int) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (time, kind, self._seq, task, stage))

    def _resource(self, name: str) -> _Resource:
        res = self._res.get(name)
        if res is None:
            slots = self._slots_of(name)
            res = self._res[name] = _Resource(name, INF_SLOTS if slots is None else slots)
        return res

    def _compile(self, stages: Sequence[Stage]) -> _Compiled:
        c = self._compiled.get(id(stages))
        if c is None or c.stages is not stages:
            c = self._compiled[id(stages)] = _Compiled(stages, self._resource)
        return c

    def add_task(self, tid: int, stages: Sequence[Stage], arrival: float, release: float,
                 priority: float = 0.0, index: int | None = None) -> None:
        """Add a task whose stages are known; its root stages become ready at ``release``."""
        c = self._install(tid, stages, arrival, priority, tid if index is None else index)
        for i in c.roots:
            self._push(release, _READY, tid, i)
        if not stages:
            self.finish[tid] = release
            self.finish_order.append(tid)

    def add_arrival(self, tid: int, arrival: float, index: int,
                    supply: Callable[[float], tuple[Sequence[Stage], float, float]]) -> None:
        """Add a task decided at its arrival: ``supply(now) -> (stages, release, priority)``."""
        self._on_arrive[tid] = (arrival, index, supply)
        self._push(arrival, _ARRIVE, tid, -1)

    def _install(self, tid: int, stages: Sequence[Stage], arrival: float, priority: float,
                 index: int) -> _Compiled:
        c = self._compile(stages)
        task = _Task()
        task.c = c
        task.left = list(c.left)
        task.prio = priority
        task.arrival = arrival
        task.index = index
        task.remaining = c.n
        n = c.n
        task.ready = self.ready[tid] = [_NAN] * n
        task.start = self.start[tid] = [_NAN] * n
        task.end = self.end[tid] = [_NAN] * n
        self._tasks[tid] = task
        self.stages[tid] = stages
        return c

    # ------------------------------------------------------------------ running
    def run(self, until: float = math.inf) -> None:
        """Process events up to time ``until`` (all of them by default).

        All events within 1e-12 s of the earliest pending one form a batch: finishes, then
        arrivals, then stages becoming ready; only then do idle resources take the head of their
        queues, in resource-name order.
        """
        heap = self._heap
        pop, push = heapq.heappop, heapq.heappush
        tasks = self._tasks
        finish, finish_order = self.finish, self.finish_order
        pool_used, pool_cap, pool_waiters = self._pool_used, self._pool_cap, self._pool_waiters
        seq = self._seq
        events = 0
        batch = self._batch
        try:
            while heap and heap[0][0] <= until:
                t = heap[0][0]
                self.now = t
                limit = t + _EPS
                batch += 1
                touched: list[_Resource] = []
                while heap and heap[0][0] <= limit:
                    _, kind, _, tid, i = pop(heap)
                    events += 1
                    task = tasks.get(tid)
                    if kind == _FINISH:
                        c = task.c
                        task.end[i] = t
                        res = c.res[i]
                        if res is not None:
                            res.busy -= 1
                            if res.mark != batch:
                                res.mark = batch
                                touched.append(res)
                            pool = c.pool[i]
                            if pool is not None:
                                pool_used[pool] -= c.amount[i]
                                waiting = pool_waiters[pool]
                                for name in waiting:
                                    r = self._res[name]
                                    if r.mark != batch:
                                        r.mark = batch
                                        touched.append(r)
                                waiting.clear()
                        left = task.left
                        for j in c.succ[i]:
                            left[j] -= 1
                            if left[j] == 0:  # stage j becomes ready now
                                task.ready[j] = t
                                res = c.res[j]
                                if res is None:
                                    task.start[j] = t
                                    seq += 1
                                    push(heap, (c.end(j, t), _FINISH, seq, tid, j))
                                else:
                                    push(res.queue, (*service_key(task.prio, t, task.arrival, task.index), j, tid))
                                    if res.mark != batch:
                                        res.mark = batch
                                        touched.append(res)
                        task.remaining -= 1
                        if task.remaining == 0:
                            finish[tid] = t
                            finish_order.append(tid)
                        continue
                    if kind == _ARRIVE:
                        arrival, index, supply = self._on_arrive.pop(tid)
                        self._seq = seq
                        stages, release, prio = supply(t)
                        seq = self._seq
                        c = self._install(tid, stages, arrival, prio, index)
                        task = tasks[tid]
                        if not stages:
                            finish[tid] = t
                            finish_order.append(tid)
                        if release > limit:
                            for j in c.roots:
                                seq += 1
                                push(heap, (release, _READY, seq, tid, j))
                            continue
                        ready_now = c.roots
                    else:
                        c = task.c
                        ready_now = (i,)
                    for j in ready_now:  # stages becoming ready at t
                        task.ready[j] = t
                        res = c.res[j]
                        if res is None:
                            task.start[j] = t
                            seq += 1
                            push(heap, (c.end(j, t), _FINISH, seq, tid, j))
                        else:
                            push(res.queue, (*service_key(task.prio, t, task.arrival, task.index), j, tid))
                            if res.mark != batch:
                                res.mark = batch
                                touched.append(res)
                if len(touched) > 1:
                    touched.sort(key=_by_name)
                for res in touched:  # idle resources take work, FIFO by the queue key
                    queue = res.queue
                    while queue and res.busy < res.slots:
                        head = queue[0]
                        j, tid = head[4], head[5]
                        task = tasks[tid]
                        c = task.c
                        pool = c.pool[j]
                        if pool is not None:
                            amount = c.amount[j]
                            if pool_used[pool] + amount > pool_cap[pool] * (1 + 1e-9):
                                pool_waiters[pool].add(res.name)
                                break  # no overtaking: the head waits for bandwidth
                            pool_used[pool] += amount
                        pop(queue)
                        res.busy += 1
                        e = c.end(j, t)
                        res.busy_time += e - t
                        task.start[j] = t
                        seq += 1
                        push(heap, (e, _FINISH, seq, tid, j))
        finally:
            self._seq = seq
            self._batch = batch
            self.events += events

    def slots(self) -> dict[str, float]:
        """Parallel slots of every resource used (``inf`` for unlimited)."""
        return {name: r.slots for name, r in self._res.items()}


def _by_name(res: _Resource) -> str:
    return res.name


def random_workload(seed: int):
    """A random engine workload ``(slots, pools, tasks)``, each task a dict.

    1-5 resources with 1, 2 or unlimited slots, 0-2 pools, 1-39 tasks with 0-5 stages (forks
    and joins, pure delays, zero durations, pool holdings), shared stage lists, priorities,
    releases, repeated generation indices, and times on a coarse grid with offsets below and
    above the 1e-12 s same-instant rule; ``online`` marks the tasks that arrive undecided.

    Examples
    --------
    >>> slots, pools, tasks = random_workload(0)
    >>> len(tasks) >= 1 and set(tasks[0]) >= {"stages", "arrival", "release", "online"}
    True
    """
    rng = np.random.default_rng([seed, 16])
    nres = int(rng.integers(1, 6))
    names = [f"r{int(x)}" for x in rng.permutation(50)[:nres]]
    slot_of = {n: [1, 1, 2, None][int(rng.integers(4))] for n in names}
    pools = {f"p{k}": float(rng.choice([1.0, 2.0, 3.0])) for k in range(int(rng.integers(0, 3)))}
    grid = float(rng.choice([0.5, 0.25, 1e-3]))

    def t(lo, hi):
        x = round(float(rng.uniform(lo, hi)) / grid) * grid
        if rng.random() < 0.1:
            x += float(rng.choice([1e-13, 5e-13, 3e-12]))
        return x

    def stages():
        n = int(rng.integers(0, 6)) if rng.random() < 0.95 else 0
        out = []
        for i in range(n):
            deps = tuple(sorted({int(d) for d in rng.integers(0, i, size=int(rng.integers(1, 3)))})
                         ) if i and rng.random() < 0.85 else ()
            res = None if rng.random() < 0.15 else names[int(rng.integers(nres))]
            pool = None
            amount = 0.0
            if pools and res is not None and rng.random() < 0.4:
                pool = list(pools)[int(rng.integers(len(pools)))]
                amount = float(rng.choice([0.5, 1.0, pools[pool]]))
            dur = 0.0 if rng.random() < 0.15 else t(0.0, 3.0)
            out.append(Stage(f"s{i}", "compute", res, res, dur, deps, pool, amount))
        return out

    shared = [stages() for _ in range(3)]
    tasks = []
    for k in range(int(rng.integers(1, 40))):
        st = shared[int(rng.integers(3))] if rng.random() < 0.4 else stages()
        arrival = t(0.0, 10.0)
        tasks.append({"id": k, "stages": st, "arrival": arrival,
                      "release": arrival + (t(0.0, 2.0) if rng.random() < 0.3 else 0.0),
                      "priority": float(rng.choice([0.0, 0.0, 1.0, -1.0, 2.5])),
                      "index": int(rng.integers(0, 5)) if rng.random() < 0.2 else k,
                      "online": bool(rng.random() < 0.5)})
    return slot_of, pools, tasks


def _run(cls, slot_of, pools, tasks, online: bool):
    eng = cls(slot_of.__getitem__, pools)
    for task in tasks:
        if online and task["online"]:
            def supply(now, task=task):
                return task["stages"], max(now, task["release"]), task["priority"]
            eng.add_arrival(task["id"], task["arrival"], task["index"], supply)
        else:
            eng.add_task(task["id"], task["stages"], task["arrival"], task["release"],
                         task["priority"], task["index"])
    eng.run()
    return eng


def _run_workload(cls, slot_of, pools, tasks, online: bool):
    eng = cls(slot_of.__getitem__, pools)
    for task in tasks:
        if online and task["online"]:
            def supply(now, task=task):
                return task["stages"], max(now, task["release"]), task["priority"]
            eng.add_arrival(task["id"], task["arrival"], task["index"], supply)
        else:
            eng.add_task(task["id"], task["stages"], task["arrival"], task["release"],
                         task["priority"], task["index"])
    eng.run()
    return eng


def compare_engines(engine_cls, seed: int, online: bool):
    """Run :func:`random_workload` ``seed`` on ``engine_cls`` and on the reference engine;
    return both engines (``(theirs, reference)``) for the caller to compare."""
    slot_of, pools, tasks = random_workload(seed)
    return (_run_workload(engine_cls, slot_of, pools, tasks, online),
            _run_workload(Engine, slot_of, pools, tasks, online))


def _times(sc, eng: Engine) -> dict[str, tuple]:
    return {t.id: (eng.ready[k], eng.start[k], eng.end[k], eng.finish[k], eng.stages[k])
            for k, t in enumerate(sc.tasks)}


def reference_run(sc, plan) -> dict[str, tuple]:
    """Simulate ``plan`` with the reference engine: task id -> (ready, start, end, finish,
    stages).

    The stages come from :func:`~splitinfer.system.stages.build_stages`, exactly as
    :func:`splitinfer.sim.simulate` builds them (shares and pools are not re-checked here).
    """
    from splitinfer.system.stages import build_stages

    eng = Engine(sc.resource_slots, sc.pools)
    for k, task in enumerate(sc.tasks):
        tp = plan.tasks[task.id]
        release = task.arrival if tp.release is None else max(task.arrival, tp.release)
        eng.add_task(k, build_stages(sc, task, tp), task.arrival, release, tp.priority, task.index)
    eng.run()
    return _times(sc, eng)


def reference_online(sc, planner) -> dict[str, tuple]:
    """Run an online planner on the reference engine, as :func:`splitinfer.sim.simulate_online`
    does: task id -> (ready, start, end, finish, stages). The planner sees the same
    :class:`~splitinfer.system.planner.State`: on links that follow a bandwidth trace, the rate
    in force at the decision and the measured throughputs of finished tasks' transfers."""
    from dataclasses import replace

    from splitinfer.system.planner import State
    from splitinfer.system.stages import build_stages

    hidden = replace(sc, tasks=())
    planner.start(hidden)
    decided: dict = {}
    finished: dict[str, float] = {}
    reported = [0]
    eng = Engine(sc.resource_slots, sc.pools)
    tasks = sc.tasks
    traced = bool(sc.traced_links)
    throughput: dict[tuple[str, str], list[float]] = {k: [] for k in sc.traced_links}

    def measure(j: int) -> None:
        for i, st in enumerate(eng.stages[j]):
            if st.traced is not None and st.traced.bits > 0:
                busy = eng.end[j][i] - eng.start[j][i] - st.traced.latency
                if busy > 0:
                    throughput[(st.src, st.dst)].append(st.traced.bits / busy)

    def supplier(k: int):
        def supply(now: float):
            order = eng.finish_order
            while reported[0] < len(order) and eng.finish[order[reported[0]]] <= now:
                j = order[reported[0]]
                finished[tasks[j].id] = eng.finish[j]
                reported[0] += 1
                if traced:
                    measure(j)
            task = tasks[k]
            view = hidden.at(now) if traced else hidden
            tp = planner.decide(task, State(now, view, decided, finished, throughput))
            decided[task.id] = tp
            release = now if tp.release is None else max(now, tp.release)
            return build_stages(sc, task, tp), release, tp.priority

        return supply

    for k, task in enumerate(tasks):
        eng.add_arrival(k, task.arrival, task.index, supplier(k))
    eng.run()
    return _times(sc, eng)


def max_difference(sc, planner) -> float:
    """Largest difference (s) between :func:`splitinfer.sim.simulate` (or ``simulate_online``
    for an online planner) and the reference engine over every stage time of every task.

    ``planner`` is a planner object (``plan(scenario)``, or ``online`` with ``start``/
    ``decide``); online planners are run twice, once on each engine.
    """
    import copy

    from splitinfer.sim.simulate import simulate, simulate_online

    if getattr(planner, "online", False):
        _, result = simulate_online(sc, copy.deepcopy(planner))
        ref = reference_online(sc, copy.deepcopy(planner))
    else:
        plan = planner.plan(sc)
        result = simulate(sc, plan)
        ref = reference_run(sc, plan)
    worst = 0.0
    for rec in result.tasks:
        ready, start, end, finish, stages = ref[rec.id]
        if [(s.name, s.kind, s.resource, s.node) for s in rec.stages] != [
                (s.name, s.kind, s.resource, s.node) for s in stages]:
            return math.inf
        worst = max(worst, abs(rec.finish - finish))
        for s, r, b, e in zip(rec.stages, ready, start, end, strict=True):
            worst = max(worst, abs(s.ready - r), abs(s.start - b), abs(s.end - e))
    return worst
