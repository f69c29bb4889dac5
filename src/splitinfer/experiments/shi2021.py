"""Reproductions of Shi et al. 2021 (GSPI): Fig. 7(a), 7(b), 5 and 6.

``shi2021-fig7a``
    Average time cost against the number of tasks in h = 100 slots of 1 ms, B = 4 Mbps, on the
    shipped scenario ``shi2021`` (Table 2): end-only, server-only, GSPI and the online center,
    each of the last two also as the paper wrote it (``gspi-paper``: Alg. 2 with eq. (7), no
    polish; ``gspi-online-paper``: Alg. 3 with eq. (11)), drawn dashed in the same colour; plus,
    in the full run, GSPI with the real queue but no polish and GSPI with a full local search.
    The paper prints no point values of Fig. 7 (only average reductions: see
    ``data/papers/reported.yaml``), so there are no reported markers.
``shi2021-fig7b``
    The same with 75 tasks and B from 2 to 16 Mbps.
``shi2021-fig5``
    Per-layer time of VGG16-CIFAR on the CPU (the shipped measured profile
    ``vgg16-cifar@cpu-1t``; measured on the spot with few repeats when it is not shipped). The
    paper's GPU profile does not exist in this project (no GPU was available), so the server
    bars are a FLOP/s model of Server1 calibrated to Table 2 (whole model in 7 ms), labelled so.
``shi2021-fig6``
    Task time without waiting at every cut point of VGG16-CIFAR (CPU device, the four Table-2
    calibrated servers, B = 4 Mbps), with the points PPS (Alg. 1) keeps marked by stars.

Workloads: each seed draws the tasks' slots uniformly from the h slots (the paper does not say
how its tasks are spread); every row carries its seed. All Fig. 7 times are simulated
(the discrete-event simulator executing the plan; the planners' own prediction is in
``predicted_mean_ms`` and equals it for the FIFO planners).

Examples
--------
>>> sc = paper_scenario(tasks=10, bandwidth=8e6, seed=1)
>>> len(sc.tasks), sc.links[("end", "server1")].rate
(10, 8000000.0)
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from splitinfer.experiments._plots import band, figure, plot_band, present, save
from splitinfer.experiments.registry import experiment, plotter, summarizer
from splitinfer.papers import cite
from splitinfer.system.load import load_scenario
from splitinfer.system.scenario import Scenario

__all__ = ["paper_scenario", "profile_scenario", "PLANNERS", "TABLE2_SERVER_MS", "run_point",
           "summarize"]

SOURCE = cite("shi2021")
#: Table 2, whole model (P1) on each server, ms: calibrates the FLOP/s servers of Fig. 5/6.
TABLE2_SERVER_MS = {"server1": 7.0, "server2": 10.0, "server3": 20.0, "server4": 38.0}

#: label -> (registered planner, parameters). The first six are the paper's curves, GSPI and
#: online both improved (default) and as the paper wrote them (paper presets).
PLANNERS: dict[str, tuple[str, dict[str, Any]]] = {
    "end-only": ("end-only", {}),
    "server-only": ("server-only", {}),
    "GSPI": ("gspi", {}),
    "online": ("gspi-online", {}),
    "GSPI (paper)": ("gspi-paper", {}),
    "online (paper)": ("gspi-online-paper", {}),
    "GSPI (real queue, no polish)": ("gspi", {"polish": "none"}),
    "GSPI + local search": ("gspi", {"polish": "all"}),
}
_PAPER = ["end-only", "server-only", "GSPI", "online", "GSPI (paper)", "online (paper)"]
#: improved label -> its paper preset's label (drawn dashed in the same colour)
VARIANTS = {"GSPI": "GSPI (paper)", "online": "online (paper)"}
_COLORS = {"end-only": "tab:gray", "server-only": "tab:orange", "GSPI": "tab:blue",
           "online": "tab:green", "GSPI (paper)": "tab:blue", "online (paper)": "tab:green",
           "GSPI (real queue, no polish)": "tab:purple", "GSPI + local search": "tab:red"}


def paper_scenario(tasks: int = 75, bandwidth: float = 4e6, seed: int = 0,
                   slots: int = 100) -> Scenario:
    """The shipped ``shi2021`` scenario with ``tasks`` tasks spread over ``slots`` slots.

    Parameters
    ----------
    tasks : int
        Number of tasks N.
    bandwidth : float
        B in bit/s (every device-server link).
    seed : int
        Seed of the uniform draw of each task's slot.
    slots : int
        h.
    """
    workload = {"seed": int(seed), "generators": [
        {"kind": "uniform", "devices": ["end"], "model": "vgg16", "count": int(tasks),
         "slots": int(slots)}]}
    return load_scenario("shi2021", workload=workload).with_link_rate(float(bandwidth))


def run_point(sc: Scenario, labels: list[str]) -> list[dict[str, Any]]:
    """Plan and simulate one scenario with the labelled planners; one row per planner."""
    from splitinfer.planners import get_planner
    from splitinfer.sim import simulate

    rows = []
    for label in labels:
        name, params = PLANNERS[label]
        planner = get_planner(name, **params)
        t0 = time.perf_counter()
        plan = planner.plan(sc)
        wall = time.perf_counter() - t0
        res = simulate(sc, plan)
        offloaded = [tp for tp in plan.tasks.values() if len(tp.nodes) > 1]
        rows.append({
            "planner": label, "planner_name": name, "params": planner.get_params(),
            "mean_latency_ms": 1e3 * res.mean_latency,
            "predicted_mean_ms": 1e3 * plan.info["predicted_mean"]
            if "predicted_mean" in plan.info else None,
            "offloaded_share": len(offloaded) / len(plan.tasks),
            "inner_cut_share": sum(1 for tp in offloaded if tp.cuts[0] > 0) / len(plan.tasks),
            "plan_time_s": wall,
        })
    return rows


def _sweep(config: dict[str, Any], axis: str) -> list[dict[str, Any]]:
    rows = []
    points = config["tasks"] if axis == "tasks" else config["bandwidths"]
    for x in points:
        n = x if axis == "tasks" else config["tasks"]
        b = x if axis == "bandwidth" else config["bandwidth"]
        for seed in config["seeds"]:
            sc = paper_scenario(n, b, seed, config["slots"])
            for r in run_point(sc, config["planners"]):
                rows.append({"tasks": n, "bandwidth_bps": b, "slots": config["slots"],
                             "seed": seed, **r})
    return rows


_CLAIM = ("Adaptive partition (GSPI) cuts the average time cost by about 32% against end-only "
          "and 48% against server-only on average; GSPI is always the best; the online "
          "algorithm equals GSPI with few tasks and costs at most about 10% more with many.")


@experiment("shi2021-fig7a", title="Average time cost against the number of tasks (B = 4 Mbps, "
            "100 slots)", source=f"{SOURCE}, Fig. 7(a), section 4.2", claim=_CLAIM,
            quick={"tasks": [10, 75], "bandwidth": 4e6, "slots": 100, "seeds": [0, 1],
                   "planners": _PAPER},
            full={"tasks": [10, 25, 50, 75, 100, 125, 150], "bandwidth": 4e6, "slots": 100,
                  "seeds": list(range(10)), "planners": list(PLANNERS)})
def fig7a(config: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows (tasks, planner, seed) at B = 4 Mbps."""
    return _sweep(config, "tasks")


@experiment("shi2021-fig7b", title="Average time cost against the bandwidth (75 tasks in 100 "
            "slots)", source=f"{SOURCE}, Fig. 7(b), section 4.2", claim=_CLAIM + " Higher bandwidth "
            "lowers the time cost except for end-only; adaptive partition beats server-only at "
            "every bandwidth.",
            quick={"tasks": 75, "bandwidths": [2e6, 16e6], "slots": 100, "seeds": [0, 1],
                   "planners": _PAPER},
            full={"tasks": 75, "bandwidths": [2e6, 4e6, 6e6, 8e6, 10e6, 12e6, 14e6, 16e6],
                  "slots": 100, "seeds": list(range(10)), "planners": list(PLANNERS)})
def fig7b(config: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows (bandwidth, planner, seed) with 75 tasks."""
    return _sweep(config, "bandwidth")


def _band(rows: list[dict[str, Any]], x: str, scale: float, xlabel: str, title: str,
          path: Path) -> None:
    fig, ax = figure(figsize=(6.4, 4.2))
    for lab in present(PLANNERS, rows, "planner"):
        xs, mean, lo, hi = band([r for r in rows if r["planner"] == lab], x, "mean_latency_ms")
        style = "--" if lab in VARIANTS.values() else ("-" if lab in _PAPER else ":")
        plot_band(ax, [v * scale for v in xs], mean, lo, hi, style, alpha=0.15, edge=False,
                  marker="o", ms=3, color=_COLORS[lab], label=lab)
    seeds = len({r["seed"] for r in rows})
    ax.set_xlabel(xlabel)
    ax.set_ylabel("average time cost per task (ms, simulated)")
    ax.set_title(f"{title}\nmean of {seeds} seeds, band = min-max; dashed: paper preset (eqs. 7, 11)",
                 fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    save(fig, path)


@plotter("shi2021-fig7a")
def _plot7a(rows, path) -> None:
    _band(rows, "tasks", 1.0, "number of tasks in 100 slots", "Shi et al. 2021 Fig. 7(a): B = 4 Mbps",
          path)


@plotter("shi2021-fig7b")
def _plot7b(rows, path) -> None:
    _band(rows, "bandwidth_bps", 1e-6, "bandwidth B (Mbps)", "Shi et al. 2021 Fig. 7(b): 75 tasks",
          path)


def _means(rows: list[dict[str, Any]], x: str) -> dict[str, dict[Any, float]]:
    out: dict[str, dict[Any, list[float]]] = {}
    for r in rows:
        out.setdefault(r["planner"], {}).setdefault(r[x], []).append(r["mean_latency_ms"])
    return {p: {k: float(np.mean(v)) for k, v in d.items()} for p, d in out.items()}


def summarize(rows: list[dict[str, Any]], x: str) -> str:
    """Average reductions of GSPI against end-only / server-only and online's excess over GSPI.

    Examples
    --------
    >>> rows = [{"planner": p, "tasks": 10, "mean_latency_ms": v} for p, v in
    ...         [("end-only", 88.0), ("server-only", 40.0), ("GSPI", 30.0), ("online", 33.0)]]
    >>> summarize(rows, "tasks")
    'GSPI vs end-only: -65.9% on average; vs server-only: -25.0%; online over GSPI: at most +10.0% (paper: -32%, -48%, <= +10%)'
    """
    m = _means(rows, x)
    g = m["GSPI"]
    xs = sorted(g)
    red_end = np.mean([g[v] / m["end-only"][v] - 1 for v in xs])
    red_srv = np.mean([g[v] / m["server-only"][v] - 1 for v in xs])
    worst = max(m["online"][v] / g[v] - 1 for v in xs)
    text = (f"GSPI vs end-only: {100 * red_end:+.1f}% on average; vs server-only: "
            f"{100 * red_srv:+.1f}%; online over GSPI: at most {100 * worst:+.1f}% "
            "(paper: -32%, -48%, <= +10%)")
    if any(lab in m for lab in VARIANTS.values()):
        text += " " + variant_sentence(rows, x)
    return text


def variant_sentence(rows: list[dict[str, Any]], x: str) -> str:
    """Whether the paper presets (eqs. 7 and 11) rank the planners as the defaults do."""
    from splitinfer.experiments.variants import ranking_sentence

    if x == "tasks":
        return ranking_sentence(rows, x, "mean_latency_ms", VARIANTS,
                                others=("end-only", "server-only"), x_text="{} tasks")
    return ranking_sentence(rows, x, "mean_latency_ms", VARIANTS, others=("end-only", "server-only"),
                            x_text="{} Mbps", x_scale=1e-6)


@summarizer("shi2021-fig7a")
def _sum7a(rows) -> str:
    return summarize(rows, "tasks")


@summarizer("shi2021-fig7b")
def _sum7b(rows) -> str:
    return summarize(rows, "bandwidth_bps")


# ---------------------------------------------------------------------------- Fig. 5 and Fig. 6
def _cpu_profile(config: dict[str, Any]):
    """The shipped VGG16-CIFAR CPU profile; measured now (few repeats) if it is not shipped."""
    from splitinfer.profile import load_profile

    try:
        return load_profile(config["profile"]), "shipped"
    except Exception:  # not shipped in this checkout: measure it here, labelled as such
        from splitinfer.profile import measure_profile

        prof = measure_profile("vgg16-cifar", threads=1, repeats=config["repeats"], warmup=2,
                               segment_repeats=2, segment_warmup=1)
        return prof, "measured now"


def _speeds(flops: float) -> dict[str, float]:
    """FLOP/s of the four servers: the whole model in Table 2's P1 time (our calibration)."""
    return {s: flops / (ms * 1e-3) for s, ms in TABLE2_SERVER_MS.items()}


def profile_scenario(prof, profile_ref: str, bandwidth: float = 4e6) -> Scenario:
    """The CPU device (measured profile) and the four Table-2-calibrated FLOP/s servers.

    Examples
    --------
    >>> from splitinfer.profile import load_profile
    >>> p = load_profile("lenet5@cpu-1t")
    >>> sc = profile_scenario(p, "lenet5@cpu-1t")
    >>> sc.edges, round(sc.compute_time("server1", "net", 0, sc.models["net"].last_cut), 6)
    (['server1', 'server2', 'server3', 'server4'], 0.007)
    """
    from splitinfer.system.load import scenario_from_dict

    nodes = [{"name": "end", "kind": "device", "compute": {"hardware": prof.hardware_name},
              "concurrency": None}]
    nodes += [{"name": s, "kind": "edge", "compute": {"flops_per_s": v}}
              for s, v in _speeds(float(prof.flops)).items()]
    return scenario_from_dict({
        "name": "shi2021-profile", "result_return": 0, "nodes": nodes,
        "links": [{"src": "end", "dst": s, "bandwidth": bandwidth} for s in TABLE2_SERVER_MS],
        "models": {"net": {"profiles": {prof.hardware_name: profile_ref}}},
        "workload": {"tasks": [{"device": "end", "model": "net"}]}})


@experiment("shi2021-fig5", title="Per-layer time of VGG16-CIFAR on the CPU (measured) and on a "
            "server (FLOP/s model)", source=f"{SOURCE}, Fig. 5, section 4.1",
            claim="Running a task on the end device takes more than ten times as long as on the "
                  "edge server.",
            quick={"profile": "vgg16-cifar@cpu-1t", "repeats": 3, "seeds": [0]},
            full={"profile": "vgg16-cifar@cpu-1t", "repeats": 20, "seeds": [0]})
def fig5(config: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per layer: measured CPU time, and Server1's time as FLOPs / calibrated speed."""
    prof, origin = _cpu_profile(config)
    speed = _speeds(float(prof.flops))["server1"]
    return [{"layer": lay.name, "op": lay.op, "position": i, "flops": lay.flops,
             "cpu_ms": 1e3 * lay.latency_s, "server1_model_ms": 1e3 * lay.flops / speed,
             "cpu_whole_ms": 1e3 * prof.whole_latency_s, "server1_whole_ms":
             TABLE2_SERVER_MS["server1"], "hardware": prof.hardware_name,
             "cpu_model": prof.hardware.get("cpu_model", ""), "profile": origin, "seed": 0}
            for i, lay in enumerate(prof.layers)]


@plotter("shi2021-fig5")
def _plot5(rows, path) -> None:
    rows = sorted(rows, key=lambda r: r["position"])
    x = np.arange(len(rows))
    fig, ax = figure(figsize=(9, 4.2))
    ax.bar(x - 0.2, [r["cpu_ms"] for r in rows], 0.4, label=f"CPU, 1 thread ({rows[0]['cpu_model']}; "
           f"{rows[0]['profile']} profile, measured)", color="tab:gray")
    ax.bar(x + 0.2, [r["server1_model_ms"] for r in rows], 0.4, color="tab:blue",
           label="Server1: FLOPs / speed calibrated to Table 2 (not measured: no GPU profile)")
    ax.set_yscale("log")
    ax.set_xticks(x, [r["layer"] for r in rows], rotation=90, fontsize=6)
    ax.set_ylabel("time per layer (ms)")
    ax.set_title(f"Shi et al. 2021 Fig. 5: VGG16-CIFAR per layer; whole model {rows[0]['cpu_whole_ms']:.1f}"
                 f" ms on the CPU, {rows[0]['server1_whole_ms']:.0f} ms on Server1", fontsize=9)
    ax.legend(fontsize=7)
    save(fig, path)


@summarizer("shi2021-fig5")
def _sum5(rows) -> str:
    cpu, srv = rows[0]["cpu_whole_ms"], rows[0]["server1_whole_ms"]
    return (f"whole model: {cpu:.1f} ms on the CPU ({rows[0]['profile']} profile) vs {srv:.0f} ms "
            f"on Server1 (Table 2): {cpu / srv:.1f}x (paper: more than 10x; 88 vs 7 ms in Table 2)")


@experiment("shi2021-fig6", title="Task time without waiting at every cut of VGG16-CIFAR, with "
            "the points PPS keeps", source=f"{SOURCE}, Fig. 6, Alg. 1, section 4.1",
            claim="PPS keeps 6 of the 20 partition points (red stars).",
            quick={"profile": "vgg16-cifar@cpu-1t", "repeats": 3, "bandwidth": 4e6,
                   "latency_factor": 1.1, "seeds": [0]},
            full={"profile": "vgg16-cifar@cpu-1t", "repeats": 20, "bandwidth": 4e6,
                  "latency_factor": 1.1, "seeds": [0]})
def fig6(config: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per (cut, server) and per cut for all-local; ``kept`` marks PPS's choice.

    The bound *Latency* is not given in the paper; we use ``latency_factor`` x the all-local
    time (a point is kept if, without waiting, it is at most that much slower than not
    offloading, on every server).
    """
    import tempfile

    from splitinfer.planners.shi2021.gspi import point_times, pps

    prof, origin = _cpu_profile(config)
    ref = config["profile"]
    if origin != "shipped":
        ref = str(prof.save(Path(tempfile.mkdtemp()) / f"{prof.name}.json"))
    sc = profile_scenario(prof, ref, config["bandwidth"])
    times = point_times(sc)
    bound = config["latency_factor"] * times[None][0]
    kept = set(pps(sc, latency=bound))
    m = sc.models["net"]
    rows = []
    for server, row in times.items():
        cuts = [m.last_cut] if server is None else range(len(row))
        for c, t in zip(cuts, row, strict=True):
            rows.append({"cut": c, "after": m.cut_names[c], "server": server or "all-local",
                         "transfer_bytes": float(m.transfer_bytes[c]), "total_ms": 1e3 * t,
                         "kept": c in kept, "latency_bound_ms": 1e3 * bound,
                         "bandwidth_bps": config["bandwidth"], "profile": origin, "seed": 0})
    return rows


@plotter("shi2021-fig6")
def _plot6(rows, path) -> None:
    fig, ax = figure(figsize=(9, 4.4))
    names = {r["cut"]: r["after"] for r in rows}
    for server in TABLE2_SERVER_MS:
        mine = sorted((r for r in rows if r["server"] == server), key=lambda r: r["cut"])
        ax.plot([r["cut"] for r in mine], [r["total_ms"] for r in mine], marker=".", lw=1,
                label=f"{server} (FLOP/s model)")
        ax.plot([r["cut"] for r in mine if r["kept"]], [r["total_ms"] for r in mine if r["kept"]],
                "r*", ms=9)
    local = [r for r in rows if r["server"] == "all-local"]
    ax.plot([r["cut"] for r in local], [r["total_ms"] for r in local], "ks",
            label="all on the CPU (measured)")
    ax.plot([r["cut"] for r in local if r["kept"]], [r["total_ms"] for r in local if r["kept"]],
            "r*", ms=9, label="kept by PPS")
    ax.axhline(rows[0]["latency_bound_ms"], color="r", ls=":", lw=1,
               label=f"Latency = {rows[0]['latency_bound_ms']:.1f} ms")
    ax.set_yscale("log")
    cuts = sorted(names)
    ax.set_xticks(cuts, [str(names[c]) for c in cuts], rotation=90, fontsize=6)
    ax.set_ylabel("time without waiting (ms)")
    ax.set_title(f"Shi et al. 2021 Fig. 6: VGG16-CIFAR, B = {rows[0]['bandwidth_bps'] / 1e6:g} Mbps "
                 f"(device: {rows[0]['profile']} CPU profile)", fontsize=9)
    ax.legend(fontsize=7)
    save(fig, path)


@summarizer("shi2021-fig6")
def _sum6(rows) -> str:
    kept = sorted({(r["cut"], r["after"]) for r in rows if r["kept"]})
    total = len({r["cut"] for r in rows})
    return (f"PPS keeps {len(kept)} of {total} cut points within {rows[0]['latency_bound_ms']:.1f} "
            f"ms: {', '.join(str(a) for _, a in kept)} (paper: 6 of 20)")
