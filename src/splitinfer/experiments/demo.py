"""``make demo``: build a device / edge / cloud scenario around a model's profile, compare every
planner, and write the table, the comparison figure and Gantt charts.

What :func:`run_demo` does:

1. **The phone's profile.** By default the *shipped* profile ``<model>@cpu-1t`` (ResNet18: 24
   single-tensor cut points, 3.6 GFLOPs), so that two runs of ``make demo`` give the same table
   whatever the machine's load: every number after this step is simulated and deterministic.
   ``measure=True`` (``splitinfer demo --measure``) measures the model on this machine's CPU at
   one thread with :func:`splitinfer.profile.measure_profile` instead (``repeats`` timed runs
   per layer, cut latencies from layer sums so it takes seconds, not minutes); the phone of the
   scenario then *is* this CPU (hardware ``this-cpu``), and the result moves with the load of
   the machine (the run says so, with the load average, and warns when the machine is busy). A
   profile name or file can also be given (``profile=``). The run always says which it used.
2. **Build the scenario** (written to ``scenario.yaml`` and loaded back through the validating
   loader, so what is compared is exactly what the file says):

   * ``phone`` — this CPU, one task at a time;
   * ``edge-wifi`` — an edge box next to the Wi-Fi access point, an NVIDIA Jetson AGX
     Orin-class module: hardware ``jetson-agx-orin-fitted``, the GPU server model of
     :mod:`splitinfer.profile.server_model` (per layer ``max(launch floor, FLOPs / rate)``,
     calibrated on measured H100 batch-1 latencies) with the rate scaled by the ratio of
     datasheet peaks (5.3 TFLOP/s FP32 against the H100's 494.7 TF32), one task at a time;
   * ``edge-bs`` — a CPU server at the 4G base station (multi-access edge computing),
     ``250 GFLOP/s`` effective (a two-socket AVX-512 server peaks at a few TFLOP/s FP32;
     batch-1 convolutions reach about 10 %; an assumption: no CPU server was measured), two
     tasks at a time;
   * ``cloud`` — a GPU server: hardware ``h100-fitted``, the same model at the H100's own
     calibration (for ResNet18 it reproduces the measured 2.54 ms exactly), four tasks at a
     time. No per-layer GPU profile has been measured yet (issue 19); the model is calibrated on
     measured whole-model latencies, not on FLOP/s assumptions;
   * links — Wi-Fi ``60 Mbit/s``, ``5 ms`` (802.11ac in a room: 50-100 Mbit/s, a few ms);
     4G ``15 Mbit/s``, ``40 ms`` to the base station and ``60 ms`` straight to the cloud (LTE:
     10-20 Mbit/s, 30-50 ms; Li et al. 2022 section IV cites 4G at 1.3 MB/s = 10.4 Mbit/s); both edges
     reach the cloud over a ``1 Gbit/s``, ``20 ms`` wired backhaul. The phone's radios send one
     transfer at a time (``fifo``); the backhaul is ``dedicated``;
   * workload — a burst of ``tasks`` inferences, all at time 0 (e.g. frames from several
     cameras, Duan & Wu 2021 section 1), objective: mean latency.
3. **Compare** every registered planner (:func:`~splitinfer.experiments.compare.compare_planners`;
   planners whose model does not fit say so and are listed as not applicable; ``exact`` and
   ``deepar-exact`` get a solver limit of 1 unit of CP-SAT deterministic time, about a second of
   work on an idle core), print the table, and write ``comparison.json``,
   ``comparison.png`` and ``gantt_<planner>.png`` for every planner that ran.

Every latency reported is **simulated** on this scenario; the phone's compute times are measured
(shipped profile or ``--measure``), the GPU servers' come from the calibrated server model.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

__all__ = ["run_demo", "demo_scenario", "SERVER_SPEEDS", "SERVER_HARDWARE", "LINKS"]

#: Effective FLOP/s of the CPU server (an assumption, see the module docstring).
SERVER_SPEEDS = {"edge-bs": 2.5e11}

#: Fitted GPU hardware of the GPU servers (:mod:`splitinfer.profile.server_model`).
SERVER_HARDWARE = {"edge-wifi": "jetson-agx-orin-fitted", "cloud": "h100-fitted"}

#: (src, dst, bit/s, latency s, sharing) of the demo's links (the reverse direction is added).
LINKS = (
    ("phone", "edge-wifi", 60e6, 0.005, "fifo"),
    ("phone", "edge-bs", 15e6, 0.040, "fifo"),
    ("phone", "cloud", 15e6, 0.060, "fifo"),
    ("edge-wifi", "cloud", 1e9, 0.020, "dedicated"),
    ("edge-bs", "cloud", 1e9, 0.020, "dedicated"),
)


def demo_scenario(profile_ref: str, hardware: str, *, model: str, tasks: int = 8,
                  seed: int = 0, server_profiles: dict[str, str] | None = None
                  ) -> dict[str, Any]:
    """The demo scenario as a dict (what ``scenario.yaml`` holds).

    Parameters
    ----------
    profile_ref : str
        Profile file (relative to the scenario file) or shipped name that gives the model's cuts
        and the phone's times.
    hardware : str
        The hardware name the phone's compute refers to.
    model : str
        Model name in the scenario.
    tasks : int
        Tasks in the burst.
    seed : int
        Workload seed.
    server_profiles : dict, optional
        Fitted hardware name -> profile reference for the GPU servers; by default the names
        ``"<model>@<hardware>"`` (built from the shipped ``<model>@cpu-1t`` profile's layers).

    Examples
    --------
    >>> from splitinfer.system import scenario_from_dict
    >>> sc = scenario_from_dict(demo_scenario("lenet5@cpu-1t", "cpu-1t", model="lenet5"))
    >>> sc.devices, sc.edges, sc.clouds, len(sc.tasks)
    (['phone'], ['edge-wifi', 'edge-bs'], ['cloud'], 8)
    """
    servers = {hw: (server_profiles or {}).get(hw, f"{model}@{hw}")
               for hw in SERVER_HARDWARE.values()}
    return {
        "name": "demo",
        "description": f"{model}: a phone (measured CPU profile), a Jetson-class GPU edge box and an "
                       "H100 cloud (GPU server model calibrated on measured H100 latencies), a CPU "
                       "edge server at the base station (FLOP/s assumption), Wi-Fi and 4G; a burst "
                       "of tasks. Simulated.",
        "objective": "mean_latency",
        "nodes": [
            {"name": "phone", "kind": "device", "compute": {"hardware": hardware}},
            {"name": "edge-wifi", "kind": "edge",
             "compute": {"hardware": SERVER_HARDWARE["edge-wifi"]}},
            {"name": "edge-bs", "kind": "edge", "compute": {"flops_per_s": SERVER_SPEEDS["edge-bs"]},
             "concurrency": 2},
            {"name": "cloud", "kind": "cloud", "compute": {"hardware": SERVER_HARDWARE["cloud"]},
             "concurrency": 4},
        ],
        "links": [{"src": s, "dst": d, "bandwidth": rate, "latency": lat, "sharing": sharing}
                  for s, d, rate, lat, sharing in LINKS],
        "models": {model: {"profile": profile_ref,
                           "profiles": {hardware: profile_ref, **servers}}},
        "workload": {"seed": seed, "generators": [
            {"kind": "batch", "devices": ["phone"], "model": model, "count": tasks}]},
    }


def _console():
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=120)


def _say(echo: bool, text: str) -> None:
    if echo:
        _console().print(text)


def run_demo(out_dir: str | Path = "demo-output", *, model: str = "resnet18", tasks: int = 8,
             repeats: int = 5, profile: str | None = None, planners: str = "all",
             echo: bool = True, seed: int = 0, measure: bool = False) -> dict[str, Any]:
    """Run the demo (see the module docstring) and write its files to ``out_dir``.

    Parameters
    ----------
    out_dir : path
        Output folder (created): ``profile_<model>.json`` (when measured), ``scenario.yaml``,
        ``comparison.json``, ``comparison.png``, ``gantt_<planner>.png``.
    model : str
        Model of the demo (its shipped ``<model>@cpu-1t`` profile, or measured).
    tasks : int
        Tasks in the burst.
    repeats : int
        Timed runs per layer and of the whole model when profiling.
    profile : str, optional
        A shipped profile name (``"resnet18@cpu-1t"``) or file; default ``"<model>@cpu-1t"``.
    measure : bool
        Measure ``model`` on this CPU instead of reading a profile (results then depend on the
        machine's load).
    planners : str
        Planners to compare (``"all"`` or ``"a,b,c"``).
    echo : bool
        Print progress and the table.
    seed : int
        Workload seed.

    Returns
    -------
    dict
        ``{"rows", "scenario", "files", "seconds", "profile_seconds", "profile_source"}``;
        ``profile_source`` says which profile was used (shipped name, file, or measured).
    """
    import yaml

    from splitinfer.experiments.compare import compare_planners, resolve_planners, rows_to_json
    from splitinfer.report.compare_plot import (
        comparison_table,
        plot_comparison,
        skipped_reasons,
    )
    from splitinfer.report.gantt import plot_gantt
    from splitinfer.system import load_scenario

    t0 = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    profile_seconds = 0.0
    if measure and profile is not None:
        raise ValueError("give either measure=True or profile=, not both")
    if not measure and profile is None:
        profile = f"{model}@cpu-1t"
    if measure:
        import warnings

        from splitinfer.machine import load_average
        from splitinfer.profile import measure_profile

        _say(echo, f"[bold]1.[/] measuring {model} on this CPU at 1 thread ({repeats} repeats "
                   "per layer; cut latencies from layer sums; load average "
                   f"{'/'.join(f'{x:.2f}' for x in load_average()) or 'unknown'}). The results "
                   "below depend on this machine's load; without --measure the demo uses the "
                   "shipped profile and is deterministic ...")
        p0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            prof = measure_profile(model, threads=1, repeats=repeats, warmup=2,
                                   segment_repeats=0, hardware_name="this-cpu")
        for w in caught:
            _say(echo, f"   [yellow]warning:[/] {w.message}")
        profile_seconds = time.perf_counter() - p0
        source = f"measured on this CPU ({prof.hardware.get('cpu_model', 'unknown CPU')})"
        ref = f"profile_{model}.json"
        prof.save(out / ref)
        files.append(out / ref)
        hardware = "this-cpu"
        _say(echo, f"   {prof.num_cuts} cut points, whole model {1e3 * prof.whole_latency_s:.1f} "
                   f"ms on this CPU ({profile_seconds:.1f} s to measure) -> {out / ref}")
    else:
        from splitinfer.profile import load_profile

        prof = load_profile(profile)
        given = Path(profile)
        ref = str(given.resolve()) if given.exists() else profile
        hardware = str(prof.hardware.get("name", "cpu")) if isinstance(prof.hardware, dict) \
            else "cpu"
        model = prof.model
        where = (f"measured on {prof.hardware.get('cpu_model', 'unknown CPU')} at "
                 f"{prof.hardware.get('threads', '?')} thread(s), {prof.hardware.get('date', '?')}")
        kind = "file" if given.exists() else "shipped profile"
        source = f"{kind} {profile} ({where})"
        _say(echo, f"[bold]1.[/] using {source}: {prof.num_cuts} cut points; deterministic "
                   "(pass --measure to profile this CPU instead)")
    server_profiles = None
    if measure or Path(profile).exists():  # no shipped name to build the GPU servers from
        from splitinfer.profile.server_model import fitted_profile

        server_profiles = {}
        for hw in SERVER_HARDWARE.values():
            name = f"profile_{model}@{hw}.json"
            fitted_profile(prof, hw).save(out / name)
            files.append(out / name)
            server_profiles[hw] = name
    spec = demo_scenario(ref, hardware, model=model, tasks=tasks, seed=seed,
                         server_profiles=server_profiles)
    scenario_file = out / "scenario.yaml"
    from splitinfer.system.schema import scenario_file_dict

    scenario_file.write_text(yaml.safe_dump(scenario_file_dict(spec), sort_keys=False))
    files.append(scenario_file)
    sc = load_scenario(scenario_file)
    _say(echo, f"[bold]2.[/] scenario -> {scenario_file}: {sc.summary()}\n"
               "   GPU servers (edge-wifi, cloud): the server model calibrated on measured H100 "
               "whole-model latencies (Jetson scaled by datasheet peaks); edge-bs: a FLOP/s "
               "assumption; every latency below is simulated")
    _say(echo, f"[bold]3.[/] comparing planners ({planners}) ...")
    from splitinfer.planners import planner_info

    chosen = resolve_planners(planners)
    timed = any("time_limit_s" in planner_info(n).cls._param_names() for n in chosen)
    rows = compare_planners(sc, chosen, {"*": {"time_limit_s": 1.0}} if timed else None,
                            keep=True)
    (out / "comparison.json").write_text(json.dumps(rows_to_json(sc, rows), indent=1, default=str))
    files.append(out / "comparison.json")
    files.append(plot_comparison(rows, out / "comparison.png", scenario=sc.name))
    for r in rows:
        if r["status"] == "ok":
            files.append(plot_gantt(r["result"], out / f"gantt_{r['planner']}.png", sc))
    if echo:
        console = _console()
        console.print(comparison_table(rows, f"{model} demo: {len(sc.tasks)} tasks, objective "
                                             "mean latency (simulated)"))
        for line in skipped_reasons(rows):
            console.print(f"  {line}", markup=False, highlight=False)
    seconds = time.perf_counter() - t0
    _say(echo, f"wrote {len(files)} files to {out}/ in {seconds:.1f} s; the phone's profile: "
               f"{source}")
    for r in rows:
        r.pop("plan", None)
        r.pop("result", None)
    return {"rows": rows, "scenario": sc, "files": files, "seconds": seconds,
            "profile_seconds": profile_seconds, "profile_source": source}
