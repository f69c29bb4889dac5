"""The device client: decide, run the head, send the activation, get the result — or run locally.

For each task (issue 9):

1. **Decide.** Ask the controller (deadline ``decide_timeout_s``). If it is unreachable, late,
   or answers a plan this device cannot execute, decide locally with the fallback planner
   (``"local"`` by default: run everything here) and record why.
2. **Head.** Wait for the plan's ``release`` time, then run the model up to ``cuts[0]`` on the
   device's compute slots (the scenario's ``concurrency``, served by priority then ready time).
3. **Offload.** Stream the activation to ``nodes[1]`` over the shaped uplink with a deadline
   (``deadline_s``); the worker runs its piece, forwards to further tiers, and returns the result.
4. **Fallback.** If the worker is unreachable, misses the deadline, rejects the request or
   answers something malformed, the device runs the rest of the model itself (a ``fallback``
   compute stage) and reports it: no task is lost.

Every task yields a :class:`~splitinfer.system.result.TaskRecord` whose stages carry the
measured times, relative to the run's epoch (``time.monotonic()`` at t = 0; every process of one
machine reads the same monotonic clock, in every network namespace), named as the simulator
names them (``compute``, ``uplink``, ``hop2``, ``return``), so a measured and a simulated
:class:`~splitinfer.system.result.Result` of the same plan line up stage by stage.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any

from splitinfer.runtime.client import ControllerClient, WorkerClient
from splitinfer.runtime.messages import MAX_PIECES, check_infer_response
from splitinfer.runtime.pieces import ModelPieces, load_pieces
from splitinfer.runtime.shaping import PriorityResource, _sleep_until, link_shapers
from splitinfer.runtime.wire import KIND_REQUEST, KIND_RESPONSE, Limits, WireError, decode_frame
from splitinfer.runtime.worker import fill_return_end, stage
from splitinfer.system.entities import Task
from splitinfer.system.plan import TaskPlan
from splitinfer.system.planner import State
from splitinfer.system.result import StageRecord, TaskRecord
from splitinfer.system.scenario import Scenario

__all__ = ["DeviceConfig", "Device", "Outcome", "merge_pieces", "infer_once"]

log = logging.getLogger(__name__)


@dataclass
class DeviceConfig:
    """A device's configuration (the ``splitinfer device`` options).

    Parameters
    ----------
    name : str
        Its node name in ``scenario``.
    scenario : Scenario
        The device's view: its links (shaping), its concurrency, the models; its tasks are the
        workload an offline fallback planner plans.
    workers : dict
        Server node name -> ``"host:port"``.
    controller : str, optional
        ``"host:port"`` of the controller; ``None`` decides every task locally.
    token : str, optional
    limits : Limits
    shaping : {"bucket", "kernel", "none"}
    kernel_delay : bool
    deadline_s : float
        Deadline of each offload call (seconds).
    decide_timeout_s : float
        Deadline of each ``Decide`` call.
    fallback_planner : str
        Planner used when the controller cannot decide (``"local"``: run everything here).
    seed : int
        Parameter seed of the models.
    """

    name: str
    scenario: Scenario
    workers: dict[str, str] = field(default_factory=dict)
    controller: str | None = None
    token: str | None = None
    limits: Limits = field(default_factory=Limits)
    shaping: str = "bucket"
    kernel_delay: bool = False
    deadline_s: float = 30.0
    decide_timeout_s: float = 1.0
    fallback_planner: str = "local"
    seed: int = 0
    chunk_bytes: int = 65536


@dataclass
class Outcome:
    """What running one task gave: its record, output, the plan run and how it was decided."""

    record: TaskRecord
    output: Any
    plan: TaskPlan
    decided_by: str
    fallback: bool = False
    reason: str | None = None


def merge_pieces(tp: TaskPlan, last_cut: int) -> list[tuple[str, int, int]]:
    """The plan's chain with consecutive pieces on one node merged (no transfer between them).

    Examples
    --------
    >>> merge_pieces(TaskPlan("t", ("d", "e", "e"), (2, 5)), 9)
    [('d', 0, 2), ('e', 2, 9)]
    """
    out: list[tuple[str, int, int]] = []
    for node, a, b in tp.pieces(last_cut):
        if out and out[-1][0] == node:
            out[-1] = (node, out[-1][1], b)
        else:
            out.append((node, a, b))
    return out


class _LocalDecider:
    """Decisions when the controller cannot give one (module docstring, step 1)."""

    def __init__(self, scenario: Scenario, device: str, planner: str) -> None:
        self.scenario, self.device, self.name = scenario, device, planner
        self.decided: dict[str, TaskPlan] = {}
        self._planner = None
        self._plan = None
        self._lock = threading.Lock()

    def decide(self, task: Task, now: float) -> TaskPlan:
        if self.name == "local":
            return TaskPlan(task.id, (self.device,))
        with self._lock:
            try:
                return self._decide(task, now)
            except Exception as exc:  # the fallback of the fallback: run here
                log.warning("fallback planner %s failed on %s: %s", self.name, task.id, exc)
                return TaskPlan(task.id, (self.device,))

    def _decide(self, task: Task, now: float) -> TaskPlan:
        from splitinfer.planners import get_planner

        if self._planner is None:
            self._planner = get_planner(self.name)
            if getattr(self._planner, "online", False):
                self._planner.start(replace(self.scenario, tasks=()))
            else:
                mine = [t for t in self.scenario.tasks if t.device == self.device]
                self._plan = self._planner.plan(self.scenario.with_tasks(mine))
        if self._plan is not None:
            return self._plan.tasks.get(task.id) or TaskPlan(task.id, (self.device,))
        view = replace(self.scenario, tasks=())
        tp = self._planner.decide(task, State(now, view, self.decided, {}))
        self.decided[task.id] = tp
        return tp


class Device:
    """A device process's client (module docstring).

    Parameters
    ----------
    config : DeviceConfig
    pieces : dict, optional
        Loaded :class:`ModelPieces` by model name (default: the models of the device's tasks).
    """

    def __init__(self, config: DeviceConfig, pieces: dict[str, ModelPieces] | None = None) -> None:
        sc = config.scenario
        if config.name not in sc.nodes or sc.nodes[config.name].kind != "device":
            raise ValueError(f"{config.name!r} is not a device of scenario {sc.name!r}")
        self.config = config
        self.name = config.name
        models = sorted({t.model for t in sc.tasks if t.device == config.name}) or sorted(sc.models)
        self.pieces = pieces if pieces is not None else load_pieces(models, "cpu", config.seed)
        self.compute = PriorityResource(sc.nodes[config.name].concurrency)
        self.links = link_shapers(sc, config.name, config.shaping, config.kernel_delay,
                                  config.chunk_bytes)
        self.clients = {n: WorkerClient(a, config.limits, config.token, config.chunk_bytes)
                        for n, a in config.workers.items()}
        self.controller = (ControllerClient(config.controller, config.token)
                           if config.controller else None)
        self.local = _LocalDecider(sc, config.name, config.fallback_planner)
        # tasks ask the controller one at a time, in arrival order (then generation order), so
        # tasks that arrive together reach the device's resources first-generated-first, as the
        # simulator serves them (seed 000 section 2.2)
        self._decide_order = PriorityResource(1)

    def close(self) -> None:
        """Close every channel."""
        for c in self.clients.values():
            c.close()
        if self.controller is not None:
            self.controller.close()

    # ------------------------------------------------------------ checks
    def wait_for_workers(self, timeout: float = 60.0) -> None:
        """Wait until every worker answers ``Info`` (they may still be loading their models)."""
        import grpc

        deadline = time.monotonic() + timeout
        for node, client in self.clients.items():
            while True:
                try:
                    client.info(timeout=2.0)
                    break
                except grpc.RpcError as exc:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"worker {node!r} at {client.address} not up after "
                                           f"{timeout:.0f} s: {exc.code().name}") from None
                    time.sleep(0.1)

    def check_workers(self, timeout: float = 5.0) -> dict[str, dict[str, Any]]:
        """Ask every worker for ``Info`` and check it holds the same parameters as this device.

        Raises
        ------
        RuntimeError
            A worker serves one of this device's models with other parameters (different seed
            or version), so split outputs would differ from local ones.
        """
        infos = {}
        for node, client in self.clients.items():
            info = client.info(timeout)
            for model, mp in self.pieces.items():
                theirs = info.get("models", {}).get(model)
                if theirs is not None and theirs != mp.param_hash:
                    raise RuntimeError(f"worker {node!r} holds other parameters for {model!r} "
                                       f"({theirs[:12]}... vs {mp.param_hash[:12]}...)")
            infos[node] = info
        return infos

    # ------------------------------------------------------------ decide
    def _usable(self, tp: TaskPlan, task: Task) -> str | None:
        """Why this device cannot run ``tp`` (``None`` if it can)."""
        if tp.steps is not None or tp.share is not None:
            return "step-graph and shared-node plans are not executed by the runtime"
        if not tp.nodes or tp.nodes[0] != self.name:
            return f"plan starts at {tp.nodes[:1]}, not at this device"
        mp = self.pieces.get(task.model)
        if mp is None:
            return f"model {task.model!r} not loaded here"
        pieces = merge_pieces(tp, mp.last_cut)
        if len(pieces) > MAX_PIECES or any(n == self.name for n, _, _ in pieces[1:]):
            return "plan returns to the device mid-chain or has too many pieces"
        unknown = [n for n, _, _ in pieces[1:] if n not in self.clients]
        if unknown:
            return f"no address for {unknown}"
        if tp.cuts and (tp.cuts[0] < 0 or tp.cuts[-1] > mp.last_cut):
            return f"cuts {tp.cuts} out of range 0..{mp.last_cut}"
        return None

    def decide(self, task: Task, now: float) -> tuple[TaskPlan, str, str | None]:
        """``(plan, "controller" | "local", reason)`` for ``task`` (module docstring, step 1)."""
        import grpc

        reason = None
        if self.controller is not None:
            try:
                tp = self.controller.decide(task, now, self.config.decide_timeout_s)
                reason = self._usable(tp, task)
                if reason is None:
                    return tp, "controller", None
                reason = f"controller plan refused: {reason}"
            except grpc.RpcError as exc:
                reason = f"controller: {exc.code().name}: {exc.details()}"
            except WireError as exc:
                reason = f"controller: {exc}"
        tp = self.local.decide(task, now)
        if self._usable(tp, task) is not None:
            tp = TaskPlan(task.id, (self.name,))
        return tp, "local", reason

    # ------------------------------------------------------------ run
    def run_task(self, task: Task, x: Any, epoch: float) -> Outcome:
        """Run one task that arrived at ``epoch + task.arrival`` (monotonic seconds)."""
        import grpc
        import torch

        arrived = epoch + task.arrival
        with self._decide_order.hold(0.0, arrived, task.index):
            tp, decided_by, reason = self.decide(task, time.monotonic() - epoch)
            decided = time.monotonic()
            ready = decided
            if tp.release is not None and epoch + tp.release > ready:
                ready = epoch + tp.release
            # the first stage queues by the task's arrival (or release) and index, not by how
            # long its decision took
            first = (ready if tp.release is not None else arrived, task.index)
        stages = [stage("decide", "delay", None, None, arrived, arrived, decided)]
        mp = self.pieces[task.model]
        pieces = merge_pieces(tp, mp.last_cut)
        _sleep_until(ready)
        _, a, b = pieces[0]
        y = x
        if b > a:
            became_ready = ready
            with self.compute.hold(tp.priority, *first) as start:
                y = mp.run(a, b, x)
                ready = time.monotonic()
            stages.append(stage("compute", "compute", self.name, self.name, became_ready, start,
                                ready))
            first = (ready, task.index)
        fallback = False
        if len(pieces) > 1:
            try:
                out, more = self._offload(task, tp, pieces, y, ready, mp, first)
                stages += more
            except (grpc.RpcError, WireError) as exc:
                fallback = True
                code = exc.code().name if isinstance(exc, grpc.RpcError) else "INVALID_ARGUMENT"
                detail = exc.details() if isinstance(exc, grpc.RpcError) else str(exc)
                reason = f"{pieces[1][0]}: {code}: {detail}"
                failed = time.monotonic()
                stages.append(stage("uplink-failed", "transfer", f"{self.name}->{pieces[1][0]}",
                                    None, ready, ready, failed))
                with self.compute.hold(tp.priority, failed) as start:
                    out = mp.run(b, mp.last_cut, y)
                    end = time.monotonic()
                stages.append(stage("fallback", "compute", self.name, self.name, failed, start, end))
        else:
            out = y
        finish = max(s["end"] for s in stages)
        record = self._record(task, stages, epoch, finish)
        if self.controller is not None:
            try:
                self.controller.report(task.id, finish - epoch, fallback, reason,
                                       self.config.decide_timeout_s)
            except grpc.RpcError:
                pass  # the controller is gone; the task is done anyway
        if not isinstance(out, torch.Tensor):  # pragma: no cover - defensive
            raise TypeError("piece returned no tensor")
        return Outcome(record, out, tp, decided_by, fallback, reason)

    def _offload(self, task: Task, tp: TaskPlan, pieces: list, y: Any, ready: float,
                 mp: ModelPieces, order: tuple[float, int]) -> tuple[Any, list[dict[str, Any]]]:
        import torch

        from splitinfer.runtime.wire import encode_frame

        first = pieces[1][0]
        bw = list(tp.bandwidth) if tp.bandwidth is not None else None
        meta = {"task": task.id, "device": self.name, "model": task.model, "prev": self.name,
                "pieces": [list(p) for p in pieces[1:]], "rates": bw[1:] if bw else None,
                "samples": task.samples, "priority": tp.priority, "hop": 1}
        frame = encode_frame(meta, y.numpy(), KIND_REQUEST)
        reply, sent = self.clients[first].infer(frame, self.links.get(first),
                                                self.config.deadline_s, tp.priority, order[0],
                                                bw[0] if bw else None, order[1])
        got = time.monotonic()
        resp = decode_frame(reply, self.config.limits)
        answer = check_infer_response(resp.meta)
        want = mp.expected_shape(mp.last_cut, task.samples)
        if resp.kind != KIND_RESPONSE or resp.dtype != mp.dtype or resp.shape != want:
            raise WireError(f"worker {first!r} answered {resp.dtype} {resp.shape}, "
                            f"expected {mp.dtype} {want}")
        received = float(resp.meta.get("received", got))
        up = stage("uplink", "transfer", f"{self.name}->{first}", None, ready, sent.start,
                   min(max(received, sent.start), got))
        return torch.from_numpy(resp.array()), [up, *fill_return_end(answer["stages"], got)]

    def _record(self, task: Task, stages: list[dict[str, Any]], epoch: float,
                finish: float) -> TaskRecord:
        recs = [StageRecord(s["name"], s["kind"], s["resource"], s["node"], s["ready"] - epoch,
                            s["start"] - epoch, s["end"] - epoch) for s in stages]
        offloaded = any(s.node not in (None, self.name) for s in recs)
        return TaskRecord(task.id, task.device, task.model, task.arrival, finish - epoch, recs,
                          offloaded)

    def replay(self, tasks: list[Task], epoch: float) -> list[Outcome]:
        """Run ``tasks`` (this device's), each started at ``epoch + arrival``, concurrently.

        Inputs are the models' seeded random inputs (seed = the task's index), made before the
        epoch so that their generation is not timed.
        """
        mine = [t for t in tasks if t.device == self.name]
        inputs = {t.id: self.pieces[t.model].example(t.samples, seed=t.index) for t in mine}
        results: dict[str, Outcome] = {}
        errors: list[BaseException] = []

        def go(task: Task) -> None:
            _sleep_until(epoch + task.arrival)
            try:
                results[task.id] = self.run_task(task, inputs[task.id], epoch)
            except BaseException as exc:  # recorded; re-raised after every thread ends
                errors.append(exc)

        threads = [threading.Thread(target=go, args=(t,), daemon=True) for t in mine]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        if errors:
            raise errors[0]
        return [results[t.id] for t in mine]


def infer_once(model: str, worker: str, address: str, cut: int, *, token: str | None = None,
               deadline_s: float = 30.0, seed: int = 0, input_seed: int = 0,
               limits: Limits | None = None) -> dict[str, Any]:
    """One split inference by hand: head to ``cut`` here, the rest on ``worker`` at ``address``.

    Returns the measured times and whether the split output equals the local output bit for
    bit (``splitinfer device infer``). Raises ``grpc.RpcError`` if the worker fails.
    """
    import torch

    from splitinfer.runtime.wire import encode_frame

    limits = limits or Limits()
    mp = ModelPieces(model, "cpu", seed)
    client = WorkerClient(address, limits, token)
    try:
        x = mp.example(1, seed=input_seed)
        t0 = time.monotonic()
        y = mp.run(0, cut, x)
        t1 = time.monotonic()
        meta = {"task": "manual", "device": "device", "model": model, "prev": "device",
                "pieces": [[worker, cut, mp.last_cut]], "samples": 1, "priority": 0.0, "hop": 1}
        reply, sent = client.infer(encode_frame(meta, y.numpy(), KIND_REQUEST), None, deadline_s)
        t2 = time.monotonic()
        resp = decode_frame(reply, limits)
        check_infer_response(resp.meta)
        out = torch.from_numpy(resp.array())
        ref = mp.run(cut, mp.last_cut, y)
        return {"model": model, "cut": cut, "head_s": t1 - t0, "offload_s": t2 - t1,
                "total_s": t2 - t0, "sent_bytes": int(y.numel() * y.element_size()),
                "output_shape": list(out.shape), "equal_to_local": bool(torch.equal(out, ref))}
    finally:
        client.close()
