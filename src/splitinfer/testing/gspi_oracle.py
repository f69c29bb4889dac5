"""Offline GSPI's former Python passes, kept as the test oracle of the compiled ones.

:class:`~splitinfer.planners.shi2021.gspi.GSPIPlanner` (Shi et al. 2021, Alg. 2) was made to
scale (issue 16): its slot passes and polish now run compiled over array-encoded queues
(:mod:`splitinfer.planners.shi2021.offline`) and emit a columnar plan. They must give exactly
the same plans as before. This module keeps the code as it was — :func:`slot_pass`,
:func:`polish` and :func:`best_move` over the Python strategy center
(:class:`~splitinfer.planners.shi2021.state.CenterState`, whose
:class:`~splitinfer.planners.shi2021.queue.FifoServer` queues the online center still uses),
and :func:`reference_gspi`, the former ``GSPIPlanner._plan`` — so that the tests can compare
every task's cut, server and predicted latency bit for bit. Written for clarity, not speed (the
polish is quadratic on a busy server); nothing outside the tests and
``benchmarks/bench_gspi.py --check`` uses it.

One pinning: eq. (7)'s sum of the work queued ahead is taken left to right
(:meth:`FifoServer.work_before` calls ``sum``, which is plain left-to-right addition on
Python 3.11; Python 3.12 made ``sum`` of floats compensated, so there the two could differ in
the last bit). :func:`reference_gspi` pins it to left-to-right addition.

Examples
--------
>>> from splitinfer.system import load_scenario
>>> from splitinfer.planners import get_planner
>>> sc = load_scenario("shi2021").with_link_rate(16e6)
>>> plans, info = reference_gspi(sc)
>>> fast = get_planner("gspi").plan(sc)
>>> all(fast.tasks[t] == plans[t] for t in plans), fast.info["predicted_latency"] == info["predicted_latency"]
(True, True)
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import groupby
from typing import Any

from splitinfer.planners.shi2021.gspi import GSPIPlanner, _cuts_for, _info, _mean
from splitinfer.planners.shi2021.model import Option, OptionCache, check_applicable, option_plan
from splitinfer.planners.shi2021.queue import FifoServer, Key
from splitinfer.planners.shi2021.state import CenterState
from splitinfer.system.entities import Task
from splitinfer.system.plan import TaskPlan
from splitinfer.system.scenario import Scenario

__all__ = ["slot_pass", "polish", "best_move", "reference_gspi"]


class _LeftToRight(FifoServer):
    """:class:`FifoServer` with eq. (7)'s sum pinned to left-to-right addition."""

    __slots__ = ()

    def work_before(self, key: Key) -> float:
        from bisect import bisect_left

        acc = 0.0
        for w in self.work[:bisect_left(self.keys, key)]:
            acc += w
        return acc


def slot_pass(state: CenterState, tasks: Iterable[Task], replan: bool = True) -> dict[str, int]:
    """Alg. 2 over ``tasks`` (ordered by generation): Step 2, then Step 3 per slot.

    Returns
    -------
    dict
        ``{"slots": frames processed, "remade": strategies remade in Step 3}``.
    """
    slots = remade = 0
    for _, frame_iter in groupby(tasks, key=lambda t: t.arrival):
        frame = list(frame_iter)  # M' = the tasks generated in one slot
        slots += 1
        for task in frame:  # Step 2 (Alg. 2 lines 3-9)
            state.decide(task)
        if not replan:
            continue
        improvable: dict[str, None] = {}  # Step 3 (lines 10-14): overtaken by this slot's tasks
        for task in frame:
            for tid in state.overtaken_by(task.id):
                improvable[tid] = None
        old = sorted((state.remove(tid) for tid in improvable), key=lambda p: p.task.index)
        for p in old:  # lines 15-18: remake their strategies
            state.decide(p.task)
        remade += len(old)
    return {"slots": slots, "remade": remade}


def best_move(state: CenterState, task_id: str) -> tuple[Option, float]:
    """The strategy of a placed task that minimises the total t(m) of all placed tasks.

    Returns ``(option, change of the total)``; the task is left on its old strategy.
    """
    opt, gain, old = _best_move(state, task_id)
    state.place(old.task, old.option)
    state.placed[task_id].estimate = old.estimate
    return opt, gain


def _best_move(state: CenterState, task_id: str):
    """Take the task out and find its best strategy; the caller places it again."""
    before = state.running_total
    old = state.remove(task_id)
    current = before - state.running_total
    best = ((round(current, 12), old.option.work, old.option.order), old.option, current)
    for opt in state.options(old.task):
        if opt.no_wait > best[2] + 1e-9:
            break
        if opt == old.option:
            continue
        delta = state.insert_cost(old.task, opt)
        cand = (round(delta, 12), opt.work, opt.order)
        if cand < best[0]:
            best = (cand, opt, delta)
    return best[1], best[2] - current, old


def _candidates(state: CenterState, scope: str) -> list[str]:
    """Task ids in generation order: all, or those a later-generated task precedes (Fig. 3)."""
    if scope == "all":
        return [p.task.id for p in sorted(state.placed.values(), key=lambda p: p.task.index)]
    found = []
    for q in state.servers.values():
        seen = -1
        for k in q.keys:  # service order: overtaken iff a larger index was served before
            if k.index < seen:
                found.append(k)
            seen = max(seen, k.index)
    return [state.task_at(k) for k in sorted(found, key=lambda k: k.index)]


def polish(state: CenterState, scope: str = "improvable", max_passes: int = 20) -> int:
    """Move tasks one at a time to the strategy that lowers the total t(m) most, while one does.

    Returns
    -------
    int
        Number of moves made.
    """
    if scope not in ("improvable", "all"):
        raise ValueError(f"scope must be 'improvable' or 'all', got {scope!r}")
    moves = 0
    for _ in range(max_passes):
        moved = False
        for tid in _candidates(state, scope):
            opt, gain, old = _best_move(state, tid)
            tol = 1e-12 * max(1.0, abs(state.running_total))
            if opt != old.option and gain < -tol:
                state.place(old.task, opt)
                moves += 1
                moved = True
            else:
                state.place(old.task, old.option)
                state.placed[tid].estimate = old.estimate
        if not moved:
            break
    return moves


def _state(scenario: Scenario, cuts, wait: str) -> CenterState:
    state = CenterState(scenario, OptionCache(scenario, cuts), wait, online=False)
    state.servers = {s: _LeftToRight(unlimited=q.unlimited) for s, q in state.servers.items()}
    return state


def reference_gspi(scenario: Scenario, planner: GSPIPlanner | None = None
                   ) -> tuple[dict[str, TaskPlan], dict[str, Any]]:
    """The former ``GSPIPlanner._plan``: ``(task id -> TaskPlan, info)`` for ``planner``'s
    settings (default ``GSPIPlanner()``)."""
    self = planner if planner is not None else GSPIPlanner()
    cfg = self.settings
    wait, replan, polish_scope = cfg["wait"], cfg["replan"], cfg["polish"]
    check_applicable(scenario)
    cuts = _cuts_for(scenario, self.latency)
    state = _state(scenario, cuts, wait)
    stats = slot_pass(state, scenario.tasks, replan=replan)
    extra: dict[str, Any] = {"remade": stats["remade"], "alg2_mean": _mean(state),
                             "preset": self.preset, "settings": cfg}
    if polish_scope != "none":
        if replan:
            greedy = _state(scenario, cuts, wait)
            slot_pass(greedy, scenario.tasks, replan=False)
            extra["step2_mean"] = _mean(greedy)
            if greedy.total() < state.total():
                state = greedy
        extra["polish_moves"] = polish(state, scope=polish_scope)
    plans = {tid: option_plan(p.task, p.option) for tid, p in state.placed.items()}
    return plans, _info(state, extra)
