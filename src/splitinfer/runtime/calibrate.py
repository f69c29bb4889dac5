"""Calibration as in Duan & Wu 2021 section 6.1: a lookup table of compute times and a fitted link model.

Duan & Wu (ICPP 2021) section 6.1 predicts a job's local computation time from "a lookup
table" of measured times and its communication time from "a simple linear regression model
t_n = w0 + w1 * r, [with] r = s/b" fitted on real transfers. For the runtime to predict what it
measures, the scenario used for the prediction must describe *this* machine:

* **Compute** (:func:`measure_compute`): every model is profiled here with
  :func:`splitinfer.profile.measure_profile` at one thread (the processes of a run pin
  ``torch.set_num_threads(1)``); the profiles form a
  :class:`~splitinfer.profile.LatencyLookupTable`, and every node of the calibrated scenario gets
  ``compute: {hardware: <that name>}`` (devices and CPU workers run on the same CPU).
* **Links** (:func:`probe_links`, :func:`fit_transfer`): a device streams tensors of several
  sizes to each worker's ``Sink`` over the shaped link and the worker stamps the arrival of the
  last byte (one monotonic clock on one machine, so the one-way time is measured directly). The
  samples are pooled and :class:`~splitinfer.profile.LinearTransferModel` is fitted to
  ``t - latency = w0 + w1 * slowdown * 8 s / rate`` (the configured latency and slowdown of each
  link are what shaping reproduces; ``w0`` is the fixed cost of a call, ``w1`` the shaper's and
  transport's rate efficiency). The calibrated link then has ``latency + w0`` and
  ``slowdown * w1``.
* **Returns** (:func:`probe_returns`, :func:`reply_time`): a result returned by the scenario's
  constant delay comes back in the answer of the device's ``Run`` call; the device times that
  answer on short routes that end on each worker, and the calibrated delay adds the median.

Reading: the paper fits one (w0, w1) for one device-to-cloud channel at varying bandwidth; we fit
one pair for all links of a run because every link is the same mechanism (gRPC over loopback or
veth, paced by the same shaper), which keeps the calibration to a few seconds.

Examples
--------
>>> samples = [{"bytes": s, "rate": 8e6, "latency": 0.005, "slowdown": 1.0,
...             "seconds": 0.005 + 0.001 + 8 * s / 8e6} for s in (1e3, 1e4, 1e5)]
>>> m = fit_transfer(samples)
>>> round(m.w0, 6), round(m.w1, 6)
(0.001, 1.0)
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from splitinfer.errors import ScenarioError
from splitinfer.profile import LatencyLookupTable, LinearTransferModel, Profile
from splitinfer.system.scenario import Scenario

__all__ = [
    "paced_nodes", "PACE_MARGIN",
    "measure_compute", "lookup_table", "probe_links", "probe_returns", "fit_transfer",
    "scenario_dict",
    "check_runnable", "RUN_HARDWARE", "measure_tails", "worker_profile", "device_load",
    "calibrate_worker",
    "CALIBRATION_QUANTILE", "CALIBRATION_GAP_S", "reply_time", "dispatch_time", "first_kind",
]

#: The quantile of a worker's timed passes that its calibrated compute time is when the run
#: holds its workers to their times (see :func:`measure_tails`): the slowest pass. A held worker
#: that computes faster waits out the rest, so a time no pass of the run exceeds makes the
#: prediction exact, while a lower one is overrun and the overrun adds up along the worker's
#: queue (at the 80th percentile of 5 passes the calibrated time of one piece varied from run
#: to run between 47 and 58 ms against 58-60 ms in the runs). Unheld workers take the median.
CALIBRATION_QUANTILE = 1.0

#: Hardware name of the profiles measured at the start of a run.
RUN_HARDWARE = "cpu-1t-run"


def check_runnable(scenario: Scenario) -> None:
    """Raise :class:`ScenarioError` unless every model is a zoo model that can really run.

    A model given by a paper's cut table (e.g. Shi et al.'s six partition points of VGG16) has no
    runnable pieces: its cut indices do not index the traced model's cuts.
    """
    from splitinfer.models import list_models

    known = set(list_models())
    for name, mc in scenario.models.items():
        if name not in known:
            raise ScenarioError(f"model {name!r} of scenario {scenario.name!r} is not a zoo "
                                "model, so the runtime cannot run it (see `splitinfer models`)")
        if not mc.source.startswith("profile"):
            raise ScenarioError(f"model {name!r} of scenario {scenario.name!r} comes from a cut "
                                "table, whose cut indices are not the traced model's; give it "
                                "as `profile: <model>@<hardware>` to run it for real")


#: A node is paced when the scenario makes it at least this much slower than this machine.
PACE_MARGIN = 1.2


def paced_nodes(scenario: Scenario, here: Scenario, margin: float = PACE_MARGIN) -> list[str]:
    """Nodes that ``scenario`` makes slower than this machine (``here``, the calibrated view).

    A node is paced when, for every model, its whole-model time in ``scenario`` is at least
    ``margin`` times the time measured here: such a node (typically a phone or a Raspberry Pi)
    runs each piece at full speed and then holds its slot for the rest of the piece's time in
    ``scenario`` (:class:`~splitinfer.runtime.route.Execution`). Other nodes run as fast as this
    machine runs them: a server can never be faster than the hardware it runs on.
    """
    out = []
    for name, node in scenario.nodes.items():
        if node.compute == "table":
            continue
        try:
            slower = all(scenario.compute_time(name, m, 0, mc.last_cut)
                         >= margin * here.compute_time(name, m, 0, here.models[m].last_cut)
                         for m, mc in scenario.models.items())
        except Exception:  # a node without times for some model: run it as this machine
            continue
        if slower:
            out.append(name)
    return out


def measure_compute(models: list[str], out_dir: str | Path | None = None, *,
                    source: str = "measure", repeats: int = 5, warmup: int = 1,
                    segment_repeats: int = 2, hardware: str = RUN_HARDWARE,
                    device: str = "cpu") -> dict[str, Path | str]:
    """Profile every model at one thread here (or take the shipped ``cpu-1t`` profile).

    Parameters
    ----------
    models : list of str
    out_dir : path, optional
        Where ``<model>@<hardware>.json`` files are written (required for ``"measure"``).
    source : {"measure", "shipped"}
        Measure now, or use the shipped ``<model>@cpu-1t`` profiles.
    repeats, warmup, segment_repeats : int
        Passed to :func:`splitinfer.profile.measure_profile`.
    hardware : str
        Hardware name recorded in the measured profiles.
    device : {"cpu", "cuda"}
        Where to measure (CUDA for a GPU worker).

    Returns
    -------
    dict
        Model -> profile path (measured) or shipped profile name.
    """
    if source == "shipped":
        return {m: f"{m}@cpu-1t" for m in models}
    if source != "measure":
        raise ValueError(f"compute source must be 'measure' or 'shipped', got {source!r}")
    from splitinfer.profile import measure_profile

    out = Path(out_dir) if out_dir is not None else None
    if out is None:
        raise ValueError("measuring profiles needs an output directory")
    paths = {}
    for m in models:
        prof = measure_profile(m, device, threads=1, repeats=repeats, warmup=warmup,
                               segment_repeats=segment_repeats, segment_warmup=1,
                               hardware_name=hardware)
        paths[m] = prof.save(out / f"{m}@{hardware}.json")
    return paths


#: Seconds a worker's timing waits before each timed piece (:func:`measure_tails`), and a device
#: before each admission and dispatch probe (:func:`probe_returns`,
#: :meth:`~splitinfer.runtime.device.Device.controller_rtt`): the idle a piece or a task of a run
#: comes after.
CALIBRATION_GAP_S = 0.03


def measure_tails(pieces: dict[str, Any], repeats: int = 3, quantile: float = 0.5,
                  gap_s: float = 0.0) -> dict[str, list[float]]:
    """Time every cut's tail of every model in *this* process, the way a worker runs it.

    Duan & Wu 2021 section 6.1 predicts compute from a lookup table of measured times; for the
    prediction to describe the run, the table of a server must be measured under the run's
    conditions: in the worker process itself (its thread count, its CPU placement, the gRPC
    server and the run's other processes present), on the pieces it runs
    (:meth:`~splitinfer.runtime.pieces.ModelPieces.run_layers` on the tail's layer set, the code
    path of a route's compute stage). Cuts are timed round-robin (each pass times every tail
    once) and each tail's time is the ``quantile`` of its ``repeats`` passes (the median by
    default; ``run`` takes :data:`CALIBRATION_QUANTILE` while :func:`device_load` emulates the
    run's devices beside it, so that the time is one the worker can hold during the run). With
    ``gap_s`` the worker waits that long before each timed piece, as in a run, where a piece
    starts after its input has come in rather than right after another piece (``run`` takes
    :data:`CALIBRATION_GAP_S`; timed back to back, pieces ran faster than in a run).

    Parameters
    ----------
    pieces : dict
        Model name -> :class:`~splitinfer.runtime.pieces.ModelPieces`.
    repeats : int
        Passes over all cuts (at least 1).
    quantile : float
        Which quantile of the passes is each tail's time (0.5: the median).
    gap_s : float
        Seconds to wait before each timed piece.

    Returns
    -------
    dict
        Model -> tail seconds per cut (the last cut's tail is 0).
    """
    if not 0.0 <= quantile <= 1.0:
        raise ValueError(f"quantile must be in [0, 1], got {quantile}")
    from splitinfer.runtime.launch import background_compute

    with background_compute():  # as a route's compute stage runs
        return _time_tails(pieces, repeats, quantile, gap_s)


def _time_tails(pieces: dict[str, Any], repeats: int, quantile: float, gap_s: float
                ) -> dict[str, list[float]]:
    import torch

    out: dict[str, list[float]] = {}
    for name, mp in pieces.items():
        env = {-1: mp.example(1, seed=0)}
        with torch.inference_mode():
            for i in range(mp.num_layers):  # every intermediate value, for any tail's inputs
                env.update(mp.run_layers((i,), env))
        last = mp.last_cut
        sets = [mp.cut_layers(c, last) for c in range(last)]
        for layers in sets:  # build and run once untimed
            mp.run_layers(layers, env)
        times: list[list[float]] = [[] for _ in sets]
        for _ in range(max(1, repeats)):
            for c, layers in enumerate(sets):
                if gap_s > 0:
                    time.sleep(gap_s)
                t0 = time.perf_counter()
                mp.run_layers(layers, env)
                times[c].append(time.perf_counter() - t0)
        out[name] = [float(np.quantile(t, quantile)) for t in times] + [0.0]
    return out


def device_load(models: list[str], pace_s: dict[str, float], stop_file: str | Path,
                ready_file: str | Path | None = None, timeout_s: float = 120.0,
                seed: int = 0) -> int:
    """Compute as a device of the run would, until ``stop_file`` exists: the load beside which
    the workers time their pieces (:func:`measure_tails`).

    Issue 14 point 7 asks for compute calibrated "with the other processes of the run present":
    on a machine whose cores share caches, memory bandwidth (and on a VM, often one physical
    core), a server's piece takes longer while a device computes beside it. This process stands
    in for one device: pinned and threaded as that device will be, it runs each model whole
    (:meth:`~splitinfer.runtime.pieces.ModelPieces.run_layers`, the route's code path) in turn,
    and holds each pass for the rest of the model's time on that device (``pace_s``: the
    device's scenario time when it is paced, 0 when it runs at this machine's speed), so it
    loads the machine with the duty cycle of a device that computes back to back, the most
    that device does in a run.

    Parameters
    ----------
    models : list of str
        Zoo models the device runs.
    pace_s : dict
        Model -> seconds each pass is held for (missing: 0).
    stop_file : path
        Stop once it exists.
    ready_file : path, optional
        Written once the models are built and warm.
    timeout_s : float
        Stop after this long in any case.
    seed : int
        Parameter seed.

    Returns
    -------
    int
        Passes computed.
    """
    import torch

    from splitinfer.runtime.pieces import ModelPieces

    pieces = [ModelPieces(m, seed=seed) for m in models]
    work = []
    with torch.inference_mode():
        for mp in pieces:
            env = {-1: mp.example(1, seed=0)}
            layers = mp.cut_layers(0, mp.last_cut)
            mp.run_layers(layers, env)
            work.append((mp, layers, env))
    if ready_file is not None:
        Path(ready_file).write_text("{}")
    from splitinfer.runtime.launch import background_compute

    stop, end, passes = Path(stop_file), time.monotonic() + timeout_s, 0
    with torch.inference_mode(), background_compute():
        while not stop.exists() and time.monotonic() < end:
            for mp, layers, env in work:
                t0 = time.monotonic()
                mp.run_layers(layers, env)
                passes += 1
                left = t0 + float(pace_s.get(mp.name, 0.0)) - time.monotonic()
                if left > 0:
                    time.sleep(left)
    return passes


def calibrate_worker(pieces: dict[str, Any], node: str, path: str | Path, repeats: int = 3,
                     quantile: float = 0.5, after: str | Path | None = None,
                     after_timeout: float = 120.0, gap_s: float = 0.0) -> dict[str, Any]:
    """Time a worker's tails (:func:`measure_tails`) and write them to ``path`` (JSON, with the
    load average, CPUs and settings); ``serve worker --calibrate-out`` calls it.

    With ``after``, the timing starts once that file exists (``run`` writes it when the
    stand-ins of the run's devices are up, :func:`device_load`) and the workers of one run time
    at the same time, beside each other, as they will run; without it, workers of one run take
    turns (a lock file beside ``path``). Returns what it wrote.
    """
    import contextlib
    import fcntl
    import os

    from splitinfer.runtime.replay import write_json_atomic

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    under_load = None
    if after is not None:
        deadline = time.monotonic() + after_timeout
        while not Path(after).exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        under_load = Path(after).exists()
    with open(path.parent / "calibrate.lock", "a") as lock:
        if after is None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            load = list(os.getloadavg())
            tails = measure_tails(pieces, repeats, quantile, gap_s)
        finally:
            with contextlib.suppress(OSError):
                fcntl.flock(lock, fcntl.LOCK_UN)
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    out = {"node": node, "tails": tails, "repeats": repeats, "load": load, "cpus": cpus,
           "quantile": quantile, "under_load": under_load, "gap_s": gap_s}
    write_json_atomic(path, out)
    return out


def worker_profile(base: Profile, tails: list[float], hardware: str,
                   info: dict[str, Any] | None = None) -> Profile:
    """``base`` (FLOPs, bytes, layers) with the cut latencies a worker measured
    (:func:`measure_tails`) under the hardware name ``hardware``.

    The head of cut ``c`` is read as ``tail(0) - tail(c)``: a difference of measured tails, so
    every piece ``(a, b)`` a plan gives the worker costs ``tail(a) - tail(b)``, and the whole
    model ``tail(0)`` (:attr:`Profile.head_latency` then repairs the curve as usual). Per-layer
    latencies stay ``base``'s; the scenario loader scales them to this head curve.

    Examples
    --------
    >>> from splitinfer.profile.format import example_profile_dict
    >>> p = worker_profile(Profile.from_dict(example_profile_dict()), [0.003, 0.0, 0.0], "run-e")
    >>> p.name, p.head_latency.tolist(), p.whole_latency_s
    ('toy@run-e', [0.0, 0.003, 0.003], 0.003)
    """
    if len(tails) != base.num_cuts:
        raise ValueError(f"{len(tails)} tail times for {base.num_cuts} cuts of {base.model!r}")
    d = base.to_dict()
    whole = float(tails[0])
    for c, t in zip(d["cuts"], tails, strict=True):
        c["head_latency_s"] = max(0.0, whole - float(t))
        c["tail_latency_s"] = float(t)
    d["hardware"] = {**d["hardware"], "name": hardware}
    d["measurement"] = {**d["measurement"], "cut_latency": "tails of every cut timed in the "
                        "worker process before the run (median of round-robin passes); heads "
                        "= tail(0) - tail(c); layers from the base profile",
                        "base": base.name, "in_worker": dict(info or {})}
    d["whole_latency_s"] = d["whole_latency_median_s"] = whole
    d["whole_latency_std_s"] = 0.0
    return Profile.from_dict(d, f"{base.model}@{hardware}")


def lookup_table(profiles: dict[str, Path | str]) -> LatencyLookupTable:
    """The lookup table of local compute times (Duan & Wu 2021 section 6.1) of the given profiles."""
    from splitinfer.profile import load_profile

    return LatencyLookupTable.from_profiles(
        [Profile.load(p) if Path(str(p)).suffix == ".json" else load_profile(str(p))
         for p in profiles.values()])


def probe_links(device: Any, *, durations: tuple[float, ...] = (0.004, 0.015, 0.04),
                small: int = 1024, repeats: int = 2, timeout: float = 30.0) -> list[dict[str, Any]]:
    """Stream probe tensors from ``device`` to every worker it has a link to; time each one.

    Sizes are chosen per link so that the serialisation takes about each of ``durations``
    seconds (plus one ``small``-byte probe), so every link spans the same range of ``r``.

    Parameters
    ----------
    device : splitinfer.runtime.device.Device

    Returns
    -------
    list of dict
        One sample per probe: ``link, bytes, rate, latency, slowdown, seconds`` and
        ``reply_s``, the time from the worker's receipt to its answer being here (the path a
        result takes back in a call's answer, :func:`reply_time`).
    """
    from splitinfer.runtime.wire import KIND_REQUEST, encode_frame

    samples = []
    sc = device.config.scenario
    for dst, shaper in sorted(device.links.items()):
        client = device.clients.get(dst)
        if client is None:
            continue
        link = sc.link(device.name, dst)
        sizes = [small] + [max(small, int(d * link.rate / link.slowdown / 8)) for d in durations]
        sizes = [min(s, device.config.limits.max_payload_bytes) for s in sizes]
        for _ in range(repeats):
            for n in sizes:
                frame = encode_frame({"probe": n}, np.zeros(n, np.uint8), KIND_REQUEST)
                receipt, sent = client.sink(frame, shaper, timeout)
                back = time.monotonic()
                samples.append({"link": f"{device.name}->{dst}", "bytes": n, "rate": link.rate,
                                "latency": link.latency, "slowdown": link.slowdown,
                                "seconds": float(receipt["received"]) - sent.start,
                                "reply_s": back - float(receipt["received"])})
                time.sleep(0.002)
    return samples


def probe_returns(device: Any, *, repeats: int = 5, timeout: float = 30.0
                  ) -> list[dict[str, Any]]:
    """Time the way a result comes back in the answer of a ``Run`` call, as a run returns it.

    When the scenario returns results by a constant delay (Li et al. 2022 eq. 6, Duan & Wu
    2021's negligible download), the worker that ran the last piece waits the delay and hands
    the result back in its answer to the device's ``Run``. Beyond the delay that costs the
    worker's hand-over from its last stage to the answer, the answer's encoding and its way
    back: 3-5 ms in the stage tables, where the ``Sink`` receipt of :func:`probe_links`
    (``reply_s``) measured only its way back (about 1 ms). So for every worker it calls, the
    device executes a route of its first task that runs the model's last piece on that worker
    (:class:`~splitinfer.runtime.route.Execution`, unpaced, the route's code path; on a divisible
    worker, in the device's own share lane at share 1), ``repeats`` times, and takes the time
    from the end of that worker's compute stage to the answer here, less the scenario's delay
    (one monotonic clock on one machine). Each run also gives ``dispatch_s``, the time from the
    execution's start to the start of its first stage here (:func:`dispatch_time`); ``repeats``
    more runs of the whole model on that worker time the dispatch of a task whose first stage
    sends its input (``first``: ``"transfer"``). Each run starts after a
    :data:`CALIBRATION_GAP_S` idle wait, as a task of a run arrives after the device idled
    (back to back, the threads and the CPUs are awake, and a call costs less than in a run).

    Returns
    -------
    list of dict
        Per run: ``worker`` and ``return_s`` (only where results return by a constant delay,
        from the runs with a piece on the device), and ``worker``, ``first`` and
        ``dispatch_s``; none when the device has no task or worker.
    """
    import uuid

    from splitinfer.errors import InfeasiblePlanError
    from splitinfer.runtime.route import Execution, RouteFailed, compile_route, located
    from splitinfer.system.plan import TaskPlan

    sc = device.config.scenario
    mine = [t for t in sc.tasks if t.device == device.name]
    if not mine:
        return []
    task = min(mine, key=lambda t: (t.arrival, t.index))
    mp = device.pieces.get(task.model)
    if mp is None:
        return []
    samples = []
    for dst in sorted(device.clients):
        node = sc.nodes.get(dst)
        share = 1.0 if node is not None and node.divisible else None  # its device's lane
        cut = None
        for c in range(mp.last_cut - 1, 0, -1):  # the smallest last piece that can run there
            try:
                compile_route(sc, task, TaskPlan(task.id, (device.name, dst), (c,), share=share))
                cut = c
                break
            except InfeasiblePlanError:
                continue
        try:  # the whole model there: the task's first stage sends its input
            compile_route(sc, task, TaskPlan(task.id, (device.name, dst), (0,), share=share))
            whole: list[int] = [0]
        except InfeasiblePlanError:
            whole = []
        if cut is None and not whole:
            continue
        runs = [c for c in ([cut] if cut is not None else []) + whole
                for _ in range(max(1, repeats))]
        for c in runs:
            route = compile_route(sc, task, TaskPlan(task.id, (device.name, dst), (c,),
                                                     share=share))
            route["key"] = f"probe~{uuid.uuid4().hex[:12]}"
            back = [k for k, st in enumerate(route["stages"])
                    if st["kind"] == "delay" and st["dst"] == device.name]
            time.sleep(CALIBRATION_GAP_S)  # as a task arrives after the device idled
            start = time.monotonic()
            ex = Execution(route, device.name, device, start + timeout, start)
            ex.env[-1] = mp.example(task.samples, seed=task.index)
            try:
                ex.run()
            except RouteFailed:
                continue
            for k in back if c == cut else ():
                rec = ex.collected.get(k)
                if rec is not None and rec.get("end") is not None:
                    samples.append({"worker": dst, "return_s": max(0.0, float(
                        rec["end"]) - float(rec["ready"]) - float(route["stages"][k]["duration"]))})
            firsts = [k for k in located(route, device.name)
                      if not route["stages"][k]["deps"] and k in ex.records]
            if firsts:
                k0 = min(firsts, key=lambda k: ex.records[k]["start"])
                samples.append({"worker": dst, "first": first_kind(route["stages"][k0]["kind"]),
                                "dispatch_s": max(0.0, ex.records[k0]["start"] - start)})
    return samples


def first_kind(kind: str) -> str:
    """How a task's first stage is dispatched: ``"compute"`` (a slot is taken and the piece
    starts) or ``"transfer"`` (its input is packed and a link taken), from a stage's kind.

    Examples
    --------
    >>> first_kind("compute"), first_kind("transfer"), first_kind("delay")
    ('compute', 'transfer', 'transfer')
    """
    return "compute" if kind == "compute" else "transfer"


def dispatch_time(samples: list[dict[str, Any]], first: str = "compute") -> float:
    """The median time from a task's admission to the start of its first stage (``dispatch_s``
    of :func:`probe_returns`: the execution's threads started and its first stage's slot or
    link taken), over the probes whose first stage is of kind ``first``
    (:func:`first_kind`; a sample that does not say is a compute); with none of that kind, the
    median over all; 0 without any. The prediction adds it to the admission of every task whose
    first stage is of that kind (:func:`splitinfer.runtime.run.admission_plan`): a task that
    begins by sending its input took longer to dispatch in the probes than one that begins by
    computing.

    Examples
    --------
    >>> s = [{"dispatch_s": 0.002}, {"return_s": 0.01}, {"dispatch_s": 0.004},
    ...      {"dispatch_s": 0.009, "first": "transfer"}]
    >>> dispatch_time(s), dispatch_time(s, "transfer")
    (0.003, 0.009)
    >>> dispatch_time([{"dispatch_s": 0.002}], "transfer"), dispatch_time([])
    (0.002, 0.0)
    """
    every = [x for x in samples if x.get("dispatch_s") is not None]
    kind = [float(x["dispatch_s"]) for x in every if x.get("first", "compute") == first]
    got = kind or [float(x["dispatch_s"]) for x in every]
    return float(np.median(got)) if got else 0.0


def reply_time(samples: list[dict[str, Any]]) -> float:
    """The median time a result takes from a worker's last stage back to the device in a call's
    answer: ``return_s`` of :func:`probe_returns` where there are any, else ``reply_s`` of
    :func:`probe_links`; 0 without either.

    A result that returns by the scenario's constant delay rather than over a link comes back in
    the answer of the device's ``Run`` call, which costs this time on top of the delay; the
    calibrated scenario adds it (:func:`scenario_dict`'s ``reply``).

    Examples
    --------
    >>> reply_time([{"reply_s": 0.002}, {"reply_s": 0.004}, {"reply_s": 0.003}, {}])
    0.003
    >>> reply_time([{"reply_s": 0.001}, {"return_s": 0.004}, {"return_s": 0.002}])
    0.003
    >>> reply_time([])
    0.0
    """
    whole = [float(x["return_s"]) for x in samples if x.get("return_s") is not None]
    got = whole or [float(x["reply_s"]) for x in samples if x.get("reply_s") is not None]
    return float(np.median(got)) if got else 0.0


def fit_transfer(samples: list[dict[str, Any]]) -> LinearTransferModel:
    """Fit ``t - latency = w0 + w1 * slowdown * 8 s / rate`` on probe samples (module docstring;
    samples without ``bytes``, e.g. :func:`probe_returns`', are not transfers and are skipped)."""
    samples = [x for x in samples if "bytes" in x]
    s = np.array([x["bytes"] for x in samples], dtype=float)
    b = np.array([x["rate"] / x["slowdown"] for x in samples], dtype=float)
    t = np.array([x["seconds"] - x["latency"] for x in samples], dtype=float)
    return LinearTransferModel().fit(s, b, t)


def _bandwidth(link) -> Any:
    """A link's ``bandwidth`` for a file: its rate, or the trace it follows (``docs/traces.md``)."""
    if link.trace is not None:
        if link.trace.source is None:
            raise ValueError(f"link {link.name} follows a bandwidth trace built in Python; the "
                             "runtime needs one read from a file (splitinfer.traces.read_trace)")
        return dict(link.trace.source)
    return float(link.rate)


def scenario_dict(scenario: Scenario, profiles: dict[str, Path | str], *,
                  hardware: str = RUN_HARDWARE, transfer: LinearTransferModel | None = None,
                  other: dict[str, dict[str, Path | str]] | None = None,
                  node_hardware: dict[str, str] | None = None,
                  keep: dict[str, dict[str, Any]] | None = None,
                  reply: float = 0.0) -> dict[str, Any]:
    """The scenario rewritten to describe this machine (module docstring).

    Every node computes with the profiles ``profiles`` (hardware ``hardware``), except the nodes
    of ``node_hardware`` (node -> another hardware whose profiles ``other[hw]`` gives, e.g. a
    CUDA worker); each link keeps
    its rate and sharing, and, with a fitted ``transfer`` model, gets ``latency + w0`` and
    ``slowdown * w1``. The workload becomes the explicit task list of ``scenario``. The nodes
    of ``keep`` (node -> compute spec) keep the speed the scenario gives them: they are the
    paced nodes, slower than this machine (:func:`paced_nodes`); their hardware's profiles
    come in ``other``. A constant result return gets ``reply`` added (:func:`reply_time`).

    Returns
    -------
    dict
        Loadable with :func:`splitinfer.system.scenario_from_dict`.
    """
    w0, w1 = (transfer.w0, transfer.w1) if transfer is not None else (0.0, 1.0)
    node_hw = node_hardware or {}
    tables = {hardware: profiles, **(other or {})}
    kept = keep or {}
    nodes = [{"name": n.name, "kind": n.kind,
              "compute": kept.get(n.name, {"hardware": node_hw.get(n.name, hardware)}),
              "concurrency": n.concurrency, "divisible": n.divisible,
              **({"power": {"compute": n.power.compute, "idle": n.power.idle,
                            "transmit": n.power.transmit, "receive": n.power.receive}}
                 if n.power is not None else {})}
             for n in scenario.nodes.values()]
    objective = scenario.objective if scenario.objective != "latency+energy" else {
        "kind": "latency+energy", "weight_s_per_j": scenario.objective_weight}
    links = [{"src": a, "dst": b, "bandwidth": _bandwidth(lk), "latency": float(lk.latency + w0),
              "slowdown": float(lk.slowdown * w1), "sharing": lk.sharing, "symmetric": False,
              **({"pool": lk.pool} if lk.pool else {}),
              **({"dtype": lk.dtype} if lk.dtype != "float32" else {})}
             for (a, b), lk in scenario.links.items()]
    models = {m: {"profile": str(profiles[m]),
                  "profiles": {hw: str(table[m]) for hw, table in tables.items()},
                  **({"agreement": scenario.models[m].agreement.source}
                     if scenario.models[m].agreement is not None
                     and scenario.models[m].agreement.source else {})}
              for m in scenario.models}
    tasks = []
    for t in scenario.tasks:
        spec = {"id": t.id, "device": t.device, "model": t.model, "samples": t.samples}
        if t.slot is not None and scenario.slot is not None:
            spec["slot"] = t.slot
        else:
            spec["arrival"] = float(t.arrival)
        tasks.append(spec)
    out = {"name": scenario.name, "description": f"{scenario.description} (calibrated on this "
           "machine)", "objective": objective, "nodes": nodes, "links": links,
           "models": models, "workload": {"tasks": tasks}, "extra": dict(scenario.extra),
           "pools": {k: float(v) for k, v in scenario.pools.items()}}
    if scenario.slot is not None:
        out["slot"] = float(scenario.slot)
    if scenario.result_return is not None:
        out["result_return"] = float(scenario.result_return) + max(0.0, float(reply))
    return out
