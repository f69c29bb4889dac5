"""Executing a task's stage graph for real: the runtime's half of "one stage graph, two executors".

:func:`splitinfer.system.stages.build_stages` turns a task plan into a stage graph; the simulator
times it, and this module executes it. The runtime derives no route of its own.

:func:`compile_route` writes the graph as a *route* (plain JSON data): every stage with its kind,
node (compute) or ``src``/``dst`` (transfer, return, delay), the model ``layers`` it runs (a cut
range, a general DAG cut's head or tail), the tensors it produces or carries
(:func:`~splitinfer.system.stages.stage_values`: layer outputs, ``-1`` the input), its reserved
``rate``, the ``factor`` (share of a divisible node) and ``pace`` (the emulated speed of a paced
node, in seconds), and its ``deps``. A plan whose graph cannot run for real raises
:class:`~splitinfer.errors.InfeasiblePlanError` here, before anything runs.

:class:`Execution` runs the stages *located* at one node (a compute stage at its node, a transfer
at its sender) as soon as their dependencies are done, each in its own thread:

* **compute** — waits for a slot of its resource (the node's compute slots, or the FIFO lane of
  a share group ``node#group``) in the service order of the simulator (priority, ready time,
  arrival, generation index), runs its layers, and holds the slot until
  ``start + max(elapsed / factor, pace)``: a share ``delta`` of a node is emulated by computing
  at full speed and then holding the result for the rest of the paced time, and a paced device
  (slower than this machine) holds it for its own compute time;
* **transfer to a worker** — streams the carried tensors to the receiver's ``Deliver`` over the
  sender's shaped link (its own token bucket at the reserved rate, FIFO links held for the whole
  transfer), in the stage's wire ``dtype`` (float16, bfloat16 or int8 when the plan or the link
  says so: :func:`~splitinfer.runtime.wire.encode_tensor`; the receiver restores float32 with
  :func:`~splitinfer.runtime.wire.tensor_float32`); the receiver stamps the arrival of the last
  byte. A transfer that depends on an earlier transfer over the same link is queued behind it
  on that link (a FIFO link's order, Li et al. 2022 section II-B): it packs its frame while it
  waits and goes when the earlier one hands the link over (its last byte has left, token
  bucket; its receipt is here, kernel shaping), as the simulator starts it at the earlier
  one's end, not when that one's receipt has come back. Only a task's first frame to a
  receiver carries the route;
* **transfer or delay to the device** (the result's return) — a worker holds the link for as
  long as the bytes take at the link's (or reserved) rate, or waits the scenario's constant
  delay, and hands the tensors back in the answer of the device's ``Run`` call.

**Fused-layer tiles** (Li et al. 2022): a compute stage with a ``tile`` computes only that
spatial tile of its piece (:meth:`~splitinfer.runtime.pieces.ModelPieces.run_tile`), from the
receptive field of the tile in its input (halo rows and columns included, the model's zero
padding only at the image border), cut from the whole tensor where the node holds it; a
transfer with a tile sends that crop; a stage that reads a whole tensor gets the tiles at its
node stitched (:func:`stitch`). A tile value travels as ``[value, row0, row1, col0, col1]``.

Each stage takes its place in its resource's queue when it becomes ready, in the thread that
made it ready (the first stages of a task when the device admits it): so the order in which
waiting stages are served is the plan's, not the order in which threads happen to wake up.

A stage may depend only on stages at its own node or on transfers into its node (the data
carries the dependency); :func:`compile_route` refuses other graphs.

Examples
--------
>>> from splitinfer.system.load import load_scenario
>>> from splitinfer.system.plan import TaskPlan
>>> sc = load_scenario("demo")
>>> t = sc.tasks[0]
>>> r = compile_route(sc, t, TaskPlan(t.id, (t.device, "edge-wifi", "cloud"), (3, 9)))
>>> [(s["name"], s["node"] or f"{s['src']}->{s['dst']}", s["gives"]) for s in r["stages"]][:3]
[('compute', 'phone', [2]), ('uplink', 'phone->edge-wifi', [2]), ('compute', 'edge-wifi', [25])]
>>> route_nodes(r), r["calls"]
(['cloud', 'edge-wifi', 'phone'], {'phone': ['cloud', 'edge-wifi']})
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np

from splitinfer.errors import InfeasiblePlanError, SplitInferError
from splitinfer.runtime.launch import background_compute
from splitinfer.runtime.messages import check_float, check_int, check_str
from splitinfer.runtime.shaping import _sleep_until
from splitinfer.runtime.wire import KIND_REQUEST, WireError, encode_frame, encode_tensor
from splitinfer.system.entities import Task
from splitinfer.system.plan import TaskPlan
from splitinfer.system.scenario import Scenario
from splitinfer.system.stages import build_stages, stage_location, stage_values
from splitinfer.system.tiles import key_order
from splitinfer.transfer import WIRE_DTYPES

__all__ = ["compile_route", "check_route", "route_nodes", "located", "pack_values",
           "unpack_values", "stitch", "Execution", "MAX_ROUTE_STAGES", "RouteFailed"]

log = logging.getLogger(__name__)

MAX_ROUTE_STAGES = 128
_KINDS = ("compute", "transfer", "delay")


class RouteFailed(SplitInferError, RuntimeError):
    """A stage of a route could not run (a peer failed, a deadline passed, bad data)."""


def compile_route(sc: Scenario, task: Task, tp: TaskPlan, paced: tuple[str, ...] = (),
                  pace_sc: Scenario | None = None) -> dict[str, Any]:
    """The route of ``task`` under ``tp`` (module docstring).

    Parameters
    ----------
    paced : tuple of str
        Nodes that run paced: their compute stages carry ``pace`` = the stage's duration in
        ``pace_sc`` (default ``sc``).
    pace_sc : Scenario, optional
        The scenario whose stage durations are the paces (``run``: the calibrated scenario, so
        a held stage lasts exactly its predicted time when it computes faster).

    Raises
    ------
    InfeasiblePlanError
        The plan cannot run for real (see :func:`splitinfer.system.stages.stage_values`), or a
        stage depends on a stage at another node that sends it nothing.
    """
    for i, step in enumerate(tp.steps or ()):  # before timing: the runtime may not time FLOPs
        if step.kind == "compute" and step.segment is None and step.layers is None:
            raise InfeasiblePlanError(
                f"task {task.id}: compute stage {i} ({step.label or step.node!r} on "
                f"{step.node!r}) gives only a FLOP count, not the layers it runs, so it cannot "
                "run for real")
    stages = build_stages(sc, task, tp)
    if len(stages) > MAX_ROUTE_STAGES:
        raise InfeasiblePlanError(f"task {task.id}: {len(stages)} stages; the runtime executes "
                                  f"at most {MAX_ROUTE_STAGES}")
    gives = stage_values(sc, task, stages)
    paces = [float(s.duration) for s in stages]
    if pace_sc is not None and paced:
        held = build_stages(pace_sc, task, tp)
        if len(held) != len(stages):
            raise InfeasiblePlanError(f"task {task.id}: the pace scenario gives {len(held)} "
                                      f"stages, the run's {len(stages)}")
        paces = [float(s.duration) for s in held]
    out = []
    for i, s in enumerate(stages):
        here = stage_location(s)
        for d in s.deps:
            sd = stages[d]
            if stage_location(sd) != here and not (sd.kind != "compute" and sd.dst == here):
                raise InfeasiblePlanError(
                    f"task {task.id}: stage {i} ({s.name!r} at {here!r}) waits for stage {d} "
                    f"({sd.name!r} at {stage_location(sd)!r}), which sends nothing to {here!r}")
        out.append({"name": s.name[:32], "kind": s.kind, "resource": s.resource, "node": s.node,
                    "src": s.src, "dst": s.dst, "rate": s.rate, "dtype": s.dtype,
                    "layers": list(s.layers) if s.layers is not None else None,
                    "tile": list(s.tile) if s.tile is not None else None,
                    "gives": list(gives[i]), "deps": list(s.deps), "factor": float(s.factor),
                    "duration": float(s.duration),
                    "pace": paces[i] if s.kind == "compute" and s.node in paced
                    else 0.0})
    route = {"key": f"{task.id}~{uuid.uuid4().hex[:12]}", "task": task.id, "device": task.device,
             "model": task.model, "samples": task.samples, "priority": float(tp.priority),
             "arrival": float(task.arrival), "index": task.index, "stages": out}
    route["calls"] = _call_tree(sc, route)
    return route


def _call_tree(sc: Scenario, route: dict[str, Any]) -> dict[str, list[str]]:
    """Who asks whom to ``Run``: a breadth-first tree over the scenario's links from the device
    to every other node with stages (a node calls only nodes it has a link to, the peers it
    knows)."""
    device = route["device"]
    want = {n for n in route_nodes(route) if n != device and located(route, n)}
    calls: dict[str, list[str]] = {}
    reached, frontier = {device}, [device]
    while frontier and want - reached:
        nxt = []
        for u in frontier:
            for w in sorted(want - reached):
                if sc.has_link(u, w):
                    calls.setdefault(u, []).append(w)
                    reached.add(w)
                    nxt.append(w)
        frontier = nxt
    missing = sorted(want - reached)
    if missing:
        raise InfeasiblePlanError(f"task {route['task']}: no path of links from device "
                                  f"{device!r} to {missing}, so their stages cannot be started")
    return calls


def route_nodes(route: dict[str, Any]) -> list[str]:
    """Every node a route uses (compute nodes, senders and receivers), sorted."""
    nodes = set()
    for s in route["stages"]:
        nodes |= {n for n in (s["node"], s["src"], s["dst"]) if n is not None}
    return sorted(nodes)


def located(route: dict[str, Any], node: str) -> list[int]:
    """Indices of the stages executed at ``node`` (compute there, or sent from there)."""
    return [i for i, s in enumerate(route["stages"])
            if (s["node"] if s["kind"] == "compute" else s["src"]) == node]


def _int_list(v: Any, field: str, lo: int, hi: int, max_len: int) -> list[int]:
    if not isinstance(v, list) or len(v) > max_len:
        raise WireError(f"field {field!r}: expected a list of at most {max_len} integers")
    return [check_int({"v": x}, "v", lo, hi) for x in v]


def _tile(v: Any, what: str) -> tuple[int, ...]:
    """Five bounded integers: a tile ``(cut or value, row0, row1, col0, col1)``."""
    if not isinstance(v, list | tuple) or len(v) != 5:
        raise WireError(f"{what}: expected [cut, row0, row1, col0, col1]")
    t = tuple(check_int({"v": x}, "v", -1, 1 << 20) for x in v)
    if not (0 <= t[1] < t[2] and 0 <= t[3] < t[4]):
        raise WireError(f"{what}: empty or negative rows or columns")
    return t


def _value_key(v: Any, num_layers: int, what: str) -> Any:
    """A value key from the wire: a layer output (``-1`` the input) or a tile of one."""
    if isinstance(v, list | tuple):
        key = _tile(v, what)
        if not -1 <= key[0] < num_layers:
            raise WireError(f"{what}: value {key[0]} out of range")
        return key
    return check_int({"v": v}, "v", -1, num_layers - 1)


def _value_list(v: Any, field: str, num_layers: int, max_len: int) -> list[Any]:
    if not isinstance(v, list) or len(v) > max_len:
        raise WireError(f"field {field!r}: expected a list of at most {max_len} values")
    return [_value_key(x, num_layers, f"field {field!r}") for x in v]


def check_route(meta: Any, num_layers: int) -> dict[str, Any]:
    """Validate a route received from the network (every field bounded and typed).

    Raises
    ------
    WireError
        A malformed route.
    """
    if not isinstance(meta, dict):
        raise WireError("field 'route': expected an object")
    r: dict[str, Any] = {k: check_str(meta, k) for k in ("key", "task", "device", "model")}
    r["samples"] = check_int(meta, "samples", 1, 64)
    r["priority"] = check_float(meta, "priority")
    r["arrival"] = check_float(meta, "arrival")
    r["index"] = check_int(meta, "index", 0, 2**62)
    stages = meta.get("stages")
    if not isinstance(stages, list) or not 1 <= len(stages) <= MAX_ROUTE_STAGES:
        raise WireError(f"field 'stages': expected a list of 1..{MAX_ROUTE_STAGES} stages")
    clean = []
    for i, s in enumerate(stages):
        if not isinstance(s, dict):
            raise WireError(f"stage {i}: expected an object")
        c = {"name": check_str(s, "name", 32), "kind": check_str(s, "kind", 16),
             "resource": check_str(s, "resource", 300, optional=True),
             "node": check_str(s, "node", optional=True), "src": check_str(s, "src", optional=True),
             "dst": check_str(s, "dst", optional=True),
             "rate": check_float(s, "rate", optional=True, lo=1.0),
             "deps": _int_list(s.get("deps"), "deps", 0, max(i - 1, 0), MAX_ROUTE_STAGES),
             "gives": _value_list(s.get("gives"), "gives", num_layers,
                                  num_layers + MAX_ROUTE_STAGES),
             "factor": check_float(s, "factor", lo=1e-6),
             "duration": check_float(s, "duration", lo=0.0),
             "pace": check_float(s, "pace", lo=0.0),
             "dtype": check_str(s, "dtype", 16, optional=True) or "float32"}
        if c["kind"] not in _KINDS:
            raise WireError(f"stage {i}: kind must be one of {_KINDS}, got {c['kind']!r}")
        if any(d >= i for d in c["deps"]):
            raise WireError(f"stage {i}: depends on a later stage")
        if c["dtype"] not in WIRE_DTYPES:
            raise WireError(f"stage {i}: dtype must be one of {WIRE_DTYPES}")
        if c["factor"] > 1 or c["pace"] > 3600 or c["duration"] > 3600:
            raise WireError(f"stage {i}: factor, pace or duration out of range")
        tile = s.get("tile")
        c["tile"] = None if tile is None else _tile(tile, f"stage {i}: field 'tile'")
        if c["kind"] == "compute":
            if c["node"] is None or s.get("layers") is None:
                raise WireError(f"stage {i}: a compute stage needs node and layers")
            c["layers"] = _int_list(s["layers"], "layers", 0, num_layers - 1, num_layers)
        else:
            if c["src"] is None or c["dst"] is None:
                raise WireError(f"stage {i}: a {c['kind']} stage needs src and dst")
            c["layers"] = None
        clean.append(c)
    r["stages"] = clean
    calls = meta.get("calls", {})
    if not isinstance(calls, dict) or len(calls) > MAX_ROUTE_STAGES:
        raise WireError("field 'calls': expected an object node -> [nodes]")
    r["calls"] = {}
    for node, kids in calls.items():
        check_str({"n": node}, "n")
        if not isinstance(kids, list) or len(kids) > MAX_ROUTE_STAGES:
            raise WireError("field 'calls': expected lists of nodes")
        r["calls"][node] = [check_str({"n": k}, "n") for k in kids]
    return r


def pack_values(env: dict[int, Any], values: list[int], dtype: np.dtype
                ) -> tuple[list[list[Any]], np.ndarray]:
    """Several tensors as one flat array and their ``[value, shape]`` list (one wire frame).

    Examples
    --------
    >>> import torch
    >>> meta, flat = pack_values({3: torch.ones(1, 2), -1: torch.zeros(1, 3)}, [-1, 3],
    ...                          np.dtype("float32"))
    >>> meta, flat.shape
    ([[-1, [1, 3]], [3, [1, 2]]], (5,))
    """
    meta, parts = [], []
    for v in values:
        if isinstance(v, tuple) and v not in env and v[0] in env:  # a crop of a whole tensor
            whole = env[v[0]]
            _, r0, r1, c0, c1 = v
            if whole.dim() != 4 or r1 > whole.shape[2] or c1 > whole.shape[3]:
                raise RouteFailed(f"tile {list(v)} is outside value {v[0]} of shape "
                                  f"{list(whole.shape)}")
            t = whole[:, :, r0:r1, c0:c1]
        elif v in env:
            t = env[v]
        else:
            raise RouteFailed(f"value {v} is not here to send")
        a = t.detach().cpu().contiguous().numpy()
        if a.dtype != dtype:
            raise RouteFailed(f"value {v} is {a.dtype}, expected {dtype}")
        meta.append([list(v) if isinstance(v, tuple) else int(v), [int(d) for d in a.shape]])
        parts.append(a.reshape(-1))
    flat = np.concatenate(parts) if parts else np.zeros(0, dtype)
    return meta, flat


def unpack_values(meta: Any, flat: np.ndarray, expected: list[Any],
                  shape_of: Callable[[Any], tuple[int, ...]]) -> dict[Any, Any]:
    """Inverse of :func:`pack_values`, checking that exactly ``expected`` values arrived, each
    with the shape ``shape_of(value)``.

    Raises
    ------
    WireError
        Other values, shapes or sizes than expected.
    """
    import torch

    if not isinstance(meta, list) or len(meta) != len(expected):
        raise WireError(f"expected values {expected}")
    out, at = {}, 0
    for item in meta:
        if not isinstance(item, list) or len(item) != 2:
            raise WireError("field 'values': expected [value, shape] pairs")
        v = _value_key(item[0], 2**31, "field 'values'")
        if v not in expected or v in out:
            raise WireError(f"value {v} was not expected here")
        try:
            want = shape_of(v)
        except InfeasiblePlanError as exc:  # a tile outside its value (a hostile route)
            raise WireError(f"value {v}: {exc}") from None
        if not isinstance(item[1], list) or tuple(item[1]) != want:
            raise WireError(f"value {v}: shape {item[1]}, expected {list(want)}")
        n = int(np.prod(want))
        if at + n > flat.size:
            raise WireError("payload shorter than the declared values")
        out[v] = torch.from_numpy(flat[at:at + n].reshape(want).copy())
        at += n
    if at != flat.size:
        raise WireError("payload longer than the declared values")
    return out


def stitch(env: dict[Any, Any], value: int, shape: tuple[int, ...]) -> Any:
    """The whole tensor ``value`` (of ``shape``, ``(N, C, H, W)``) from its tiles in ``env``.

    Raises
    ------
    RouteFailed
        No tile of it is here, a tile does not fit, or the tiles leave part of it uncovered.

    Examples
    --------
    >>> import torch
    >>> x = torch.arange(16.0).reshape(1, 1, 4, 4)
    >>> env = {(5, 0, 4, 0, 3): x[:, :, :, :3], (5, 0, 4, 2, 4): x[:, :, :, 2:]}
    >>> torch.equal(stitch(env, 5, (1, 1, 4, 4)), x)
    True
    """
    import torch

    tiles = [k for k in env if isinstance(k, tuple) and k[0] == value]
    if not tiles:
        raise RouteFailed(f"value {value} is not here")
    out = torch.empty(shape, dtype=env[tiles[0]].dtype)
    seen = np.zeros(shape[2:], dtype=bool)
    for key in tiles:
        _, r0, r1, c0, c1 = key
        t = env[key]
        if r1 > shape[2] or c1 > shape[3] or tuple(t.shape) != (*shape[:2], r1 - r0, c1 - c0):
            raise RouteFailed(f"tile {list(key)} of shape {list(t.shape)} does not fit value "
                              f"{value} of shape {list(shape)}")
        out[:, :, r0:r1, c0:c1] = t
        seen[r0:r1, c0:c1] = True
    if not seen.all():
        raise RouteFailed(f"the tiles of value {value} here cover {int(seen.sum())} of its "
                          f"{seen.size} positions")
    return out


class Execution:
    """One task's route at one node (module docstring).

    Parameters
    ----------
    route : dict
        A route from :func:`compile_route` (checked by :func:`check_route` when it came from
        the network).
    node : str
        This node.
    host : object
        The process: ``pieces`` (model -> ModelPieces), ``resource(name)`` (a
        PriorityResource), ``shaper(dst)`` (a LinkShaper or ``None``), ``client(dst)`` (a
        WorkerClient), ``chunk_bytes``.
    deadline : float
        Monotonic time by which every stage here must be done.
    start : float
        Monotonic ready time of stages without dependencies (the task's arrival or release).
    tickets : dict, optional
        Stage index -> a place already taken in its resource's queue (the device registers the
        first stages of tasks in their order of admission).
    """

    def __init__(self, route: dict[str, Any], node: str, host: Any, deadline: float,
                 start: float | None = None, tickets: dict[int, Any] | None = None) -> None:
        self.route, self.node, self.host, self.deadline = route, node, host, deadline
        self.start = time.monotonic() if start is None else start
        self.tickets = dict(tickets or {})
        self.stages = route["stages"]
        self.mp = host.pieces[route["model"]]
        self.env: dict[int, Any] = {}
        self.done = [threading.Event() for _ in self.stages]
        self.end: dict[int, float] = {}
        self.records: dict[int, dict[str, Any]] = {}
        self.returned: dict[int, list[int]] = {}
        self.failed = threading.Event()
        self.error: str | None = None
        self.collected: dict[int, dict[str, Any]] = {}
        self.freed: dict[int, float] = {}
        self.link_free = [threading.Event() for _ in self.stages]
        # set when stage k is done / has handed its link over, or when the execution fails:
        # waiting threads sleep on these until then, instead of polling (each poll took the GIL
        # from the piece being computed, 20 times a second per waiting stage)
        self._wake_done = [threading.Event() for _ in self.stages]
        self._wake_free = [threading.Event() for _ in self.stages]
        self._route_sent: set[str] = set()
        self._lock = threading.Lock()

    @property
    def order(self) -> tuple[float, int]:
        """The tie-break of the service order after priority and ready time."""
        return (self.route["arrival"], self.route["index"])

    def fail(self, reason: str) -> None:
        """Stop every stage of this execution with ``reason``."""
        with self._lock:
            if self.error is None:
                self.error = reason
        self.failed.set()
        for ev in (*self._wake_done, *self._wake_free):
            ev.set()

    def deliver(self, k: int, values: dict[int, Any], when: float) -> None:
        """Values carried by stage ``k`` arrived here at ``when``."""
        with self._lock:
            self.env.update(values)
            self.end[k] = when
        self._pre_register(k, when)
        self._set_done(k)

    def _set_done(self, k: int) -> None:
        self.done[k].set()
        self._wake_done[k].set()

    def _pre_register(self, k: int, when: float) -> None:
        """Take the queue places of the stages here that stage ``k`` (done at ``when``) makes
        ready, in the thread that finished it: a stage made ready first is queued first, however
        late its own thread wakes up."""
        for j in located(self.route, self.node):
            s = self.stages[j]
            if k not in s["deps"] or j in self.tickets or self.done[j].is_set():
                continue
            if not all(d == k or self.done[d].is_set() for d in s["deps"]):
                continue
            with self._lock:
                if j in self.tickets:
                    continue
                if s["kind"] == "compute":
                    owner = self.host.resource(s["resource"] or self.node)
                elif s["kind"] == "transfer":
                    owner = self.host.shaper(s["dst"])
                else:
                    owner = None
                if owner is not None:
                    self.tickets[j] = owner.register(self.route["priority"], when, self.order)

    def _wait(self, deps: list[int]) -> float:
        if not deps:  # a first stage: from the task's arrival or release on
            _sleep_until(self.start)
            return self.start
        for d in deps:
            self._await(self.done[d], self._wake_done[d], d, "not done")
        return max((self.end[d] for d in deps), default=self.start)

    def _await(self, event: threading.Event, wake: threading.Event, d: int, what: str) -> None:
        """Sleep until ``event`` is set; raise when the execution failed or its deadline
        passed first (``wake`` is set with ``event`` and on failure)."""
        while not event.is_set():
            if self.failed.is_set():
                raise RouteFailed(self.error or "failed")
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise RouteFailed(f"DEADLINE_EXCEEDED: stage {d} ({self.stages[d]['name']}) "
                                  f"{what} by the task's deadline (at {self.node})")
            wake.wait(left)
        if self.failed.is_set():
            raise RouteFailed(self.error or "failed")

    def _wait_freed(self, deps: list[int]) -> float:
        """Wait until the transfers ``deps`` (on the link of the stage that waits) have handed
        the link over; returns when the last of them did."""
        for d in deps:
            self._await(self.link_free[d], self._wake_free[d], d, "did not hand its link over")
        return max(self.freed[d] for d in deps)

    def _link_freed(self, k: int) -> None:
        """Transfer ``k`` handed its link over (now): the transfers queued behind it may go."""
        with self._lock:
            self.freed.setdefault(k, time.monotonic())
        self.link_free[k].set()
        self._wake_free[k].set()

    def _on_link(self, d: int, s: dict[str, Any]) -> bool:
        """Is stage ``d`` a transfer over the same link as transfer ``s``?"""
        t = self.stages[d]
        return (t["kind"] == "transfer" and s["kind"] == "transfer"
                and t["src"] == s["src"] and t["dst"] == s["dst"])

    def _left(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise RouteFailed(f"DEADLINE_EXCEEDED: the task's deadline passed (at {self.node})")
        return left

    def _record(self, k: int, ready: float, start: float, end: float | None, node: str | None
                ) -> None:
        s = self.stages[k]
        self.records[k] = {"name": s["name"], "kind": s["kind"], "resource": s["resource"],
                           "node": node, "ready": ready, "start": start, "end": end}

    def _compute(self, k: int, s: dict[str, Any]) -> None:
        ready = self._wait(s["deps"])
        res = self.host.resource(s["resource"] or self.node)
        left = self._left()
        ticket = self.tickets.pop(k, None)
        with res.hold(self.route["priority"], ready, self.order, ticket, left) as start:
            with background_compute():  # the run's transfers and answers come first
                if s.get("tile") is not None:  # a fused-layer tile of the piece
                    values = self.mp.run_tile(tuple(s["layers"]), tuple(s["tile"]), self.env)
                else:
                    self._stitch_inputs(s["layers"])
                    values = self.mp.run_layers(tuple(s["layers"]), self.env)
            elapsed = time.monotonic() - start
            _sleep_until(start + max(elapsed / s["factor"], s["pace"]))
            end = time.monotonic()
            missing = set(s["gives"]) - set(values)
            if missing:
                raise RouteFailed(f"stage {k} did not produce values {sorted(missing)}")
            with self._lock:
                self.env.update({v: values[v] for v in s["gives"]})
                self.end[k] = end
            self._pre_register(k, end)  # before the slot passes on (class docstring)
        self._record(k, ready, start, end, self.node)

    def _stitch_inputs(self, layers: list[int]) -> None:
        """Whole tensors that ``layers`` read and that are here only as tiles, stitched."""
        _, ins, _ = self.mp.layer_piece(tuple(layers))
        with self._lock:
            for u in ins:
                if u not in self.env:
                    self.env[u] = stitch(self.env, u,
                                         self.mp.value_shape(u, self.route["samples"]))

    def _send(self, k: int, s: dict[str, Any]) -> None:
        # A dependency on an earlier transfer over the same link orders the two on the link
        # (a FIFO link's queue, Li et al. 2022 section II-B): it is met when that transfer
        # hands the link over, not when its receiver's receipt is back here, and this frame is
        # packed while it waits (module docstring, "transfer to a worker").
        queued = [d for d in s["deps"] if self._on_link(d, s)]
        data = [d for d in s["deps"] if d not in queued]
        ready = self._wait(data) if data or not queued else self.start
        with self._lock:
            values, flat = pack_values(self.env, s["gives"], self.mp.dtype)
        tensor = None
        if s["dst"] != self.route["device"]:
            tensor = encode_tensor(flat, s.get("dtype", "float32"))  # smaller on the wire
        if queued:
            ready = max(ready, self._wait_freed(queued))
        shaper = self.host.shaper(s["dst"])
        if shaper is not None and shaper.trace is not None and "epoch" in self.route:
            shaper.set_epoch(self.route["epoch"])  # a bandwidth trace's time 0: the run's epoch
        ticket = self.tickets.pop(k, None)
        if ticket is None and shaper is not None and s["kind"] == "transfer":
            # take the place in the link's queue now, in this thread, not when the transport
            # gets round to asking for the first chunk
            ticket = shaper.register(self.route["priority"], ready, self.order)
        try:
            self._transfer(k, s, ready, values, flat, shaper, ticket, tensor)
        except BaseException:
            if ticket is not None and not ticket.active and shaper is not None:
                shaper.cancel(ticket)  # never waited on: give the place up
            raise

    def _frame(self, k: int, s: dict[str, Any], values: list, tensor: tuple[Any, dict]
               ) -> bytes:
        """The frame of transfer ``k``: its tensors (``encode_tensor``'s wire array and
        metadata) and, in this task's first frame to the receiver, the route (a receiver that
        has it need not decode and check it again with every tile; one that gets a later frame
        first keeps it until the route comes, :mod:`splitinfer.runtime.worker`)."""
        meta = {"key": self.route["key"], "stage": k, "values": values}
        with self._lock:
            if s["dst"] not in self._route_sent:
                meta["route"] = self.route
                self._route_sent.add(s["dst"])
        wire, extra = tensor
        return encode_frame({**meta, **extra}, wire, KIND_REQUEST)

    def _transfer(self, k: int, s: dict[str, Any], ready: float, values: list, flat: Any,
                  shaper: Any, ticket: Any, tensor: tuple[Any, dict] | None = None) -> None:
        if s["dst"] == self.route["device"]:  # the result's return: handed back in Run's answer
            if s["kind"] == "delay":
                if ticket is not None and shaper is not None:
                    shaper.cancel(ticket)
                _sleep_until(ready + s["duration"])
                self._record(k, ready, ready, None, None)
            else:
                if shaper is None:
                    raise RouteFailed(f"no link from {self.node!r} to {s['dst']!r}")
                left = self._left()
                with shaper.transfer(self.route["priority"], ready, self.order, ticket,
                                     left) as granted:
                    shaper.delay(flat.nbytes, s["rate"])
                self._record(k, ready, granted, None, None)
            self.returned[k] = list(s["gives"])
            self.end[k] = time.monotonic()
            return
        client = self.host.client(s["dst"])
        if client is None:
            raise RouteFailed(f"no address for {s['dst']!r} at {self.node!r}")
        if tensor is None:
            tensor = encode_tensor(flat, s.get("dtype", "float32"))
        frame = self._frame(k, s, values, tensor)
        receipt, sent = client.deliver(frame, shaper, self._left(), self.route["priority"], ready,
                                       s["rate"], self.order, ticket,
                                       released=lambda: self._link_freed(k))
        received = float(receipt.get("received", time.monotonic()))
        end = min(max(received, sent.start), time.monotonic())
        self.end[k] = end
        self._record(k, ready, sent.start, end, None)

    def _run_stage(self, k: int) -> None:
        s = self.stages[k]
        try:
            if s["kind"] == "compute":
                self._compute(k, s)
            else:
                self._send(k, s)
                self._link_freed(k)  # (a transfer to a worker did at its hand-over already)
            self._set_done(k)
        except BaseException as exc:  # reported to the caller through fail()
            self.fail(_describe(exc, s, self.node))

    def run(self, also: list[Callable[[], None]] = (),
            started: Callable[[], None] | None = None) -> None:
        """Run the stages located here, ask the workers this node calls (``route["calls"]``)
        to run theirs, and run the callables ``also``, until all are done; ``started`` is
        called once every thread of this execution has started.

        Raises
        ------
        RouteFailed
            A stage failed or the deadline passed (the first reason).
        """
        mine = located(self.route, self.node)
        threads = [threading.Thread(target=self._run_stage, args=(k,), daemon=True,
                                    name=f"stage-{self.route['task']}-{k}") for k in mine]
        calls = [self.call(n) for n in self.route.get("calls", {}).get(self.node, [])]
        threads += [threading.Thread(target=self._guard(fn), daemon=True)
                    for fn in [*calls, *also]]
        for th in threads:
            th.start()
        if started is not None:
            started()
        for th in threads:  # one bound for all: the deadline (stages check it), plus a second
            th.join(max(0.0, self.deadline + 1.0 - time.monotonic()))
        self.abandon()  # places never used (a failure came first)
        if self.error is not None:
            raise RouteFailed(self.error)
        if any(th.is_alive() for th in threads):
            self.fail(f"DEADLINE_EXCEEDED: the task's deadline passed (at {self.node})")
            raise RouteFailed(self.error)

    def call(self, node: str) -> Callable[[], None]:
        """A callable that asks worker ``node`` to ``Run`` this route and takes its answer: the
        records of the stages it (and the workers it called) ran, and the tensors for the
        device — delivered here at the device, passed on in this node's own answer elsewhere."""
        from splitinfer.runtime.messages import check_stages
        from splitinfer.runtime.wire import KIND_REQUEST, encode_frame

        def go() -> None:
            client = self.host.client(node)
            if client is None:
                raise RouteFailed(f"no address for {node!r} at {self.node!r}")
            resp = client.run(encode_frame({"route": self.route}, kind=KIND_REQUEST),
                              self._left())
            got = time.monotonic()
            meta = resp.meta if isinstance(resp.meta, dict) else {}
            pairs = meta.get("records")
            returned = meta.get("returned")
            if (not isinstance(pairs, list) or not isinstance(returned, list)
                    or len(pairs) > MAX_ROUTE_STAGES or len(returned) > MAX_ROUTE_STAGES
                    or not all(isinstance(p, list) and len(p) == 2 for p in pairs + returned)):
                raise WireError(f"worker {node!r} sent a malformed answer")
            ks = [check_int({"k": p[0]}, "k", 0, len(self.stages) - 1) for p in pairs]
            records = check_stages([p[1] for p in pairs])
            back = [(check_int({"k": p[0]}, "k", 0, len(self.stages) - 1),
                     _value_list(p[1], "returned", self.mp.num_layers, 4096))
                    for p in returned]
            want = sorted({v for _, vals in back for v in vals}, key=key_order)
            samples = self.route["samples"]
            values = unpack_values(meta.get("values", []), resp.array().reshape(-1), want,
                                   lambda v: self.mp.value_shape(v, samples))
            at_device = self.node == self.route["device"]
            with self._lock:
                for k, rec in zip(ks, records, strict=True):
                    self.collected[k] = ({**rec, "end": got} if at_device and rec["end"] is None
                                         else rec)
            for k, vals in back:
                if at_device:
                    self.deliver(k, {v: values[v] for v in vals}, got)
                else:
                    with self._lock:
                        self.env.update({v: values[v] for v in vals})
                        self.returned[k] = vals

        return go

    def answer(self) -> dict[str, Any]:
        """This node's answer to ``Run``: its records and its callees', and the tensors for the
        device (``values`` metadata; the flat payload comes from :meth:`answer_payload`)."""
        recs = {**self.collected, **self.records}
        return {"task": self.route["task"], "records": [[k, recs[k]] for k in sorted(recs)],
                "returned": [[k, v] for k, v in sorted(self.returned.items())]}

    def abandon(self) -> None:
        """Give back every queue place taken and not used (an execution that will not run)."""
        for k, ticket in list(self.tickets.items()):
            owner = self._ticket_owner(k)
            if owner is not None and not ticket.active:
                owner.cancel(ticket)
        self.tickets.clear()

    def _ticket_owner(self, k: int) -> Any:
        s = self.stages[k]
        if s["kind"] == "compute":
            return self.host.resource(s["resource"] or self.node)
        return self.host.shaper(s["dst"])

    def _guard(self, fn: Callable[[], None]) -> Callable[[], None]:
        def go() -> None:
            try:
                fn()
            except BaseException as exc:
                self.fail(_describe(exc, None, self.node))
        return go


def _describe(exc: BaseException, stage: dict[str, Any] | None, node: str) -> str:
    import grpc

    where = f"{stage['name']} at {node}" if stage is not None else node
    if isinstance(exc, grpc.RpcError):
        return f"{where}: {exc.code().name}: {exc.details()}"
    if isinstance(exc, RouteFailed):
        return str(exc)
    return f"{where}: {type(exc).__name__}: {exc}"
