"""Parameter sweeps: scenario parameters x planners x seeds, resumable, local or on Dask.

A sweep spec (YAML) names a base scenario, the parameters to vary (a ``grid`` of values and/or
``random`` samples), the planners and the seeds::

    scenario: demo                       # shipped name or path (relative to the spec file)
    grid:
      links.*.bandwidth: [4Mbps, 8Mbps]  # '*' = every element of a list
      workload.generators.0.count: [2, 4]
    random:                              # optional: n random points on top of the grid
      n: 4
      seed: 0
      params:
        nodes.1.compute.flops_per_s: {loguniform: [1e10, 1e11]}
    planners: [local, neurosurgeon, {name: exact, params: {time_limit_s: 2}}]
    seeds: 3                             # or a list; sets workload.seed and the planners' seed

Every run is one row of ``<out>/sweep.csv`` keyed by a hash of (point, planner, params, seed);
rows already present are skipped, so an interrupted sweep resumes where it stopped. Runs go to a
local process pool by default, or to a Dask ``distributed`` cluster (``executor="dask"``, with
``address`` of a scheduler or a fresh ``LocalCluster``). Only the parent process draws progress.
The user's guide, with a runnable example, is ``docs/sweeps.md``.

Examples
--------
>>> spec = SweepSpec.model_validate({"scenario": "demo", "grid": {"a.b": [1, 2]},
...                                  "planners": ["local"], "seeds": 2})
>>> [(p.values, p.seed) for p in expand(spec)]
[({'a.b': 1}, 0), ({'a.b': 1}, 1), ({'a.b': 2}, 0), ({'a.b': 2}, 1)]
>>> set_path({"links": [{"bandwidth": 1}, {"bandwidth": 2}]}, "links.*.bandwidth", 5)
{'links': [{'bandwidth': 5}, {'bandwidth': 5}]}
"""

from __future__ import annotations

import copy
import csv
import hashlib
import itertools
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from splitinfer.errors import ScenarioError, SplitInferError

__all__ = ["SweepSpec", "SweepPoint", "expand", "set_path", "run_point", "run_sweep",
           "load_sweep_spec", "check_spec"]


class PlannerRef(BaseModel):
    """A planner of the sweep, with fixed constructor parameters."""

    model_config = ConfigDict(extra="forbid")
    name: str
    params: dict[str, Any] = Field(default_factory=dict)


class RandomSpec(BaseModel):
    """Random points: ``n`` draws of every parameter's distribution, seeded."""

    model_config = ConfigDict(extra="forbid")
    n: int = Field(gt=0)
    seed: int = 0
    params: dict[str, dict[str, list[Any]]]

    @field_validator("params")
    @classmethod
    def _dists(cls, v: dict) -> dict:
        for path, dist in v.items():
            if len(dist) != 1 or next(iter(dist)) not in ("uniform", "loguniform", "choice", "randint"):
                raise ValueError(f"{path}: give one of uniform, loguniform, choice, randint")
        return v


class SweepSpec(BaseModel):
    """A validated sweep spec (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")
    scenario: str
    grid: dict[str, list[Any]] = Field(default_factory=dict)
    random: RandomSpec | None = None
    planners: list[str | PlannerRef] = Field(min_length=1)
    seeds: int | list[int] = 1
    seed_planners: bool = True

    def planner_refs(self) -> list[PlannerRef]:
        """Planners as :class:`PlannerRef`."""
        return [p if isinstance(p, PlannerRef) else PlannerRef(name=p) for p in self.planners]

    def seed_list(self) -> list[int]:
        """The seeds as a list."""
        return list(range(self.seeds)) if isinstance(self.seeds, int) else list(self.seeds)

    def param_paths(self) -> list[str]:
        """Every varied parameter path, grid first."""
        paths = list(self.grid)
        if self.random is not None:
            paths += [p for p in self.random.params if p not in paths]
        return paths


@dataclass(frozen=True)
class SweepPoint:
    """One run: parameter values, a planner with its params, and a seed."""

    values: dict[str, Any]
    planner: str
    params: dict[str, Any]
    seed: int

    @property
    def key(self) -> str:
        """Stable hash identifying the run (used to resume)."""
        blob = json.dumps([self.values, self.planner, self.params, self.seed], sort_keys=True,
                          default=str)
        return hashlib.sha1(blob.encode()).hexdigest()[:16]


def _problems(exc: ValidationError) -> str:
    """A pydantic error as one line: ``field.path: message`` for each problem, ``; ``-joined.

    Examples
    --------
    >>> from pydantic import BaseModel, ConfigDict
    >>> class S(BaseModel):
    ...     model_config = ConfigDict(extra="forbid")
    ...     seeds: int
    >>> try:
    ...     S.model_validate({"seeds": "x", "params": {}})
    ... except ValidationError as e:
    ...     print(_problems(e))
    seeds: Input should be a valid integer, unable to parse string as an integer; params: unknown field (see docs/sweeps.md)
    """
    out = []
    for err in exc.errors():
        where = ".".join(str(x) for x in err["loc"]) or "(top level)"
        msg = ("unknown field (see docs/sweeps.md)" if err["type"] == "extra_forbidden"
               else err["msg"].removeprefix("Value error, "))
        out.append(f"{where}: {msg}")
    return "; ".join(out)


def _draw(rng: np.random.Generator, dist: dict[str, list[Any]]) -> Any:
    kind, args = next(iter(dist.items()))
    if kind == "uniform":
        return float(rng.uniform(*args))
    if kind == "loguniform":
        return float(np.exp(rng.uniform(np.log(args[0]), np.log(args[1]))))
    if kind == "randint":
        return int(rng.integers(args[0], args[1] + 1))
    return args[int(rng.integers(len(args)))]


def expand(spec: SweepSpec) -> list[SweepPoint]:
    """Every run of the sweep, in a deterministic order."""
    keys = list(spec.grid)
    combos = [dict(zip(keys, vals, strict=True)) for vals in itertools.product(*spec.grid.values())]
    if spec.random is not None:
        rng = np.random.default_rng(spec.random.seed)
        drawn = [{p: _draw(rng, d) for p, d in spec.random.params.items()}
                 for _ in range(spec.random.n)]
        combos = [{**c, **d} for c in combos for d in drawn]
    points = []
    for values in combos:
        for ref in spec.planner_refs():
            for seed in spec.seed_list():
                points.append(SweepPoint(values, ref.name, dict(ref.params), seed))
    return points


def set_path(data: Any, path: str, value: Any) -> Any:
    """Set ``value`` at a dotted ``path`` in nested dicts/lists (``*`` = every list element)."""
    head, _, rest = path.partition(".")

    def put(container: Any, key: Any) -> None:
        if rest:
            set_path(container[key], rest, value)
        else:
            container[key] = value

    if head == "*":
        if not isinstance(data, list):
            raise ScenarioError(f"sweep path {path!r}: '*' needs a list, found {type(data).__name__}")
        for i in range(len(data)):
            put(data, i)
    elif isinstance(data, list):
        try:
            put(data, int(head))
        except (ValueError, IndexError):
            raise ScenarioError(f"sweep path {path!r}: no list element {head!r}") from None
    elif isinstance(data, dict):
        if rest and head not in data:
            raise ScenarioError(f"sweep path {path!r}: no field {head!r} (fields: {sorted(data)})")
        put(data, head)
    else:
        raise ScenarioError(f"sweep path {path!r}: cannot descend into {type(data).__name__}")
    return data


def run_point(base: dict[str, Any], source_dir: str, point: SweepPoint, seed_planners: bool = True
              ) -> dict[str, Any]:
    """Run one sweep point: set the parameters, load, plan, simulate. Never raises for a
    planner that is not applicable or fails: the row's ``status`` says what happened."""
    from splitinfer.planners import get_planner, planner_info
    from splitinfer.sim import simulate
    from splitinfer.system.load import scenario_from_dict

    data = copy.deepcopy(base)
    for path, value in point.values.items():
        set_path(data, path, value)
    data.setdefault("workload", {})["seed"] = point.seed
    row: dict[str, Any] = {"key": point.key, "planner": point.planner,
                           "planner_params": json.dumps(point.params, sort_keys=True),
                           "seed": point.seed, **{f"param:{k}": v for k, v in point.values.items()}}
    try:
        sc = scenario_from_dict(data, source="sweep point", base_dir=source_dir,
                                require_units=True)  # file and grid values: units required
        params = dict(point.params)
        if seed_planners and "seed" in planner_info(point.planner).cls._param_names():
            params.setdefault("seed", point.seed)
        plan = get_planner(point.planner, **params).plan(sc)
        res = simulate(sc, plan)
        row.update(status="ok", objective=res.objective(sc.objective),
                   objective_kind=sc.objective, **res.metrics(),
                   plan_time_s=plan.plan_time_s, bound=plan.info.get("bound"))
    except SplitInferError as exc:
        row.update(status=f"{type(exc).__name__}: {exc}".splitlines()[0][:300])
    return row


_COLUMNS = ["key", "planner", "planner_params", "seed", "status", "objective", "mean_latency_s",
            "p50_latency_s", "p95_latency_s", "p99_latency_s", "makespan_s", "tasks", "lost",
            "plan_time_s", "bound", "mean_energy_j", "total_energy_j", "objective_kind"]


def load_sweep_spec(path: str | Path) -> tuple[SweepSpec, dict[str, Any], Path]:
    """Read a sweep spec and its base scenario (as a dict) and the scenario's directory."""
    from splitinfer.data import shipped_scenario_path
    from splitinfer.datafile import load_data_file
    from splitinfer.system.load import read_scenario_file

    p = Path(path)
    if not p.is_file():
        raise ScenarioError(f"sweep spec {str(p)!r} " + ("is not a regular file" if p.exists()
                                                        else "does not exist"))
    try:  # bounded read: a regular file, size limit, UTF-8, nesting
        spec = SweepSpec.model_validate(load_data_file(p, what="sweep spec", error=ScenarioError))
    except ValidationError as exc:
        raise ScenarioError(f"invalid sweep spec {p}: {_problems(exc)}") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"invalid sweep spec {p}: {' '.join(str(exc).split())}") from None
    sp = (p.parent / spec.scenario)
    if not sp.is_file():
        sp = shipped_scenario_path(spec.scenario)
    base = read_scenario_file(sp)
    check_spec(spec, base, where=str(p))
    return spec, base, sp.parent


def check_spec(spec: SweepSpec, base: dict[str, Any], where: str = "sweep spec") -> None:
    """Check, before anything runs, that every path exists in ``base`` and every planner
    parameter is valid (:func:`~splitinfer.experiments.compare.check_params`).

    Raises
    ------
    ScenarioError
        For a path that does not exist, naming the fields that do.
    SplitInferError
        For an unknown planner or parameter (with the closest name) or an invalid value.

    Examples
    --------
    >>> spec = SweepSpec.model_validate({"scenario": "s", "grid": {"links.0.bandwith": [1]},
    ...                                  "planners": ["local"]})
    >>> check_spec(spec, {"links": [{"bandwidth": "1Mbps"}]})
    Traceback (most recent call last):
    ...
    splitinfer.errors.ScenarioError: sweep spec: sweep path 'links.0.bandwith': no field 'bandwith'; did you mean 'bandwidth'? (fields: bandwidth)
    """
    from splitinfer.experiments.compare import check_params

    for ref in spec.planner_refs():
        check_params(ref.name, ref.params)
    for path in spec.param_paths():
        _check_path(base, path, path, where)


def _check_path(data: Any, path: str, full: str, where: str) -> None:
    """Every element that ``path`` names exists in ``data`` (leaf included)."""
    import difflib

    head, _, rest = path.partition(".")
    if head == "*":
        if not isinstance(data, list):
            raise ScenarioError(f"{where}: sweep path {full!r}: '*' needs a list, found "
                                f"{type(data).__name__}")
        items = data
    elif isinstance(data, list):
        if not head.isdigit() or int(head) >= len(data):
            raise ScenarioError(f"{where}: sweep path {full!r}: no list element {head!r} "
                                f"({len(data)} elements)")
        items = [data[int(head)]]
    elif isinstance(data, dict):
        if head not in data:
            close = difflib.get_close_matches(head, [str(k) for k in data], n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ScenarioError(f"{where}: sweep path {full!r}: no field {head!r}{hint} "
                                f"(fields: {', '.join(map(str, data))})")
        items = [data[head]]
    else:
        raise ScenarioError(f"{where}: sweep path {full!r}: cannot descend into "
                            f"{type(data).__name__}")
    if rest:
        for item in items:
            _check_path(item, rest, full, where)


def _done_rows(csv_path: Path) -> tuple[list[str] | None, list[dict[str, str]]]:
    """The columns and rows of an earlier run's results (resuming), read within
    :mod:`splitinfer.datafile`'s bounds; a file that is not a sweep's results (no ``key``
    column, not UTF-8, not CSV) is one :class:`ScenarioError` naming it, never overwritten."""
    import io

    from splitinfer.datafile import read_text

    if not csv_path.is_file():
        return None, []
    text = read_text(csv_path, what="sweep results", error=ScenarioError)
    if not text.strip():  # created, nothing written yet
        return None, []
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        rows = list(reader)
        columns = list(reader.fieldnames or [])
    except csv.Error as exc:
        raise ScenarioError(f"cannot parse sweep results {csv_path}: {exc}") from None
    if "key" not in columns:
        raise ScenarioError(f"{csv_path} is not a sweep's results (no 'key' column): give "
                            "another --out or remove it")
    return columns, rows



def _submit_local(tasks: list[tuple], workers: int | None) -> Iterator[dict[str, Any]]:
    from concurrent.futures import ProcessPoolExecutor, as_completed

    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(run_point, *t) for t in tasks]
        for f in as_completed(futures):
            yield f.result()


def _submit_dask(tasks: list[tuple], address: str | None, workers: int | None
                 ) -> Iterator[dict[str, Any]]:
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if address is None:
        cluster = LocalCluster(n_workers=workers or 2, threads_per_worker=1, processes=True,
                               dashboard_address=None)
    client = Client(address or cluster, timeout="30s")
    try:
        futures = [client.submit(run_point, *t, pure=False) for t in tasks]
        for f in as_completed(futures):
            yield f.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run_sweep(spec_path: str | Path, out: str | Path, *, executor: str = "local",
              address: str | None = None, workers: int | None = None,
              progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Run (or resume) a sweep and append its rows to ``<out>/sweep.csv``.

    Parameters
    ----------
    spec_path : path
        The sweep spec (see the module docstring).
    out : path
        Output directory.
    executor : {"local", "dask", "serial"}
        Local process pool, a Dask distributed cluster, or this process (for debugging).
    address : str, optional
        ``tcp://host:port`` of a Dask scheduler; without it a ``LocalCluster`` is started.
    workers : int, optional
        Pool size / LocalCluster workers.
    progress : callable, optional
        ``progress(done, total)`` called in this (the parent) process after every row.

    Returns
    -------
    dict
        ``{"csv": path, "ran": n, "skipped": m, "seconds": t}``.
    """
    if executor not in ("local", "dask", "serial"):
        raise SplitInferError(f"unknown executor {executor!r}; use local, dask or serial")
    if workers is not None and not (isinstance(workers, int) and workers >= 1):
        raise SplitInferError(f"workers must be a positive integer, got {workers!r}")
    if executor == "dask":
        import distributed  # noqa: F401  (fail before anything is written without the extra)
    spec, base, source_dir = load_sweep_spec(spec_path)
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    csv_path = folder / "sweep.csv"
    points = expand(spec)
    old_columns, old_rows = _done_rows(csv_path)
    done = {r["key"] for r in old_rows}
    todo = [p for p in points if p.key not in done]
    columns = _COLUMNS + [f"param:{p}" for p in spec.param_paths()]
    tasks = [(base, str(source_dir), p, spec.seed_planners) for p in todo]
    t0 = time.perf_counter()
    if executor == "serial":
        results: Iterator[dict[str, Any]] = (run_point(*t) for t in tasks)
    elif executor == "local":
        results = _submit_local(tasks, workers)
    elif executor == "dask":
        results = _submit_dask(tasks, address, workers)
    else:
        raise SplitInferError(f"unknown executor {executor!r}; use local, dask or serial")
    new_file = old_columns is None  # no file yet, or an empty one
    if not new_file:  # resuming: keep the file's own columns (an older file may have fewer)
        columns = old_columns
    with open(csv_path, "w" if new_file else "a", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        if new_file:
            writer.writeheader()
        for n, row in enumerate(results, 1):
            writer.writerow(row)
            fh.flush()
            if progress is not None:
                progress(n, len(todo))
    return {"csv": csv_path, "ran": len(todo), "skipped": len(points) - len(todo),
            "seconds": time.perf_counter() - t0}
