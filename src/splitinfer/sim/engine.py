"""The discrete-event engine: stage DAGs of tasks on resources with slots and shared pools.

This is the one simulator of the project. It knows nothing about models, papers or planners:
it executes, for every task, a small DAG of timed stages (built by
:func:`splitinfer.system.stages.build_stages`) on named resources. A resource has a number of
parallel slots (1 = one at a time; ``None`` = unlimited) and a queue ordered by
``(priority, ready time, task arrival, task generation index, stage index)``: FIFO by default,
first-generated-first-served for ties (seed 000 section 2.2), or the plan's order when it gives
priorities (seed 003's Johnson order). A stage may also hold an amount of a pool (reserved
bandwidth, seed 002 eqs. 13-16) for its duration; a queue whose head does not fit in its pool
waits (no overtaking, so FIFO is kept).

Events at the same instant are handled as one batch — finishes, then arrivals, then newly ready
stages — and only then are idle resources given work, so that tie rules do not depend on the
order events were created. The engine is written with plain lists and ``heapq`` (rather than
SimPy, which ``benchmarks/`` uses as the yardstick) because it runs 10^5-task workloads inside
planners' inner loops; see docs/benchmarks.md.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Sequence

from splitinfer.system.stages import Stage

__all__ = ["Engine", "INF_SLOTS"]

INF_SLOTS = math.inf
_FINISH, _ARRIVE, _READY = 0, 1, 2
_EPS = 1e-12


class _Resource:
    __slots__ = ("name", "slots", "busy", "queue", "busy_time")

    def __init__(self, name: str, slots: float) -> None:
        self.name = name
        self.slots = slots
        self.busy = 0
        self.queue: list = []
        self.busy_time = 0.0


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
    After the run, ``start``, ``end`` and ``ready`` hold per task and stage the times, and
    ``finish`` the task finish times.

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
        self.stages: dict[int, Sequence[Stage]] = {}
        self._left: dict[int, list[int]] = {}
        self._succ: dict[int, list[list[int]]] = {}
        self._meta: dict[int, tuple[float, float, int]] = {}  # priority, arrival, index
        self._remaining: dict[int, int] = {}
        self._on_arrive: dict[int, Callable[[float], tuple[Sequence[Stage], float, float]]] = {}
        self.ready: dict[int, list[float]] = {}
        self.start: dict[int, list[float]] = {}
        self.end: dict[int, list[float]] = {}
        self.finish: dict[int, float] = {}
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

    def add_task(self, tid: int, stages: Sequence[Stage], arrival: float, release: float,
                 priority: float = 0.0, index: int | None = None) -> None:
        """Add a task whose stages are known; its root stages become ready at ``release``."""
        self._install(tid, stages, arrival, priority, tid if index is None else index)
        for i, s in enumerate(stages):
            if not s.deps:
                self._push(release, _READY, tid, i)
        if not stages:
            self.finish[tid] = release

    def add_arrival(self, tid: int, arrival: float, index: int,
                    supply: Callable[[float], tuple[Sequence[Stage], float, float]]) -> None:
        """Add a task decided at its arrival: ``supply(now) -> (stages, release, priority)``."""
        self._on_arrive[tid] = supply
        self._meta[tid] = (0.0, arrival, index)
        self._push(arrival, _ARRIVE, tid, -1)

    def _install(self, tid: int, stages: Sequence[Stage], arrival: float, priority: float,
                 index: int) -> None:
        self.stages[tid] = stages
        n = len(stages)
        self._left[tid] = [len(s.deps) for s in stages]
        succ: list[list[int]] = [[] for _ in range(n)]
        for i, s in enumerate(stages):
            for d in s.deps:
                succ[d].append(i)
        self._succ[tid] = succ
        self._meta[tid] = (priority, arrival, index)
        self._remaining[tid] = n
        self.ready[tid] = [math.nan] * n
        self.start[tid] = [math.nan] * n
        self.end[tid] = [math.nan] * n

    # ------------------------------------------------------------------ running
    def _make_ready(self, tid: int, i: int, t: float, touched: set[str]) -> None:
        s = self.stages[tid][i]
        self.ready[tid][i] = t
        if s.resource is None:
            self.start[tid][i] = t
            self._push(t + s.duration, _FINISH, tid, i)
            return
        res = self._resource(s.resource)
        prio, arrival, index = self._meta[tid]
        heapq.heappush(res.queue, (prio, round(t, 12), arrival, index, i, tid))
        touched.add(s.resource)

    def _finish(self, tid: int, i: int, t: float, touched: set[str]) -> None:
        s = self.stages[tid][i]
        self.end[tid][i] = t
        if s.resource is not None:
            res = self._res[s.resource]
            res.busy -= 1
            touched.add(s.resource)
            if s.pool is not None:
                self._pool_used[s.pool] -= s.amount
                touched.update(self._pool_waiters[s.pool])
                self._pool_waiters[s.pool].clear()
        for j in self._succ[tid][i]:
            left = self._left[tid]
            left[j] -= 1
            if left[j] == 0:
                self._make_ready(tid, j, t, touched)
        self._remaining[tid] -= 1
        if self._remaining[tid] == 0:
            self.finish[tid] = t

    def _try_start(self, name: str, t: float) -> None:
        res = self._res[name]
        queue = res.queue
        while queue and res.busy < res.slots:
            tid, i = queue[0][5], queue[0][4]
            s = self.stages[tid][i]
            if s.pool is not None:
                if self._pool_used[s.pool] + s.amount > self._pool_cap[s.pool] * (1 + 1e-9):
                    self._pool_waiters[s.pool].add(name)
                    return
                self._pool_used[s.pool] += s.amount
            heapq.heappop(queue)
            res.busy += 1
            res.busy_time += s.duration
            self.start[tid][i] = t
            self._push(t + s.duration, _FINISH, tid, i)

    def run(self, until: float = math.inf) -> None:
        """Process events up to time ``until`` (all of them by default)."""
        heap = self._heap
        while heap and heap[0][0] <= until:
            t = heap[0][0]
            self.now = t
            touched: set[str] = set()
            while heap and heap[0][0] <= t + _EPS:
                _, kind, _, tid, i = heapq.heappop(heap)
                self.events += 1
                if kind == _FINISH:
                    self._finish(tid, i, t, touched)
                elif kind == _READY:
                    self._make_ready(tid, i, t, touched)
                else:
                    stages, release, prio = self._on_arrive.pop(tid)(t)
                    _, arrival, index = self._meta[tid]
                    self._install(tid, stages, arrival, prio, index)
                    if not stages:
                        self.finish[tid] = t
                    for j, s in enumerate(stages):
                        if not s.deps:
                            if release <= t + _EPS:
                                self._make_ready(tid, j, t, touched)
                            else:
                                self._push(release, _READY, tid, j)
            for name in sorted(touched):
                self._try_start(name, t)

    def slots(self) -> dict[str, float]:
        """Parallel slots of every resource used (``inf`` for unlimited)."""
        return {name: r.slots for name, r in self._res.items()}
