"""The controller: the strategy center of Shi et al. 2021 Fig. 4, deciding task by task.

Devices ask ``Decide`` when a task arrives; the controller answers with a
:class:`~splitinfer.system.plan.TaskPlan` (where to cut, which worker runs which piece). It holds
its own view of the system (a :class:`~splitinfer.system.scenario.Scenario`: nodes, links, model
costs) and what devices and workers ``Report`` (finished tasks), and runs a planner through the
protocol of :mod:`splitinfer.system.planner`:

* an **online** planner (``planner.online``) is started once on the view without tasks, asked
  to ``prepare`` (build its lazy caches) for each kind of task the view lists, and then asked
  ``decide(task, State(now, view, decided, finished))`` for each request, with ``now`` the
  device's clock (seconds since the run's epoch) and ``finished`` the reported finish times;
* an **offline** planner plans the view's known workload up front (``plan(view)``), and
  ``Decide`` hands out the stored decision of that task.

Decisions are serialised by a lock (planners are stateful). The controller imports no torch.

Its state is bounded: the per-task records (``decided``, ``finished``, ``reports``) keep at most
``max_records`` tasks and none older than ``max_age_s`` seconds (the oldest are evicted first), a
``Report`` is accepted only for a task this controller decided (an unknown id is ``NOT_FOUND``
and stores nothing), a repeated report replaces the earlier one, and every call is checked
against the token before it touches any state. So neither a flood of distinct task ids nor
unauthenticated callers can grow it, and a decision costs the same after thousands of tasks.

Examples
--------
>>> from splitinfer.system.load import scenario_from_dict
>>> sc = scenario_from_dict({
...     "nodes": [{"name": "d", "kind": "device", "compute": {"flops_per_s": 1e9}},
...               {"name": "e", "kind": "edge", "compute": {"flops_per_s": 1e11}}],
...     "links": [{"src": "d", "dst": "e", "bandwidth": "100Mbps"}],
...     "models": {"m": {"cuts": [{"transfer_bytes": 1e3}, {"transfer_bytes": 10, "head_flops": 1e9}]}},
...     "workload": {"tasks": [{"device": "d", "model": "m"}]}})
>>> ctl = Controller(sc, "neurosurgeon")
>>> ctl.decide(sc.tasks[0], now=0.0).nodes
('d', 'e')
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import replace
from typing import Any

from splitinfer.errors import SplitInferError
from splitinfer.runtime.messages import check_decide_request, check_report
from splitinfer.runtime.transport import (
    CONTROLLER_SERVICE,
    abort_wire,
    check_token,
    make_server,
    method,
)
from splitinfer.runtime.wire import KIND_CONTROL, Limits, WireError, decode_frame, encode_frame
from splitinfer.system.entities import Task
from splitinfer.system.plan import Plan, TaskPlan
from splitinfer.system.planner import State
from splitinfer.system.scenario import Scenario

__all__ = ["Controller"]


class Controller:
    """Decides tasks with a registered planner over its view of the system (module docstring).

    Parameters
    ----------
    scenario : Scenario
        The controller's view. Its tasks are used only by offline planners (planned up front).
    planner : str
        A registered planner name (``splitinfer planners``).
    params : dict, optional
        Planner constructor arguments.
    token : str, optional
        Shared secret every call must carry.
    limits : Limits, optional
    max_records : int
        Most tasks whose decision, finish and report are kept (oldest evicted first).
    max_age_s : float
        Records older than this (seconds since they were made) are evicted.
    """

    def __init__(self, scenario: Scenario, planner: str, params: dict[str, Any] | None = None,
                 token: str | None = None, limits: Limits | None = None,
                 max_records: int = 10_000, max_age_s: float = 3600.0) -> None:
        from splitinfer.planners import get_planner

        self.scenario = scenario
        self.planner_name = planner
        self.planner = get_planner(planner, **(params or {}))
        self.token = token
        self.limits = limits or Limits(max_payload_bytes=0)
        self.online = bool(getattr(self.planner, "online", False))
        self.view = replace(scenario, tasks=())
        if max_records < 1 or not max_age_s > 0:
            raise ValueError("max_records must be >= 1 and max_age_s > 0")
        self.max_records = max_records
        self.max_age_s = max_age_s
        self.decided: OrderedDict[str, TaskPlan] = OrderedDict()
        self.finished: OrderedDict[str, float] = OrderedDict()
        self.reports: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._made: OrderedDict[str, float] = OrderedDict()  # task id -> monotonic time decided
        self.evicted = 0
        self.fallbacks = 0
        self.rejected = 0  # malformed calls (INVALID_ARGUMENT / RESOURCE_EXHAUSTED)
        self._lock = threading.Lock()
        self.offline_plan: Plan | None = None
        if self.online:
            self.planner.start(self.view)
            prepare = getattr(self.planner, "prepare", None)
            if prepare is not None:  # build lazy caches for the expected tasks now, not in
                seen = set()         # the first Decide (BasePlanner.prepare)
                for t in scenario.tasks:
                    if (t.device, t.model, t.samples) not in seen:
                        seen.add((t.device, t.model, t.samples))
                        prepare(t)
        else:
            self.offline_plan = self.planner.plan(scenario)

    def decide(self, task: Task, now: float) -> TaskPlan:
        """The plan of ``task`` at time ``now`` (seconds since the epoch).

        Raises
        ------
        SplitInferError
            An offline plan has no decision for this task.
        """
        with self._lock:
            if self.online:
                tp = self.planner.decide(task, State(now, self.view.at(now), self.decided,
                                                     self.finished))  # traced links: rate now
            else:
                tp = self.offline_plan.tasks.get(task.id) if self.offline_plan else None
                if tp is None:
                    raise SplitInferError(f"the offline plan of {self.planner_name!r} has no "
                                          f"decision for task {task.id!r}")
            if tp.task != task.id:
                raise SplitInferError(f"{self.planner_name} answered for {tp.task!r} when asked "
                                      f"about {task.id!r}")
            self.decided[task.id] = tp
            self._made[task.id] = time.monotonic()
            self._made.move_to_end(task.id)
            self._evict()
            return tp

    def probe(self, task: Task) -> TaskPlan:
        """The answer to a probe ``Decide`` (a device timing its admission before the run):
        the offline plan's decision for ``task`` where there is one, else running it on its
        device; the planner is not asked and nothing is recorded.

        Examples
        --------
        >>> from splitinfer.system.load import load_scenario
        >>> c = Controller(load_scenario("demo"), "local")
        >>> t = c.scenario.tasks[0]
        >>> c.probe(t).nodes, len(c.decided)
        (('phone',), 0)
        """
        with self._lock:
            tp = self.offline_plan.tasks.get(task.id) if self.offline_plan else None
        return tp if tp is not None else TaskPlan(task.id, (task.device,))

    def _evict(self) -> None:
        """Drop the oldest records beyond ``max_records`` or ``max_age_s`` (lock held)."""
        too_old = time.monotonic() - self.max_age_s
        while self._made:
            tid, made = next(iter(self._made.items()))
            if len(self._made) <= self.max_records and made >= too_old:
                break
            del self._made[tid]
            self.decided.pop(tid, None)
            self.finished.pop(tid, None)
            self.reports.pop(tid, None)
            self.evicted += 1

    def report(self, task: str, finish: float, fallback: bool = False,
               reason: str | None = None) -> bool:
        """Record that ``task`` finished at ``finish`` (and whether the device fell back).

        Returns ``False`` (and stores nothing) for a task this controller has not decided, or
        whose records were already evicted. A second report of a task replaces the first.
        """
        with self._lock:
            if task not in self.decided:
                return False
            old = self.reports.get(task)
            self.fallbacks += bool(fallback) - bool(old and old["fallback"])
            self.finished[task] = finish
            self.reports[task] = {"task": task, "finish": finish, "fallback": fallback,
                                  "reason": reason}
            return True

    def plan(self) -> Plan:
        """The decisions made so far, as a :class:`Plan`."""
        with self._lock:
            params = self.planner.get_params() if hasattr(self.planner, "get_params") else {}
            return Plan(self.planner_name, dict(self.decided), params, 0.0,
                        {"online": self.online, "runtime": True})

    # ----------------------------------------------------------------- service
    def handlers(self) -> dict[str, Any]:
        """The gRPC method handlers of ``splitinfer.Controller``."""
        return {"Decide": method("unary", self._decide), "Report": method("unary", self._report),
                "Info": method("unary", self._info)}

    def serve(self, address: str, max_workers: int = 16):
        """Start serving on ``address``; returns ``(grpc.Server, port)``."""
        return make_server(CONTROLLER_SERVICE, self.handlers(), address, self.limits, max_workers)

    def _parse(self, request: bytes, context: Any) -> dict[str, Any]:
        check_token(context, self.token)
        try:
            return decode_frame(request, self.limits).meta
        except WireError as exc:
            self._reject(context, exc)

    def _reject(self, context: Any, exc: WireError) -> None:
        with self._lock:
            self.rejected += 1
        abort_wire(context, exc)

    def _decide(self, request: bytes, context: Any) -> bytes:
        import grpc

        meta = self._parse(request, context)
        try:
            req = check_decide_request(meta)
        except WireError as exc:
            self._reject(context, exc)
        t = req["task"]
        if t["device"] not in self.scenario.nodes or t["model"] not in self.scenario.models:
            context.abort(grpc.StatusCode.NOT_FOUND, f"unknown device {t['device']!r} or model "
                          f"{t['model']!r} in the controller's view")
        task = Task(t["id"], t["index"], t["device"], t["model"], t["arrival"], t["samples"])
        if req["probe"]:  # the same path and answer size, but no decision is made or kept
            return encode_frame({"plan": self.probe(task).to_dict(), "planner": self.planner_name})
        try:
            tp = self.decide(task, req["now"])
        except SplitInferError as exc:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(exc))
        return encode_frame({"plan": tp.to_dict(), "planner": self.planner_name})

    def _report(self, request: bytes, context: Any) -> bytes:
        meta = self._parse(request, context)
        try:
            rep = check_report(meta)
        except WireError as exc:
            self._reject(context, exc)
        if not self.report(**rep):
            import grpc

            context.abort(grpc.StatusCode.NOT_FOUND, f"task {rep['task']!r} was not decided "
                          "by this controller (or its record has expired)")
        return encode_frame({"ok": True}, kind=KIND_CONTROL)

    def _info(self, request: bytes, context: Any) -> bytes:
        self._parse(request, context)
        with self._lock:
            meta = {"planner": self.planner_name, "online": self.online,
                    "decided": len(self.decided), "finished": len(self.finished),
                    "fallbacks": self.fallbacks, "evicted": self.evicted,
                    "rejected": self.rejected}
        return encode_frame(meta, kind=KIND_CONTROL)
