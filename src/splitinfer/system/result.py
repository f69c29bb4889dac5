"""Results: per-task, per-stage timelines and the metrics computed from them.

A simulated :class:`Result` is columnar: a :class:`Timeline` keeps one NumPy row per stage
(task, stage index, resource, ready, start, end) and one per task (arrival, finish), and the
:class:`TaskRecord` objects of :attr:`Result.tasks` are built only when asked. Metrics
(mean, percentiles, makespan, utilisation) are computed on the arrays. A measured result (the
real runtime) is built from records. :meth:`Result.save` writes JSON, or the columns as ``.npz``
(10^6 tasks in about a second); :meth:`Result.load` reads both.

Examples
--------
>>> r = Result("s", "p", [TaskRecord("t0", "d", "m", 0.0, 2.0, []),
...                      TaskRecord("t1", "d", "m", 1.0, 4.0, [])])
>>> r.mean_latency, r.makespan, r.objective("makespan")
(2.5, 4.0, 4.0)
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from splitinfer.datafile import (
    JSON_FILE_LIMIT,
    NPZ_FILE_LIMIT,
    check_regular_file,
    load_json_file,
)

__all__ = ["StageRecord", "TaskRecord", "Result", "Timeline", "OBJECTIVES", "RESULT_FORMAT",
           "columns"]

OBJECTIVES = ("mean_latency", "makespan", "mean_sojourn", "energy", "latency+energy")
RESULT_FORMAT = "splitinfer.result/1"


@dataclass(frozen=True, slots=True)
class StageRecord:
    """When one stage of a task became ready, started and ended, and where it ran."""

    name: str
    kind: str
    resource: str | None
    node: str | None
    ready: float
    start: float
    end: float

    @property
    def wait(self) -> float:
        """Time spent queueing for the resource."""
        return self.start - self.ready


@dataclass(frozen=True, slots=True)
class TaskRecord:
    """One task's arrival, finish and stages."""

    id: str
    device: str
    model: str
    arrival: float
    finish: float
    stages: list[StageRecord]
    offloaded: bool = False

    @property
    def latency(self) -> float:
        """Finish minus arrival, in seconds."""
        return self.finish - self.arrival


def _fast_init(cls: type):
    """A constructor for a frozen, slotted dataclass that skips its ``__init__``.

    A frozen dataclass sets each field through ``object.__setattr__``; writing the slots through
    their member descriptors gives the same immutable object about four times faster, which
    matters when 10^6 x 4 stage records are asked for.
    """
    new = object.__new__
    setters = tuple(cls.__dict__[f.name].__set__ for f in fields(cls))

    def make(*values):
        obj = new(cls)
        for set_, v in zip(setters, values, strict=True):
            set_(obj, v)
        return obj

    return make


@dataclass
class Timeline:
    """A simulated run as columns: one row per task and one row per stage.

    Parameters
    ----------
    ids, devices, models : list of str
        Per task (in task order).
    arrival, finish : ndarray
        Per task, seconds.
    offloaded : ndarray of bool
        Per task: some stage ran away from the device.
    first : ndarray of int
        Task ``k`` owns stage rows ``first[k]:first[k+1]`` (length tasks + 1).
    stage, resource, label : ndarray of int
        Per stage row: index within its task, resource (index into ``resources``, -1 = none),
        and ``(name, kind, node)`` (index into ``labels``).
    ready, start, end : ndarray
        Per stage row, seconds.
    resources : list of str
    labels : list of (str, str, str or None)

    Examples
    --------
    >>> tl = Timeline(["t0"], ["d"], ["m"], np.array([0.0]), np.array([2.0]),
    ...               np.array([False]), np.array([0, 1]), np.array([0]), np.array([0]),
    ...               np.array([0]), np.array([0.0]), np.array([0.5]), np.array([2.0]), ["d"],
    ...               [("compute", "compute", "d")])
    >>> r = Result("s", "p", timeline=tl)
    >>> r.tasks[0].stages[0].start, r.utilisation()
    (0.5, {'d': 0.75})
    """

    ids: list[str]
    devices: list[str]
    models: list[str]
    arrival: np.ndarray
    finish: np.ndarray
    offloaded: np.ndarray
    first: np.ndarray
    stage: np.ndarray
    resource: np.ndarray
    label: np.ndarray
    ready: np.ndarray
    start: np.ndarray
    end: np.ndarray
    resources: list[str]
    labels: list[tuple[str, str, str | None]]

    @property
    def task(self) -> np.ndarray:
        """The task (row in the per-task columns) of every stage row."""
        return np.repeat(np.arange(len(self.ids)), np.diff(self.first))

    def records(self) -> list[TaskRecord]:
        """The :class:`TaskRecord` objects (built on every call)."""
        stage_record = _fast_init(StageRecord)
        task_record = _fast_init(TaskRecord)
        names = list(self.resources) + [None]  # resource -1 -> None
        labs = [tuple(lab) for lab in self.labels]
        rows = [stage_record(labs[lb][0], labs[lb][1], names[rs], labs[lb][2], r, s, e)
                for lb, rs, r, s, e in zip(
            self.label.tolist(), self.resource.tolist(), self.ready.tolist(),
            self.start.tolist(), self.end.tolist(), strict=True)]
        first = self.first.tolist()
        return [task_record(i, d, m, a, f, rows[first[k]:first[k + 1]], o)
                for k, (i, d, m, a, f, o) in enumerate(zip(
                    self.ids, self.devices, self.models, self.arrival.tolist(),
                    self.finish.tolist(), self.offloaded.tolist(), strict=True))]

    def save_npz(self, path: str | Path, meta: dict[str, Any],
                 energy: np.ndarray | None = None) -> None:
        """Write the columns, ``meta`` (JSON) and per-task ``energy`` if given to one ``.npz``."""
        header = dict(meta, format=RESULT_FORMAT, resources=list(self.resources),
                      labels=[list(lab) for lab in self.labels])
        with open(path, "wb") as fh:
            np.savez(fh, header=np.array(json.dumps(header, default=float)),
                     ids=np.array(self.ids, dtype=str), devices=np.array(self.devices, dtype=str),
                     models=np.array(self.models, dtype=str), arrival=self.arrival,
                     finish=self.finish, offloaded=self.offloaded, first=self.first,
                     stage=self.stage, resource=self.resource, label=self.label,
                     ready=self.ready, start=self.start, end=self.end,
                     **({} if energy is None else {"energy": np.asarray(energy, float)}))

    @classmethod
    def load_npz(cls, path: str | Path) -> tuple[Timeline, dict[str, Any]]:
        """Inverse of :meth:`save_npz`: ``(timeline, meta)`` (the energy column, if saved, as
        ``meta["energy"]``)."""
        check_regular_file(path, what="result file", limit=NPZ_FILE_LIMIT)
        try:
            z = np.load(path, allow_pickle=False)
        except (OSError, ValueError, zipfile.BadZipFile) as exc:
            if not Path(path).exists():
                raise FileNotFoundError(path) from None
            raise ValueError(f"{path}: not a result .npz file ({type(exc).__name__})") from None
        with z:
            if "header" not in z.files:
                raise ValueError(f"{path}: not a result .npz file (no header)")
            meta = json.loads(str(z["header"]))
            if meta.get("format") != RESULT_FORMAT:
                raise ValueError(f"{path}: not a result file (format {meta.get('format')!r})")
            tl = cls(z["ids"].tolist(), z["devices"].tolist(), z["models"].tolist(),
                     z["arrival"], z["finish"], z["offloaded"], z["first"], z["stage"],
                     z["resource"], z["label"], z["ready"], z["start"], z["end"],
                     meta.pop("resources"), [tuple(lab) for lab in meta.pop("labels")])
            if "energy" in z.files:
                meta["energy"] = z["energy"]
        return tl, meta


class Result:
    """The outcome of simulating (or really running) a plan.

    Parameters
    ----------
    scenario, planner : str
        Names, for tables.
    tasks : list of TaskRecord, optional
        One per task, in task order (a measured run gives these).
    measured : bool
        True when the timeline was measured on real machines, False when simulated.
    capacity : dict
        Resource -> number of parallel slots (for utilisation); missing means 1.
    lost : int
        Tasks that did not finish (only the real runtime can lose one; it then reports it).
    info : dict
        Extras (e.g. the simulator's event count).
    timeline : Timeline, optional
        The columns of a simulated run; :attr:`tasks` is then built from them when first read.

    Attributes
    ----------
    energy : ndarray or None
        Per-task device energy in joules (task order), set by the simulator when every device
        with tasks has power figures (:mod:`splitinfer.system.energy`); else ``None``.
    objective_weight : float
        Seconds per joule of the ``"latency+energy"`` objective.
    """

    def __init__(self, scenario: str, planner: str, tasks: list[TaskRecord] | None = None,
                 measured: bool = False, capacity: dict[str, float] | None = None, lost: int = 0,
                 info: dict[str, Any] | None = None, *, timeline: Timeline | None = None) -> None:
        self.scenario = scenario
        self.planner = planner
        self._tasks = tasks if tasks is not None or timeline is not None else []
        self.measured = measured
        self.capacity = dict(capacity or {})
        self.lost = lost
        self.info = dict(info or {})
        self.timeline = timeline
        self.energy: np.ndarray | None = None
        self.objective_weight = 0.0

    def __repr__(self) -> str:
        return (f"Result(scenario={self.scenario!r}, planner={self.planner!r}, "
                f"tasks={len(self)}, measured={self.measured})")

    def __len__(self) -> int:
        return len(self.timeline.ids) if self._tasks is None else len(self._tasks)

    @property
    def tasks(self) -> list[TaskRecord]:
        """Per-task records, in task order (built from the columns on first use)."""
        if self._tasks is None:
            self._tasks = self.timeline.records()
        return self._tasks

    @tasks.setter
    def tasks(self, value: list[TaskRecord]) -> None:
        self._tasks = value
        self.timeline = None

    @property
    def arrivals(self) -> np.ndarray:
        """Per-task arrival times in seconds."""
        if self.timeline is not None:
            return self.timeline.arrival
        return np.array([t.arrival for t in self.tasks], dtype=float)

    @property
    def finishes(self) -> np.ndarray:
        """Per-task finish times in seconds."""
        if self.timeline is not None:
            return self.timeline.finish
        return np.array([t.finish for t in self.tasks], dtype=float)

    @property
    def latencies(self) -> np.ndarray:
        """Per-task latencies in seconds."""
        if self.timeline is not None:
            return self.timeline.finish - self.timeline.arrival
        return np.array([t.latency for t in self.tasks], dtype=float)

    @property
    def mean_latency(self) -> float:
        """Mean task latency (seconds)."""
        return float(self.latencies.mean()) if len(self) else 0.0

    def percentile(self, q: float) -> float:
        """The ``q``-th percentile of task latency (linear interpolation)."""
        return float(np.percentile(self.latencies, q)) if len(self) else 0.0

    @property
    def makespan(self) -> float:
        """Last finish minus first arrival."""
        if not len(self):
            return 0.0
        return float(self.finishes.max() - self.arrivals.min())

    @property
    def mean_energy(self) -> float:
        """Mean per-task device energy (J); ValueError without power figures."""
        if self.energy is None:
            raise ValueError("this result has no energy: give the devices power figures "
                             "(nodes.*.power, docs/energy.md)")
        return float(self.energy.mean()) if len(self.energy) else 0.0

    def objective(self, kind: str) -> float:
        """The value of objective ``kind`` (see ``OBJECTIVES``); mean sojourn = mean latency;
        ``energy`` = mean device energy (J); ``latency+energy`` = mean latency +
        ``objective_weight`` x mean device energy (s).

        Examples
        --------
        >>> r = Result("s", "p", [TaskRecord("t0", "d", "m", 0.0, 2.0, [])])
        >>> r.energy, r.objective_weight = np.array([3.0]), 0.5
        >>> r.objective("energy"), r.objective("latency+energy")
        (3.0, 3.5)
        """
        if kind in ("mean_latency", "mean_sojourn"):
            return self.mean_latency
        if kind == "makespan":
            return self.makespan
        if kind == "energy":
            return self.mean_energy
        if kind == "latency+energy":
            return self.mean_latency + self.objective_weight * self.mean_energy
        raise ValueError(f"unknown objective {kind!r}; expected one of {OBJECTIVES}")

    def utilisation(self) -> dict[str, float]:
        """Busy time of every resource over the makespan, divided by its parallel slots.

        For a resource without a slot limit (a reserved or dedicated link, a node of unlimited
        concurrency: recorded with one slot) this is the mean number of stages on it at once,
        which can exceed 1; ``splitinfer simulate`` shows those as such."""
        busy: dict[str, float] = {}
        tl = self.timeline
        if tl is not None:
            used = tl.resource >= 0
            sums = np.bincount(tl.resource[used], weights=(tl.end - tl.start)[used],
                               minlength=len(tl.resources))
            hit = np.bincount(tl.resource[used], minlength=len(tl.resources))
            busy = {tl.resources[r]: float(sums[r]) for r in np.flatnonzero(hit)}
        else:
            for t in self.tasks:
                for s in t.stages:
                    if s.resource is not None:
                        busy[s.resource] = busy.get(s.resource, 0.0) + (s.end - s.start)
        span = self.makespan or 1.0
        return {r: b / (span * self.capacity.get(r, 1.0)) for r, b in sorted(busy.items())}

    def metrics(self) -> dict[str, float]:
        """Mean, p50, p95, p99 latency, makespan and lost tasks; ``mean_energy_j`` and
        ``total_energy_j`` (device energy, from the per-task energy column) when known."""
        out = {"mean_latency_s": self.mean_latency, "p50_latency_s": self.percentile(50),
               "p95_latency_s": self.percentile(95), "p99_latency_s": self.percentile(99),
               "makespan_s": self.makespan, "tasks": len(self), "lost": self.lost}
        if self.energy is not None:
            out["mean_energy_j"] = self.mean_energy
            out["total_energy_j"] = float(self.energy.sum())
        return out

    def _meta(self) -> dict[str, Any]:
        return {"format": RESULT_FORMAT, "scenario": self.scenario, "planner": self.planner,
                "measured": self.measured, "metrics": self.metrics(),
                "utilisation": self.utilisation(), "info": self.info}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: metrics, utilisation and every task's stages."""
        energy = {} if self.energy is None else {
            "objective_weight": self.objective_weight, "energy_j": self.energy.tolist()}
        return self._meta() | {"capacity": self.capacity, "lost": self.lost, **energy,
                               "tasks": [asdict(t) | {"latency": t.latency} for t in self.tasks]}

    def save(self, path: str | Path) -> None:
        """Write :meth:`to_dict` as JSON, or the columns when ``path`` ends in ``.npz``.

        Examples
        --------
        >>> import tempfile, os
        >>> r = Result("s", "p", [TaskRecord("t0", "d", "m", 0.0, 2.0, [
        ...     StageRecord("compute", "compute", "d", "d", 0.0, 0.0, 2.0)])])
        >>> with tempfile.TemporaryDirectory() as d:
        ...     for name in ("r.json", "r.npz"):
        ...         r.save(os.path.join(d, name))
        ...         back = Result.load(os.path.join(d, name))
        ...         print(back.tasks[0].stages[0].end, back.makespan)
        2.0 2.0
        2.0 2.0
        """
        if str(path).endswith(".npz"):
            tl = self.timeline if self.timeline is not None else _columns(self.tasks)
            tl.save_npz(path, self._meta() | {"capacity": self.capacity, "lost": self.lost,
                                              "objective_weight": self.objective_weight},
                        energy=self.energy)
            return
        Path(path).write_text(json.dumps(self.to_dict(), indent=1, default=float))

    @classmethod
    def load(cls, path: str | Path) -> Result:
        """Read a result written by :meth:`save` (JSON or ``.npz``)."""
        if str(path).endswith(".npz"):
            tl, meta = Timeline.load_npz(path)
            out = cls(meta["scenario"], meta["planner"], measured=meta.get("measured", False),
                      capacity=meta.get("capacity", {}), lost=meta.get("lost", 0),
                      info=meta.get("info", {}), timeline=tl)
            out.energy = meta.get("energy")
            out.objective_weight = float(meta.get("objective_weight", 0.0))
            return out
        d = load_json_file(path, what="result file", limit=JSON_FILE_LIMIT)
        if not isinstance(d, dict) or d.get("format") != RESULT_FORMAT:
            fmt = d.get("format") if isinstance(d, dict) else None
            raise ValueError(f"{path}: not a result file (format {fmt!r})")
        tasks = [TaskRecord(t["id"], t["device"], t["model"], t["arrival"], t["finish"],
                            [StageRecord(**s) for s in t["stages"]], t.get("offloaded", False))
                 for t in d["tasks"]]
        out = cls(d["scenario"], d["planner"], tasks, measured=d.get("measured", False),
                  capacity=d.get("capacity", {}), lost=d.get("lost", 0), info=d.get("info", {}))
        if d.get("energy_j") is not None:
            out.energy = np.array(d["energy_j"], float)
            out.objective_weight = float(d.get("objective_weight", 0.0))
        return out


def _columns(tasks: list[TaskRecord]) -> Timeline:
    """The columns of records (to save a measured result as ``.npz``)."""
    resources: dict[str, int] = {}
    labels: dict[tuple, int] = {}
    cols: dict[str, list] = {k: [] for k in ("stage", "resource", "label", "ready", "start", "end")}
    first = [0]
    for t in tasks:
        for j, s in enumerate(t.stages):
            cols["stage"].append(j)
            cols["resource"].append(-1 if s.resource is None
                                    else resources.setdefault(s.resource, len(resources)))
            cols["label"].append(labels.setdefault((s.name, s.kind, s.node), len(labels)))
            cols["ready"].append(s.ready)
            cols["start"].append(s.start)
            cols["end"].append(s.end)
        first.append(len(cols["stage"]))
    ints = {k: np.array(cols[k], np.int64) for k in ("stage", "resource", "label")}
    floats = {k: np.array(cols[k], float) for k in ("ready", "start", "end")}
    return Timeline([t.id for t in tasks], [t.device for t in tasks], [t.model for t in tasks],
                    np.array([t.arrival for t in tasks], float),
                    np.array([t.finish for t in tasks], float),
                    np.array([t.offloaded for t in tasks], bool), np.array(first, np.int64),
                    **ints, **floats, resources=list(resources), labels=list(labels))


columns = _columns
