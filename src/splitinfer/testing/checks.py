"""Checks every planner must pass (in the spirit of scikit-learn's ``estimator_checks``).

Each ``check_*`` function raises :class:`AssertionError` with a message that names the planner,
the scenario and what went wrong. :func:`check_planner` runs all of them on one scenario:

1. the planner plans (or raises :class:`~splitinfer.errors.NotApplicableError`, which is
   reported, not failed);
2. the plan decides every task, carries the planner's name and parameters, and survives a JSON
   round trip (:func:`check_plan_well_formed`);
3. it simulates without error, and every task finishes after it arrives (:func:`check_feasible`);
4. the same parameters and seed give the identical plan (:func:`check_deterministic`; the plans
   are compared as ``plan.to_dict()`` without ``plan_time_s``, so ``info`` must hold no clock
   readings);
5. its simulated objective is not below the yardstick's proven lower bound, when the plan lies
   in the yardstick's plan space (:func:`check_above_bound`).

Examples
--------
>>> from splitinfer.testing.random import random_chain_scenario
>>> sc = random_chain_scenario(1, max_tasks=3)
>>> out = check_planner("local", sc)
>>> out.applicable, out.objective > 0
(True, True)
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from splitinfer.errors import NotApplicableError
from splitinfer.sim import simulate
from splitinfer.system.plan import Plan, TaskPlan
from splitinfer.system.result import Result
from splitinfer.system.scenario import Scenario

__all__ = ["CheckOutcome", "Yardstick", "plan_signature", "check_plan_well_formed",
           "check_feasible", "check_deterministic", "check_above_bound", "in_plan_space",
           "chain_equivalent",
           "yardstick_bound", "check_planner", "REL_TOL"]

#: Relative tolerance of the bound check (floating-point noise only).
REL_TOL = 1e-9


@dataclass(frozen=True)
class Yardstick:
    """A proven lower bound of a scenario's objective from an exact planner.

    ``plan_space`` names the plans the bound covers: ``None`` for every plan, ``"chain"`` for
    chain plans (no ``steps``, no ``share``, reserved links at their cap rate).
    """

    planner: str
    bound: float
    optimal: bool
    objective: float
    plan_space: str | None = None
    info: dict[str, Any] = field(default_factory=dict)
    plan: Plan | None = None


@dataclass
class CheckOutcome:
    """What :func:`check_planner` found for one planner on one scenario."""

    planner: str
    scenario: str
    applicable: bool
    reason: str = ""
    objective: float | None = None
    bound: float | None = None
    bound_checked: bool = False
    plan: Plan | None = None
    result: Result | None = None


def plan_signature(plan: Plan) -> dict[str, Any]:
    """``plan.to_dict()`` without ``plan_time_s``, as canonical JSON-ready data."""
    d = plan.to_dict()
    d.pop("plan_time_s", None)
    return json.loads(json.dumps(d, sort_keys=True, default=_plain))


def _plain(x: Any) -> Any:
    import numpy as np

    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    return repr(x)


def check_plan_well_formed(name: str, scenario: Scenario, plan: Plan,
                           params: dict[str, Any] | None = None) -> None:
    """The plan decides every task, names its planner and parameters, and round-trips JSON."""
    where = f"planner {name!r} on scenario {scenario.name!r}"
    missing = [t.id for t in scenario.tasks if t.id not in plan.tasks]
    assert not missing, f"{where}: no decision for tasks {missing[:5]}"
    extra = sorted(set(plan.tasks) - {t.id for t in scenario.tasks})
    assert not extra, f"{where}: decisions for unknown tasks {extra[:5]}"
    assert plan.planner == name, f"{where}: plan says planner {plan.planner!r}"
    for tid, tp in plan.tasks.items():
        assert tp.task == tid, f"{where}: plan entry {tid!r} holds the decision of {tp.task!r}"
    if params is not None:
        for k, v in params.items():
            assert plan.params.get(k) == v, f"{where}: plan.params[{k!r}] is not {v!r}"
    text = json.dumps(plan.to_dict(), default=_plain)
    back = Plan.from_dict(json.loads(text))
    assert back.tasks == plan.tasks, f"{where}: the plan does not survive a JSON round trip"
    assert math.isfinite(plan.plan_time_s) and plan.plan_time_s >= 0


def check_feasible(name: str, scenario: Scenario, plan: Plan) -> Result:
    """The plan simulates; every task finishes, not before it arrives; the objective is finite."""
    where = f"planner {name!r} on scenario {scenario.name!r}"
    result = simulate(scenario, plan)
    assert len(result.tasks) == len(scenario.tasks), f"{where}: {len(result.tasks)} task records"
    for rec in result.tasks:
        assert rec.finish >= rec.arrival - 1e-12, f"{where}: task {rec.id} finishes before arrival"
        for s in rec.stages:
            assert s.start >= rec.arrival - 1e-12, f"{where}: task {rec.id} starts early"
    value = result.objective(scenario.objective)
    assert math.isfinite(value) and value >= 0, f"{where}: objective {value}"
    return result


def check_deterministic(name: str, scenario: Scenario, plan: Plan,
                        params: dict[str, Any] | None = None) -> None:
    """A second planner built with the same parameters (seed included) plans identically."""
    from splitinfer.planners import get_planner

    again = get_planner(name, **(params or {})).plan(scenario)
    a, b = plan_signature(plan), plan_signature(again)
    if a != b:
        diff = [t for t, x in zip(a["tasks"], b["tasks"], strict=False) if t != x]
        detail = f"first differing task: {diff[0]}" if diff else "info or params differ"
        raise AssertionError(f"planner {name!r} on scenario {scenario.name!r} is not "
                             f"deterministic under fixed parameters: {detail}")


def chain_equivalent(scenario: Scenario, tp: TaskPlan) -> bool:
    """Whether a ``steps`` plan times exactly as the chain plan of its own nodes and cuts.

    Its stages (:func:`~splitinfer.system.stages.build_stages`) must match the chain's one for
    one: kind, resource, dependencies, pool, reserved amount and duration. DeePar writes its
    plans as steps (a transfer at a chosen rate, the server's piece, a ``return``); at the
    links' cap rates they are chain plans in all but form, so a chain yardstick's bound holds
    for them.

    Examples
    --------
    >>> from splitinfer.system.plan import Step, TaskPlan
    >>> from splitinfer.testing.random import random_chain_scenario
    >>> sc = random_chain_scenario(1, max_tasks=3)
    >>> t, server = sc.tasks[0], sc.reachable_servers(sc.tasks[0].device)[0]
    >>> last = sc.models[t.model].last_cut
    >>> steps = (Step("transfer", src=t.device, dst=server, nbytes=float(
    ...     sc.models[t.model].transfer_bytes[0])), Step("compute", node=server,
    ...     segment=(0, last), deps=(0,)), Step("return", src=server, deps=(1,)))
    >>> chain_equivalent(sc, TaskPlan(t.id, (t.device, server), (0,), steps=steps))
    True
    """
    from dataclasses import replace

    from splitinfer.system.stages import build_stages

    task = next((t for t in scenario.tasks if t.id == tp.task), None)
    if task is None or tp.steps is None:
        return tp.steps is None
    try:
        chain = build_stages(scenario, task, replace(tp, steps=None, bandwidth=None))
        mine = build_stages(scenario, task, tp)
    except Exception:  # noqa: BLE001 - not expressible as a chain: outside the space
        return False
    if len(chain) != len(mine):
        return False
    for a, b in zip(chain, mine, strict=True):
        if (a.kind, a.resource, tuple(a.deps), a.pool) != (b.kind, b.resource, tuple(b.deps),
                                                           b.pool):
            return False
        if not (math.isclose(a.duration, b.duration, rel_tol=1e-12, abs_tol=1e-15)
                and math.isclose(a.amount, b.amount, rel_tol=1e-9, abs_tol=1e-9)):
            return False
    return True


def in_plan_space(scenario: Scenario, plan: Plan, space: str | None) -> bool:
    """Whether ``plan`` lies in the plan space ``space`` that a yardstick's bound covers.

    Examples
    --------
    >>> from splitinfer.system.plan import Plan, TaskPlan
    >>> in_plan_space(None, Plan("p", {"t0": TaskPlan("t0", ("d",))}), "chain")
    True
    """
    if space is None:
        return True
    if space != "chain":
        return False
    for tp in plan.tasks.values():
        if tp.share is not None:
            return False
        if tp.steps is not None and not chain_equivalent(scenario, tp):
            return False
        if tp.bandwidth is not None:
            hops = [(a, b) for a, b in zip(tp.nodes, tp.nodes[1:], strict=False) if a != b]
            for (src, dst), rate in zip(hops, tp.bandwidth, strict=False):
                if rate is not None and rate < scenario.link(src, dst).rate * (1 - 1e-9):
                    return False
    return True


def yardstick_bound(name: str, scenario: Scenario, params: dict[str, Any] | None = None
                    ) -> Yardstick | None:
    """Run the exact planner ``name`` and return its bound (None if it does not apply)."""
    from splitinfer.planners import get_planner

    try:
        plan = get_planner(name, **(params or {})).plan(scenario)
    except NotApplicableError:
        return None
    info = plan.info
    if info.get("bound") is None:
        return None
    objective = simulate(scenario, plan).objective(scenario.objective)
    return Yardstick(name, float(info["bound"]), bool(info.get("optimal")), objective,
                     info.get("plan_space"), dict(info), plan)


def check_above_bound(name: str, scenario: Scenario, plan: Plan, result: Result,
                      yardstick: Yardstick) -> bool:
    """The simulated objective is not below the yardstick's bound (relative tolerance
    :data:`REL_TOL`). Returns False when the plan lies outside the bound's plan space."""
    if not in_plan_space(scenario, plan, yardstick.plan_space):
        return False
    value = result.objective(scenario.objective)
    floor = yardstick.bound - REL_TOL * max(1.0, abs(yardstick.bound))
    assert value >= floor, (f"planner {name!r} on scenario {scenario.name!r}: objective "
                            f"{value!r} is below the proven lower bound {yardstick.bound!r} of "
                            f"{yardstick.planner!r} (optimal={yardstick.optimal})")
    return True


def check_planner(name: str, scenario: Scenario, yardstick: Yardstick | None = None,
                  params: dict[str, Any] | None = None, *, deterministic: bool = True,
                  plan: Plan | None = None) -> CheckOutcome:
    """Run every check on planner ``name`` (built with ``params``) on ``scenario``.

    Parameters
    ----------
    name : str
        Registered planner name.
    scenario : Scenario
    yardstick : Yardstick, optional
        From :func:`yardstick_bound`; the objective is checked against its bound.
    params : dict, optional
        Constructor parameters.
    deterministic : bool
        Also plan a second time and compare (doubles the cost).
    plan : Plan, optional
        The planner's plan of ``scenario`` with ``params`` if already made (e.g. the
        yardstick's own plan); it is then checked instead of planning once more.

    Returns
    -------
    CheckOutcome
        ``applicable=False`` with the reason when the planner raised NotApplicableError.
    """
    from splitinfer.planners import get_planner

    params = dict(params or {})
    if plan is None:
        try:
            plan = get_planner(name, **params).plan(scenario)
        except NotApplicableError as exc:
            return CheckOutcome(name, scenario.name, False, str(exc))
    check_plan_well_formed(name, scenario, plan, params)
    result = check_feasible(name, scenario, plan)
    if deterministic:
        check_deterministic(name, scenario, plan, params)
    out = CheckOutcome(name, scenario.name, True, objective=result.objective(scenario.objective),
                       plan=plan, result=result)
    if yardstick is not None:
        out.bound = yardstick.bound
        out.bound_checked = check_above_bound(name, scenario, plan, result, yardstick)
    return out
