"""The passes of offline GSPI (seed 000, Alg. 2) over a :class:`~._gspi_state.CenterState`.

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
>>> from splitinfer.planners._gspi_model import OptionCache
>>> from splitinfer.planners._gspi_state import CenterState
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

from splitinfer.planners._gspi_model import Option
from splitinfer.planners._gspi_state import CenterState
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

    Returns ``(option, change of the total)``; the task is left on its old strategy.
    """
    old = state.remove(task_id)
    base = state.running_total
    best: tuple | None = None
    for opt in state.options(old.task):
        state.place(old.task, opt)
        delta = state.running_total - base
        state.remove(task_id)
        cand = (round(delta, 12), opt.work, opt.order, delta, opt)
        if best is None or cand[:3] < best[:3]:
            best = cand
    state.place(old.task, old.option)
    state.placed[task_id].estimate = old.estimate
    assert best is not None
    current = state.running_total - base
    return best[4], best[3] - current


def _improvable(state: CenterState, task_id: str) -> bool:
    p = state.placed[task_id]
    if p.option.server is None:
        return False
    q = state.servers[p.option.server]
    pos = q.position(p.key)
    mine = p.task.index
    return any(k.index > mine for k in q.keys[:pos])


def polish(state: CenterState, scope: str = "improvable", max_passes: int = 20) -> int:
    """Move tasks one at a time to the strategy that lowers the total t(m) most (see above).

    Parameters
    ----------
    scope : {"improvable", "all"}
        Which tasks may move: those overtaken by a later-generated task (Fig. 3's improvable
        strategies), or every task (a plain local search).
    max_passes : int
        Passes over the tasks in generation order; stops early when a pass moves nothing.

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
        for p in sorted(state.placed.values(), key=lambda p: p.task.index):
            tid = p.task.id
            if scope == "improvable" and not _improvable(state, tid):
                continue
            opt, gain = best_move(state, tid)
            tol = 1e-12 * max(1.0, abs(state.running_total))
            if opt != state.placed[tid].option and gain < -tol:
                state.remove(tid)
                state.place(p.task, opt)
                moves += 1
                moved = True
        if not moved:
            break
    return moves
