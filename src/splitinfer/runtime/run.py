"""``splitinfer run``: run a scenario for real on this machine and compare with the simulator.

:func:`run_scenario` (issue 9):

1. **Compute calibration** — profiles every model here at one thread
   (:func:`~splitinfer.runtime.calibrate.measure_compute`), before any other process starts.
2. **Workers** — one ``splitinfer serve worker`` process per server node of the scenario, on free
   loopback ports (or, in kernel mode, inside one network namespace per node joined by shaped
   veth pairs, :mod:`splitinfer.runtime.netns`). Every unpaced CPU worker times its own pieces
   while a stand-in for each device computes beside it
   (:func:`~splitinfer.runtime.calibrate.device_load`), and is then held to those times
   (``RunOptions.pace_servers``).
3. **Devices** — one ``splitinfer device replay`` process per device node; each checks the
   workers hold the same parameters, builds its pieces, and probes its links.
4. **Link calibration** — fits ``t = w0 + w1 * r`` on the probes
   (:func:`~splitinfer.runtime.calibrate.fit_transfer`) and writes the *calibrated scenario*:
   the same system, described as this machine runs it.
5. **Controller** — ``splitinfer serve controller`` on the calibrated scenario with the planner.
6. **Replay** — every device replays its tasks from a common epoch; tasks ask the controller,
   run heads, offload, fall back when needed.
7. **Compare** — the measured per-task latencies beside :func:`splitinfer.sim.simulate` of the
   executed plan on the calibrated scenario; a measured :class:`~splitinfer.system.result.Result`
   (``measured=True``), JSON, and Gantt charts of the measured and predicted stages.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from splitinfer.errors import InfeasiblePlanError, ScenarioError, SplitInferError
from splitinfer.machine import cpu_model
from splitinfer.profile import Profile
from splitinfer.runtime.calibrate import (
    CALIBRATION_GAP_S,
    CALIBRATION_QUANTILE,
    check_runnable,
    dispatch_time,
    fit_transfer,
    measure_compute,
    paced_nodes,
    reply_time,
    scenario_dict,
)
from splitinfer.runtime.launch import Launcher, ProcessDied, cli_argv
from splitinfer.runtime.replay import write_json_atomic
from splitinfer.runtime.shaping import POOL_DIR_ENV
from splitinfer.runtime.transport import TLSFiles
from splitinfer.system.energy import attach_energy
from splitinfer.system.load import load_scenario, scenario_from_dict
from splitinfer.system.plan import Plan, TaskPlan
from splitinfer.system.result import Result, StageRecord, TaskRecord
from splitinfer.system.scenario import Scenario
from splitinfer.system.schema import scenario_file_dict

__all__ = ["RunOptions", "RunReport", "run_scenario", "compare_rows", "fidelity_summary",
           "check_plans", "PlanNotExecutable", "WorkerUnreachable", "placement",
           "admission_plan", "calibrated_workers", "WORKERS_UP_S", "stage_comparison"]


class PlanNotExecutable(SplitInferError, ValueError):
    """The planner makes a plan that the runtime cannot execute (found before the run starts)."""


class WorkerUnreachable(SplitInferError, RuntimeError):
    """A worker of the run does not answer its devices (stopped, or nothing listens at its
    address); the message names the worker and its address."""


WORKER_PORT, CONTROLLER_PORT = 50051, 50050

#: Seconds ``run`` (and then each device) gives every worker to answer ``Info``. A run asks
#: only after every worker has written its ready file, so a worker that is up answers at once;
#: one that does not (stopped, unreachable) fails the run this long after, well within 30 s.
WORKERS_UP_S = 10.0


@dataclass
class RunOptions:
    """How to run (the ``splitinfer run`` options).

    Parameters
    ----------
    planner : str
        Registered planner the controller runs.
    params : dict
        Its parameters.
    out_dir : path
        Run directory: logs, profiles, scenarios, results, charts.
    shaping : {"bucket", "kernel", "none"}
        In-process token bucket, kernel ``tc`` in namespaces, or unshaped loopback.
    compute : {"measure", "shipped"}
        Profile the models now, or use the shipped ``cpu-1t`` profiles.
    profile_repeats, segment_repeats : int
        Repeats of the compute calibration.
    calibrate_links : bool
        Fit ``w0, w1`` from probes (else the links are taken as configured).
    token : str, optional
        Shared secret for every call.
    deadline_s : float
        Deadline of each offload call.
    timeout_s : float
        Give up the whole run after this long.
    verify : bool
        Recompute every task locally and check the split-run output is bit-identical.
    fallback_planner : str
        Devices' planner when the controller is unreachable.
    kill : dict
        Fault injection: server node -> seconds after the epoch at which its worker is killed.
    pause : tuple of str
        Fault injection: server nodes whose workers are stopped with ``SIGSTOP`` as soon as
        they are ready, before any device starts (the run then fails with
        :class:`WorkerUnreachable`).
    stop_controller_at : float, optional
        Fault injection: stop the controller this many seconds after the epoch.
    cuda_nodes : tuple of str
        Server nodes that run a CUDA worker (profiled on CUDA).
    view : {"calibrated", "original"}
        The controller's view: the calibrated scenario (this machine, default), or the scenario
        as given (e.g. its assumed fast servers), so plans are made for the claimed system and
        measured on this one. The prediction always simulates the executed plan on the
        calibrated scenario.
    tls : TLSFiles, optional
        Serve and call over TLS (mutual TLS with a client CA); see docs/runtime.md.
    max_tasks : int
        Most tasks a run replays.
    pace_servers : bool
        Hold every compute stage of a self-timed CPU worker (:func:`calibrated_workers`) for
        its calibrated time, as a paced device holds its own: the worker then runs at a speed
        it holds under the run's load (its time is timed beside the run's devices, see
        :func:`~splitinfer.runtime.calibrate.device_load`), so a piece that happens to run
        faster does not make the measurement wander from the prediction.
    """

    planner: str
    params: dict[str, Any] = field(default_factory=dict)
    out_dir: Path = Path("run-output")
    shaping: str = "bucket"
    compute: str = "measure"
    profile_repeats: int = 5
    segment_repeats: int = 2
    calibrate_links: bool = True
    token: str | None = None
    deadline_s: float = 30.0
    timeout_s: float = 600.0
    verify: bool = False
    fallback_planner: str = "local"
    kill: dict[str, float] = field(default_factory=dict)
    pause: tuple[str, ...] = ()
    stop_controller_at: float | None = None
    cuda_nodes: tuple[str, ...] = ()
    view: str = "calibrated"
    tls: TLSFiles | None = None
    max_tasks: int = 2000
    pace_servers: bool = True

    def __post_init__(self) -> None:
        """Refuse settings no run can have, in one line (:class:`SplitInferError`), before
        anything starts."""
        from splitinfer.runtime.shaping import SHAPING_MODES

        def bad(what: str) -> SplitInferError:
            return SplitInferError(f"run options: {what}")

        if self.shaping not in SHAPING_MODES:
            raise bad(f"shaping must be one of {', '.join(SHAPING_MODES)}, got {self.shaping!r}")
        if self.compute not in ("measure", "shipped"):
            raise bad(f"compute must be 'measure' or 'shipped', got {self.compute!r}")
        if self.view not in ("calibrated", "original"):
            raise bad(f"view must be 'calibrated' or 'original', got {self.view!r}")
        for name in ("deadline_s", "timeout_s"):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and math.isfinite(v) and v > 0):
                raise bad(f"{name} must be a positive number of seconds, got {v!r}")
        for name in ("profile_repeats", "segment_repeats", "max_tasks"):
            v = getattr(self, name)
            if not (isinstance(v, int) and v >= 1):
                raise bad(f"{name} must be a positive integer, got {v!r}")
        for node, at in self.kill.items():
            if not (isinstance(at, int | float) and math.isfinite(at) and at >= 0):
                raise bad(f"--kill {node}={at!r}: the time must be >= 0 seconds")
        if self.stop_controller_at is not None and not (
                math.isfinite(self.stop_controller_at) and self.stop_controller_at >= 0):
            raise bad(f"stop_controller_at must be >= 0 seconds, got {self.stop_controller_at!r}")


@dataclass
class RunReport:
    """A real run beside its prediction."""

    scenario: str
    planner: str
    measured: Result
    predicted: Result
    plan: Plan
    rows: list[dict[str, Any]]
    calibration: dict[str, Any]
    verified: dict[str, Any] | None = None

    def summary(self) -> dict[str, Any]:
        """Headline numbers: fidelity (median absolute error), what ran as planned, latencies.

        ``tasks``; ``as_planned`` (tasks whose stage graph ran as decided); ``offloaded``
        (tasks that used more than one node); ``fallbacks`` (faults: the device ran the task
        itself); ``refused`` (plans the runtime could not execute); ``lost``;
        ``median_abs_rel_error`` and ``p90_abs_rel_error`` of this run's planner, also as
        ``by_planner``.
        """
        fid = fidelity_summary(self.rows)
        return fid | {
            "scenario": self.scenario, "planner": self.planner, "tasks": len(self.rows),
            "as_planned": sum(bool(r.get("executed_as_planned")) for r in self.rows),
            "offloaded": sum(len(r.get("nodes") or []) > 1 for r in self.rows),
            "refused": sum(r.get("refused") is not None for r in self.rows),
            "by_planner": {self.planner: {k: fid[k] for k in ("median_abs_rel_error",
                                                              "p90_abs_rel_error")}},
            "measured_mean_latency_s": self.measured.mean_latency,
            "predicted_mean_latency_s": self.predicted.mean_latency,
            "measured_makespan_s": self.measured.makespan,
            "predicted_makespan_s": self.predicted.makespan,
            "fallbacks": sum(r["fallback"] for r in self.rows),
            "decided_locally": sum(r["decided_by"] == "local" for r in self.rows),
            "lost": self.measured.lost, "verified": self.verified}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: summary, calibration, per-task rows, the stage-by-stage comparison
        (:func:`stage_comparison`), plan and both results."""
        return {"format": "splitinfer.run/1", "summary": self.summary(),
                "calibration": self.calibration, "tasks": self.rows,
                "stages": stage_comparison(self.measured, self.predicted),
                "plan": self.plan.to_dict(),
                "measured": self.measured.to_dict(), "predicted": self.predicted.to_dict()}

    def save(self, out_dir: str | Path) -> Path:
        """Write ``run.json`` (the Gantt charts are drawn by the CLI with
        :func:`splitinfer.report.gantt.plot_gantt`: the report layer sits above the runtime)."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        path = out / "run.json"
        path.write_text(json.dumps(self.to_dict(), indent=1, default=float))
        return path


def compare_rows(measured: Result, predicted: Result, plan: Plan,
                 meta: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per task: plan, measured and predicted latency, relative error.

    Examples
    --------
    >>> m = Result("s", "p", [TaskRecord("t0", "d", "m", 0.0, 1.1, [])], measured=True)
    >>> p = Result("s", "p", [TaskRecord("t0", "d", "m", 0.0, 1.0, [])])
    >>> row = compare_rows(m, p, Plan("p", {"t0": TaskPlan("t0", ("d",))}), {})[0]
    >>> round(row["error"], 3), round(row["rel_error"], 4)
    (-0.1, -0.0909)
    """
    pred = {t.id: t for t in predicted.tasks}
    rows = []
    for t in measured.tasks:
        tp = plan.tasks[t.id]
        p = pred[t.id].latency
        extra = meta.get(t.id, {})
        rows.append({"task": t.id, "device": t.device, "model": t.model,
                     "nodes": list(extra.get("nodes", tp.nodes)), "plan_nodes": list(tp.nodes),
                     "cuts": list(tp.cuts),
                     "decided_by": extra.get("decided_by", "controller"),
                     "executed_as_planned": bool(extra.get("executed_as_planned", True)),
                     "refused": extra.get("refused"),
                     "fallback": bool(extra.get("fallback", False)),
                     "reason": extra.get("reason"), "measured_s": t.latency, "predicted_s": p,
                     "error": p - t.latency,
                     "rel_error": (p - t.latency) / t.latency if t.latency > 0 else 0.0})
    return rows


def stage_comparison(measured: Result, predicted: Result) -> list[dict[str, Any]]:
    """Where the error comes from: per stage (name and resource, as both results name them) the
    median measured and predicted duration and wait (start minus ready), over the tasks that
    have it in both, and ``first``: the share of them that start their task (no stage before
    them: their measured wait counts from the arrival, and so holds the admission, while the
    prediction's counts from :func:`admission_plan`'s release); plus ``admission``: the median
    time from a task's arrival to the start of its first stage (the ``decide`` stage and the
    dispatch, which the prediction models as that release).

    Examples
    --------
    >>> from splitinfer.system.result import StageRecord as S
    >>> m = Result("s", "p", [TaskRecord("t0", "d", "m", 0.0, 0.05, [
    ...     S("decide", "delay", None, None, 0.0, 0.0, 0.002),
    ...     S("compute", "compute", "d", "d", 0.0, 0.003, 0.05),
    ...     S("return", "delay", None, None, 0.05, 0.05, 0.054)])], measured=True)
    >>> p = Result("s", "p", [TaskRecord("t0", "d", "m", 0.0, 0.04, [
    ...     S("compute", "compute", "d", "d", 0.0, 0.002, 0.04),
    ...     S("return", "delay", None, None, 0.04, 0.04, 0.042)])])
    >>> [(r["stage"], round(r["measured_s"], 3), round(r["predicted_s"], 3))
    ...  for r in stage_comparison(m, p)]
    [('compute@d', 0.047, 0.038), ('return', 0.004, 0.002), ('admission', 0.003, 0.002)]
    """
    pred = {t.id: t for t in predicted.tasks}
    acc: dict[str, list[tuple[float, float, float, float, bool]]] = {}
    starts: list[tuple[float, float]] = []
    for t in measured.tasks:
        p = pred.get(t.id)
        if p is None:
            continue
        mine = [s for s in t.stages if s.name != "decide" and s.end is not None]
        left = [s for s in p.stages if s.end is not None]
        for s in mine:
            q = next((q for q in left if q.name == s.name and q.resource == s.resource), None)
            if q is None:
                continue
            left.remove(q)
            key = s.name if s.resource is None else f"{s.name}@{s.resource}"  # a pure delay: none
            acc.setdefault(key, []).append(  # a first stage's wait holds the admission
                (s.end - s.start, q.end - q.start, s.start - s.ready, q.start - q.ready,
                 s.ready <= t.arrival + 1e-9))
        if mine and p.stages:
            starts.append((min(s.start for s in mine) - t.arrival,
                           min(s.start for s in p.stages) - p.arrival))
    out = [{"stage": k, "n": len(v),
            "measured_s": float(np.median([x[0] for x in v])),
            "predicted_s": float(np.median([x[1] for x in v])),
            "measured_wait_s": float(np.median([x[2] for x in v])),
            "predicted_wait_s": float(np.median([x[3] for x in v])),
            "first": float(np.mean([x[4] for x in v]))} for k, v in acc.items()]
    if starts:
        out.append({"stage": "admission", "n": len(starts),
                    "measured_s": float(np.median([x[0] for x in starts])),
                    "predicted_s": float(np.median([x[1] for x in starts])),
                    "measured_wait_s": 0.0, "predicted_wait_s": 0.0})
    return out


def fidelity_summary(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Median absolute relative error (the fidelity target, issue 9) and friends.

    Examples
    --------
    >>> fidelity_summary([{"rel_error": 0.05, "error": 0.01}, {"rel_error": -0.2, "error": -0.02},
    ...                   {"rel_error": 0.1, "error": 0.015}])["median_abs_rel_error"]
    0.1
    """
    rel = np.abs([r["rel_error"] for r in rows]) if rows else np.zeros(0)
    err = np.abs([r["error"] for r in rows]) if rows else np.zeros(0)
    if not rows:
        return {"median_abs_rel_error": float("nan"), "median_abs_error_s": float("nan"),
                "p90_abs_rel_error": float("nan")}
    return {"median_abs_rel_error": float(np.median(rel)),
            "median_abs_error_s": float(np.median(err)),
            "p90_abs_rel_error": float(np.percentile(rel, 90))}


def _load(scenario: str | Path | Scenario | dict, out: Path) -> tuple[Scenario, str | None]:
    """The scenario and a reference (path or shipped name) other processes can load it from."""
    if isinstance(scenario, Scenario):
        return scenario, None
    if isinstance(scenario, str) and scenario.startswith("fidelity-"):
        from splitinfer.runtime.fidelity import fidelity_scenario

        scenario = fidelity_scenario(scenario)
    if isinstance(scenario, dict):
        path = out / "scenario-original.json"
        path.write_text(json.dumps(scenario_file_dict(scenario), indent=1))  # files need units
        scenario = path
    return load_scenario(scenario), str(scenario)


def run_scenario(scenario: str | Path | Scenario, options: RunOptions) -> RunReport:
    """Run ``scenario`` for real and compare it with the simulator (module docstring).

    Raises
    ------
    ScenarioError
        A model that cannot run for real (a paper's cut table, not a zoo model).
    ProcessDied, TimeoutError
        A process of the run failed (its log tail is in the message).
    WorkerUnreachable
        A worker did not answer before the devices started (one line: its name and address).
    """
    from splitinfer.sim import simulate

    out = Path(options.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sc, ref = _load(scenario, out)
    check_runnable(sc)
    check_nodes(sc, options)
    if len(sc.tasks) > options.max_tasks:
        raise ScenarioError(f"{len(sc.tasks)} tasks; a real run replays at most "
                            f"{options.max_tasks}")
    if options.view == "original" and ref is None:
        raise ScenarioError("view 'original' needs the scenario as a file, shipped name or dict")
    models = sorted(sc.models)
    load_before = list(os.getloadavg())
    t0 = time.perf_counter()
    profiles = measure_compute(models, out / "profiles", source=options.compute,
                               repeats=options.profile_repeats,
                               segment_repeats=options.segment_repeats)
    hw_nodes: dict[str, Any] = {"other": None, "node_hardware": None}
    if options.cuda_nodes:
        hw_nodes = {"other": {"cuda-run": measure_compute(
            models, out / "profiles", repeats=options.profile_repeats,
            segment_repeats=options.segment_repeats, hardware="cuda-run", device="cuda")},
            "node_hardware": dict.fromkeys(options.cuda_nodes, "cuda-run")}
    compute_s = time.perf_counter() - t0
    rt_path = out / "scenario-runtime.json"
    rt_path.write_text(json.dumps(scenario_file_dict(scenario_dict(sc, profiles, **hw_nodes)),
                                  indent=1))
    rt = scenario_from_dict(json.loads(rt_path.read_text()), str(rt_path), out)
    paced, keep = _pacing(sc, rt, ref, options)
    if paced:
        hw_nodes = {"other": {**(hw_nodes["other"] or {}), **keep["other"]},
                    "node_hardware": hw_nodes["node_hardware"], "keep": keep["compute"]}
        rt_path.write_text(json.dumps(scenario_file_dict(scenario_dict(sc, profiles, **hw_nodes)),
                                      indent=1))
        rt = scenario_from_dict(json.loads(rt_path.read_text()), str(rt_path), out)
    bounds = check_plans(rt if options.view == "calibrated" else sc, rt, options, paced)
    in_run: dict[str, Any] = {"workers": {}, "controller_rtt_s": {}, "controller_cold_s": {}}
    outcomes, samples, transfer, cal_path = _processes(sc, rt, rt_path, profiles, hw_nodes, out,
                                                       options, ref, bounds, in_run)
    calibrated = scenario_from_dict(json.loads(cal_path.read_text()), str(cal_path), out)
    by_id = {o["record"]["id"]: o for o in outcomes}
    missing = [t.id for t in sc.tasks if t.id not in by_id]
    records = [_record(by_id[t.id]["record"]) for t in sc.tasks if t.id in by_id]
    plan = Plan(options.planner, {t.id: TaskPlan.from_dict(by_id[t.id]["plan"])
                                  for t in sc.tasks if t.id in by_id},
                dict(options.params), 0.0, {"runtime": True})
    measured = Result(sc.name, options.planner, records, measured=True, lost=len(missing),
                      info={"shaping": options.shaping})
    attach_energy(measured, sc)  # the device energy of the measured stages (docs/energy.md)
    done = calibrated.with_tasks([t for t in calibrated.tasks if t.id in by_id])
    predicted = simulate(done, admission_plan(done, plan, in_run["controller_rtt_s"],
                                              {t: o["decided_by"] for t, o in by_id.items()},
                                              in_run.get("dispatch_s") or 0.0,
                                              in_run.get("controller_cold_s")))
    rows = compare_rows(measured, predicted, plan, by_id)
    calibration = {
        "compute": {"source": options.compute, "profiles": {m: str(p) for m, p in profiles.items()},
                    "seconds": compute_s, "workers": in_run["workers"],
                    "stand_ins": in_run.get("stand_ins")},
        "controller_rtt_s": in_run["controller_rtt_s"],
        "controller_cold_s": in_run.get("controller_cold_s"), "reply_s": in_run.get("reply_s"),
        "dispatch_s": in_run.get("dispatch_s"),
        "transfer": transfer.to_dict() if transfer is not None else None,
        "probes": len(samples), "load_before": load_before, "load_after": list(os.getloadavg()),
        "cpu": cpu_model(), "cores": os.cpu_count(), "shaping": options.shaping,
        "view": options.view, "paced": bounds["paced"], "placement": placement(rt, options),
        "held_workers": (sorted(in_run["workers"]) if options.pace_servers else []),
        "compute_measured_in_run": options.compute == "measure" and options.shaping != "kernel",
        "bounds_s": {k: v for k, v in bounds.items() if k != "paced"}}
    verified = _verify(sc, by_id) if options.verify else None
    report = RunReport(sc.name, options.planner, measured, predicted, plan, rows, calibration,
                       verified)
    report.save(out)
    return report


def check_nodes(sc: Scenario, options: RunOptions) -> None:
    """Fail before any calibration when an option names a node the run cannot have: a
    ``--cuda-node``, ``--pause`` or ``--kill`` that is not a worker (a server of ``sc``), or a
    CUDA node on a machine without CUDA.

    Raises
    ------
    SplitInferError
        One line naming the option, the node and the scenario's servers.

    Examples
    --------
    >>> from splitinfer.system.load import scenario_from_dict
    >>> sc = scenario_from_dict({
    ...     "nodes": [{"name": "d", "kind": "device", "compute": {"flops_per_s": 1e9}},
    ...               {"name": "e", "kind": "edge", "compute": {"flops_per_s": 1e11}}],
    ...     "links": [{"src": "d", "dst": "e", "bandwidth": "100Mbps"}],
    ...     "models": {"m": {"cuts": [{"transfer_bytes": 1e3}, {"transfer_bytes": 10}]}},
    ...     "workload": {"tasks": [{"device": "d", "model": "m"}]}})
    >>> check_nodes(sc, RunOptions(planner="local", pause=("e",)))
    >>> check_nodes(sc, RunOptions(planner="local", kill={"d": 0.5}))
    Traceback (most recent call last):
    ...
    splitinfer.errors.SplitInferError: --kill 'd': not a worker of this run (workers: e)
    """
    servers = list(sc.servers)
    for flag, names in (("--cuda-node", options.cuda_nodes), ("--pause", options.pause),
                        ("--kill", tuple(options.kill))):
        for n in names:
            if n not in servers:
                raise SplitInferError(f"{flag} {n!r}: not a worker of this run (workers: "
                                      f"{', '.join(servers) or 'none'})")
    if options.cuda_nodes:
        import torch

        if not torch.cuda.is_available():
            raise SplitInferError(f"--cuda-node {options.cuda_nodes[0]!r}: this machine has no "
                                  "CUDA device (torch.cuda.is_available() is False); run without "
                                  "--cuda-node")


def _raw_profiles(ref: str | None) -> dict[str, dict[str, str]]:
    """Model -> hardware -> profile reference, as the scenario file gives them."""
    from splitinfer.system.load import read_scenario_file

    if ref is None:
        return {}
    path = Path(ref)
    if not path.exists():
        from splitinfer.data import shipped_scenario_path

        try:
            path = shipped_scenario_path(ref)
        except SplitInferError:
            return {}
    raw = read_scenario_file(path)
    out: dict[str, dict[str, str]] = {}
    for m, spec in (raw.get("models") or {}).items():
        for hw, r in ((spec or {}).get("profiles") or {}).items():
            cand = path.parent / r
            out.setdefault(m, {})[hw] = str(cand.resolve()) if cand.exists() else str(r)
    return out


def _pacing(sc: Scenario, rt: Scenario, ref: str | None, options: RunOptions
            ) -> tuple[list[str], dict[str, Any]]:
    """Nodes slower than this machine, and the compute specs and profiles that keep their speed
    (:func:`~splitinfer.runtime.calibrate.paced_nodes`)."""
    keep: dict[str, Any] = {"compute": {}, "other": {}}
    raw = None
    for name in paced_nodes(sc, rt):
        node = sc.nodes[name]
        if name in options.cuda_nodes:
            continue
        if node.compute == "flops":
            keep["compute"][name] = {"flops_per_s": float(node.speed)}
        elif node.compute == "hardware":
            raw = _raw_profiles(ref) if raw is None else raw
            refs = {m: raw.get(m, {}).get(node.hardware) for m in sc.models}
            if any(r is None for r in refs.values()):
                continue  # its profiles cannot be named: it runs as this machine
            keep["compute"][name] = {"hardware": node.hardware}
            keep["other"].setdefault(node.hardware, {}).update(refs)
    return sorted(keep["compute"]), keep


def check_plans(view: Scenario, rt: Scenario, options: RunOptions, paced: list[str] = ()
                ) -> dict[str, Any]:
    """Check, before anything starts, that every plan of the planner can run for real.

    Plans the scenario with the planner as the controller will (an online planner decides every
    task in simulation), turns every task's plan into its route
    (:func:`~splitinfer.runtime.route.compile_route`) and derives the run's time bounds from the
    predicted makespan: the deadline of one task and the wait for all of them.

    Raises
    ------
    PlanNotExecutable
        A plan the runtime cannot execute (one line naming the planner, task and reason).
    """
    from splitinfer.planners import get_planner
    from splitinfer.runtime.route import compile_route
    from splitinfer.sim import simulate, simulate_online

    planner = get_planner(options.planner, **options.params)
    if getattr(planner, "online", False):
        plan, _ = simulate_online(view, planner)
    else:
        plan = planner.plan(view)
    tasks = {t.id: t for t in rt.tasks}
    for tid, tp in plan.tasks.items():
        try:
            compile_route(rt, tasks[tid], tp, tuple(paced))
        except InfeasiblePlanError as exc:
            raise PlanNotExecutable(f"planner {options.planner!r} makes a plan the runtime "
                                    f"cannot execute: {exc}") from None
    try:
        makespan = simulate(rt, plan).makespan
    except InfeasiblePlanError:
        makespan = max(t.arrival for t in rt.tasks) + 10.0
    last = max((t.arrival for t in rt.tasks), default=0.0)
    deadline = min(options.deadline_s, max(5.0, 10.0 * makespan))
    return {"paced": list(paced), "predicted_makespan": makespan, "task_deadline": deadline,
            "replay": min(options.timeout_s, last + deadline + 10.0 * makespan + 10.0),
            "workers_up": WORKERS_UP_S}


def placement(rt: Scenario, options: RunOptions) -> dict[str, list[int]]:
    """CPU placement of the run's compute processes: each device with tasks and each CPU worker
    on a CPU of its own, when this process may use at least as many CPUs as there are of them
    (else none is pinned and the kernel balances them)."""
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    procs = [d for d in rt.devices if any(t.device == d for t in rt.tasks)]
    procs += [w for w in rt.servers if w not in options.cuda_nodes]
    if len(cpus) < 2 or len(procs) > len(cpus):
        return {}
    return {n: [cpus[i]] for i, n in enumerate(procs)}


def _argv(cpus: list[int] | None, *args: str) -> list[str]:
    """``cli_argv(*args)``, pinned to ``cpus`` (the process and its threads) when given."""
    argv = cli_argv(*args)
    if not cpus:
        return argv
    return [argv[0], "-c", f"import os; os.sched_setaffinity(0, {sorted(cpus)!r}); " + argv[2],
            *argv[3:]]


def _measure_in_place(launcher: Launcher, models: list[str], profiles: dict, cpus: list[int],
                      options: RunOptions, timeout: float) -> None:
    """Re-measure the compute profiles under the run's conditions: in a child process with the
    run's thread settings, pinned to a device's CPU, with the workers already running (idle)
    beside it. Overwrites the profile files the runtime and calibrated scenarios name."""
    from splitinfer.runtime.calibrate import RUN_HARDWARE
    from splitinfer.runtime.launch import ProcessDied

    for m in models:
        path = profiles.get(m)
        if path is None or Path(str(path)).suffix != ".json":
            continue
        name = f"calibrate-{m}"
        proc = launcher.start(name, _argv(cpus, "profile", m, "--threads", "1", "--repeats",
                                          str(options.profile_repeats), "--warmup", "1",
                                          "--segment-repeats", str(options.segment_repeats),
                                          "--hardware", RUN_HARDWARE, "-o", str(path)))
        try:
            code = proc.wait(timeout)
        except Exception:
            launcher.stop(name)
            raise TimeoutError(f"measuring {m} under the run's conditions took more than "
                               f"{timeout:.0f} s") from None
        if code != 0:
            raise ProcessDied(f"measuring {m} under the run's conditions failed with status "
                              f"{code}: {launcher.log_tail(name, 3)}")


def admission_plan(sc: Scenario, plan: Plan, rtt: dict[str, float | None],
                   decided_by: dict[str, str] | None = None,
                   dispatch: float | dict[str, float] = 0.0,
                   cold: dict[str, float | None] | None = None) -> Plan:
    """``plan`` with each task released when the device can have admitted it (the prediction's
    model of the controller round trip, which the simulator does not know).

    A device admits the tasks that arrive at one instant one after another, each after one
    ``Decide`` round trip to the controller, and starts none before all are admitted
    (:meth:`~splitinfer.runtime.device.Device.replay`). So a group of ``n`` tasks arriving at
    ``a`` on device ``d`` starts no earlier than ``a + n * rtt[d]``, with ``rtt[d]`` the round
    trip ``d`` measured before the run (:meth:`~splitinfer.runtime.device.Device.controller_rtt`).
    Tasks decided locally (``decided_by`` not ``"controller"``) and devices without a measured
    round trip get no such delay. With ``cold`` (per device: the round trip after an idle
    wait, :meth:`~splitinfer.runtime.device.Device.controller_rtt` with ``gap_s``), the first
    admission of a group takes that time and the others, which follow it back to back,
    ``rtt[d]``: ``a + cold[d] + (n - 1) * rtt[d]``. Once admitted, a task's first stage starts ``dispatch``
    seconds later (its threads started, its first tensors packed and its link or slot taken;
    :func:`~splitinfer.runtime.calibrate.probe_returns` times it on the device before the run,
    :func:`~splitinfer.runtime.calibrate.dispatch_time`); ``dispatch`` may give one time per
    kind of first stage (``{"compute": ..., "transfer": ...}``,
    :func:`~splitinfer.runtime.calibrate.first_kind`), each task then taking that of its own
    first stage. A plan's own later ``release`` stays (the device dispatches a task while it
    waits for its release).

    Examples
    --------
    >>> from splitinfer.system.load import scenario_from_dict
    >>> sc = scenario_from_dict({
    ...     "nodes": [{"name": "d", "kind": "device", "compute": {"flops_per_s": 1e9}}],
    ...     "models": {"m": {"cuts": [{"transfer_bytes": 1e3}, {"transfer_bytes": 10,
    ...                                                         "head_flops": 1e9}]}},
    ...     "workload": {"tasks": [{"device": "d", "model": "m", "arrival": a}
    ...                            for a in (0.0, 0.0, 1.0)]}})
    >>> p = Plan("local", {t.id: TaskPlan(t.id, ("d",)) for t in sc.tasks})
    >>> [tp.release for tp in admission_plan(sc, p, {"d": 0.002}).tasks.values()]
    [0.004, 0.004, 1.002]
    >>> [round(tp.release, 6) for tp in admission_plan(sc, p, {"d": 0.002}, None, 0.001
    ...                                                ).tasks.values()]
    [0.005, 0.005, 1.003]
    >>> [round(tp.release, 6) for tp in admission_plan(
    ...     sc, p, {"d": 0.002}, None, {"compute": 0.001, "transfer": 0.009}).tasks.values()]
    [0.005, 0.005, 1.003]
    >>> [round(tp.release, 6) for tp in admission_plan(sc, p, {"d": 0.002}, None, 0.0,
    ...                                                {"d": 0.003}).tasks.values()]
    [0.005, 0.005, 1.003]
    """
    groups: dict[tuple[str, float], list[str]] = {}
    for t in sc.tasks:
        if t.id in plan.tasks and (decided_by or {}).get(t.id, "controller") == "controller":
            groups.setdefault((t.device, t.arrival), []).append(t.id)
    tasks = dict(plan.tasks)
    admitted = {t.id: t.arrival for t in sc.tasks if t.id in tasks}
    for (dev, arrival), ids in groups.items():
        r = rtt.get(dev)
        if not r:
            continue
        first = float((cold or {}).get(dev) or r)
        for tid in ids:
            admitted[tid] = arrival + first + (len(ids) - 1) * float(r)
    arrival_of = {t.id: t.arrival for t in sc.tasks}
    for tid, at in admitted.items():
        d = (float(dispatch) if isinstance(dispatch, int | float)
             else float(dispatch.get(_first_stage_kind(sc, tasks[tid]), 0.0)))
        if at + d > arrival_of[tid]:
            tp = tasks[tid]
            tasks[tid] = replace(tp, release=max(at + max(0.0, d), tp.release or 0.0))
    return Plan(plan.planner, tasks, dict(plan.params), plan.plan_time_s, dict(plan.info))


def _first_stage_kind(sc: Scenario, tp: TaskPlan) -> str:
    """The kind of a task plan's first stage (:func:`~splitinfer.runtime.calibrate.first_kind`
    of the first stage without dependencies that ``system`` builds for it)."""
    from splitinfer.runtime.calibrate import first_kind
    from splitinfer.system.stages import build_stages

    stages = build_stages(sc, sc.task(tp.task), tp)
    first = next((st for st in stages if not st.deps), None)
    return first_kind(first.kind) if first is not None else "compute"


def calibrated_workers(rt: Scenario, options: RunOptions, paced: list[str] | tuple[str, ...]
                       ) -> list[str]:
    """The workers that time their own pieces before the run (``serve worker --calibrate-out``):
    every CPU worker that is not paced. A paced node keeps its scenario speed and a CUDA worker
    is profiled on CUDA; every other worker is predicted with what it measured in its own
    process, under the run's conditions (:func:`~splitinfer.runtime.calibrate.measure_tails`)."""
    return [w for w in rt.servers if w not in options.cuda_nodes and w not in paced]


#: Passes of a worker's self-timing (:func:`~splitinfer.runtime.calibrate.measure_tails`).
CALIBRATION_REPEATS = 5


def _start_loads(launcher: Launcher, rt: Scenario, files: Path, place: dict[str, list[int]],
                 paced: list[str] | tuple[str, ...], ready_s: float, held: bool = False
                 ) -> list[str]:
    """Start one stand-in per device with tasks (``serve load``,
    :func:`~splitinfer.runtime.calibrate.device_load`), pinned as that device will be, so that
    the workers time their pieces beside the run's device compute; returns their names.

    Beside workers that will be ``held`` to their times, each stand-in computes without pause:
    every process of the run then computes while a worker times its pieces, the heaviest mix
    the run can present, so that the time a held worker takes bounds what its pieces take in
    the run (a held worker that computes faster waits out the rest, so a bound keeps the
    prediction exact, while a lower time is overrun and the overrun adds up along its queue).
    With each process on a CPU of its own (``place``) the stand-in shares the worker's caches
    and memory bandwidth; with more processes than CPUs it also takes a share of the worker's
    CPU time, as the devices may in the run. With the device's duty cycle instead, whether one
    of a worker's few timed passes overlapped the stand-in's compute was chance: the same
    AlexNet tail was timed at 55, 60 and 69 ms in three runs of duan2021's burst and took
    62-69 ms in each; shi2021's server (three processes on two CPUs) was timed at 42, 53 and
    77 ms for the same whole VGG16 in three quiet runs and took up to 57 ms in the first. A
    worker that is not held (``--no-pace-servers``) is predicted from its typical time, and
    then a paced device's stand-in holds each pass for the model's time on that device (the
    duty cycle of a device that computes back to back)."""
    names = []
    flat_out = held
    for d in rt.devices:
        if not any(t.device == d for t in rt.tasks):
            continue
        models = sorted({t.model for t in rt.tasks if t.device == d})
        pace = [f"{m}={rt.compute_time(d, m, 0, rt.models[m].last_cut):.6f}"
                for m in models if d in paced and not flat_out]
        argv = cli_argv("serve", "load", "--models", ",".join(models),
                        "--stop-file", str(files / "calibrate-done"),
                        "--ready-file", str(files / f"ready-load-{d}"),
                        "--timeout", str(2 * ready_s),
                        *[a for p in pace for a in ("--pace", p)])
        if d in place:
            argv = _argv(place[d], *argv[3:])
        launcher.start(f"load-{d}", argv)
        names.append(f"load-{d}")
    return names


def _worker_profiles(files: Path, out: Path, workers: list[str], profiles: dict,
                     hw_nodes: dict[str, Any], in_worker: dict[str, Any]) -> None:
    """Turn the tails each worker measured into its own profiles (hardware ``run-<node>``) and
    point the calibrated scenario's node at them (``hw_nodes``, in place)."""
    from splitinfer.profile import load_profile
    from splitinfer.runtime.calibrate import worker_profile

    base = {m: Profile.load(p) if Path(str(p)).suffix == ".json" else load_profile(str(p))
            for m, p in profiles.items()}
    other = dict(hw_nodes.get("other") or {})
    node_hw = dict(hw_nodes.get("node_hardware") or {})
    for w in workers:
        got = json.loads((files / f"compute-{w}.json").read_text())
        hw = f"run-{w}"
        paths = {}
        for m, tails in got["tails"].items():
            if m not in base:
                continue
            prof = worker_profile(base[m], tails, hw, {"load": got.get("load"),
                                                       "repeats": got.get("repeats")})
            paths[m] = prof.save(out / "profiles" / f"{m}@{hw}.json")
        other[hw] = paths
        node_hw[w] = hw
        in_worker[w] = {"hardware": hw, "cpus": got.get("cpus"), "load": got.get("load"),
                        "repeats": got.get("repeats"), "quantile": got.get("quantile"),
                        "under_load": got.get("under_load"), "gap_s": got.get("gap_s"),
                        "whole_s": {m: float(t[0]) for m, t in got["tails"].items()}}
    hw_nodes["other"] = other or None
    hw_nodes["node_hardware"] = node_hw or None


def _probe_workers(addresses: dict[str, str], token: str | None, timeout: float) -> None:
    """Ask every worker for ``Info`` before any device starts; one that does not answer within
    ``timeout`` seconds (stopped, or nothing listens) fails the run, naming it and its address.

    Raises
    ------
    WorkerUnreachable
    """
    import grpc

    from splitinfer.runtime.client import WorkerClient
    from splitinfer.runtime.wire import Limits

    deadline = time.monotonic() + timeout
    for node, address in addresses.items():
        client = WorkerClient(address, Limits(), token)
        try:
            while True:
                try:
                    client.info(timeout=max(0.1, min(2.0, deadline - time.monotonic())))
                    break
                except grpc.RpcError as exc:
                    if time.monotonic() > deadline:
                        raise WorkerUnreachable(
                            f"worker {node!r} at {address} did not answer within "
                            f"{timeout:.0f} s ({exc.code().name}); the run stopped") from None
                    time.sleep(0.1)
        finally:
            client.close()


def _unreachable(launcher: Launcher, devices: list[str]) -> WorkerUnreachable | None:
    """The one-line error of a device that found a worker not answering, if one did."""
    for d in devices:
        for line in reversed(launcher.log_tail(f"device-{d}", 40).splitlines()):
            if "did not answer within" in line:
                why = line.split("TimeoutError:", 1)[-1].strip().removeprefix("error:").strip()
                return WorkerUnreachable(f"device {d!r}: {why}; the run stopped")
    return None


def _record(d: dict[str, Any]) -> TaskRecord:
    return TaskRecord(d["id"], d["device"], d["model"], d["arrival"], d["finish"],
                      [StageRecord(**s) for s in d["stages"]], d.get("offloaded", False))


def _compressed(sc: Scenario, task: Any, plan: dict[str, Any] | None) -> bool:
    """Whether a task's plan sends a tensor in a smaller dtype than float32 (plan or link)."""
    from splitinfer.system.stages import build_stages

    if plan is None:
        return False
    try:
        stages = build_stages(sc, task, TaskPlan.from_dict(plan))
    except (SplitInferError, ValueError, KeyError, TypeError):
        return False
    return any(s.kind == "transfer" and s.dtype != "float32" for s in stages)


def _verify(sc: Scenario, by_id: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Recompute every task locally (same seeded parameters and input, one thread as the run's
    processes) and compare: ``torch.allclose`` in float32 (``rtol=1e-5, atol=1e-6``) on the
    output the device wrote, else the digests.

    Tasks whose plan sends a cut's tensor in float16, bfloat16 or int8 (``docs/dtype.md``) are
    not held to equality: ``compressed`` reports their number, the largest absolute output
    difference and the top-1 agreement (arg-max of the flattened output) with the float32
    model on the run's inputs; ``unmeasured`` lists compressed tasks whose output was too large
    to be written (only its digest)."""
    import torch

    from splitinfer.runtime.pieces import load_pieces
    from splitinfer.runtime.replay import digest

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        pieces = load_pieces(sorted(sc.models))
        equal, differ = 0, []
        comp = {"tasks": 0, "max_abs_diff": 0.0, "top1_agree": 0, "top1_differ": [],
                "unmeasured": []}
        for t in sc.tasks:
            if t.id not in by_id:
                continue
            mp = pieces[t.model]
            ref = mp.run(0, mp.last_cut, mp.example(t.samples, seed=t.index))
            got = by_id[t.id]
            out = got.get("output")
            if _compressed(sc, t, got.get("plan")):
                comp["tasks"] += 1
                if out is None:
                    comp["unmeasured"].append(t.id)
                    continue
                o = torch.tensor(out, dtype=ref.dtype).reshape(ref.shape)
                comp["max_abs_diff"] = max(comp["max_abs_diff"], float((o - ref).abs().max()))
                same = bool(torch.equal(o.reshape(t.samples, -1).argmax(1),
                                        ref.reshape(t.samples, -1).argmax(1)))
                comp["top1_agree"] += int(same)
                if not same:
                    comp["top1_differ"].append(t.id)
                continue
            bits = digest(ref) == got["digest"]
            close = bits or (out is not None and torch.allclose(
                torch.tensor(out, dtype=ref.dtype).reshape(ref.shape), ref, rtol=1e-5, atol=1e-6))
            if close:
                equal += 1
            else:
                differ.append(t.id)
        measured = comp["tasks"] - len(comp["unmeasured"])
        comp["top1_agreement"] = comp["top1_agree"] / measured if measured else None
        return {"equal": equal, "differ": differ, "compressed": comp}
    finally:
        torch.set_num_threads(threads)


def _processes(sc: Scenario, rt: Scenario, rt_path: Path, profiles: dict, hw_nodes: dict,
               out: Path, options: RunOptions, view_ref: str | None,
               bounds: dict[str, Any] | None = None, in_run: dict[str, Any] | None = None):
    """Start workers, devices and the controller; replay; stop everything (module docstring).

    Unpaced CPU workers time their own pieces before they serve (:func:`calibrated_workers`);
    their times replace the compute of their nodes in the calibrated scenario (``hw_nodes`` and
    ``in_run["workers"]`` are filled in place); each device's controller round trip goes to
    ``in_run["controller_rtt_s"]`` (back to back) and ``in_run["controller_cold_s"]`` (each
    after an idle wait).

    Every wait is bounded by ``bounds`` (:func:`check_plans`): processes get ``ready`` seconds
    to load and warm their models (derived from the models' number of cuts), devices give every
    worker ``workers_up`` seconds to answer (a stopped or unreachable worker fails the run with
    its name and address), tasks have ``task_deadline`` and the replay ``replay`` seconds.
    """
    b = dict(bounds or {})
    ready_s = 60.0 + sum(float(m.num_cuts) for m in rt.models.values())
    place = placement(rt, options)
    deadline_s = b.get("task_deadline", options.deadline_s)
    replay_s = b.get("replay", options.timeout_s)
    timed_paced = (calibrated_workers(rt, options, b.get("paced", ()))
                   if options.pace_servers else [])
    held = ",".join([*b.get("paced", ()), *timed_paced])
    topo = None
    follower = None
    if options.shaping == "kernel":
        from splitinfer.runtime.netns import CONTROLLER_NODE, NetnsTopology

        topo = NetnsTopology(rt)
        topo.create()
    pools = out / "pools"  # the levels of the scenario's pools, shared by every process
    pools.mkdir(exist_ok=True)
    for stale in pools.iterdir():
        stale.unlink()
    launcher = Launcher(out, options.token, {
        **(options.tls.client_env() if options.tls else {}), POOL_DIR_ENV: str(pools)})
    files = out / "files"
    files.mkdir(exist_ok=True)
    for stale in files.iterdir():
        stale.unlink()
    try:
        if topo is None:
            from splitinfer.runtime.transport import free_ports

            ports = free_ports(len(rt.servers) + 1)
            port = dict(zip(rt.servers, ports, strict=False))
            ctl_port = ports[-1]

            def addr(src: str, dst: str) -> str:
                return f"127.0.0.1:{port[dst]}"

            def ctl_addr(dev: str) -> str:
                return f"127.0.0.1:{ctl_port}"

            def prefix(node: str) -> list[str]:
                return []
            host = "127.0.0.1"
        else:
            def addr(src: str, dst: str) -> str:
                return f"{topo.addresses[(src, dst)]}:{WORKER_PORT}"

            def ctl_addr(dev: str) -> str:
                return f"{topo.addresses[(dev, CONTROLLER_NODE)]}:{CONTROLLER_PORT}"

            def prefix(node: str) -> list[str]:
                return topo.exec_prefix(node)
            host = "0.0.0.0"
        # servers: TLS when asked; a non-loopback bind (the private namespaces of kernel mode)
        # without TLS and a token has to be allowed explicitly
        secure = options.tls.serve_args() if options.tls else []
        if host != "127.0.0.1" and not (options.tls and options.token):
            secure.append("--insecure")
        # a worker's call caps (against stalled callers) sized so that every task of the run may
        # hold its calls there at once (all callers share 127.0.0.1 here)
        caps = ["--max-streams", str(min(1024, max(64, 2 * len(sc.tasks) + 16)))]
        shaping = ["--shaping", options.shaping] + (
            ["--kernel-delay"] if topo is not None and topo.kernel_delay else [])
        models = ",".join(sorted(sc.models))
        workers = []
        timed = calibrated_workers(rt, options, b.get("paced", ()))
        loads = _start_loads(launcher, rt, files, place if topo is None else {},
                             b.get("paced", ()), ready_s, options.pace_servers) if timed else []
        for w in rt.servers:
            peers = [f"{y}={addr(w, y)}" for y in rt.servers if y != w and rt.has_link(w, y)]
            conc = rt.nodes[w].concurrency
            argv = cli_argv("serve", "worker", "--models", models, "--node", w,
                            "--device", "cuda" if w in options.cuda_nodes else "cpu",
                            "--host", host, "--port", str(port[w] if topo is None else WORKER_PORT),
                            "--concurrency", str(conc or 0), "--scenario", str(rt_path),
                            "--ready-file", str(files / f"ready-{w}"), *shaping, *secure, *caps,
                            *[a for p in peers for a in ("--peer", p)],
                            *(["--calibrate-out", str(files / f"compute-{w}.json"),
                               "--calibrate-repeats", str(CALIBRATION_REPEATS),
                               "--calibrate-quantile",
                               str(CALIBRATION_QUANTILE if options.pace_servers else 0.5),
                               "--calibrate-gap", str(CALIBRATION_GAP_S),
                               "--calibrate-after", str(files / "calibrate-go")]
                              if w in timed else []))
            if topo is None and w in place:
                argv = _argv(place[w], *argv[3:])
            launcher.start(f"worker-{w}", argv, prefix(w))
            workers.append(f"worker-{w}")
        if loads:  # the workers time their pieces once the devices' stand-ins compute
            launcher.wait_files([files / f"ready-{n}" for n in loads], ready_s, loads + workers)
        write_json_atomic(files / "calibrate-go", {})
        # the controller starts now and loads its view once the calibration has written it
        cal_path = out / "scenario-calibrated.json"
        cal_path.unlink(missing_ok=True)
        view = cal_path if options.view == "calibrated" else view_ref
        params = [a for k, v in options.params.items() for a in ("--param", f"{k}={v}")]
        ctl = cli_argv("serve", "controller", "--scenario", str(view), "--planner",
                       options.planner, *params, "--host", host,
                       "--port", str(ctl_port if topo is None else CONTROLLER_PORT),
                       "--ready-file", str(files / "ready-controller"), *secure,
                       "--wait", str(2 * ready_s))
        launcher.start("controller", ctl, None if topo is None else prefix(CONTROLLER_NODE))
        # workers first: devices then give each worker a short, bounded time to answer
        launcher.wait_files([files / f"ready-{w[len('worker-'):]}" for w in workers], ready_s,
                            workers + ["controller"])
        write_json_atomic(files / "calibrate-done", {})
        for n in loads:
            launcher.stop(n, 2.0)
        in_run = in_run if in_run is not None else {}
        _worker_profiles(files, out, timed, profiles, hw_nodes, in_run.setdefault("workers", {}))
        if loads:  # how the stand-ins loaded the machine while the workers timed (_start_loads)
            in_run["stand_ins"] = ("without pause" if options.pace_servers
                                   else "device duty cycle")
        for n in options.pause:
            launcher.pause(f"worker-{n}")
        if topo is None and options.tls is None:  # else the devices check (other namespaces)
            _probe_workers({w: addr("", w) for w in rt.servers}, options.token,
                           float(b.get("workers_up", WORKERS_UP_S)))
        if options.compute == "measure" and topo is None:
            first = next((place[d] for d in rt.devices if d in place), None)
            # same file names, new measurements: the devices (started next), the calibrated
            # scenario and the controller's view read them; the workers only use the links
            _measure_in_place(launcher, sorted(rt.models), profiles, first, options, ready_s)
        devices = []
        for d in rt.devices:
            if not any(t.device == d for t in rt.tasks):
                continue
            ws = [a for y in rt.servers if rt.has_link(d, y) for a in ("--worker", f"{y}={addr(d, y)}")]
            argv = cli_argv("device", "replay", "--scenario", str(rt_path), "--node", d,
                            "--controller", ctl_addr(d), *ws, *shaping,
                            "--deadline", str(deadline_s),
                            "--fallback-planner", options.fallback_planner,
                            "--wait-workers", str(b.get("workers_up", 25.0)),
                            "--go-timeout", str(2 * ready_s),
                            *(["--paced", held] if held else []),
                            "--ready-file", str(files / f"ready-{d}"),
                            "--go-file", str(files / "go"), "--out", str(files / f"out-{d}.json"),
                            *(["--calibrate-out", str(files / f"probe-{d}.json")]
                              if options.calibrate_links else []))
            if topo is None and d in place:
                argv = _argv(place[d], *argv[3:])
            launcher.start(f"device-{d}", argv, prefix(d))
            devices.append(d)
        try:
            launcher.wait_files([files / f"ready-{d}" for d in devices], ready_s,
                                workers + [f"device-{d}" for d in devices] + ["controller"])
        except ProcessDied as exc:
            raise _unreachable(launcher, devices) or exc from None
        samples = []
        for d in devices:
            p = files / f"probe-{d}.json"
            if p.exists():
                samples += json.loads(p.read_text())
        transfer = (fit_transfer(samples) if sum("bytes" in x for x in samples) >= 2
                    else None)
        in_run["reply_s"] = reply_time(samples) if options.calibrate_links else 0.0
        in_run["dispatch_s"] = ({k: dispatch_time(samples, k) for k in ("compute", "transfer")}
                                if options.calibrate_links else 0.0)
        write_json_atomic(cal_path, scenario_file_dict(
            scenario_dict(sc, profiles, transfer=transfer, reply=in_run["reply_s"], **hw_nodes)))
        launcher.wait_files([files / "ready-controller"], ready_s, ["controller"] + workers)
        epoch = time.monotonic() + 0.5
        # the devices pace every held node's compute to its time in the calibrated scenario
        write_json_atomic(files / "go", {"epoch": epoch, "pace_scenario": str(cal_path)})
        if topo is not None and rt.traced_links:  # tc follows the bandwidth traces
            follower = topo.follow_traces(epoch, replay_s + 5.0)
        faults = [threading.Timer(max(0.0, epoch + t - time.monotonic()), launcher.stop,
                                  args=(f"worker-{n}", 0.5)) for n, t in options.kill.items()]
        if options.stop_controller_at is not None:
            faults.append(threading.Timer(max(0.0, epoch + options.stop_controller_at
                                              - time.monotonic()), launcher.stop,
                                          args=("controller", 0.5)))
        for f in faults:
            f.start()
        launcher.wait_files([files / f"out-{d}.json" for d in devices], replay_s + 5.0,
                            [f"device-{d}" for d in devices])
        for f in faults:
            f.cancel()
        outs = {d: json.loads((files / f"out-{d}.json").read_text()) for d in devices}
        in_run.setdefault("controller_rtt_s", {}).update(
            {d: o.get("controller_rtt_s") for d, o in outs.items()})
        in_run.setdefault("controller_cold_s", {}).update(
            {d: o.get("controller_cold_s") for d, o in outs.items()})
        outcomes = [o for d in devices for o in outs[d]["outcomes"]]
        return outcomes, samples, transfer, cal_path
    finally:
        launcher.stop_all()
        if follower is not None:
            follower.stop()
        if topo is not None:
            topo.delete()
