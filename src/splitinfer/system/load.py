"""Loading scenario files (YAML or JSON) into a :class:`~splitinfer.system.scenario.Scenario`.

Validation has two steps, and nothing runs on an invalid file:

1. the schema (:mod:`splitinfer.system.schema`, pydantic): types, units, required fields;
2. cross references: node and model names that tasks, links and tables use, table lengths,
   profiles for every hardware a node needs, unique task ids.

Every error is a :class:`~splitinfer.errors.ScenarioError` whose message names the file, the
field path (``workload.tasks.3.device``) and what was expected: one line for one problem, a
header and one line per problem for several. A file that cannot be read or parsed (missing, not
a regular file, too large, not UTF-8, nested too deeply...) is one line too
(:mod:`splitinfer.datafile`).

Files and Python dicts differ in one way: a file must write a bandwidth or a duration with its
unit (``60Mbps``, ``5ms``; a bare ``0`` is allowed), while a dict given to
:func:`scenario_from_dict` may hold bare numbers in the library's units (bit/s, seconds), as
planners and tests build them (see :mod:`splitinfer.system.schema`).

Examples
--------
>>> try:
...     scenario_from_dict({"nodes": [], "models": {}, "workload": {}}, source="bad.yaml")
... except ScenarioError as e:
...     print(str(e).splitlines()[1])
  bad.yaml: nodes: List should have at least 1 item after validation, not 0
>>> data = {"nodes": [{"name": "a", "kind": "device", "compute": {"flops_per_s": 1e9}},
...                   {"name": "b", "kind": "edge", "compute": {"flops_per_s": 1e10}}],
...         "links": [{"src": "a", "dst": "b", "bandwidth": 60}],
...         "models": {"m": {"cuts": [{"transfer_bytes": 10}, {"transfer_bytes": 1}]}},
...         "workload": {"tasks": [{"device": "a", "model": "m"}]}}
>>> scenario_from_dict(data, source="my.yaml", require_units=True)
Traceback (most recent call last):
...
splitinfer.errors.ScenarioError: invalid scenario my.yaml: links.0.bandwidth: 60 has no unit; write e.g. 60Mbps (units: bps, kbps, Mbps, Gbps, bit/s, B/s, kB/s, MB/s, GB/s)
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from splitinfer.datafile import load_data_file, path_exists, show_value
from splitinfer.errors import ScenarioError
from splitinfer.system.channel import shannon_rate
from splitinfer.system.entities import Link, Node, Power
from splitinfer.system.layer_costs import LayerCosts
from splitinfer.system.model_costs import ModelCosts
from splitinfer.system.scenario import Scenario
from splitinfer.system.schema import ModelSpec, ScenarioSpec, TraceSpec
from splitinfer.system.workload import WorkloadTooLarge, expand_workload

__all__ = ["load_scenario", "scenario_from_dict", "read_scenario_file", "ScenarioError"]


def _loc(loc: tuple) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


#: The most problems one error lists (a file of 10^4 tasks may have as many); the rest counted.
MAX_LISTED = 25


def _fail(source: str, problems: list[tuple[str, str]]) -> ScenarioError:
    """One error for every problem found: one line for one problem; else a header and a line
    per problem, the first :data:`MAX_LISTED` of them, then how many more there are."""
    if len(problems) == 1:
        path, msg = problems[0]
        return ScenarioError(f"invalid scenario {source}: {path}: {msg}")
    lines = [f"invalid scenario {source}: {len(problems)} problems"]
    lines += [f"  {source}: {path}: {msg}" for path, msg in problems[:MAX_LISTED]]
    if len(problems) > MAX_LISTED:
        more = problems[MAX_LISTED:]
        fields = sorted({path.split(".")[0] for path, _ in more})
        lines.append(f"  ... and {len(more)} more (in {', '.join(fields)}); fix these and "
                     "load the file again")
    return ScenarioError("\n".join(lines))


def read_scenario_file(path: str | Path) -> dict[str, Any]:
    """Read a YAML or JSON scenario file into a dict (no validation).

    The file is read in bounded time and memory (:func:`splitinfer.datafile.load_data_file`:
    a regular file, at most ``SPLITINFER_MAX_FILE_BYTES``, UTF-8, bounded nesting and size).

    Raises
    ------
    ScenarioError
        If the file is missing, unreadable or not parseable: one line naming the file (and the
        position, for a syntax error).
    """
    p = Path(path)
    data = load_data_file(p, what="scenario file", error=ScenarioError)
    if not isinstance(data, dict):
        raise ScenarioError(f"scenario file {p}: expected a mapping at the top level, got "
                            f"{type(data).__name__}")
    return data


def load_scenario(path: str | Path, **overrides: Any) -> Scenario:
    """Load and validate a scenario file.

    Parameters
    ----------
    path : str or Path
        A ``.yaml``/``.yml``/``.json`` file, or the name of a shipped scenario (see
        ``splitinfer.data``) such as ``"demo"``.
    **overrides
        Top-level fields to replace before validation (e.g. ``workload=...``).

    Returns
    -------
    Scenario
    """
    p = Path(path)
    if not path_exists(p) and not p.suffix:
        from splitinfer.data import shipped_scenario_path

        p = shipped_scenario_path(str(path))
    data = read_scenario_file(p)
    if not overrides:
        return scenario_from_dict(data, source=str(p), base_dir=p.parent, require_units=True)
    _validate(data, str(p), require_units=True)  # the file alone: units required
    data.update(overrides)  # values given in Python may be bare numbers in the library's units
    return scenario_from_dict(data, source=str(p), base_dir=p.parent)


def _validate(data: dict[str, Any], source: str, require_units: bool) -> ScenarioSpec:
    try:
        return ScenarioSpec.model_validate(data, context={"require_units": require_units})
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            msg = err["msg"].removeprefix("Value error, ")
            loc = err["loc"]
            if loc[:1] == ("links",) and loc[2:3] == ("bandwidth",) and loc[3:4] in (
                    ("rate",), ("trace",)):  # the union's tag (a rate or a trace) is no field
                err = {**err, "loc": loc[:3] + loc[4:]}
            if err["type"] == "extra_forbidden":
                msg = "unknown field (check the spelling; see docs/scenario-format.md)"
            problems.append((_loc(err["loc"]), msg))
        raise _fail(source, problems) from None


def scenario_from_dict(data: dict[str, Any], source: str = "<scenario>",
                       base_dir: str | Path | None = None, *,
                       require_units: bool = False) -> Scenario:
    """Validate a scenario given as a dict (the parsed file) and build it.

    Parameters
    ----------
    data : dict
        The scenario, as a file would hold it.
    source : str
        Name used in error messages.
    base_dir : path, optional
        Directory that relative profile paths are resolved against.
    require_units : bool
        Refuse a bandwidth or duration given as a bare number (other than 0), as for a file
        (:func:`load_scenario` sets it). By default bare numbers are bit/s and seconds.

    Raises
    ------
    ScenarioError
        Naming ``source``, each field path and what was expected.
    """
    spec = _validate(data, source, require_units)
    return _build(spec, source, Path(base_dir) if base_dir else None)


def _nodes(spec: ScenarioSpec, problems: list) -> dict[str, Node]:
    nodes: dict[str, Node] = {}
    for i, n in enumerate(spec.nodes):
        if n.name in nodes:
            problems.append((f"nodes.{i}.name", f"duplicate node name {n.name!r}"))
        c = n.compute
        kind = "hardware" if c.hardware else "flops" if c.flops_per_s else "table"
        if n.divisible and n.kind == "device":
            problems.append((f"nodes.{i}.divisible", "only servers can be divisible into shares"))
        power = None if n.power is None else Power(n.power.compute, n.power.idle,
                                                    n.power.transmit, n.power.receive)
        nodes[n.name] = Node(n.name, n.kind, kind, c.hardware, c.flops_per_s, n.concurrency,
                             n.divisible, power)
    return nodes


def _trace(ts: TraceSpec, base: Path | None, where: str, problems: list):
    """The trace of a link's ``bandwidth: {trace: ...}`` (a file beside the scenario, or a
    shipped trace), or ``None`` after recording the problem."""
    from splitinfer.data import list_shipped_traces, shipped_trace_path
    from splitinfer.traces import TraceError, read_trace

    p = Path(ts.trace)
    if not p.is_absolute() and base is not None:
        p = base / p
    if not path_exists(p) and not Path(ts.trace).suffix and ts.trace in list_shipped_traces():
        p = shipped_trace_path(ts.trace)
    elif not path_exists(p):
        shipped = ", ".join(list_shipped_traces())
        problems.append((f"{where}.trace", f"no trace file {str(p)!r} (a path relative to the "
                         f"scenario file, or a shipped trace: {shipped})"))
        return None
    try:
        trace = read_trace(p, fmt=ts.format, repeat=ts.repeat, period=ts.period,
                           window=ts.window, scale=ts.scale)
    except TraceError as exc:
        problems.append((f"{where}.trace", str(exc)))
        return None
    if not trace.rate_in_force(0.0) > 0:
        problems.append((f"{where}.trace", f"trace {p} gives no bandwidth at time 0, which "
                         "planners take as the link's rate (start it on a rate > 0)"))
        return None
    return trace


def _links(spec: ScenarioSpec, nodes: dict[str, Node], problems: list,
           base: Path | None = None) -> dict:
    links: dict[tuple[str, str], Link] = {}
    for i, ls in enumerate(spec.links):
        for end in ("src", "dst"):
            if getattr(ls, end) not in nodes:
                problems.append((f"links.{i}.{end}", f"unknown node {getattr(ls, end)!r}; "
                                 f"nodes are {sorted(nodes)}"))
        if ls.pool is not None and ls.pool not in spec.pools:
            problems.append((f"links.{i}.pool", f"unknown pool {ls.pool!r}; pools are "
                             f"{sorted(spec.pools)}"))
        if ls.shannon is not None:
            s = ls.shannon
            rate = shannon_rate(s.bandwidth_hz, s.power_w, s.gain, s.noise_w)
        elif isinstance(ls.bandwidth, TraceSpec):  # rate over time; planners' rate: at time 0
            trace = _trace(ls.bandwidth, base, f"links.{i}.bandwidth", problems)
            rate = trace.rate_in_force(0.0) if trace is not None else 1.0
        else:
            rate = ls.bandwidth
        link = Link(ls.src, ls.dst, rate, ls.latency, ls.slowdown, ls.sharing, ls.pool,
                    dtype=ls.dtype)
        if isinstance(ls.bandwidth, TraceSpec) and trace is not None:
            link = replace(link, trace=trace)
        if (ls.src, ls.dst) in links:
            problems.append((f"links.{i}", f"duplicate link {ls.src}->{ls.dst}"))
        links[(ls.src, ls.dst)] = link
    for ls in spec.links:  # reverse directions not given explicitly (the same trace, if any)
        if ls.symmetric and (ls.dst, ls.src) not in links:
            fwd = links[(ls.src, ls.dst)]
            links[(ls.dst, ls.src)] = Link(ls.dst, ls.src, fwd.rate, fwd.latency, fwd.slowdown,
                                           fwd.sharing, fwd.pool, dtype=fwd.dtype)
            if fwd.trace is not None:
                links[(ls.dst, ls.src)] = replace(links[(ls.dst, ls.src)], trace=fwd.trace)
    return links


def _agreement(model: str, m: ModelSpec, base: Path | None, num_cuts: int, where: str,
               problems: list, memo: dict | None = None):
    """The model's top-1 agreement table (``docs/dtype.md``): the file ``m.agreement`` names,
    else ``<model>.agreement.json`` beside a profile file, else the shipped one, else None.
    ``memo`` (one per scenario load) keeps the answer per model name, named file, folders
    and number of cuts."""
    if m.cuts is not None and m.agreement is None:
        return None  # a cut table by hand: no measured agreement unless the scenario names one

    def resolve(ref: str) -> Path:
        return base / ref if base is not None and not Path(ref).is_absolute() else Path(ref)

    if m.agreement is not None:
        key: tuple = ("agreement", str(resolve(m.agreement)), num_cuts)
    else:  # cuts from a profile: its model's table, if there is one
        refs = [r for r in (m.profile, *m.profiles.values()) if r is not None]
        folders = tuple(resolve(r).parent for r in refs
                        if path_exists(resolve(r)) and resolve(r).is_file())
        key = ("agreement", model, folders, num_cuts)
    memo = {} if memo is None else memo
    if key not in memo:
        memo[key] = _find_agreement(model, m, key, num_cuts)
    found, error = memo[key]
    if error is not None:
        problems.append((f"{where}.agreement", error))
    return found


def _find_agreement(model: str, m: ModelSpec, key: tuple, num_cuts: int):
    """:func:`_agreement`'s lookup: ``(table or None, the problem or None)``."""
    from splitinfer.profile.agreement import AgreementError, find_agreement, load_agreement

    try:
        if m.agreement is not None:
            found = load_agreement(Path(key[1]))
        else:
            found = find_agreement(model, list(key[2]))
            if found is None or found.num_cuts != num_cuts:
                return None, None  # none, or another structure of the model (not asked for)
    except AgreementError as exc:
        return None, str(exc)
    if found.num_cuts != num_cuts:
        return None, (f"the agreement table of {found.model!r} has {found.num_cuts} cuts, the "
                      f"model has {num_cuts}")
    return found, None


def _model(name: str, m: ModelSpec, nodes: dict[str, Node], base: Path | None,
           problems: list, memo: dict | None = None) -> ModelCosts | None:
    """One model's cost tables. ``memo`` (one per scenario load) keeps the profiles read and
    the layer costs built from them, so that models that name the same profiles (one model
    per task when tasks differ only in their input bytes, as in Huang et al.'s setting) read
    and check each file once: profiles are immutable."""
    from splitinfer.profile import load_profile  # torch-free reader

    where = f"models.{name}"
    memo = {} if memo is None else memo

    def get(ref: str, field: str):
        cand = (base / ref) if base is not None and not Path(ref).is_absolute() else Path(ref)
        key = ("profile", str(cand) if path_exists(cand) else ref)
        if key not in memo:
            try:
                memo[key] = (load_profile(key[1]), None)
            except Exception as exc:  # unknown shipped name, bad file
                memo[key] = (None, str(exc))
        prof, error = memo[key]
        if error is not None:
            problems.append((field, error))
        return prof

    head_latency: dict[str, np.ndarray] = {}
    hw_profiles = {}
    layers = None
    structure = None
    if m.profile is not None:
        structure = get(m.profile, f"{where}.profile")
    for hw, ref in m.profiles.items():
        prof = get(ref, f"{where}.profiles.{hw}")
        if prof is None:
            continue
        head_latency[hw] = np.asarray(prof.head_latency, dtype=float)
        hw_profiles[hw] = prof
        structure = structure or prof
    if m.cuts is not None:
        tb = np.array([c.transfer_bytes for c in m.cuts])
        hf = np.array([c.head_flops for c in m.cuts])
        names = tuple(c.name or f"c{i}" for i, c in enumerate(m.cuts))
        source = "cut table"
    elif structure is not None:
        tb = np.asarray(structure.transfer_bytes, dtype=float)
        hf = np.asarray(structure.head_flops, dtype=float)
        names = tuple(str(c.after or "input") for c in structure.cuts)
        source = f"profile {structure.model}"
        key = ("layers", id(structure), tuple((hw, id(p)) for hw, p in hw_profiles.items()))
        if key not in memo:  # the ids are of profiles the memo holds for the whole load
            memo[key] = LayerCosts.from_profile(structure, hf, {
                hw: (hw_profiles[hw], head_latency[hw]) for hw in hw_profiles})
        layers = memo[key]
    else:
        return None
    if m.input_bytes is not None:  # e.g. a compressed input (Huang et al.'s G_i(0))
        tb = np.array(tb, dtype=float)
        tb[0] = m.input_bytes
    for hw, curve in head_latency.items():
        if len(curve) != len(tb):
            problems.append((f"{where}.profiles.{hw}", f"profile has {len(curve)} cuts, the model "
                             f"has {len(tb)}"))
    if np.any(np.diff(hf) < 0):
        problems.append((f"{where}.cuts", "head_flops must not decrease along the cuts"))
    th, tt = {}, {}
    for node, row in m.table.items():
        if node not in nodes:
            problems.append((f"{where}.table.{node}", f"unknown node {node!r}"))
        values = row.head if row.head is not None else row.tail
        if len(values) != len(tb):
            problems.append((f"{where}.table.{node}", f"expected {len(tb)} values (one per cut), "
                             f"got {len(values)}"))
            continue
        (th if row.head is not None else tt)[node] = np.asarray(values, dtype=float)
    if layers is not None and any(len(c) != len(tb) for c in head_latency.values()):
        layers = None
    agreement = _agreement(structure.model if structure is not None else name, m, base,
                           len(tb), where, problems, memo)
    return ModelCosts(name, tb, hf, names, head_latency, th, tt, m.output_bytes, source, layers,
                      agreement)


def _build(spec: ScenarioSpec, source: str, base: Path | None) -> Scenario:
    problems: list[tuple[str, str]] = []
    nodes = _nodes(spec, problems)
    links = _links(spec, nodes, problems, base)
    models = {}
    memo: dict = {}  # profiles read and layer costs built, shared by the models naming them
    for name, m in spec.models.items():
        built = _model(name, m, nodes, base, problems, memo)
        if built is not None:
            models[name] = built
    # every node must be able to time every model: checked per hardware, not per node (a
    # scenario may have 10^4 devices and as many models), reported in node order
    by_hw: dict[str, list[int]] = {}
    tabled = []
    for i, node in enumerate(nodes.values()):
        if node.compute == "hardware":
            by_hw.setdefault(node.hardware, []).append(i)
        elif node.compute == "table":
            tabled.append(i)
    names = list(nodes)
    missing = []
    for k, (mname, mc) in enumerate(models.items()):
        for hw, held_by in by_hw.items():
            if hw not in mc.head_latency:
                missing.extend((i, k, (f"models.{mname}.profiles", f"no profile for hardware "
                                       f"{hw!r} used by node {names[i]!r}")) for i in held_by)
        for i in tabled:
            if names[i] not in mc.table_head and names[i] not in mc.table_tail:
                missing.append((i, k, (f"models.{mname}.table", f"no row for node "
                                       f"{names[i]!r} (its compute is 'table')")))
    problems.extend(problem for _, _, problem in sorted(missing, key=lambda x: x[:2]))
    if any(t.slot is not None for t in spec.workload.tasks) and spec.slot is None:
        problems.append(("slot", "tasks are given by slot, so the scenario needs 'slot' (a duration)"))
    for i, t in enumerate(spec.workload.tasks):
        if t.device not in nodes or nodes[t.device].kind != "device":
            problems.append((f"workload.tasks.{i}.device", f"{t.device!r} is not a device node"))
        if t.model not in spec.models:
            problems.append((f"workload.tasks.{i}.model", f"unknown model {t.model!r}; models are "
                             f"{sorted(spec.models)}"))
    for i, g in enumerate(spec.workload.generators):
        for d in g.devices:
            if d not in nodes or nodes[d].kind != "device":
                problems.append((f"workload.generators.{i}.devices", f"{d!r} is not a device node"))
        for mname in [g.model] if isinstance(g.model, str) else g.model:
            if mname not in spec.models:
                problems.append((f"workload.generators.{i}.model", f"unknown model {mname!r}"))
        if g.slots is not None and spec.slot is None:
            problems.append((f"workload.generators.{i}.slots", "slots need the scenario's 'slot'"))
    objective, weight = (spec.objective, 0.0) if isinstance(spec.objective, str) else \
        (spec.objective.kind, spec.objective.weight_s_per_j)
    if objective in ("energy", "latency+energy"):
        used = {t.device for t in spec.workload.tasks} | {
            d for g in spec.workload.generators for d in g.devices}
        bare = sorted(d for d in used if d in nodes and nodes[d].power is None)
        if bare:
            problems.append(("objective", f"objective {objective} needs power figures on every "
                             f"device with tasks; {', '.join(bare)} has none (nodes.*.power)"))
    if problems:
        raise _fail(source, problems)
    try:
        tasks = expand_workload(spec.workload, spec.slot)
    except WorkloadTooLarge as exc:  # the same type, the message naming the file
        raise WorkloadTooLarge(str(_fail(source, [(exc.field, str(exc))])), exc.field) from None
    counts = Counter(t.id for t in tasks)  # linear in the number of tasks
    if len(counts) != len(tasks):
        dup = sorted(i for i, n in counts.items() if n > 1)
        shown = ", ".join(show_value(i) for i in dup[:5])
        raise _fail(source, [("workload.tasks", f"duplicate task ids [{shown}]"
                              + (f" and {len(dup) - 5} more" if len(dup) > 5 else ""))])
    return Scenario(nodes=nodes, links=links, models=models, tasks=tasks, objective=objective,
                    objective_weight=weight,
                    pools=dict(spec.pools), slot=spec.slot, result_return=spec.result_return,
                    name=spec.name, description=spec.description, extra=dict(spec.extra))
