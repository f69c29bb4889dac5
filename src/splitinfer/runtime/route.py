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
  transfer); the receiver stamps the arrival of the last byte;
* **transfer or delay to the device** (the result's return) — a worker holds the link for as
  long as the bytes take at the link's (or reserved) rate, or waits the scenario's constant
  delay, and hands the tensors back in the answer of the device's ``Run`` call.

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
[('compute', 'phone', [3]), ('uplink', 'phone->edge-wifi', [3]), ('compute', 'edge-wifi', [19])]
>>> route_nodes(r)
['cloud', 'edge-wifi', 'phone']
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np

from splitinfer.errors import InfeasiblePlanError
from splitinfer.runtime.messages import check_float, check_int, check_str
from splitinfer.runtime.shaping import _sleep_until
from splitinfer.runtime.wire import WireError
from splitinfer.system.entities import Task
from splitinfer.system.plan import TaskPlan
from splitinfer.system.scenario import Scenario
from splitinfer.system.stages import build_stages, stage_location, stage_values

__all__ = ["compile_route", "check_route", "route_nodes", "located", "pack_values",
           "unpack_values", "Execution", "MAX_ROUTE_STAGES", "RouteFailed"]

log = logging.getLogger(__name__)

MAX_ROUTE_STAGES = 128
_KINDS = ("compute", "transfer", "delay")


class RouteFailed(RuntimeError):
    """A stage of a route could not run (a peer failed, a deadline passed, bad data)."""


def compile_route(sc: Scenario, task: Task, tp: TaskPlan, paced: tuple[str, ...] = ()
                  ) -> dict[str, Any]:
    """The route of ``task`` under ``tp`` (module docstring).

    Parameters
    ----------
    paced : tuple of str
        Nodes that run paced to their scenario speed: their compute stages carry
        ``pace`` = the stage's duration in ``sc``.

    Raises
    ------
    InfeasiblePlanError
        The plan cannot run for real (see :func:`splitinfer.system.stages.stage_values`), or a
        stage depends on a stage at another node that sends it nothing.
    """
    stages = build_stages(sc, task, tp)
    if len(stages) > MAX_ROUTE_STAGES:
        raise InfeasiblePlanError(f"task {task.id}: {len(stages)} stages; the runtime executes "
                                  f"at most {MAX_ROUTE_STAGES}")
    gives = stage_values(sc, task, stages)
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
                    "src": s.src, "dst": s.dst, "rate": s.rate,
                    "layers": list(s.layers) if s.layers is not None else None,
                    "gives": list(gives[i]), "deps": list(s.deps), "factor": float(s.factor),
                    "duration": float(s.duration),
                    "pace": float(s.duration) if s.kind == "compute" and s.node in paced
                    else 0.0})
    return {"key": f"{task.id}~{uuid.uuid4().hex[:12]}", "task": task.id, "device": task.device,
            "model": task.model, "samples": task.samples, "priority": float(tp.priority),
            "arrival": float(task.arrival), "index": task.index, "stages": out}


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
             "gives": _int_list(s.get("gives"), "gives", -1, num_layers - 1, num_layers + 1),
             "factor": check_float(s, "factor", lo=1e-6),
             "duration": check_float(s, "duration", lo=0.0),
             "pace": check_float(s, "pace", lo=0.0)}
        if c["kind"] not in _KINDS:
            raise WireError(f"stage {i}: kind must be one of {_KINDS}, got {c['kind']!r}")
        if any(d >= i for d in c["deps"]):
            raise WireError(f"stage {i}: depends on a later stage")
        if c["factor"] > 1 or c["pace"] > 3600 or c["duration"] > 3600:
            raise WireError(f"stage {i}: factor, pace or duration out of range")
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
        if v not in env:
            raise RouteFailed(f"value {v} is not here to send")
        a = env[v].detach().cpu().contiguous().numpy()
        if a.dtype != dtype:
            raise RouteFailed(f"value {v} is {a.dtype}, expected {dtype}")
        meta.append([int(v), [int(d) for d in a.shape]])
        parts.append(a.reshape(-1))
    flat = np.concatenate(parts) if parts else np.zeros(0, dtype)
    return meta, flat


def unpack_values(meta: Any, flat: np.ndarray, expected: list[int],
                  shape_of: Callable[[int], tuple[int, ...]]) -> dict[int, Any]:
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
        v = check_int({"v": item[0]}, "v", -1, 2**31)
        if v not in expected or v in out:
            raise WireError(f"value {v} was not expected here")
        want = shape_of(v)
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

    def deliver(self, k: int, values: dict[int, Any], when: float) -> None:
        """Values carried by stage ``k`` arrived here at ``when``."""
        with self._lock:
            self.env.update(values)
            self.end[k] = when
        self.done[k].set()

    def _wait(self, deps: list[int]) -> float:
        if not deps:  # a first stage: from the task's arrival or release on
            _sleep_until(self.start)
            return self.start
        for d in deps:
            while not self.done[d].wait(0.05):
                if self.failed.is_set():
                    raise RouteFailed(self.error or "failed")
                if time.monotonic() > self.deadline:
                    raise RouteFailed(f"DEADLINE_EXCEEDED: stage {d} ({self.stages[d]['name']}) "
                                      f"not done by the task's deadline (at {self.node})")
        return max((self.end[d] for d in deps), default=self.start)

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
        self._record(k, ready, start, end, self.node)

    def _send(self, k: int, s: dict[str, Any]) -> None:
        ready = self._wait(s["deps"])
        with self._lock:
            values, flat = pack_values(self.env, s["gives"], self.mp.dtype)
        shaper = self.host.shaper(s["dst"])
        ticket = self.tickets.pop(k, None)
        try:
            self._transfer(k, s, ready, values, flat, shaper, ticket)
        except BaseException:
            if ticket is not None and not ticket.active and shaper is not None:
                shaper.cancel(ticket)  # never waited on: give the place up
            raise

    def _transfer(self, k: int, s: dict[str, Any], ready: float, values: list, flat: Any,
                  shaper: Any, ticket: Any) -> None:
        from splitinfer.runtime.wire import KIND_REQUEST, encode_frame

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
        meta = {"key": self.route["key"], "stage": k, "values": values}
        frame = encode_frame(meta, flat, KIND_REQUEST)
        receipt, sent = client.deliver(frame, shaper, self._left(), self.route["priority"], ready,
                                       s["rate"], self.order, ticket)
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
            self.done[k].set()
        except BaseException as exc:  # reported to the caller through fail()
            self.fail(_describe(exc, s, self.node))

    def run(self, also: list[Callable[[], None]] = ()) -> None:
        """Run the stages located here (and the callables ``also``) until all are done.

        Raises
        ------
        RouteFailed
            A stage failed or the deadline passed (the first reason).
        """
        mine = located(self.route, self.node)
        threads = [threading.Thread(target=self._run_stage, args=(k,), daemon=True,
                                    name=f"stage-{self.route['task']}-{k}") for k in mine]
        threads += [threading.Thread(target=self._guard(fn), daemon=True) for fn in also]
        for th in threads:
            th.start()
        for th in threads:
            th.join(max(0.0, self.deadline - time.monotonic()) + 1.0)
        for k, ticket in self.tickets.items():  # places never used (a failure came first)
            res = self._ticket_owner(k)
            if res is not None:
                res.cancel(ticket)
        self.tickets.clear()
        if self.error is not None:
            raise RouteFailed(self.error)
        if any(th.is_alive() for th in threads):
            self.fail(f"DEADLINE_EXCEEDED: the task's deadline passed (at {self.node})")
            raise RouteFailed(self.error)

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
