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
>>> check_params("exact", {"time_limt_s": 2})
Traceback (most recent call last):
...
splitinfer.errors.SplitInferError: planner 'exact' has no parameter 'time_limt_s'; did you mean 'time_limit_s'? (it takes: time_limit_s, max_tasks, seed, workers, three_tier, time_unit_s, work_limit)
"""

from __future__ import annotations

import difflib
import hashlib
import json
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import yaml

from splitinfer.datafile import DataFileError
from splitinfer.errors import NotApplicableError, SplitInferError
from splitinfer.planners import get_planner, list_planners, planner_info
from splitinfer.sim import simulate
from splitinfer.system.plan import Plan
from splitinfer.system.result import Result
from splitinfer.system.scenario import Scenario

__all__ = ["compare_planners", "evaluate_planner", "resolve_planners", "parse_params",
           "params_for", "planner_params", "check_params", "check_shared_params", "rows_to_json",
           "load_plan", "scenario_fingerprint", "stamp_plan", "plan_scenario_mismatch",
           "YARDSTICK", "CompareInterrupted"]

#: The planner whose objective every gap is measured against: the proven (or best found)
#: optimum of the CP-SAT model.
YARDSTICK = "exact"


class CompareInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`compare_planners`: says which planner was running, and stops."""

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


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls.__init__)
    except Exception:  # an annotation that does not resolve: values go unchecked by type
        return {}


def check_params(name: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Validate constructor parameters of planner ``name``; the values, converted to their types.

    One check for every command that takes planner parameters (``plan``, ``simulate``,
    ``compare``, ``run``, ``serve controller``, sweep specs): a name the planner does not take is
    an error that suggests the closest one; a value must have the constructor's annotated type
    (``time_limit_s=abc`` is not a number); numbers are never negative, and times (``*_s``) and
    limits must be positive.

    Parameters
    ----------
    name : str
        A registered planner.
    params : mapping
        Parameter name to value (already parsed, e.g. by :func:`parse_params`).

    Returns
    -------
    dict

    Raises
    ------
    SplitInferError
        One line naming the planner, the parameter and what is wrong.

    Examples
    --------
    >>> check_params("exact", {"time_limit_s": 2})
    {'time_limit_s': 2.0}
    >>> check_params("exact", {"time_limit_s": -1})
    Traceback (most recent call last):
    ...
    splitinfer.errors.SplitInferError: planner 'exact': time_limit_s must be positive, got -1
    >>> check_params("exact", {"time_limit_s": "abc"})
    Traceback (most recent call last):
    ...
    splitinfer.errors.SplitInferError: planner 'exact': time_limit_s must be a number (float), got 'abc'
    """
    from pydantic import TypeAdapter, ValidationError

    info = planner_info(name)
    takes = info.cls._param_names()
    for key in params:
        if key not in takes:
            raise SplitInferError(
                f"planner {name!r} has no parameter {key!r}{_suggest(key, takes)} "
                f"({'it takes: ' + ', '.join(takes) if takes else 'it takes no parameters'})")
    hints = _hints(info.cls)
    out: dict[str, Any] = {}
    for key, value in params.items():
        raw, hint = value, hints.get(key)
        if hint is not None:
            try:
                value = TypeAdapter(hint).validate_python(value)
            except ValidationError:
                kind = getattr(hint, "__name__", None) or str(hint).replace("typing.", "")
                what = "a number" if kind in ("float", "int") else "of type"
                raise SplitInferError(f"planner {name!r}: {key} must be {what} ({kind}), "
                                      f"got {value!r}") from None
        if isinstance(value, int | float) and not isinstance(value, bool):
            timed = key.endswith("_s") or "limit" in key
            if value < 0 or (timed and value == 0):
                need = "positive" if timed else "non-negative"
                raise SplitInferError(f"planner {name!r}: {key} must be {need}, got {raw!r}")
        out[key] = value
    return out


def check_shared_params(names: Iterable[str], params: Mapping[str, Mapping[str, Any]] | None
                        ) -> dict[str, dict[str, Any]]:
    """Validate ``{planner or "*": {key: value}}`` for the planners ``names``; per planner.

    A ``planner.key`` parameter must address one of ``names``; a plain ``key`` must be taken by
    at least one of them (each planner that takes it gets it). Every value is checked by
    :func:`check_params`.

    Returns
    -------
    dict
        ``{planner: {key: value}}`` for each of ``names``.

    Examples
    --------
    >>> check_shared_params(["local", "exact"], {"*": {"seed": 1}})
    {'local': {}, 'exact': {'seed': 1}}
    >>> check_shared_params(["local"], {"*": {"time_limit_s": 1}})
    Traceback (most recent call last):
    ...
    splitinfer.errors.SplitInferError: no planner among local takes parameter 'time_limit_s'
    """
    names = list(names)
    params = dict(params or {})
    for target in params:
        if target != "*" and target not in names:
            planner_info(target)  # unknown planner names say so, with close matches
            raise SplitInferError(f"--param for planner {target!r}, which is not among the "
                                  f"planners run ({', '.join(names)})")
    shared = dict(params.get("*", {}))
    every = [k for n in names for k in planner_info(n).cls._param_names()]
    for key in shared:
        if key not in every:
            listed = ", ".join(names) if len(names) <= 6 else f"the {len(names)} planners"
            raise SplitInferError(f"no planner among {listed} takes parameter {key!r}"
                                  f"{_suggest(key, set(every))}")
    return {n: check_params(n, params_for(n, params)) for n in names}


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
        For a parameter addressed to another planner, one the planner does not take (with the
        closest name) or an invalid value (see :func:`check_params`).

    Examples
    --------
    >>> planner_params("exact", ["time_limit_s=2", "exact.seed=1"])
    {'time_limit_s': 2.0, 'seed': 1}
    """
    parsed = parse_params(items)
    other = sorted(set(parsed) - {"*", name})
    if other:
        raise SplitInferError(f"--param for planner(s) {other}, but the planner is {name!r}")
    return check_params(name, {**parsed.get("*", {}), **parsed.get(name, {})})


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
                     keep: bool = False,
                     progress: Callable[[str, int, int], None] | None = None
                     ) -> list[dict[str, Any]]:
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
    progress : callable, optional
        ``progress(planner, index, total)`` before each planner starts (``index`` from 0).

    Returns
    -------
    list of dict
        One row per planner, in the order given (see the module docstring for the fields),
        with ``gap_to_exact`` filled in when ``exact`` ran.

    Raises
    ------
    SplitInferError
        For an unknown or invalid parameter (:func:`check_shared_params`), before any planner runs.
    CompareInterrupted
        On Ctrl-C (a ``KeyboardInterrupt``): the comparison stops; the message names the planner
        that was running.
    """
    chosen = resolve_planners(names)
    checked = check_shared_params(chosen, params)
    rows = []
    for i, name in enumerate(chosen):
        if progress is not None:
            progress(name, i, len(chosen))
        try:
            row, plan, result = evaluate_planner(scenario, name, checked[name])
        except KeyboardInterrupt:
            raise CompareInterrupted(f"planner {name!r} ({i + 1} of {len(chosen)}) was running; "
                                     f"{i} finished, no results written") from None
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
    except DataFileError as exc:  # already one line naming the file (bounded reader)
        raise SplitInferError(str(exc)) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SplitInferError(f"plan file {path!r} is not JSON: {exc}") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise SplitInferError(f"plan file {path!r} is not a splitinfer plan: {exc}") from None


def scenario_fingerprint(scenario: Scenario) -> str:
    """A SHA-256 of everything that defines ``scenario`` (nodes, links, models, tasks, settings).

    Plans record it (:func:`stamp_plan`) so that simulating a plan against another scenario is
    noticed (:func:`plan_scenario_mismatch`).

    Examples
    --------
    >>> from splitinfer.system import load_scenario
    >>> a, b = load_scenario("demo"), load_scenario("demo")
    >>> scenario_fingerprint(a) == scenario_fingerprint(b), len(scenario_fingerprint(a))
    (True, 64)
    """
    import dataclasses
    from json.encoder import encode_basestring_ascii as quote  # what json.dumps does to a str

    import numpy as np

    # The digest is of one canonical JSON text: dataclasses as objects of their fields,
    # mappings as [key, value] pairs sorted by key, arrays as lists, floats as their repr
    # (exact), anything else as its repr. The text is written piece by piece, and the text of
    # a dataclass or an array is kept by identity for the call: models that share their layer
    # costs or curves (Huang et al.'s setting has one model per task) are written once and
    # then copied, not walked again (the same text as json.dumps of the nested lists, which
    # the tests hold it to).
    done: dict[int, str] = {}
    alive: list[Any] = []  # what `done` is keyed by stays alive, so no id is reused

    def enc(x: Any) -> str:
        if isinstance(x, np.generic):  # before float: np.float64 is one, with another repr
            return enc(x.item())
        if isinstance(x, str):
            return quote(x)
        if x is True or x is False or x is None:
            return "true" if x is True else "false" if x is False else "null"
        if isinstance(x, int):
            return int.__repr__(x)
        if isinstance(x, float):
            return quote(repr(x))
        shared = isinstance(x, np.ndarray) or (dataclasses.is_dataclass(x)
                                               and not isinstance(x, type))
        if shared:
            got = done.get(id(x))
            if got is not None:
                return got
        if isinstance(x, np.ndarray) and x.ndim == 1 and x.dtype.kind == "f":
            text = "[" + ",".join([f'"{v!r}"' for v in x.tolist()]) + "]"
        elif isinstance(x, np.ndarray):
            text = enc(x.tolist())
        elif shared:
            text = "{" + ",".join(f"{quote(f.name)}:{enc(getattr(x, f.name))}"
                                  for f in dataclasses.fields(x)) + "}"
        elif isinstance(x, Mapping):
            pairs = sorted(((str(k), v) for k, v in x.items()), key=lambda kv: kv[0])
            text = "[" + ",".join(f"[{quote(k)},{enc(v)}]" for k, v in pairs) + "]"
        elif isinstance(x, list | tuple):
            text = "[" + ",".join(map(enc, x)) + "]"
        else:
            text = quote(repr(x))
        if shared:
            done[id(x)] = text
            alive.append(x)
        return text

    return hashlib.sha256(enc(scenario).encode()).hexdigest()


def stamp_plan(plan: Plan, scenario: Scenario) -> Plan:
    """Record in ``plan.info["scenario"]`` the scenario it was made for (name and fingerprint)."""
    plan.info["scenario"] = {"name": scenario.name, "sha256": scenario_fingerprint(scenario)}
    return plan


def plan_scenario_mismatch(plan: Plan, scenario: Scenario) -> str | None:
    """Why ``plan`` was not made for ``scenario`` (one line), or ``None`` when it was.

    A plan without a record (written by an older version, or built in code) is not questioned.

    Examples
    --------
    >>> from splitinfer.system import load_scenario
    >>> from splitinfer.planners import get_planner
    >>> sc = load_scenario("demo")
    >>> plan = stamp_plan(get_planner("local").plan(sc), sc)
    >>> plan_scenario_mismatch(plan, sc) is None
    True
    >>> print(plan_scenario_mismatch(plan, load_scenario("demo", objective="makespan")))
    the plan was made for scenario 'demo' (sha256 ...), which differs from this 'demo' (sha256 ...)
    """
    made = plan.info.get("scenario") if isinstance(plan.info, dict) else None
    if not isinstance(made, dict) or "sha256" not in made:
        return None
    here = scenario_fingerprint(scenario)
    if made["sha256"] == here:
        return None
    return (f"the plan was made for scenario {made.get('name')!r} (sha256 "
            f"{str(made['sha256'])[:12]}), which differs from this {scenario.name!r} "
            f"(sha256 {here[:12]})")
