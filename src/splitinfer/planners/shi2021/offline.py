"""The passes of offline GSPI (Shi et al. 2021, Alg. 2) over a :class:`~splitinfer.planners.shi2021.state.CenterState`.

:func:`slot_pass` is Alg. 2 itself: Step 2 (each task of a slot, in generation order, takes
``arg min_{k, p} t(m)`` against the tasks placed so far) and, with ``replan``, Step 3 (Fig. 3:
the tasks that a task of this slot overtakes at a server — generated earlier, reaching the server
later — are taken out and their strategies remade in generation order). Remade strategies are
kept, as in the paper.

:func:`polish` is our addition after Alg. 2 (``GSPIPlanner(polish=...)``): re-plan tasks one at
a time, each time moving the task to the strategy that lowers the sum of t(m) over all tasks the
most, and stop when no move lowers it. It only ever lowers the total, so starting it from the
better of the Step-3 plan and the Step-2-only plan (which is exactly the online center's plan)
makes GSPI never worse than the online algorithm — which the paper claims ("GSPI is always the
best") but its Step 3 alone does not guarantee (measured in docs/reproductions/shi2021.md).

Examples
--------
>>> from splitinfer.system import load_scenario
>>> from splitinfer.planners.shi2021.model import OptionCache
>>> from splitinfer.planners.shi2021.state import CenterState
>>> sc = load_scenario("shi2021").with_link_rate(16e6)
>>> a = CenterState(sc, OptionCache(sc)); _ = slot_pass(a, sc.tasks, replan=False)
>>> b = CenterState(sc, OptionCache(sc)); stats = slot_pass(b, sc.tasks, replan=True)
>>> stats["remade"] > 0
True
>>> before = min(a.running_total, b.running_total)
>>> moves = polish(a if a.running_total <= b.running_total else b, scope="improvable")
>>> min(a.running_total, b.running_total) <= before
True
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import groupby

from splitinfer.planners.shi2021.model import Option
from splitinfer.planners.shi2021.state import CenterState
from splitinfer.system.entities import Task

__all__ = ["slot_pass", "polish", "best_move"]


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

    Returns ``(option, change of the total)``; the task is left on its old strategy. A strategy
    adds at least its no-wait time to the total (it can only delay others), so strategies whose
    no-wait time exceeds the best change found are not tried.
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
    """Move tasks one at a time to the strategy that lowers the total t(m) most (see above).

    Parameters
    ----------
    scope : {"improvable", "all"}
        Which tasks may move: those overtaken by a later-generated task (Fig. 3's improvable
        strategies), or every task (a plain local search).
    max_passes : int
        Passes over the candidates in generation order; stops early when a pass moves nothing.

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
