"""Comparing planners on one scenario: plan, simulate and time each, gap to ``exact``.

:func:`compare_planners` is the library behind ``splitinfer compare`` and the demo. For every
planner it builds the planner from the registry with its parameters, plans the scenario (the
planner's own wall-clock planning time is kept), simulates the plan with
:func:`splitinfer.sim.simulate` and returns one tidy row per planner. A planner whose model does
not fit the scenario raises :class:`~splitinfer.errors.NotApplicableError`; that is reported in
its row (``status = "not_applicable"``) and the comparison goes on. Any other user-level error of
one planner (:class:`~splitinfer.errors.SplitInferError`, e.g. a plan the scenario cannot
execute) is reported as ``status = "failed"``; programming errors propagate.

Row fields (seconds everywhere; values are ``None`` where a planner did not run):
``planner``, ``status``, ``error``, ``objective_kind``, ``objective`` (the value of the
scenario's objective), ``mean_latency_s``, ``p50_latency_s``, ``p95_latency_s``,
``p99_latency_s``, ``makespan_s``, ``plan_time_s``, ``sim_time_s``, ``gap_to_exact`` (relative:
objective / exact's objective - 1, when ``exact`` ran), ``optimal`` (the planner's own claim),
``params``, ``tasks``, ``simulated`` (always True here: these are simulated numbers).

Examples
--------
>>> from splitinfer.system import scenario_from_dict
>>> sc = scenario_from_dict({
...     "nodes": [{"name": "d", "kind": "device", "compute": {"flops_per_s": 1e9}},
...               {"name": "e", "kind": "edge", "compute": {"flops_per_s": 1e10}}],
...     "links": [{"src": "d", "dst": "e", "bandwidth": 8e6}],
...     "models": {"m": {"cuts": [{"transfer_bytes": 1e5}, {"transfer_bytes": 1e3,
...                                                        "head_flops": 1e9}]}},
...     "workload": {"tasks": [{"device": "d", "model": "m"}]}})
>>> rows = compare_planners(sc, ["local", "edge", "cloud"])
>>> [(r["planner"], r["status"], r["objective"]) for r in rows]
[('local', 'ok', 1.0), ('edge', 'ok', 0.201), ('cloud', 'not_applicable', None)]
>>> parse_params(["edge.seed=3", "depth=2", "name=x", "grid=[2, 4]"])
{'edge': {'seed': 3}, '*': {'depth': 2, 'name': 'x', 'grid': [2, 4]}}
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from splitinfer.errors import NotApplicableError, SplitInferError
from splitinfer.planners import get_planner, list_planners, planner_info
from splitinfer.sim import simulate
from splitinfer.system.plan import Plan
from splitinfer.system.result import Result
from splitinfer.system.scenario import Scenario

__all__ = ["compare_planners", "evaluate_planner", "resolve_planners", "parse_params",
           "params_for", "planner_params", "rows_to_json", "load_plan", "YARDSTICK"]

#: The planner whose objective the gap is measured against (issue 3).
YARDSTICK = "exact"

_METRICS = ("mean_latency_s", "p50_latency_s", "p95_latency_s", "p99_latency_s", "makespan_s")


def resolve_planners(names: str | Iterable[str] | None) -> list[str]:
    """Planner names to compare: a list, a comma-separated string, or ``"all"``/``None``.

    ``all`` means every registered planner except plain aliases (another name for the same
    planner with the same parameters); aliases that fix parameters are kept, they are variants.
    Unknown names raise :class:`~splitinfer.errors.UnknownNameError` before anything runs.

    Examples
    --------
    >>> resolve_planners("local, edge")
    ['local', 'edge']
    >>> "local" in resolve_planners("all") and "end-only" not in resolve_planners("all")
    True
    """
    if names is None or names == "all" or (not isinstance(names, str) and list(names) == ["all"]):
        return [n for n in list_planners()
                if planner_info(n).alias_of is None or planner_info(n).defaults]
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",")]
    chosen = [n for n in names if n]
    for n in chosen:
        planner_info(n)
    return chosen


def parse_params(items: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Parse ``key=value`` and ``planner.key=value`` strings (values read as YAML scalars/lists).

    Returns ``{planner or "*": {key: value}}``; ``"*"`` applies to every planner that takes the key.

    Raises
    ------
    SplitInferError
        For an item without ``=``.
    """
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise SplitInferError(f"--param expects key=value or planner.key=value, got {item!r}")
        target, _, name = key.strip().rpartition(".")
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            value = raw
        out.setdefault(target or "*", {})[name] = value
    return out


def params_for(name: str, params: Mapping[str, Mapping[str, Any]] | None) -> dict[str, Any]:
    """The constructor arguments for planner ``name``: its own, plus the ``"*"`` ones it takes.

    Examples
    --------
    >>> params_for("exact", {"*": {"time_limit_s": 2, "nope": 1}, "local": {"x": 1}})
    {'time_limit_s': 2}
    """
    if not params:
        return {}
    takes = set(planner_info(name).cls._param_names())
    shared = {k: v for k, v in params.get("*", {}).items() if k in takes}
    return {**shared, **dict(params.get(name, {}))}


def planner_params(name: str, items: Iterable[str]) -> dict[str, Any]:
    """Constructor arguments for one planner from ``--param`` strings (``k=v`` or ``name.k=v``).

    Raises
    ------
    SplitInferError
        For a parameter addressed to another planner (unknown names are caught later by
        :func:`~splitinfer.planners.get_planner`, which lists the parameters the planner takes).

    Examples
    --------
    >>> planner_params("exact", ["time_limit_s=2", "exact.seed=1"])
    {'time_limit_s': 2, 'seed': 1}
    """
    parsed = parse_params(items)
    other = sorted(set(parsed) - {"*", name})
    if other:
        raise SplitInferError(f"--param for planner(s) {other}, but the planner is {name!r}")
    return {**parsed.get("*", {}), **parsed.get(name, {})}


def _row(scenario: Scenario, name: str, params: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {"planner": name, "status": "ok", "error": None,
                           "objective_kind": scenario.objective, "objective": None}
    row.update(dict.fromkeys(_METRICS))
    row.update({"plan_time_s": None, "sim_time_s": None, "gap_to_exact": None, "optimal": None,
                "params": params, "tasks": len(scenario.tasks), "simulated": True})
    return row


def evaluate_planner(scenario: Scenario, name: str, params: Mapping[str, Any] | None = None
                     ) -> tuple[dict[str, Any], Plan | None, Result | None]:
    """Plan ``scenario`` with planner ``name``, simulate the plan, and describe it in one row.

    Returns
    -------
    (row, plan, result)
        ``plan`` and ``result`` are ``None`` when the planner did not apply or failed.
    """
    planner = get_planner(name, **dict(params or {}))
    row = _row(scenario, name, planner.get_params())
    try:
        plan = planner.plan(scenario)
        result = simulate(scenario, plan)
    except NotApplicableError as exc:
        row.update(status="not_applicable", error=str(exc))
        return row, None, None
    except SplitInferError as exc:
        row.update(status="failed", error=f"{type(exc).__name__}: {exc}")
        return row, None, None
    metrics = result.metrics()
    row.update({k: metrics[k] for k in _METRICS})
    row.update(objective=result.objective(scenario.objective), plan_time_s=plan.plan_time_s,
               sim_time_s=result.info.get("sim_time_s"),
               optimal=plan.info.get("optimal") if isinstance(plan.info, dict) else None)
    return row, plan, result


def compare_planners(scenario: Scenario, names: str | Iterable[str] | None = "all",
                     params: Mapping[str, Mapping[str, Any]] | None = None, *,
                     keep: bool = False) -> list[dict[str, Any]]:
    """Plan, simulate and time every planner in ``names`` on ``scenario``.

    Parameters
    ----------
    scenario : Scenario
    names : str, list of str or None
        Planner names, ``"a,b,c"`` or ``"all"`` (see :func:`resolve_planners`).
    params : dict, optional
        ``{planner: {arg: value}}``, and ``{"*": {arg: value}}`` for every planner taking ``arg``
        (as returned by :func:`parse_params`).
    keep : bool
        Also put the :class:`~splitinfer.system.plan.Plan` and
        :class:`~splitinfer.system.result.Result` objects in each row (keys ``"plan"`` and
        ``"result"``; :func:`rows_to_json` leaves them out).

    Returns
    -------
    list of dict
        One row per planner, in the order given (see the module docstring for the fields),
        with ``gap_to_exact`` filled in when ``exact`` ran.
    """
    chosen = resolve_planners(names)
    rows = []
    for name in chosen:
        row, plan, result = evaluate_planner(scenario, name, params_for(name, params))
        if keep:
            row["plan"], row["result"] = plan, result
        rows.append(row)
    yard = next((r for r in rows if r["planner"] == YARDSTICK and r["status"] == "ok"), None)
    if yard is not None and yard["objective"]:
        for r in rows:
            if r["status"] == "ok":
                r["gap_to_exact"] = r["objective"] / yard["objective"] - 1.0
    return rows


def rows_to_json(scenario: Scenario, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``splitinfer compare --json`` document: ``{"scenario": ..., "results": [...]}``.

    Examples
    --------
    >>> doc = rows_to_json(type("S", (), {"name": "s", "objective": "makespan", "tasks": ()})(),
    ...                    [{"planner": "p", "objective": 1.0, "plan": object()}])
    >>> json.dumps(doc)
    '{"scenario": "s", "objective": "makespan", "tasks": 0, "simulated": true, "results": [{"planner": "p", "objective": 1.0}]}'
    """
    results = [{k: v for k, v in r.items() if k not in ("plan", "result")} for r in rows]
    return {"scenario": scenario.name, "objective": scenario.objective,
            "tasks": len(scenario.tasks), "simulated": True, "results": results}


def load_plan(path: str) -> Plan:
    """Read a plan file, turning a missing or malformed file into a clear user error.

    Raises
    ------
    SplitInferError
        Naming the file and what is wrong with it.
    """
    try:
        return Plan.load(path)
    except FileNotFoundError:
        raise SplitInferError(f"plan file {path!r} does not exist") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SplitInferError(f"plan file {path!r} is not JSON: {exc}") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise SplitInferError(f"plan file {path!r} is not a splitinfer plan: {exc}") from None
