"""Plans: what a planner decides for every task.

A :class:`TaskPlan` says, for one task, which nodes run which consecutive pieces of the model:
``nodes[0]`` is the task's device and runs the model up to cut ``cuts[0]``, ``nodes[k]`` runs it
from ``cuts[k-1]`` to ``cuts[k]``, and the last node runs the rest. ``nodes=(device,)`` with no cut
runs everything locally; ``nodes=(device, edge)`` with ``cuts=(0,)`` sends the raw input.
Plans the chain cannot express (seed 001's fused-layer paths) give an explicit graph of
:class:`Step` s instead. ``priority`` orders waiting stages at every resource (lower first; ties by
the time they became ready, then generation order), ``release`` delays the task's first stage
(seed 002's delayed scheduling), ``bandwidth`` reserves a rate per hop (seed 002), ``share`` is the
fraction of a divisible node (seed 004's delta).

Examples
--------
>>> tp = TaskPlan("t0", nodes=("phone", "edge"), cuts=(3,))
>>> tp.pieces(last_cut=9)
[('phone', 0, 3), ('edge', 3, 9)]
>>> Plan("local", tasks={"t0": tp}).to_dict()["tasks"][0]["nodes"]
['phone', 'edge']
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

__all__ = ["Step", "TaskPlan", "Plan", "PLAN_FORMAT"]

PLAN_FORMAT = "splitinfer.plan/1"


@dataclass(frozen=True, slots=True)
class Step:
    """One stage of an explicit stage graph.

    ``kind="compute"``: ``node`` computes the model piece ``segment=(a, b)``, or ``flops``
    FLOPs, or the set of ``layers`` (indices into ``ModelCosts.layers``: a general DAG cut,
    DADS); ``kind="transfer"``: ``nbytes`` go from ``src`` to ``dst`` (optionally at a reserved
    ``rate``). ``deps`` are indices of earlier steps of the same task that must finish first.
    The simulator turns every step into a timed stage using the scenario, never the planner's
    own estimate. ``kind="return"``: the result goes back from ``src`` to the task's device by
    the scenario's rule — a constant ``result_return`` delay when the scenario has one, else the
    model's output bytes (``nbytes`` overrides) over the direct link ``src -> device``.
    """

    kind: Literal["compute", "transfer", "return"]
    node: str | None = None
    segment: tuple[int, int] | None = None
    flops: float | None = None
    src: str | None = None
    dst: str | None = None
    nbytes: float | None = None
    rate: float | None = None
    deps: tuple[int, ...] = ()
    label: str = ""
    layers: tuple[int, ...] | None = None


@dataclass(frozen=True, slots=True)
class TaskPlan:
    """The decision for one task (see the module docstring)."""

    task: str
    nodes: tuple[str, ...]
    cuts: tuple[int, ...] = ()
    priority: float = 0.0
    release: float | None = None
    bandwidth: tuple[float | None, ...] | None = None
    share: float | None = None
    share_group: str | None = None
    steps: tuple[Step, ...] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "nodes", tuple(self.nodes))
        object.__setattr__(self, "cuts", tuple(int(c) for c in self.cuts))
        if self.steps is None and len(self.cuts) != len(self.nodes) - 1:
            raise ValueError(f"task {self.task}: {len(self.nodes)} nodes need {len(self.nodes) - 1} "
                             f"cuts, got {len(self.cuts)}")
        if any(b < a for a, b in zip(self.cuts, self.cuts[1:], strict=False)):
            raise ValueError(f"task {self.task}: cuts must not decrease, got {self.cuts}")

    def pieces(self, last_cut: int) -> list[tuple[str, int, int]]:
        """``(node, from_cut, to_cut)`` for every piece of the chain, device first."""
        bounds = (0, *self.cuts, last_cut)
        return [(n, bounds[k], bounds[k + 1]) for k, n in enumerate(self.nodes)]

    @property
    def is_local(self) -> bool:
        """True when the device runs everything."""
        return self.steps is None and len(self.nodes) == 1

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (empty optional fields left out)."""
        d = {"task": self.task, "nodes": list(self.nodes), "cuts": list(self.cuts)}
        if self.priority:
            d["priority"] = self.priority
        for k in ("release", "share", "share_group"):
            if getattr(self, k) is not None:
                d[k] = getattr(self, k)
        if self.bandwidth is not None:
            d["bandwidth"] = list(self.bandwidth)
        if self.steps is not None:
            d["steps"] = [{k: v for k, v in asdict(s).items() if v not in (None, (), "")}
                          for s in self.steps]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TaskPlan:
        """Inverse of :meth:`to_dict`."""
        steps = None
        if d.get("steps") is not None:
            steps = tuple(Step(**{**s, "deps": tuple(s.get("deps", ())),
                                  "segment": tuple(s["segment"]) if s.get("segment") else None,
                                  "layers": tuple(s["layers"]) if s.get("layers") else None})
                          for s in d["steps"])
        bw = d.get("bandwidth")
        return cls(task=str(d["task"]), nodes=tuple(d["nodes"]), cuts=tuple(d.get("cuts", ())),
                   priority=float(d.get("priority", 0.0)), release=d.get("release"),
                   bandwidth=tuple(bw) if bw is not None else None, share=d.get("share"),
                   share_group=d.get("share_group"), steps=steps)


@dataclass
class Plan:
    """A planner's decisions for every task of a scenario.

    Parameters
    ----------
    planner : str
        Registered name of the planner that made it.
    tasks : dict
        Task id -> :class:`TaskPlan`, in task order.
    params : dict
        The planner's constructor arguments.
    plan_time_s : float
        Wall-clock seconds the planner took.
    info : dict
        Planner-specific extras: its own predicted objective, proven bounds, etc.
    """

    planner: str
    tasks: dict[str, TaskPlan] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    plan_time_s: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, task_id: str) -> TaskPlan:
        return self.tasks[task_id]

    def __len__(self) -> int:
        return len(self.tasks)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with ``format`` = ``"splitinfer.plan/1"``."""
        return {"format": PLAN_FORMAT, "planner": self.planner, "params": self.params,
                "plan_time_s": self.plan_time_s, "info": self.info,
                "tasks": [tp.to_dict() for tp in self.tasks.values()]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Plan:
        """Inverse of :meth:`to_dict`."""
        if d.get("format") != PLAN_FORMAT:
            raise ValueError(f"not a plan file: format is {d.get('format')!r}, expected {PLAN_FORMAT!r}")
        tasks = [TaskPlan.from_dict(t) for t in d["tasks"]]
        return cls(planner=d["planner"], tasks={t.task: t for t in tasks}, params=d.get("params", {}),
                   plan_time_s=float(d.get("plan_time_s", 0.0)), info=d.get("info", {}))

    def save(self, path: str | Path) -> None:
        """Write the plan as JSON."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=1, default=_jsonable))

    @classmethod
    def load(cls, path: str | Path) -> Plan:
        """Read a plan written by :meth:`save`."""
        return cls.from_dict(json.loads(Path(path).read_text()))


def _jsonable(x: Any) -> Any:
    import numpy as np

    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    raise TypeError(f"cannot write {type(x).__name__} to JSON")
