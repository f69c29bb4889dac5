"""The strategy center's view of the servers: assignments, queues, and t(m) of every task.

:class:`CenterState` holds, for every edge server, the :class:`~splitinfer.planners.shi2021.queue.FifoServer` of the
tasks assigned to it, and answers the question of Alg. 2 line 5 and Alg. 3 lines 6 and 11:
``arg min_{k in S, p in SP} t(m)`` given the tasks already placed (:meth:`CenterState.best`).

The waiting term t_w comes from one of two models (``wait``):

``"fifo"`` (default)
    The real queue: the task starts when the server has finished every task ahead of it in
    FIFO order with first-generation-first-serving ties (what the simulator executes).
``"paper"``
    The paper's formulas: offline eq. (7) with eq. (8), t_w = max(0, sum of J over the tasks
    placed on k that reach it before m (or at the same instant and generated earlier) - AS(m));
    online eq. (11), the same sum over *every* task already placed on k. Both equal the real
    wait only while the server has been busy without a break since time 0; after the server
    idled they underestimate it (see ``docs/algorithms/shi2021.md`` for a worked example). Plans
    made with them still run on the real queue in the simulator.

``AS - 1`` of eq. (7) is "the time the system has been running until the task arrived" with
slots numbered from 1; our clock starts at 0 at the beginning of the first slot, so it is AS.

Examples
--------
>>> from splitinfer.system import scenario_from_dict
>>> from splitinfer.planners.shi2021.model import OptionCache
>>> sc = scenario_from_dict({"slot": "1ms", "result_return": 0,
...     "nodes": [{"name": "dev", "kind": "device", "compute": {"table": True}, "concurrency": None},
...               {"name": "s1", "kind": "edge", "compute": {"table": True}}],
...     "links": [{"src": "dev", "dst": "s1", "bandwidth": "8Mbps"}],
...     "models": {"m": {"cuts": [{"transfer_bytes": 1000}, {"transfer_bytes": 40}],
...                      "table": {"dev": {"head": ["0ms", "9ms"]}, "s1": {"tail": ["5ms", "0ms"]}}}},
...     "workload": {"tasks": [{"device": "dev", "model": "m", "slot": 0},
...                            {"device": "dev", "model": "m", "slot": 0}]}})
>>> state = CenterState(sc, OptionCache(sc))
>>> a, b = sc.tasks
>>> round(state.place(a, state.best(a)[0]), 6)   # 1 ms upload + 5 ms on s1
0.006
>>> opt, t = state.best(b)                         # 1 + 5 waiting + 5 = 11 > 9 locally
>>> opt.server, round(t, 6)
(None, 0.009)
"""

from __future__ import annotations

import math
from bisect import bisect_left

from splitinfer.planners.shi2021.model import Option, OptionCache
from splitinfer.planners.shi2021.queue import FifoServer, Key, queue_key
from splitinfer.system.entities import Task
from splitinfer.system.scenario import Scenario

__all__ = ["CenterState", "Placed"]


class Placed:
    """A placed task: its option, its key at the server, and the estimate it was placed with."""

    __slots__ = ("task", "option", "key", "ready", "estimate")

    def __init__(self, task: Task, option: Option, key: Key | None, ready: float,
                 estimate: float) -> None:
        self.task, self.option, self.key, self.ready, self.estimate = (task, option, key, ready,
                                                                       estimate)


def _ready(arrival: float, pre: tuple[float, ...]) -> float:
    t = arrival
    for d in pre:
        t = t + d
    return t


def _finish(end: float, post: tuple[float, ...]) -> float:
    for d in post:
        end = end + d
    return end


class CenterState:
    """Assignments and server queues of the strategy center (see the module docstring).

    Parameters
    ----------
    scenario : Scenario
    options : OptionCache
        Each task's strategies.
    wait : {"fifo", "paper"}
        The waiting model used to choose (the real queue, or eqs. (7)/(11)).
    online : bool
        With ``wait="paper"``: use eq. (11) (every placed task counts) instead of eq. (7).
    """

    def __init__(self, scenario: Scenario, options: OptionCache, wait: str = "fifo",
                 online: bool = False) -> None:
        if wait not in ("fifo", "paper"):
            raise ValueError(f"wait must be 'fifo' or 'paper', got {wait!r}")
        self.sc = scenario
        self.options = options
        self.wait = wait
        self.online = online
        self.servers: dict[str, FifoServer] = {
            s: FifoServer(unlimited=scenario.nodes[s].concurrency is None)
            for s in scenario.servers}
        self.placed: dict[str, Placed] = {}
        self._by_key: dict[Key, str] = {}
        #: running sum of the real t(m) of the placed tasks (kept incrementally)
        self.running_total = 0.0

    # ------------------------------------------------------------------ choosing
    def estimate(self, task: Task, opt: Option) -> tuple[float, float, Key | None]:
        """``(t(m), ready time at the server, key)`` of ``task`` under ``opt`` now."""
        ready = _ready(task.arrival, opt.pre)
        if opt.server is None:
            return ready - task.arrival, ready, None
        key = queue_key(ready, task.arrival, task.index)
        q = self.servers[opt.server]
        if self.wait == "fifo" or q.unlimited:
            start = q.start_if_inserted(key, ready)
        else:
            ahead = q.busy if self.online else q.work_before(key)
            start = ready + max(0.0, ahead - ready)  # eqs. (7)/(11) with (8)
        return _finish(start + opt.work, opt.post) - task.arrival, ready, key

    def best(self, task: Task) -> tuple[Option, float]:
        """``arg min_{k, p} t(m)`` (Alg. 2 line 5): the option with the least t(m) now.

        Exact ties go to the option with less server work (local first), then file order of
        servers and cuts, so the choice is deterministic. Options are visited by increasing
        no-wait time and the search stops once that bound exceeds the best t(m) found.
        """
        if self.wait != "fifo":
            return self._best_slow(task)
        arrival, index = task.arrival, task.index
        local, groups = self.options.grouped(task)
        best: tuple | None = None
        best_t = math.inf
        if local is not None:
            r = arrival
            for d in local.pre:
                r = r + d
            best_t = r - arrival
            best = ((round(best_t, 12), 0.0, local.order), local, best_t)
        for group in groups:
            q = self.servers[group.server]
            if not q.unlimited and q.keys:
                # every option of this server starts after the task ahead of its earliest arrival
                r = arrival
                for d in group.first.pre:
                    r = r + d
                pos = bisect_left(q.keys, queue_key(r, arrival, index))
                if pos and q.end[pos - 1] + group.min_rest - arrival > best_t + 1e-9:
                    continue
            for opt in group.options:
                if opt.no_wait > best_t + 1e-9:
                    break
                r = arrival
                for d in opt.pre:
                    r = r + d
                start = r
                if not q.unlimited:
                    pos = bisect_left(q.keys, queue_key(r, arrival, index))
                    if pos and q.end[pos - 1] > r:
                        start = q.end[pos - 1]
                e = start + opt.work
                for d in opt.post:
                    e = e + d
                t = e - arrival
                if t > best_t + 1e-9:
                    continue
                cand = (round(t, 12), opt.work, opt.order)
                if best is None or cand < best[0]:
                    best = (cand, opt, t)
                    best_t = min(best_t, t)
        assert best is not None
        return best[1], best[2]

    def _best_slow(self, task: Task) -> tuple[Option, float]:
        best: tuple | None = None
        for opt in self.options(task):
            t, _, _ = self.estimate(task, opt)
            cand = (round(t, 12), opt.work, opt.order, t, opt)
            if best is None or cand[:3] < best[:3]:
                best = cand
        assert best is not None
        return best[4], best[3]

    # ------------------------------------------------------------------ placing
    def place(self, task: Task, opt: Option) -> float:
        """Put ``task`` on its option's server queue; return its estimate t(m) at placement."""
        t, ready, key = self.estimate(task, opt)
        if opt.server is None:
            self.running_total += t
        else:
            _, end, pushed = self.servers[opt.server].insert(key, ready, opt.work)
            self.running_total += _finish(end, opt.post) - task.arrival + pushed
            self._by_key[key] = task.id
        self.placed[task.id] = Placed(task, opt, key, ready, t)
        return t

    def remove(self, task_id: str) -> Placed:
        """Take a placed task out of its queue (Alg. 2 lines 10-16: remaking a strategy)."""
        own = self.latency(task_id)
        p = self.placed.pop(task_id)
        self.running_total -= own
        if p.option.server is not None:
            self.running_total += self.servers[p.option.server].remove(p.key)
            del self._by_key[p.key]
        return p

    def insert_cost(self, task: Task, opt: Option) -> float:
        """How much placing ``task`` on ``opt`` would add to :attr:`running_total` (its own real
        t(m) plus the delay it causes the tasks queued behind it); nothing is changed."""
        ready = _ready(task.arrival, opt.pre)
        if opt.server is None:
            return ready - task.arrival
        end, pushed = self.servers[opt.server].insert_cost(
            queue_key(ready, task.arrival, task.index), ready, opt.work)
        return _finish(end, opt.post) - task.arrival + pushed

    def decide(self, task: Task) -> tuple[Option, float]:
        """Choose and place ``task``; return the option and its estimate."""
        opt, _ = self.best(task)
        return opt, self.place(task, opt)

    # ------------------------------------------------------------------ reading
    def latency(self, task_id: str) -> float:
        """The real t(m) of a placed task under the current queues (FIFO, FGFS ties)."""
        p = self.placed[task_id]
        opt = p.option
        if opt.server is None:
            return p.ready - p.task.arrival
        q = self.servers[opt.server]
        end = q.end[q.position(p.key)]
        return _finish(end, opt.post) - p.task.arrival

    def latencies(self) -> dict[str, float]:
        """Real t(m) of every placed task (one pass over each queue)."""
        out: dict[str, float] = {}
        ends: dict[tuple[str, Key], float] = {}
        for name, q in self.servers.items():
            for k, e in zip(q.keys, q.end, strict=True):
                ends[(name, k)] = e
        for tid, p in self.placed.items():
            opt = p.option
            if opt.server is None:
                out[tid] = p.ready - p.task.arrival
            else:
                out[tid] = _finish(ends[(opt.server, p.key)], opt.post) - p.task.arrival
        return out

    def total(self) -> float:
        """Sum of the real t(m) of every placed task (N x eq. (9))."""
        return float(sum(self.latencies().values()))

    def task_at(self, key: Key) -> str:
        """Id of the task queued under ``key``."""
        return self._by_key[key]

    def overtaken_by(self, task_id: str) -> list[str]:
        """Tasks generated before ``task_id`` that it now precedes at its server (Fig. 3)."""
        p = self.placed[task_id]
        if p.option.server is None:
            return []
        q = self.servers[p.option.server]
        pos = q.position(p.key)
        mine = p.task.index
        return [self._by_key[k] for k in q.keys[pos + 1:] if k.index < mine]
