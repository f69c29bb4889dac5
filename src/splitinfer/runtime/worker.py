"""The worker service: an edge server or cloud that runs pieces of models for devices.

A worker loads the pieces of its models (:class:`~splitinfer.runtime.pieces.ModelPieces`), and
for every ``Infer`` call (issue 9):

1. checks the shared-secret token, then the frame header and metadata on the first chunk
   (its node name, a known model, cut indices in range, dtype and shape equal to the tensor
   that crosses that cut for that many samples, sizes within :class:`~splitinfer.runtime.wire.Limits`)
   before it accepts the rest of the stream;
2. queues the piece on its compute slots (``concurrency`` R, served by plan priority, then the
   time the input arrived, then arrival order: FIFO by default, as the simulator serves them);
3. forwards the output to the next tier when the plan has one (a peer from its configured peer
   table: the network cannot make a worker call an arbitrary address);
4. returns the result to its caller, after holding the return link for as long as the scenario
   says the result takes (the direct link from the last worker to the device when the scenario
   has one, else hop by hop back along the chain, as :func:`splitinfer.system.stages.build_stages`
   times it).

Malformed, mistyped, misshaped or oversized requests and bad tokens end the call with a gRPC
error status and a message; the worker keeps serving. The response metadata carries the timed
stages (absolute ``time.monotonic()`` seconds, one clock for every process of a machine).

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
from splitinfer.runtime.messages import check_infer_request, check_infer_response, check_int
from splitinfer.runtime.pieces import ModelPieces, load_pieces
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
    KIND_REQUEST,
    KIND_RESPONSE,
    FrameAssembler,
    Limits,
    WireError,
    decode_frame,
    encode_frame,
)
from splitinfer.system.scenario import Scenario

__all__ = ["WorkerConfig", "Worker", "stage", "fill_return_end"]

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

    def warm(self) -> None:
        """Build every tail piece ``(a, last)`` and run each model once, before serving."""
        for mp in self.pieces.values():
            mp.warm([(0, mp.last_cut)])
            for a in range(mp.num_cuts):
                mp.segment(a, mp.last_cut)

    # ----------------------------------------------------------------- service
    def handlers(self) -> dict[str, Any]:
        """The gRPC method handlers of ``splitinfer.Worker``."""
        return {"Infer": method("stream", self._infer), "Sink": method("stream", self._sink),
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

    # ------------------------------------------------------------------- infer
    def _check(self, req: dict[str, Any], asm: FrameAssembler) -> ModelPieces:
        node, a, b = req["pieces"][0]
        if node != self.config.name:
            raise WireError(f"this worker is {self.config.name!r}; the request is for {node!r}")
        mp = self.pieces.get(req["model"])
        if mp is None:
            raise WireError(f"model {req['model']!r} is not served here; served: "
                            f"{sorted(self.pieces)}", "NOT_FOUND")
        last = req["pieces"][-1][2]
        if last > mp.last_cut:
            raise WireError(f"cut {last} out of range 0..{mp.last_cut} for {req['model']!r}",
                            "OUT_OF_RANGE")
        dtype, shape = asm.declared
        want = mp.expected_shape(a, req["samples"])
        if dtype != mp.dtype:
            raise WireError(f"tensor dtype {dtype} at cut {a} of {req['model']!r}; expected "
                            f"{mp.dtype}")
        if shape != want:
            raise WireError(f"tensor shape {shape} at cut {a} of {req['model']!r}; expected {want}")
        if len(req["pieces"]) > 1 and req["pieces"][1][0] not in self.clients:
            raise WireError(f"no peer {req['pieces'][1][0]!r} configured at {self.config.name!r}",
                            "FAILED_PRECONDITION")
        return mp

    def _receive(self, request_iterator: Any) -> tuple[dict, Any, ModelPieces, float]:
        asm = FrameAssembler(self.config.limits)
        it = iter(request_iterator)
        first = next(it, None)
        if first is None:
            raise WireError("empty request stream")
        asm.feed(first)
        req = check_infer_request(asm.meta)
        req["hop"] = check_int(asm.meta, "hop", 1, 16)
        mp = self._check(req, asm)
        for chunk in it:
            asm.feed(chunk)
        frame = asm.finish()
        if frame.kind != KIND_REQUEST:
            raise WireError(f"expected a request frame, got kind {frame.kind}")
        return req, frame, mp, time.monotonic()

    def _infer(self, request_iterator: Any, context: Any) -> bytes:
        import grpc
        import torch

        check_token(context, self.config.token)
        try:
            req, frame, mp, received = self._receive(request_iterator)
        except WireError as exc:
            self._count("rejected")
            abort_wire(context, exc)
        x = torch.from_numpy(frame.array())
        node, a, b = req["pieces"][0]
        with self.compute.hold(req["priority"], received) as start:
            try:
                y = mp.run(a, b, x)
            except Exception as exc:  # a bug or an out-of-memory: report it, keep serving
                log.exception("piece %s %s..%s failed", req["model"], a, b)
                self._count("failed")
                context.abort(grpc.StatusCode.INTERNAL, f"{type(exc).__name__}: {exc}")
            end = time.monotonic()
        stages = [stage("compute", "compute", node, node, received, start, end)] if b > a else []
        direct = False
        ready = end
        if len(req["pieces"]) > 1:
            y, more, direct, ready = self._forward(req, y, mp, end, context)
            stages += more
        if not direct:
            stages.append(self._return(req, y, ready, last=len(req["pieces"]) == 1))
            direct = len(req["pieces"]) == 1 and self._direct(req)
        self._count("served")
        meta = {"task": req["task"], "received": received, "stages": stages, "direct": direct}
        return encode_frame(meta, y.numpy(), KIND_RESPONSE)

    def _direct(self, req: dict[str, Any]) -> bool:
        sc = self.config.scenario
        return sc is None or sc.result_return is not None or sc.has_link(self.config.name,
                                                                         req["device"])

    def _forward(self, req: dict[str, Any], y: Any, mp: ModelPieces, end: float, context: Any):
        import grpc
        import torch

        nxt = req["pieces"][1][0]
        rates = req["rates"]
        meta = {"task": req["task"], "device": req["device"], "model": req["model"],
                "prev": self.config.name, "pieces": [list(p) for p in req["pieces"][1:]],
                "rates": rates[1:] if rates else None, "samples": req["samples"],
                "priority": req["priority"], "hop": req["hop"] + 1}
        frame = encode_frame(meta, y.numpy(), KIND_REQUEST)
        remaining = context.time_remaining()
        timeout = max(0.001, (remaining if remaining is not None else 60.0)
                      - self.config.forward_margin_s)
        shaper = self.links.get(nxt)
        try:
            reply, sent = self.clients[nxt].infer(frame, shaper, timeout, req["priority"], end,
                                                  rates[0] if rates else None)
            got = time.monotonic()
            resp = decode_frame(reply, self.config.limits)
            answer = check_infer_response(resp.meta)
            want = mp.expected_shape(mp.last_cut, req["samples"])
            if resp.kind != KIND_RESPONSE or resp.dtype != mp.dtype or resp.shape != want:
                raise WireError(f"next tier {nxt!r} answered shape {resp.shape}, expected {want}")
            received = float(resp.meta.get("received", got))
        except grpc.RpcError as exc:
            self._count("forward_failed")
            context.abort(exc.code() if exc.code() else grpc.StatusCode.UNAVAILABLE,
                          f"next tier {nxt!r}: {exc.details()}")
        except WireError as exc:
            self._count("forward_failed")
            context.abort(grpc.StatusCode.UNAVAILABLE, f"next tier {nxt!r}: {exc}")
        hop = stage(f"hop{req['hop'] + 1}", "transfer", f"{self.config.name}->{nxt}", None,
                    end, sent.start, received)
        stages = [hop, *fill_return_end(answer["stages"], got)]
        return torch.from_numpy(resp.array()), stages, answer["direct"], got

    def _return(self, req: dict[str, Any], y: Any, ready: float, last: bool) -> dict[str, Any]:
        me, sc = self.config.name, self.config.scenario
        if last and sc is not None and sc.result_return is not None:
            time.sleep(sc.result_return)
            return stage("return", "delay", None, None, ready, ready, None)
        dst = req["device"] if (last and self._direct(req)) else req["prev"]
        shaper = self.links.get(dst)
        if shaper is None:
            return stage("return", "transfer", f"{me}->{dst}", None, ready, time.monotonic(), None)
        with shaper.transfer(req["priority"], ready) as granted:
            shaper.delay(y.numel() * y.element_size())
        return stage("return", "transfer", f"{me}->{dst}", None, ready, granted, None)
