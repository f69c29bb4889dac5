"""DeePar's former resource book and event scan, kept as the test oracle of the fast ones.

:class:`~splitinfer.planners.huang2019.deepar.DeeparPlanner` (Huang et al. 2019 Alg. 1) was
made to scale (issue 16): its :class:`~splitinfer.planners.huang2019.ledger.Ledger` answers
"how much of a resource is held over ``[t0, t1)``" from sorted arrays instead of summing every
booking at every start inside the interval, and ``decide`` skips the (event, option) pairs
that a resource already full at that instant rules out, without calling ``_try``. Both must
give exactly the same plans as before. This module keeps the code as it was —
:class:`ReferenceLedger` (every query a scan of every booking) and :class:`ReferenceDeepar`
(every known event tried in turn) — so that the tests can compare every decision (option,
cuts, bandwidths, start, latency) and every ``TaskPlan`` bit for bit. Written for clarity, not
speed; nothing outside the tests and ``benchmarks/bench_deepar.py --check`` uses it.

Examples
--------
>>> from splitinfer.planners.huang2019.delay import toy_three_tier
>>> from splitinfer.system.load import scenario_from_dict
>>> from splitinfer.sim import simulate_online
>>> from splitinfer.planners import get_planner
>>> sc = scenario_from_dict(toy_three_tier(tasks=3))
>>> fast = simulate_online(sc, get_planner("deepar"))[0]
>>> slow = simulate_online(sc, ReferenceDeepar())[0]
>>> fast.tasks == slow.tasks
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from splitinfer.errors import InfeasiblePlanError, NotApplicableError
from splitinfer.planners.huang2019.deepar import DeeparPlanner, _finish, demands, hop_pools
from splitinfer.planners.huang2019.delay import Choice, Option, TaskCurves, deepar_plan
from splitinfer.planners.huang2019.ledger import TOL
from splitinfer.system.entities import Task
from splitinfer.system.plan import TaskPlan
from splitinfer.system.planner import State
from splitinfer.system.scenario import Scenario

__all__ = ["ReferenceLedger", "ReferenceDeepar"]


class ReferenceLedger:
    """The former :class:`~splitinfer.planners.huang2019.ledger.Ledger`: holdings as lists,
    every query a scan (peaks are quadratic in the bookings that overlap the interval).

    Examples
    --------
    >>> book = ReferenceLedger({"pool:p": 100.0})
    >>> book.book(0.0, 10.0, {"pool:p": 60.0}); book.book(5.0, 8.0, {"pool:p": 30.0})
    >>> book.residual("pool:p", 0.0, 4.0), book.residual("pool:p", 0.0, 6.0), book.times_after(1.0)
    (40.0, 10.0, [5.0, 8.0, 10.0])
    """

    def __init__(self, capacity: Mapping[str, float]) -> None:
        self.capacity = dict(capacity)
        self._by_res: dict[str, list[tuple[float, float, float]]] = {}
        self._bookings: list[tuple[float, float]] = []

    def book(self, start: float, end: float, demands: Mapping[str, float]) -> None:
        """Hold ``demands`` (resource -> amount) over ``[start, end)``."""
        self._bookings.append((start, end))
        for res, amount in demands.items():
            if amount > 0:
                self._by_res.setdefault(res, []).append((start, end, float(amount)))

    def forget(self, now: float) -> None:
        """Drop every holding that ended by ``now``."""
        keep = now + TOL
        self._bookings = [b for b in self._bookings if b[1] > keep]
        for res, items in self._by_res.items():
            self._by_res[res] = [it for it in items if it[1] > keep]

    def peak(self, resource: str, t0: float, t1: float) -> float:
        """The largest amount of ``resource`` held at any instant of ``[t0, t1)``."""
        instant = t1 <= t0 + TOL
        items = [(s, e, a) for s, e, a in self._by_res.get(resource, ())
                 if e > t0 + TOL and (s <= t0 + TOL if instant else s < t1 - TOL)]
        if not items:
            return 0.0
        points = [t0] if instant else [t0] + [s for s, _, _ in items if s > t0 + TOL]
        return max(sum(a for s, e, a in items if s <= p + TOL < e) for p in points)

    def residual(self, resource: str, t0: float, t1: float) -> float:
        """Capacity of ``resource`` left over all of ``[t0, t1)`` (``inf`` if unlimited)."""
        cap = self.capacity.get(resource, math.inf)
        if math.isinf(cap):
            return cap
        return cap - self.peak(resource, t0, t1)

    def fits(self, demands: Mapping[str, float], t0: float, t1: float) -> bool:
        """Whether ``demands`` can be held over ``[t0, t1)`` on top of what is booked."""
        return all(amount <= self.residual(res, t0, t1) * (1 + 1e-9) + 1e-12
                   for res, amount in demands.items() if amount > 0)

    def times_after(self, now: float) -> list[float]:
        """Starts and ends of bookings later than ``now``, sorted."""
        times = {t for b in self._bookings for t in b if t > now + TOL}
        return sorted(times)

    def __len__(self) -> int:
        return len(self._bookings)


class ReferenceDeepar(DeeparPlanner):
    """``deepar`` as it was before issue 16: every known event and option tried in turn on a
    :class:`ReferenceLedger` (same parameters as
    :class:`~splitinfer.planners.huang2019.deepar.DeeparPlanner`)."""

    def start(self, scenario: Scenario) -> None:
        """Reset the resource book (a :class:`ReferenceLedger`) for a new run."""
        super().start(scenario)
        self._book = ReferenceLedger(self._book.capacity)

    def _rates(self, curves: TaskCurves, option: Option, t0: float, t1: float
               ) -> tuple[float | None, float | None] | None:
        cap1, cap2 = curves.link_caps(option)
        sc, dev = self._sc, curves.task.device
        left: dict[str, float] = {}

        def allocable(src: str, dst: str, cap: float) -> float:
            pools, _ = hop_pools(sc, src, dst)
            rate = cap
            for p in pools:
                if p not in left:
                    left[p] = self._book.residual(f"pool:{p}", t0, t1)
                rate = min(rate, left[p])
            for p in pools:
                left[p] -= rate
            return rate

        b1 = b2 = None
        if option.x:
            b1 = allocable(dev, option.edge, cap1)
            if b1 <= cap1 * 1e-9:
                return None
        if option.y:
            b2 = allocable(option.edge, curves.cloud, cap2)
            if b2 <= cap2 * 1e-9:
                return None
        return b1, b2

    def _try(self, curves: TaskCurves, option: Option, tau: float
             ) -> tuple[Choice, float, dict[str, float]] | None:
        window = 0.0
        for _ in range(1000):
            rates = self._rates(curves, option, tau, tau + window)
            if rates is None:
                return None
            choice = curves.best(option, *rates, first_cut=self._first)
            if choice is None:
                return None
            if choice.delay <= window + TOL:
                break
            window = choice.delay
        else:  # pragma: no cover
            return None
        task = curves.task
        end = _finish(self._sc, task, deepar_plan(self._sc, task, choice), tau)
        need = demands(self._sc, task, option, choice.b1, choice.b2)
        if not self._book.fits(need, tau, end):
            return None
        return choice, end, need

    def decide(self, task: Task, state: State) -> TaskPlan:
        """Alg. 1 for one arriving task, every known event tried in turn."""
        now = state.now
        self._book.forget(now)
        curves = TaskCurves(self._sc, task)
        base = []
        for o in self._options:
            ch = curves.best(o, first_cut=self._first)
            if ch is not None:
                base.append((ch.delay, o.j, o))
        if not base:
            raise NotApplicableError(f"task {task.id}: device {task.device!r} can take none of "
                                      f"the {self.scheme} options (it reaches no edge server?)")
        base.sort(key=lambda x: (x[0], x[1]))
        literal = self.settings["line12"] == "w"
        best: Any = None
        for tau in [now, *self._book.times_after(now)]:
            dt = tau - now
            if best is not None and dt + base[0][0] > best[0]:
                break
            for w_cap, j, o in base:
                if best is not None and dt + w_cap > best[0]:
                    break
                got = self._try(curves, o, tau)
                if got is None:
                    continue
                choice, end, need = got
                key = (dt + w_cap if literal else end - task.arrival, tau, j)
                if best is None or key < best[:3]:
                    best = (*key, choice, end, need)
            if best is not None and not self.delayed:
                break
        if best is None:  # pragma: no cover
            raise InfeasiblePlanError(f"task {task.id}: no option ever fits")
        _, tau, _, choice, end, need = best
        latency = end - task.arrival
        self._book.book(tau, end, need)
        self.decisions[task.id] = {
            "option": choice.option.label, "j": choice.option.j, "c1": choice.c1,
            "c2": choice.c2, "b1": choice.b1, "b2": choice.b2, "start": tau,
            "wait": tau - task.arrival, "w": choice.delay, "latency": latency}
        return deepar_plan(self._sc, task, choice, release=tau if tau > now else None)
