"""The device client: decide, run the head, send the activation, get the result — or run locally.

For each task:

1. **Admit** (one dispatcher thread, tasks in arrival then generation order). Ask the controller
   for the plan (deadline ``decide_timeout_s``); if it is unreachable or late, decide locally
   with the fallback planner (``"local"`` by default: run everything here) and record why. Turn
   the plan into its route (:func:`splitinfer.runtime.route.compile_route`, i.e. the stage graph
   of :func:`splitinfer.system.stages.build_stages`) and take the task's places in the queues of
   its first stages here, so that tasks admitted together are served in the plan's order. A
   plan that cannot run for real is *refused*: the task runs locally and its outcome says so
   (``executed_as_planned`` false, ``refused`` the reason); a run checks every plan before it
   starts (:func:`splitinfer.runtime.run.run_scenario`), so this only happens to plans an
   online planner makes during the run.
2. **Execute** the route: from the task's arrival (or the plan's ``release``), the device runs
   its stages (:class:`~splitinfer.runtime.route.Execution`) and asks every worker of the route
   to run its own (``Run``); tensors flow from stage to stage (``Deliver``), and the result
   comes back in the answer of the worker that returns it.
3. **Fallback** (faults only). If a worker is unreachable, misses the deadline (``deadline_s``),
   rejects the route or fails a stage, the device runs the whole model itself (a ``fallback``
   compute stage) and reports it: no task is lost.

Every task yields a :class:`~splitinfer.system.result.TaskRecord` whose stages carry the
measured times, relative to the run's epoch (``time.monotonic()`` at t = 0; every process of one
machine reads the same monotonic clock, in every network namespace), named as the simulator
names them (``compute``, ``uplink``, ``hop2``, ``return``, or the plan's step labels), so a
measured and a simulated :class:`~splitinfer.system.result.Result` of the same plan line up
stage by stage.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any

from splitinfer.errors import InfeasiblePlanError
from splitinfer.runtime.client import ControllerClient, WorkerClient
from splitinfer.runtime.pieces import ModelPieces, load_pieces
from splitinfer.runtime.route import (
    Execution,
    RouteFailed,
    compile_route,
    located,
)
from splitinfer.runtime.shaping import LinkShaper, PriorityResource, _sleep_until, link_shapers
from splitinfer.runtime.wire import Limits, WireError
from splitinfer.runtime.worker import stage
from splitinfer.system.entities import Task
from splitinfer.system.plan import TaskPlan
from splitinfer.system.planner import State
from splitinfer.system.result import StageRecord, TaskRecord
from splitinfer.system.scenario import Scenario

__all__ = ["DeviceConfig", "Device", "Outcome", "infer_once"]

log = logging.getLogger(__name__)

#: How long the dispatcher waits for a task's stages to be under way before it starts the next
#: task that arrived at the same instant (:meth:`Device.replay`).
DISPATCH_WAIT_S = 0.05


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
    chunk_bytes : int
        Stream chunk size (the pacing granularity).
    paced : tuple of str
        Nodes that run paced to their speed in ``scenario`` (a device slower than this
        machine, or a self-timed worker that ``run`` paces): each of their compute stages
        holds its slot for the stage's time in ``pace_scenario`` (else in ``scenario``).
    pace_scenario : Scenario, optional
        The scenario whose stage times the paced nodes hold (``run`` gives the calibrated
        scenario when the run starts).
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
    paced: tuple[str, ...] = ()
    pace_scenario: Scenario | None = None


@dataclass
class Outcome:
    """What running one task gave: its record, output, the plan run and how it was decided.

    ``refused`` is why the plan could not run for real (it then ran locally); ``fallback``
    says a fault made the device run the task itself; ``reason`` is the last problem met.
    """

    record: TaskRecord
    output: Any
    plan: TaskPlan
    decided_by: str
    fallback: bool = False
    reason: str | None = None
    refused: str | None = None

    @property
    def executed_as_planned(self) -> bool:
        """The plan's stage graph ran as decided (not refused, no fallback)."""
        return self.refused is None and not self.fallback

    @property
    def nodes(self) -> list[str]:
        """The nodes that computed or sent something for this task, in first-use order."""
        seen: list[str] = []
        for s in self.record.stages:
            for n in (s.node, *(s.resource.split("->") if s.resource and "->" in s.resource
                                else ())):
                if n is not None and n.split("#")[0] not in seen:
                    seen.append(n.split("#")[0])
        return seen


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
        tp = self._planner.decide(task, State(now, view.at(now), self.decided, {}))
        self.decided[task.id] = tp
        return tp


@dataclass
class _Admitted:
    """A task admitted by the dispatcher: its plan, route and places taken in queues."""

    task: Task
    x: Any
    plan: TaskPlan
    decided_by: str
    reason: str | None
    route: dict[str, Any] | None
    refused: str | None
    arrived: float
    decided: float
    start: float
    tickets: dict[int, Any]
    dispatched: threading.Event = field(default_factory=threading.Event)


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
        self.chunk_bytes = config.chunk_bytes
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
        self._admit_lock = threading.Lock()

    def close(self) -> None:
        """Close every channel."""
        for c in self.clients.values():
            c.close()
        if self.controller is not None:
            self.controller.close()

    # ------------------------------------------------------------ host of an Execution
    def resource(self, name: str) -> PriorityResource:
        """This device's compute slots (the only compute resource here)."""
        if name != self.name:
            raise RouteFailed(f"resource {name!r} is not at device {self.name!r}")
        return self.compute

    def shaper(self, dst: str) -> LinkShaper | None:
        """The shaped link from this device to ``dst``."""
        return self.links.get(dst)

    def client(self, dst: str) -> WorkerClient | None:
        """The client of worker ``dst``."""
        return self.clients.get(dst)

    # ------------------------------------------------------------ checks
    def wait_for_workers(self, timeout: float = 60.0) -> None:
        """Wait until every worker answers ``Info`` (they may still be loading their models).

        Raises
        ------
        TimeoutError
            A worker did not answer within ``timeout`` seconds; the message names it and its
            address.
        """
        import grpc

        deadline = time.monotonic() + timeout
        for node, client in self.clients.items():
            while True:
                try:
                    client.info(timeout=max(0.1, min(2.0, deadline - time.monotonic())))
                    break
                except grpc.RpcError as exc:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"worker {node!r} at {client.address} did not answer "
                                           f"within {timeout:.0f} s: {exc.code().name}") from None
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
    def controller_rtt(self, probes: int = 5, timeout: float = 1.0, gap_s: float = 0.0,
                       until: float | None = None) -> float | None:
        """Open the controller's channel and time one admission (median of ``probes``), before
        the run: a probe ``Decide`` for this device's first task (the same call and answer as
        a decision, but the controller neither asks its planner nor records anything,
        :meth:`~splitinfer.runtime.controller.Controller.probe`) and the compilation of the
        answer's route, as :meth:`admit` does for every task. The first real ``Decide`` then
        pays no connection set-up, and the prediction charges this cost at admission
        (:func:`splitinfer.runtime.run.admission_plan`). An online planner's own decision
        time is not in it. ``None`` without a controller or when it does not answer.

        With ``gap_s`` each probe follows that long an idle wait, as a task that arrives
        after the device idled: such a call costs more than one back to back (the processes'
        threads and the CPUs wake up first). ``until`` (monotonic) stops the probes early,
        keeping those taken.
        """
        import grpc

        if self.controller is None:
            return None
        mine = [t for t in self.config.scenario.tasks if t.device == self.name]
        if not mine:
            return None
        task = min(mine, key=lambda t: (t.arrival, t.index))
        times = []
        for _ in range(max(1, probes)):
            if until is not None and times and time.monotonic() + gap_s > until:
                break
            if gap_s > 0:
                time.sleep(gap_s)
            t0 = time.perf_counter()
            try:
                tp = self.controller.decide(task, 0.0, timeout, probe=True)
            except (grpc.RpcError, WireError):
                return None
            try:
                self.route(task, tp)
            except InfeasiblePlanError:
                pass  # the run refuses it the same way, after the same work
            times.append(time.perf_counter() - t0)
        times.sort()
        return float(times[len(times) // 2])

    def decide(self, task: Task, now: float) -> tuple[TaskPlan, str, str | None]:
        """``(plan, "controller" | "local", reason)`` for ``task`` (module docstring, step 1)."""
        import grpc

        reason = None
        if self.controller is not None:
            try:
                return self.controller.decide(task, now, self.config.decide_timeout_s), \
                    "controller", None
            except grpc.RpcError as exc:
                reason = f"controller: {exc.code().name}: {exc.details()}"
            except WireError as exc:
                reason = f"controller: {exc}"
        return self.local.decide(task, now), "local", reason

    def route(self, task: Task, tp: TaskPlan) -> dict[str, Any]:
        """The route of ``tp`` (raises :class:`InfeasiblePlanError` if it cannot run here)."""
        if task.model not in self.pieces:
            raise InfeasiblePlanError(f"task {task.id}: model {task.model!r} not loaded here")
        route = compile_route(self.config.scenario, task, tp, tuple(self.config.paced),
                              self.config.pace_scenario)
        unknown = [n for n in route["calls"].get(self.name, []) if n not in self.clients]
        if unknown:
            raise InfeasiblePlanError(f"task {task.id}: no address for {unknown} at "
                                      f"{self.name!r}")
        return route

    # ------------------------------------------------------------ run
    def admit(self, task: Task, x: Any, epoch: float) -> _Admitted:
        """Decide and compile ``task`` and take its first places in queues (module docstring)."""
        arrived = epoch + task.arrival
        with self._admit_lock:
            tp, decided_by, reason = self.decide(task, time.monotonic() - epoch)
            decided = time.monotonic()
            refused, route = None, None
            try:
                route = self.route(task, tp)
                route["epoch"] = epoch  # traced links pace from the run's time 0
            except InfeasiblePlanError as exc:
                refused = str(exc)
                log.error("plan of %s refused: %s", task.id, refused)
            start = epoch + tp.release if tp.release is not None else arrived
            tickets: dict[int, Any] = {}
            if route is not None:
                order = (task.arrival, task.index)
                for k in located(route, self.name):
                    s = route["stages"][k]
                    if s["deps"]:
                        continue
                    if s["kind"] == "compute":
                        tickets[k] = self.compute.register(tp.priority, start, order)
                    elif s["dst"] in self.links and s["kind"] == "transfer":
                        tickets[k] = self.links[s["dst"]].register(tp.priority, start, order)
        return _Admitted(task, x, tp, decided_by, reason, route, refused, arrived, decided,
                         start, tickets)

    def run_task(self, task: Task, x: Any, epoch: float) -> Outcome:
        """Run one task that arrived at ``epoch + task.arrival`` (monotonic seconds)."""
        return self.execute(self.admit(task, x, epoch), epoch)

    def execute(self, adm: _Admitted, epoch: float) -> Outcome:
        """Execute an admitted task's route; fall back to a local run on a fault."""
        import grpc
        import torch

        task, tp = adm.task, adm.plan
        mp = self.pieces[task.model]
        stages = [stage("decide", "delay", None, None, adm.arrived, adm.arrived, adm.decided)]
        fallback, reason = False, adm.reason
        out = None
        if adm.route is None:  # refused: run it here, and say so
            adm.dispatched.set()
            reason = adm.refused
            _sleep_until(adm.start)
            order = (task.arrival, task.index)
            with self.compute.hold(tp.priority, adm.start, order) as start:
                out = mp.run(0, mp.last_cut, adm.x)
                end = time.monotonic()
            stages.append(stage("local", "compute", self.name, self.name, adm.start, start, end))
        else:
            ex = Execution(adm.route, self.name, self, adm.start + self.config.deadline_s,
                           adm.start, adm.tickets)
            ex.env[-1] = adm.x
            try:
                ex.run(started=adm.dispatched.set)
                out = ex.env[mp.output_values[0]]
            except RouteFailed as exc:
                fallback, reason = True, str(exc)
            got = {**ex.collected, **ex.records}
            stages += [got[k] for k in sorted(got)]
            if fallback:
                failed = time.monotonic()
                with self.compute.hold(tp.priority, failed, (task.arrival, task.index)) as start:
                    out = mp.run(0, mp.last_cut, adm.x)
                    end = time.monotonic()
                stages.append(stage("fallback", "compute", self.name, self.name, failed, start,
                                    end))
        finish = max(s["end"] for s in stages if s["end"] is not None)
        record = self._record(task, stages, epoch, finish)
        if self.controller is not None:
            try:
                self.controller.report(task.id, finish - epoch, fallback, reason,
                                       self.config.decide_timeout_s)
            except grpc.RpcError:
                pass  # the controller is gone; the task is done anyway
        if not isinstance(out, torch.Tensor):  # pragma: no cover - defensive
            raise TypeError("the task produced no tensor")
        return Outcome(record, out, tp, adm.decided_by, fallback, reason, adm.refused)

    def _record(self, task: Task, stages: list[dict[str, Any]], epoch: float,
                finish: float) -> TaskRecord:
        recs = [StageRecord(s["name"], s["kind"], s["resource"], s["node"], s["ready"] - epoch,
                            s["start"] - epoch, s["end"] - epoch) for s in stages]
        offloaded = any(s.node not in (None, self.name) for s in recs)
        return TaskRecord(task.id, task.device, task.model, task.arrival, finish - epoch, recs,
                          offloaded)

    def replay(self, tasks: list[Task], epoch: float, timeout: float | None = None
               ) -> list[Outcome]:
        """Run ``tasks`` (this device's), each admitted at ``epoch + arrival``, concurrently.

        One dispatcher (this thread) admits the tasks in arrival, then generation order (all
        tasks arriving at one instant before any of them starts, so that each resource serves
        them in the plan's order), and starts one thread per task, each once the previous
        one's stages are under way (at most :data:`DISPATCH_WAIT_S` later), so that a burst's
        first task is not held up by the start-up of all the others. Inputs are the models'
        seeded random inputs (seed = the task's index), made before the epoch so that their
        generation is not timed. Every task
        must finish within ``timeout`` seconds after the last arrival (default: the deadline
        of one task plus its share of the others).

        Raises
        ------
        TimeoutError
            A task did not finish in time.
        """
        mine = sorted((t for t in tasks if t.device == self.name),
                      key=lambda t: (t.arrival, t.index))
        inputs = {t.id: self.pieces[t.model].example(t.samples, seed=t.index) for t in mine}
        results: dict[str, Outcome] = {}
        errors: list[BaseException] = []

        def go(adm: _Admitted) -> None:
            try:
                results[adm.task.id] = self.execute(adm, epoch)
            except BaseException as exc:  # recorded; re-raised after every thread ends
                errors.append(exc)
            finally:
                adm.dispatched.set()

        threads = []
        k = 0
        while k < len(mine):  # tasks arriving together are all admitted before any starts
            group = [t for t in mine[k:] if t.arrival == mine[k].arrival]
            k += len(group)
            _sleep_until(epoch + group[0].arrival)
            admitted = [self.admit(t, inputs[t.id], epoch) for t in group]
            for adm in admitted:
                th = threading.Thread(target=go, args=(adm,), daemon=True,
                                      name=f"task-{adm.task.id}")
                th.start()
                threads.append(th)
                # the next task's threads start once this one's stages are under way: started
                # all at once, a burst's threads held up its first task's first stage by the
                # start-up of every other task (about 5 ms per task on the GIL)
                adm.dispatched.wait(DISPATCH_WAIT_S)
        limit = timeout if timeout is not None else 2 * self.config.deadline_s
        deadline = time.monotonic() + limit
        for th in threads:
            th.join(max(0.0, deadline - time.monotonic()))
        if errors:
            raise errors[0]
        late = [t.id for t in mine if t.id not in results]
        if late:
            raise TimeoutError(f"device {self.name!r}: tasks {late[:5]} not done {limit:.0f} s "
                               "after the last arrival")
        return [results[t.id] for t in sorted(mine, key=lambda t: t.index)]


def infer_once(model: str, worker: str, address: str, cut: int, *, token: str | None = None,
               deadline_s: float = 30.0, seed: int = 0, input_seed: int = 0,
               limits: Limits | None = None) -> dict[str, Any]:
    """One split inference by hand: head to ``cut`` here, the rest on ``worker`` at ``address``.

    The plan ``(device, worker)`` cut at ``cut`` runs through the same stage graph as in a run
    (an unshaped link). Returns the measured times and whether the split output equals the
    local output bit for bit (``splitinfer device infer``). Raises ``grpc.RpcError`` if the
    worker is unreachable, ``RouteFailed`` if it fails the route.
    """
    import torch

    from splitinfer.system.load import scenario_from_dict

    sc = scenario_from_dict({
        "name": "infer-once",
        "nodes": [{"name": "device", "kind": "device", "compute": {"hardware": "cpu-1t"}},
                  {"name": worker, "kind": "edge", "compute": {"hardware": "cpu-1t"}}],
        "links": [{"src": "device", "dst": worker, "bandwidth": "100Gbps"}],
        "models": {model: {"profile": f"{model}@cpu-1t", "profiles": {"cpu-1t": f"{model}@cpu-1t"}}},
        "workload": {"tasks": [{"device": "device", "model": model}]}})
    mp = ModelPieces(model, "cpu", seed)
    dev = Device(DeviceConfig("device", sc, {worker: address}, token=token,
                              limits=limits or Limits(), shaping="none", deadline_s=deadline_s),
                 {model: mp})
    try:
        task = sc.tasks[0]
        x = mp.example(1, seed=input_seed)
        dev.clients[worker].info(timeout=deadline_s)  # unreachable: the gRPC error, as is
        dev.decide = lambda t, now: (TaskPlan(t.id, ("device", worker), (cut,)), "manual", None)
        t0 = time.monotonic()
        adm = dev.admit(task, x, t0 - task.arrival)
        if adm.route is None:
            raise InfeasiblePlanError(adm.refused or "the plan cannot run")
        out = dev.execute(adm, t0)
        if out.fallback:
            raise RouteFailed(out.reason or "the worker failed")
        t2 = time.monotonic()
        ref = mp.run(0, mp.last_cut, x)
        head = next((s for s in out.record.stages if s.name == "compute"
                     and s.node == "device"), None)
        return {"model": model, "cut": cut, "head_s": head.end - head.start if head else 0.0,
                "total_s": t2 - t0, "sent_bytes": mp.transfer_bytes(cut),
                "output_shape": list(out.output.shape),
                "equal_to_local": bool(torch.equal(out.output, ref))}
    finally:
        dev.close()
