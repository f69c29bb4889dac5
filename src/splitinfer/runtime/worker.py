"""The worker service: an edge server or cloud that runs pieces of models for devices.

A worker loads the pieces of its models (:class:`~splitinfer.runtime.pieces.ModelPieces`) and
executes its part of every task's stage graph (:mod:`splitinfer.runtime.route`; the route is
made by :mod:`splitinfer.system.stages`, the worker derives none of its own):

* ``Run`` (unary): the device sends the task's route; the worker checks the token, then the
  route (every field typed and bounded, its model served, its compute stages on this node, its
  sends to a configured peer or to the task's device) and runs the stages located here as their
  inputs arrive: compute on its slots (``concurrency``, or the FIFO lane of a share group
  ``node#group`` of a divisible node) in the simulator's service order, transfers to peers over
  its shaped links, and the result's return (held on the link back to the device, or the
  scenario's constant delay). The answer carries the measured stage records (absolute
  ``time.monotonic()`` seconds, one clock for every process of a machine) and the tensors
  returned to the device.
* ``Deliver`` (client stream): the tensors of one transfer stage from the device or a peer,
  each checked against the route (values and shapes). A sender's first delivery of a task to
  this worker carries the route, so one that arrives before its ``Run``
  starts the task's execution here at once (the stages it makes ready take their places in
  their queues when the tensors arrive, not when the ``Run`` does); later ones leave it out (a
  10 kB route of 16 fused-layer tiles cost about 2 ms to decode with every tile). A delivery
  without its route that comes before anything of its task is kept until the route does (in
  a delivery or the ``Run``); executions whose ``Run`` never comes are dropped after a while
  (bounded in number and age).

Malformed routes, mistyped or misshaped tensors, oversized frames and bad tokens end the call
with a gRPC error status and a message; the worker keeps serving.

Examples
--------
>>> cfg = WorkerConfig(name="edge", models=("lenet5",))
>>> w = Worker(cfg)
>>> server, port = w.serve("127.0.0.1:0")
>>> from splitinfer.runtime.client import WorkerClient
>>> info = WorkerClient(f"127.0.0.1:{port}", cfg.limits).info()
>>> info["name"], sorted(info["models"])
('edge', ['lenet5'])
>>> server.stop(None)  # doctest: +ELLIPSIS
<...>
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from splitinfer.runtime.client import WorkerClient
from splitinfer.runtime.messages import check_int, check_str
from splitinfer.runtime.pieces import ModelPieces, load_pieces
from splitinfer.runtime.route import (
    MAX_ROUTE_STAGES,
    Execution,
    RouteFailed,
    check_route,
    located,
    pack_values,
    unpack_values,
)
from splitinfer.runtime.shaping import LinkShaper, PriorityResource, link_shapers
from splitinfer.runtime.transport import (
    WORKER_SERVICE,
    abort_wire,
    check_token,
    make_server,
    method,
)
from splitinfer.runtime.wire import (
    KIND_CONTROL,
    KIND_RESPONSE,
    FrameAssembler,
    Limits,
    WireError,
    decode_frame,
    encode_frame,
    tensor_float32,
)
from splitinfer.system.scenario import Scenario
from splitinfer.system.tiles import key_order

__all__ = ["WorkerConfig", "Worker", "stage", "fill_return_end"]

_UNSHAPED = LinkShaper(rate=1.0, mode="none")

#: Share groups (FIFO lanes of a divisible node) a worker keeps at most.
MAX_LANES = 64
#: Deliveries kept while their ``Run`` has not arrived: how many tasks, and for how long.
MAX_EARLY, EARLY_TTL_S = 256, 60.0

log = logging.getLogger(__name__)


@dataclass
class WorkerConfig:
    """Everything a worker is configured with (the ``serve worker`` options).

    Parameters
    ----------
    name : str
        Its node name in the scenario (requests naming another node are refused).
    models : tuple of str
        Models whose pieces it serves.
    device : {"cpu", "cuda"}
    concurrency : int or None
        Pieces computed at once (``None``: unlimited).
    token : str, optional
        Shared secret every call must carry.
    limits : Limits
    peers : dict
        Node name -> ``"host:port"`` of the workers it may forward to.
    scenario : Scenario, optional
        Gives the rates, latencies and sharing of its outgoing links (and the result-return
        rule); without one nothing is shaped.
    shaping : {"bucket", "kernel", "none"}
    kernel_delay : bool
        Kernel mode only: the kernel (netem) adds link latency, so the worker does not sleep it.
    seed : int
        Parameter seed of the models (the same on every machine).
    forward_margin_s : float
        Time kept back from the caller's deadline when forwarding.
    """

    name: str = "worker"
    models: tuple[str, ...] = ()
    device: str = "cpu"
    concurrency: int | None = 1
    token: str | None = None
    limits: Limits = field(default_factory=Limits)
    peers: dict[str, str] = field(default_factory=dict)
    scenario: Scenario | None = None
    shaping: str = "bucket"
    kernel_delay: bool = False
    seed: int = 0
    forward_margin_s: float = 0.05
    chunk_bytes: int = 65536


def stage(name: str, kind: str, resource: str | None, node: str | None, ready: float,
          start: float, end: float | None) -> dict[str, Any]:
    """A stage record as sent in response metadata (absolute monotonic seconds).

    Examples
    --------
    >>> stage("compute", "compute", "edge", "edge", 1.0, 1.5, 2.0)["resource"]
    'edge'
    """
    return {"name": name, "kind": kind, "resource": resource, "node": node, "ready": ready,
            "start": start, "end": end}


def fill_return_end(stages: list[dict[str, Any]], when: float) -> list[dict[str, Any]]:
    """Set the ``end`` of the stages still open (the result's return) to ``when``.

    Examples
    --------
    >>> fill_return_end([stage("return", "transfer", "e->d", None, 1, 1, None)], 2.5)[0]["end"]
    2.5
    """
    return [s if s["end"] is not None else {**s, "end": when} for s in stages]


class Worker:
    """A worker process's service (module docstring).

    Parameters
    ----------
    config : WorkerConfig
    pieces : dict, optional
        Already loaded :class:`ModelPieces` by model name (loaded from ``config.models`` if not
        given).
    """

    def __init__(self, config: WorkerConfig, pieces: dict[str, ModelPieces] | None = None) -> None:
        self.config = config
        self.pieces = pieces if pieces is not None else load_pieces(
            list(config.models), config.device, config.seed)
        self.compute = PriorityResource(config.concurrency)
        sc = config.scenario
        self.links: dict[str, LinkShaper] = (
            link_shapers(sc, config.name, config.shaping, config.kernel_delay, config.chunk_bytes)
            if sc is not None else {})
        self.clients = {name: WorkerClient(addr, config.limits, config.token, config.chunk_bytes)
                        for name, addr in config.peers.items()}
        self.stats: Counter = Counter()
        self._stats_lock = threading.Lock()
        self._lanes: dict[str, PriorityResource] = {}
        self._execs: dict[str, Execution] = {}
        self._early: dict[str, list[tuple]] = {}
        self._adopted: dict[str, float] = {}  # executions made by a delivery, not yet Run

    def warm(self) -> None:
        """Build every tail piece (cut ``a`` to the end) and run each model once, before serving."""
        for mp in self.pieces.values():
            mp.warm([(0, mp.last_cut)])
            for a in range(mp.last_cut):
                mp.layer_piece(mp.cut_layers(a, mp.last_cut))
            sc = self.config.scenario
            if sc is not None and mp.name in (sc.extra.get("fused") or {}):
                mp.warm_tiles()  # the scenario names fused-layer tiles (Li et al. 2022)

    # ----------------------------------------------------------------- service
    def handlers(self) -> dict[str, Any]:
        """The gRPC method handlers of ``splitinfer.Worker``."""
        return {"Run": method("unary", self._run), "Deliver": method("stream", self._deliver),
                "Sink": method("stream", self._sink),
                "Info": method("unary", self._info)}

    def serve(self, address: str, max_workers: int = 32):
        """Start serving on ``address``; returns ``(grpc.Server, port)``."""
        return make_server(WORKER_SERVICE, self.handlers(), address, self.config.limits,
                           max_workers)

    def _count(self, key: str) -> None:
        with self._stats_lock:
            self.stats[key] += 1

    def _info(self, request: bytes, context: Any) -> bytes:
        check_token(context, self.config.token)
        meta = {"name": self.config.name, "device": self.config.device,
                "models": {m: p.param_hash for m, p in self.pieces.items()},
                "concurrency": self.config.concurrency, "busy": self.compute.busy,
                "waiting": self.compute.waiting, "stats": dict(self.stats)}
        return encode_frame(meta, kind=KIND_CONTROL)

    def _sink(self, request_iterator: Any, context: Any) -> bytes:
        check_token(context, self.config.token)
        asm = FrameAssembler(self.config.limits)
        try:
            n = 0
            for chunk in request_iterator:
                asm.feed(chunk)
                n += len(chunk)
            asm.finish()
        except WireError as exc:
            self._count("rejected")
            abort_wire(context, exc)
        return encode_frame({"received": time.monotonic(), "bytes": n}, kind=KIND_CONTROL)

    # ------------------------------------------------------------------- routes
    def resource(self, name: str) -> PriorityResource:
        """The compute resource ``name``: this node's slots, or the lane of a share group."""
        me = self.config.name
        if name == me:
            return self.compute
        if name.startswith(me + "#"):
            with self._stats_lock:
                lane = self._lanes.get(name)
                if lane is None:
                    if len(self._lanes) >= MAX_LANES:
                        raise RouteFailed(f"more than {MAX_LANES} share groups at {me!r}")
                    lane = self._lanes[name] = PriorityResource(1)
            return lane
        raise RouteFailed(f"resource {name!r} is not at {me!r}")

    def shaper(self, dst: str) -> LinkShaper | None:
        """The shaped link from this worker to ``dst`` (unshaped without a scenario)."""
        if self.config.scenario is None:
            return _UNSHAPED
        return self.links.get(dst)

    def client(self, dst: str) -> WorkerClient | None:
        """The client of peer ``dst``."""
        return self.clients.get(dst)

    def _check_route(self, frame: Any) -> dict[str, Any]:
        return self._check_route_meta(frame.meta.get("route") if isinstance(frame.meta, dict)
                                      else None)

    def _check_route_meta(self, meta: Any) -> dict[str, Any]:
        model = meta.get("model") if isinstance(meta, dict) else None
        mp = self.pieces.get(model) if isinstance(model, str) else None
        if mp is None:
            raise WireError(f"model {model!r} is not served here; served: {sorted(self.pieces)}",
                            "NOT_FOUND")
        route = check_route(meta, mp.num_layers)
        me = self.config.name
        mine = located(route, me)
        if not mine:
            raise WireError(f"no stage of task {route['task']!r} runs at {me!r}")
        for k in mine:
            s = route["stages"][k]
            if s["kind"] != "compute" and s["dst"] != route["device"] and s["dst"] not in self.clients:
                raise WireError(f"no peer {s['dst']!r} configured at {me!r}", "FAILED_PRECONDITION")
        for callee in route["calls"].get(me, []):
            if callee not in self.clients:
                raise WireError(f"no peer {callee!r} configured at {me!r}", "FAILED_PRECONDITION")
        return route

    def _run(self, request: bytes, context: Any) -> bytes:
        import grpc

        check_token(context, self.config.token)
        try:
            route = self._check_route(decode_frame(request, self.config.limits))
        except WireError as exc:
            self._count("rejected")
            abort_wire(context, exc)
        remaining = context.time_remaining()
        deadline = time.monotonic() + (remaining if remaining is not None else 60.0)
        key = route["key"]
        with self._stats_lock:
            ex = self._execs.get(key)  # made by a delivery that came first
            self._adopted.pop(key, None)
            if ex is None:
                ex = Execution(route, self.config.name, self, 0.0)
                self._execs[key] = ex
            ex.deadline = deadline - self.config.forward_margin_s
            early = self._early.pop(key, [])
        try:
            for k, values, flat, when in early:
                self._accept(ex, k, values, flat, when)
            ex.run()
        except (RouteFailed, WireError) as exc:
            self._count("failed")
            context.abort(grpc.StatusCode.ABORTED, f"at {self.config.name!r}: {exc}")
        finally:
            with self._stats_lock:
                self._execs.pop(key, None)
        self._count("served")
        back = sorted({v for vals in ex.returned.values() for v in vals}, key=key_order)
        values, flat = pack_values(ex.env, back, ex.mp.dtype)
        return encode_frame({**ex.answer(), "values": values}, flat, KIND_RESPONSE)

    def _accept(self, ex: Execution, k: int, values: Any, flat: Any, when: float) -> None:
        s = ex.stages[k] if 0 <= k < len(ex.stages) else None
        if s is None or s["kind"] == "compute" or s["dst"] != self.config.name:
            raise WireError(f"stage {k} of task {ex.route['task']!r} sends nothing to "
                            f"{self.config.name!r}")
        samples = ex.route["samples"]
        got = unpack_values(values, flat, s["gives"], lambda v: ex.mp.value_shape(v, samples))
        ex.deliver(k, got, when)

    def _deliver(self, request_iterator: Any, context: Any) -> bytes:
        check_token(context, self.config.token)
        asm = FrameAssembler(self.config.limits)
        try:
            for chunk in request_iterator:
                asm.feed(chunk)
            frame = asm.finish()
            received = time.monotonic()
            meta = frame.meta
            key = check_str(meta, "key")
            k = check_int(meta, "stage", 0, MAX_ROUTE_STAGES - 1)
            values = meta.get("values")
            flat = tensor_float32(frame).reshape(-1)  # float32 again if it came smaller
            route, early = None, []
            if meta.get("route") is not None and key not in self._execs:
                route = self._check_route_meta(meta.get("route"))
                if route["key"] != key:
                    raise WireError("the delivery's route is another task's")
            with self._stats_lock:
                ex = self._execs.get(key)
                now = time.monotonic()
                for old in [q for q, t in self._adopted.items() if now - t > EARLY_TTL_S]:
                    gone = self._execs.pop(old, None)  # its Run never came
                    del self._adopted[old]
                    if gone is not None:
                        gone.abandon()
                if ex is None and route is not None:
                    # before its Run, with the route: the execution starts to exist now, so
                    # that the stages this delivery makes ready take their queue places now
                    if len(self._adopted) >= MAX_EARLY:
                        raise WireError("too many routes waiting for their Run",
                                        "RESOURCE_EXHAUSTED")
                    ex = Execution(route, self.config.name, self, now + EARLY_TTL_S)
                    self._execs[key] = ex
                    self._adopted[key] = now
                    early = self._early.pop(key, [])  # came first, without the route
                if ex is None:  # before its Run: kept, bounded in number and age
                    for old in [q for q, v in self._early.items() if now - v[0][3] > EARLY_TTL_S]:
                        del self._early[old]
                    if len(self._early) >= MAX_EARLY:
                        raise WireError("too many deliveries waiting for their Run",
                                        "RESOURCE_EXHAUSTED")
                    self._early.setdefault(key, []).append((k, values, flat, received))
            if ex is not None:
                self._accept(ex, k, values, flat, received)
                for k0, values0, flat0, when0 in early:
                    try:
                        self._accept(ex, k0, values0, flat0, when0)
                    except WireError as exc:  # that delivery's fault: its task fails
                        self._count("rejected")
                        ex.fail(f"at {self.config.name!r}: {exc}")
        except WireError as exc:
            self._count("rejected")
            abort_wire(context, exc)
        return encode_frame({"received": received}, kind=KIND_CONTROL)
