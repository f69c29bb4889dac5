"""Plans: what a planner decides for every task.

A :class:`TaskPlan` says, for one task, which nodes run which consecutive pieces of the model:
``nodes[0]`` is the task's device and runs the model up to cut ``cuts[0]``, ``nodes[k]`` runs it
from ``cuts[k-1]`` to ``cuts[k]``, and the last node runs the rest. ``nodes=(device,)`` with no cut
runs everything locally; ``nodes=(device, edge)`` with ``cuts=(0,)`` sends the raw input.
Plans the chain cannot express (Li et al.'s fused-layer paths) give an explicit graph of
:class:`Step` s instead. ``priority`` orders waiting stages at every resource (lower first; ties by
the time they became ready, then generation order), ``release`` delays the task's first stage
(Huang et al.'s delayed scheduling), ``bandwidth`` reserves a rate per hop (Huang et al. 2019), ``share`` is the
fraction of a divisible node (Zheng's delta), ``dtype`` the wire dtype of the tensor crossing each
hop (``float32``, ``float16``, ``bfloat16``, ``int8``; ``None`` keeps the link's, see
``docs/dtype.md``).

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
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from splitinfer.datafile import (
    JSON_FILE_LIMIT,
    NPZ_FILE_LIMIT,
    check_regular_file,
    load_json_file,
)
from splitinfer.transfer import check_wire_dtype

__all__ = ["Step", "TaskPlan", "Plan", "ChainColumns", "PLAN_FORMAT"]

PLAN_FORMAT = "splitinfer.plan/1"


@dataclass(frozen=True, slots=True)
class Step:
    """One stage of an explicit stage graph.

    ``kind="compute"``: ``node`` computes the model piece ``segment=(a, b)``, or ``flops``
    FLOPs, or the set of ``layers`` (indices into ``ModelCosts.layers``: a general DAG cut,
    DADS); ``kind="transfer"``: ``nbytes`` go from ``src`` to ``dst`` (optionally at a reserved
    ``rate``). ``deps`` are indices of earlier steps of the same task that must finish first.
    The simulator turns every step into a timed stage using the scenario, never the planner's
    own estimate. When a compute step gives ``flops``, they time it (Li et al. 2022 eqs. 1, 3
    count a tile's FLOPs, its overlap included) and ``segment`` or ``layers``, if given, only
    name what it runs.
    ``kind="return"``: the result goes back from ``src`` to the task's device by
    the scenario's rule — a constant ``result_return`` delay when the scenario has one, else the
    model's output bytes (``nbytes`` overrides) over the direct link ``src -> device``.
    ``dtype`` (a transfer): the wire dtype its tensors cross in (``None``: the link's; ``nbytes``
    are always the float32 bytes, the transfer's time uses the real byte count).

    ``tile=(cut, row0, row1, col0, col1)`` names a spatial tile (Li et al. 2022 section II-A):
    rows ``row0:row1`` and columns ``col0:col1`` of the tensor crossing the model's cut ``cut``.
    A compute step with ``segment=(a, cut)`` and a tile computes only that tile of its piece,
    from the receptive field of the tile in the tensor at cut ``a`` (its halo included; see
    :func:`splitinfer.graph.receptive.tile_regions`); a transfer with a tile carries that tile.
    A later step that reads the whole tensor gets the tiles stitched.
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
    dtype: str | None = None
    tile: tuple[int, int, int, int, int] | None = None

    def __post_init__(self) -> None:
        if self.tile is not None:
            object.__setattr__(self, "tile", _check_tile(self.tile))


#: Largest row or column a tile may name (the runtime's wire bound, ``route._tile``).
_MAX_TILE_INDEX = 1 << 20


def _check_tile(tile: Any) -> tuple[int, int, int, int, int]:
    """``Step.tile`` as five Python ints ``(cut, row0, row1, col0, col1)`` with ``cut >= 0``,
    ``0 <= row0 < row1`` and ``0 <= col0 < col1`` (bounded), else a one-line ValueError."""
    ok = isinstance(tile, tuple | list) and len(tile) == 5 and all(
        isinstance(v, int | np.integer) and not isinstance(v, bool | np.bool_) for v in tile)
    t = tuple(int(v) for v in tile) if ok else ()
    if not ok or not (0 <= t[0] and 0 <= t[1] < t[2] <= _MAX_TILE_INDEX
                      and 0 <= t[3] < t[4] <= _MAX_TILE_INDEX):
        raise ValueError(f"tile must be five integers [cut, row0, row1, col0, col1] with cut >= 0, "
                         f"0 <= row0 < row1 and 0 <= col0 < col1 (at most {_MAX_TILE_INDEX}), "
                         f"got {str(tile)[:60]}")
    return t  # type: ignore[return-value]


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
    dtype: tuple[str | None, ...] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "nodes", tuple(self.nodes))
        object.__setattr__(self, "cuts", tuple(int(c) for c in self.cuts))
        if self.dtype is not None:
            object.__setattr__(self, "dtype", tuple(self.dtype))
            if self.steps is None and len(self.dtype) != len(self.cuts):
                raise ValueError(f"task {self.task}: {len(self.cuts)} cuts need {len(self.cuts)} "
                                 f"wire dtypes, got {len(self.dtype)}")
            for d in self.dtype:
                if d is not None:
                    check_wire_dtype(d)
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
        if self.dtype is not None:
            d["dtype"] = list(self.dtype)
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
                                  "layers": tuple(s["layers"]) if s.get("layers") else None,
                                  "tile": (tuple(s["tile"]) if isinstance(s["tile"], list)
                                           else s["tile"]) if s.get("tile") else None})
                          for s in d["steps"])
        bw = d.get("bandwidth")
        dt = d.get("dtype")
        if dt is not None and not isinstance(dt, list | tuple):
            raise ValueError(f"task {d.get('task')}: dtype must be a list (one wire dtype per "
                             f"hop), got {type(dt).__name__}")
        return cls(task=str(d["task"]), nodes=tuple(d["nodes"]), cuts=tuple(d.get("cuts", ())),
                   priority=float(d.get("priority", 0.0)), release=d.get("release"),
                   bandwidth=tuple(bw) if bw is not None else None, share=d.get("share"),
                   share_group=d.get("share_group"), steps=steps,
                   dtype=tuple(dt) if dt is not None else None)


class ChainColumns(Mapping):
    """Chain decisions of many tasks as arrays; a read-only mapping task id -> :class:`TaskPlan`.

    Row ``k`` is task ``ids[k]``: ``nodes[k, :]`` are indices into ``node_names`` (-1 pads
    shorter chains), ``cuts[k, :]`` its cuts (-1 pads), ``priority[k]``, and ``release[k]``
    (NaN = none). A :class:`TaskPlan` is built only when a task is looked up, so planners can
    emit 10^6 decisions as a few arrays and the simulator reads the arrays directly. Chains with
    reserved bandwidth, shares or explicit steps need :class:`TaskPlan` objects instead.

    Examples
    --------
    >>> cols = ChainColumns(["t0", "t1"], ["d", "e"], np.array([[0, 1], [0, -1]]),
    ...                     np.array([[2], [-1]]), priority=np.array([0.0, 1.0]))
    >>> cols["t0"]
    TaskPlan(task='t0', nodes=('d', 'e'), cuts=(2,), priority=0.0, release=None, bandwidth=None, \
share=None, share_group=None, steps=None, dtype=None)
    >>> cols["t1"].nodes, cols["t1"].priority, len(cols), list(cols)
    (('d',), 1.0, 2, ['t0', 't1'])
    """

    def __init__(self, ids: Sequence[str], node_names: Sequence[str], nodes: np.ndarray,
                 cuts: np.ndarray, priority: np.ndarray | None = None,
                 release: np.ndarray | None = None) -> None:
        n = len(ids)
        self.ids = list(ids)
        self.node_names = list(node_names)
        self.nodes = np.asarray(nodes, np.int64).reshape(n, -1)
        width = self.nodes.shape[1]
        self.cuts = np.asarray(cuts, np.int64).reshape(n, max(width - 1, 0))
        self.priority = np.zeros(n) if priority is None else np.asarray(priority, float)
        self.release = np.full(n, np.nan) if release is None else np.asarray(release, float)
        if self.priority.shape != (n,) or self.release.shape != (n,):
            raise ValueError("priority and release need one value per task")
        self._rows: dict[str, int] | None = None  # id -> row, built on the first look-up

    @property
    def _row(self) -> dict[str, int]:
        if self._rows is None:
            self._rows = {t: k for k, t in enumerate(self.ids)}
            if len(self._rows) != len(self.ids):
                raise ValueError("task ids repeat")
        return self._rows

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator[str]:
        return iter(self.ids)

    def __contains__(self, task: object) -> bool:
        return task in self._row

    def __getitem__(self, task: str) -> TaskPlan:
        return self.row(self._row[task])

    def row(self, k: int) -> TaskPlan:
        """The :class:`TaskPlan` of row ``k`` (task ``ids[k]``), without the id look-up.

        Examples
        --------
        >>> ChainColumns(["t0"], ["d", "e"], np.array([[0, 1]]), np.array([[2]])).row(0).nodes
        ('d', 'e')
        """
        task = self.ids[k]
        row = self.nodes[k]
        width = int((row >= 0).sum())
        rel = self.release[k]
        return TaskPlan(task, tuple(self.node_names[i] for i in row[:width].tolist()),
                        tuple(self.cuts[k, :width - 1].tolist()), float(self.priority[k]),
                        None if rel != rel else float(rel))

    @classmethod
    def from_taskplans(cls, plans: Sequence[TaskPlan]) -> ChainColumns | None:
        """The columns of ``plans``, or None when one of them is not a plain chain."""
        if any(tp.steps is not None or tp.bandwidth is not None or tp.share is not None
               or tp.share_group is not None or tp.dtype is not None for tp in plans):
            return None
        names: dict[str, int] = {}
        width = max((len(tp.nodes) for tp in plans), default=1)
        nodes = np.full((len(plans), width), -1, np.int64)
        cuts = np.full((len(plans), max(width - 1, 0)), -1, np.int64)
        for k, tp in enumerate(plans):
            nodes[k, :len(tp.nodes)] = [names.setdefault(x, len(names)) for x in tp.nodes]
            cuts[k, :len(tp.cuts)] = tp.cuts
        return cls([tp.task for tp in plans], list(names), nodes, cuts,
                   np.array([tp.priority for tp in plans], float),
                   np.array([np.nan if tp.release is None else tp.release for tp in plans], float))


@dataclass
class Plan:
    """A planner's decisions for every task of a scenario.

    Parameters
    ----------
    planner : str
        Registered name of the planner that made it.
    tasks : dict or ChainColumns
        Task id -> :class:`TaskPlan`, in task order; or :class:`ChainColumns`, the same mapping
        kept as arrays (:meth:`from_columns`).
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

    @classmethod
    def from_columns(cls, planner: str, columns: ChainColumns, params: dict[str, Any] | None = None,
                     plan_time_s: float = 0.0, info: dict[str, Any] | None = None) -> Plan:
        """A plan whose tasks are :class:`ChainColumns` (no per-task objects until asked)."""
        return cls(planner, columns, dict(params or {}), plan_time_s, dict(info or {}))

    @property
    def columns(self) -> ChainColumns | None:
        """The decisions as :class:`ChainColumns` when they are stored so, else None."""
        return self.tasks if isinstance(self.tasks, ChainColumns) else None

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
        """Write the plan as JSON, or as columns when ``path`` ends in ``.npz``.

        The ``.npz`` form holds plain chain plans (nodes, cuts, priority, release per task):
        10^6 tasks save and load in about a second.

        Examples
        --------
        >>> import tempfile, os
        >>> p = Plan("x", {"t0": TaskPlan("t0", ("d", "e"), (2,), release=1.5)})
        >>> with tempfile.TemporaryDirectory() as d:
        ...     for name in ("p.json", "p.npz"):
        ...         p.save(os.path.join(d, name))
        ...         print(Plan.load(os.path.join(d, name))["t0"] == p["t0"])
        True
        True
        """
        if not str(path).endswith(".npz"):
            Path(path).write_text(json.dumps(self.to_dict(), indent=1, default=_jsonable))
            return
        cols = self.columns or ChainColumns.from_taskplans(list(self.tasks.values()))
        if cols is None:
            raise ValueError(f"{path}: the .npz plan format holds plain chain plans only (this "
                             "plan has reserved bandwidth, shares or explicit steps); use .json")
        header = {"format": PLAN_FORMAT, "planner": self.planner, "params": self.params,
                  "plan_time_s": self.plan_time_s, "info": self.info,
                  "node_names": cols.node_names}
        with open(path, "wb") as fh:
            np.savez(fh, header=np.array(json.dumps(header, default=_jsonable)),
                     ids=np.array(cols.ids, dtype=str), nodes=cols.nodes, cuts=cols.cuts,
                     priority=cols.priority, release=cols.release)

    @classmethod
    def load(cls, path: str | Path) -> Plan:
        """Read a plan written by :meth:`save` (JSON or ``.npz``)."""
        if not str(path).endswith(".npz"):
            return cls.from_dict(load_json_file(path, what="plan file", limit=JSON_FILE_LIMIT))
        check_regular_file(path, what="plan file", limit=NPZ_FILE_LIMIT)
        try:
            z = np.load(path, allow_pickle=False)
        except (OSError, ValueError, zipfile.BadZipFile) as exc:
            if not Path(path).exists():
                raise FileNotFoundError(path) from None
            raise ValueError(f"not a plan .npz file ({type(exc).__name__})") from None
        with z:
            if "header" not in z.files:
                raise ValueError("not a plan .npz file: no header")
            h = json.loads(str(z["header"]))
            if h.get("format") != PLAN_FORMAT:
                raise ValueError(f"not a plan file: format is {h.get('format')!r}, "
                                 f"expected {PLAN_FORMAT!r}")
            cols = ChainColumns(z["ids"].tolist(), h["node_names"], z["nodes"], z["cuts"],
                                z["priority"], z["release"])
        return cls.from_columns(h["planner"], cols, h.get("params", {}),
                                float(h.get("plan_time_s", 0.0)), h.get("info", {}))


def _jsonable(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    raise TypeError(f"cannot write {type(x).__name__} to JSON")
