"""Results: per-task, per-stage timelines and the metrics computed from them.

Examples
--------
>>> r = Result("s", "p", [TaskRecord("t0", "d", "m", 0.0, 2.0, []),
...                      TaskRecord("t1", "d", "m", 1.0, 4.0, [])])
>>> r.mean_latency, r.makespan, r.objective("makespan")
(2.5, 4.0, 4.0)
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["StageRecord", "TaskRecord", "Result", "OBJECTIVES"]

OBJECTIVES = ("mean_latency", "makespan", "mean_sojourn")


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


@dataclass
class Result:
    """The outcome of simulating (or really running) a plan.

    Parameters
    ----------
    scenario, planner : str
        Names, for tables.
    tasks : list of TaskRecord
        One per task, in task order.
    measured : bool
        True when the timeline was measured on real machines, False when simulated.
    capacity : dict
        Resource -> number of parallel slots (for utilisation); missing means 1.
    lost : int
        Tasks that did not finish (only the real runtime can lose one; it then reports it).
    info : dict
        Extras (e.g. the simulator's event count).
    """

    scenario: str
    planner: str
    tasks: list[TaskRecord]
    measured: bool = False
    capacity: dict[str, float] = field(default_factory=dict)
    lost: int = 0
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def latencies(self) -> np.ndarray:
        """Per-task latencies in seconds."""
        return np.array([t.latency for t in self.tasks], dtype=float)

    @property
    def mean_latency(self) -> float:
        """Mean task latency (seconds)."""
        return float(self.latencies.mean()) if self.tasks else 0.0

    def percentile(self, q: float) -> float:
        """The ``q``-th percentile of task latency (linear interpolation)."""
        return float(np.percentile(self.latencies, q)) if self.tasks else 0.0

    @property
    def makespan(self) -> float:
        """Last finish minus first arrival."""
        if not self.tasks:
            return 0.0
        return max(t.finish for t in self.tasks) - min(t.arrival for t in self.tasks)

    def objective(self, kind: str) -> float:
        """The value of objective ``kind`` (see ``OBJECTIVES``); mean sojourn = mean latency."""
        if kind in ("mean_latency", "mean_sojourn"):
            return self.mean_latency
        if kind == "makespan":
            return self.makespan
        raise ValueError(f"unknown objective {kind!r}; expected one of {OBJECTIVES}")

    def utilisation(self) -> dict[str, float]:
        """Busy time of every resource over the makespan (divided by its parallel slots)."""
        busy: dict[str, float] = {}
        for t in self.tasks:
            for s in t.stages:
                if s.resource is not None:
                    busy[s.resource] = busy.get(s.resource, 0.0) + (s.end - s.start)
        span = self.makespan or 1.0
        return {r: b / (span * self.capacity.get(r, 1.0)) for r, b in sorted(busy.items())}

    def metrics(self) -> dict[str, float]:
        """Mean, p50, p95, p99 latency, makespan and lost tasks."""
        return {"mean_latency_s": self.mean_latency, "p50_latency_s": self.percentile(50),
                "p95_latency_s": self.percentile(95), "p99_latency_s": self.percentile(99),
                "makespan_s": self.makespan, "tasks": len(self.tasks), "lost": self.lost}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: metrics, utilisation and every task's stages."""
        return {"format": "splitinfer.result/1", "scenario": self.scenario, "planner": self.planner,
                "measured": self.measured, "metrics": self.metrics(),
                "utilisation": self.utilisation(), "info": self.info,
                "tasks": [asdict(t) | {"latency": t.latency} for t in self.tasks]}

    def save(self, path: str | Path) -> None:
        """Write :meth:`to_dict` as JSON."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=1, default=float))
