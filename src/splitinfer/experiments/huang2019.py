"""Reproductions of DeePar (Huang et al. 2019): Fig. 4(a)-(c), and the single-task case of Fig. 1 / Fig. 3.

Huang et al. 2019 section V-B: tasks of AlexNet, VGG, DeepFace and LeNet, mixed; B_i^1 in [20, 300] Mbps,
B_i^2 in [10, 50] Mbps, B_e^1 in [5, 20] Gbps, B_e^2 in [0.1, 5] Gbps, r_e in [1, 10], N_i in
[1, 1000], input size G_i(0) in [10, 1000] KB. Fig. 4(a): 10 edge servers, 20 to 80 devices,
arrivals within 300 s; (b): within 50 s; (c): 40 edge servers. Claims: DeePar cuts the total
delay by over 60 % against device-only and cloud-only, by about 20 % (a), up to 30 % (b) and
40 % (c) against edge-only.

Our settings (the choices the paper leaves open, each written down in
``docs/reproductions/huang2019.md``):

* every value above is drawn uniformly from its range, independently per task, device or edge
  (integers for r_e and N_i); arrivals are uniform over the interval; each device reaches
  ``E_i``: 1 to 3 edge servers drawn at random (the paper gives no number);
* device: this machine's CPU at one thread, from the shipped profiles ``<model>@cpu-1t``
  (the paper's Pixel XL is not available); edges and cloud: the paper's own GPU classes, a
  GeForce GTX 1080 Ti per edge (``gtx1080ti-fitted``) and a Tesla K80 die in the cloud
  (``k80-fitted``), from the GPU server model of :mod:`splitinfer.profile.server_model`:
  per layer ``max(launch floor, FLOPs / rate)``, calibrated on measured H100 batch-1 latencies
  and scaled to each GPU by the ratio of datasheet peaks (11.34 and 4.37 TFLOP/s FP32 against
  the H100's 494.7 TF32). Every number here is *simulated*; the FLOP/s servers of earlier
  versions (datasheet peaks, which made server compute nearly free) are available with
  ``edge_hardware=None, cloud_hardware=None``;
* "VGG" is VGG-16; Fig. 4(c) keeps the 50 s interval of Fig. 4(b) (the text changes only the
  number of edge servers);
* each edge -> cloud link has a common cap of 50 Mbit/s (the top of the B_i^2 range) and each
  task its own B_i^2 in ``extra.deepar.backbone_cap``;
* the baselines run under the same reservations and the same Alg. 1 (``deepar-edge-only``,
  ``deepar-cloud-only``); device-only is ``local``.

Examples
--------
>>> d = paper_scenario_dict(0, devices=3, edges=2, horizon=10.0)
>>> len(d["workload"]["tasks"]), sorted(d["pools"])[:2]
(3, ['edge0.access', 'edge0.backbone'])
>>> d["nodes"][-1]["compute"]
{'hardware': 'k80-fitted'}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from splitinfer.experiments._plots import band, figure, plot_band, present, save
from splitinfer.experiments.registry import experiment, plotter, summarizer
from splitinfer.papers import cite
from splitinfer.planners import get_planner
from splitinfer.sim import simulate, simulate_online
from splitinfer.system.load import scenario_from_dict
from splitinfer.system.scenario import Scenario

__all__ = ["paper_scenario_dict", "paper_scenario", "run_point", "single_task_options",
           "EDGE_FLOPS", "CLOUD_FLOPS", "EDGE_HARDWARE", "CLOUD_HARDWARE", "MODELS", "PLANNERS"]

_SOURCE = cite("huang2019")

#: FP32 peak of a GeForce GTX 1080 Ti (the paper's edge GPU): 3584 cores x 1.582 GHz x 2 FLOP.
EDGE_FLOPS = 11.34e12
#: FP32 (non-tensor) peak of an NVIDIA H100 SXM (NVIDIA H100 datasheet).
CLOUD_FLOPS = 67e12
#: The paper's edge GPU (GTX 1080 Ti) and cloud GPU (Tesla K80) as fitted server models.
EDGE_HARDWARE = "gtx1080ti-fitted"
CLOUD_HARDWARE = "k80-fitted"
#: The four models of section V (VGG = VGG-16).
MODELS = ("alexnet", "vgg16", "deepface", "lenet5")
#: DeePar, DeePar as the paper writes Alg. 1 (``deepar-paper``: line 12 compares W's entry) and
#: the three baselines of Fig. 4.
PLANNERS = ("deepar", "deepar-paper", "deepar-device-only", "deepar-edge-only",
            "deepar-cloud-only")
#: improved planner -> its paper preset (same colour, dashed)
VARIANTS = {"deepar": "deepar-paper"}
_COLORS = {"deepar": "tab:blue", "deepar-paper": "tab:blue", "deepar-device-only": "tab:gray",
           "deepar-edge-only": "tab:green", "deepar-cloud-only": "tab:orange"}
#: The tier combinations a plan can give a task (counted per row as ``n_<kind>``).
KINDS = ("device", "edge", "device+edge", "cloud", "device+cloud", "edge+cloud",
         "device+edge+cloud")
#: Section V-B ranges (bit/s, bytes, counts).
RANGES = {"b1": (20e6, 300e6), "b2": (10e6, 50e6), "be1": (5e9, 20e9), "be2": (0.1e9, 5e9),
          "r_e": (1, 10), "samples": (1, 1000), "input_bytes": (10e3, 1000e3), "reach": (1, 3)}


def paper_scenario_dict(seed: int, devices: int = 20, edges: int = 10, horizon: float = 300.0,
                        *, models: tuple[str, ...] = MODELS, hardware: str = "cpu-1t",
                        edge_flops: float = EDGE_FLOPS, cloud_flops: float = CLOUD_FLOPS,
                        profile_ref: str = "{model}@{hardware}", name: str | None = None,
                        edge_hardware: str | None = EDGE_HARDWARE,
                        cloud_hardware: str | None = CLOUD_HARDWARE) -> dict[str, Any]:
    """A random instance of the section V-B simulation setting, as a scenario dict.

    Parameters
    ----------
    seed : int
        Seeds every draw (``numpy.random.default_rng(seed)``).
    devices, edges : int
        n (one task per device) and m.
    horizon : float
        Tasks arrive uniformly at random in ``[0, horizon]`` seconds.
    models : tuple of str
        Drawn uniformly per task; each needs a shipped profile ``<model>@<hardware>``.
    hardware : str
        Profile hardware of the devices.
    edge_flops, cloud_flops : float
        Server speeds (FLOP/s), used where ``edge_hardware`` / ``cloud_hardware`` is ``None``.
    edge_hardware, cloud_hardware : str or None
        Fitted GPU hardware of the servers (``<class>-fitted``, module docstring); each model
        gets the profile ``<model>@<hardware>`` for it.
    profile_ref : str
        Where each model's device profile comes from: a shipped name or a path, with
        ``{model}`` and ``{hardware}`` filled in.
    name : str, optional

    Returns
    -------
    dict
        Ready for :func:`~splitinfer.system.load.scenario_from_dict` (or to write as YAML).
    """
    rng = np.random.default_rng(seed)
    r = RANGES
    edge_names = [f"edge{j}" for j in range(edges)]
    nodes = [{"name": f"dev{i}", "kind": "device", "compute": {"hardware": hardware}}
             for i in range(devices)]
    pools: dict[str, float] = {}
    links: list[dict[str, Any]] = []
    for e in edge_names:
        nodes.append({"name": e, "kind": "edge",
                      "compute": ({"hardware": edge_hardware} if edge_hardware
                                  else {"flops_per_s": edge_flops}),
                      "concurrency": int(rng.integers(r["r_e"][0], r["r_e"][1] + 1))})
        pools[f"{e}.access"] = round(float(rng.uniform(*r["be1"])), -3)
        pools[f"{e}.backbone"] = round(float(rng.uniform(*r["be2"])), -3)
        links.append({"src": e, "dst": "cloud", "bandwidth": r["b2"][1], "sharing": "reserved",
                      "pool": f"{e}.backbone"})
    nodes.append({"name": "cloud", "kind": "cloud",
                  "compute": ({"hardware": cloud_hardware} if cloud_hardware
                              else {"flops_per_s": cloud_flops}),
                  "concurrency": None})
    servers = [hw for hw in (edge_hardware, cloud_hardware) if hw]
    caps: dict[str, float] = {}
    model_specs: dict[str, Any] = {}
    tasks = []
    for i in range(devices):
        dev = f"dev{i}"
        b1 = round(float(rng.uniform(*r["b1"])), -3)
        caps[dev] = round(float(rng.uniform(*r["b2"])), -3)
        k = int(rng.integers(r["reach"][0], min(r["reach"][1], edges) + 1))
        for j in sorted(rng.choice(edges, size=k, replace=False).tolist()):
            links.append({"src": dev, "dst": edge_names[j], "bandwidth": b1,
                          "sharing": "reserved", "pool": f"{edge_names[j]}.access"})
        model = str(models[int(rng.integers(len(models)))])
        key = f"{model}-{i}"
        ref = profile_ref.format(model=model, hardware=hardware)
        model_specs[key] = {"profiles": {hardware: ref,
                                         **{hw: f"{model}@{hw}" for hw in servers}},
                            "input_bytes": round(float(rng.uniform(*r["input_bytes"])))}
        tasks.append({"id": f"task{i}", "device": dev, "model": key,
                      "samples": int(rng.integers(r["samples"][0], r["samples"][1] + 1)),
                      "arrival": round(float(rng.uniform(0.0, horizon)), 3)})
    tasks.sort(key=lambda t: t["arrival"])
    return {
        "name": name or f"huang2019-paper-n{devices}-m{edges}-h{horizon:g}-s{seed}",
        "description": "Huang et al. 2019 section V-B: AlexNet/VGG-16/DeepFace/LeNet tasks, reserved "
                       "bandwidth pools, edge concurrency r_e; devices at cpu-1t, edges "
                       f"{edge_hardware or f'at {edge_flops:.3g} FLOP/s'}, cloud "
                       f"{cloud_hardware or f'at {cloud_flops:.3g} FLOP/s'} (GPU server model "
                       "calibrated on measured H100 latencies, scaled by datasheet peaks; "
                       "simulated).",
        "objective": "mean_latency", "nodes": nodes, "pools": pools, "links": links,
        "models": model_specs, "workload": {"tasks": tasks},
        "extra": {"deepar": {"backbone_cap": caps}},
    }


def paper_scenario(seed: int, devices: int = 20, edges: int = 10, horizon: float = 300.0,
                   **kwargs: Any) -> Scenario:
    """:func:`paper_scenario_dict` loaded and validated."""
    d = paper_scenario_dict(seed, devices, edges, horizon, **kwargs)
    return scenario_from_dict(d, source=d["name"])


def _kinds(plan: Any) -> dict[str, int]:
    """How many tasks a plan runs on each combination of tiers (``device+edge`` means the
    device computes a head and the edge the rest; ``edge`` alone means the raw input is sent).

    Examples
    --------
    >>> from splitinfer.system.plan import Plan, TaskPlan
    >>> _kinds(Plan("p", {"a": TaskPlan("a", ("d",)), "b": TaskPlan("b", ("d", "e", "c"), (2, 5))}))
    {'device': 1, 'device+edge+cloud': 1}
    """
    out: dict[str, int] = {}
    for tp in plan.tasks.values():
        tiers = ["device"] if len(tp.nodes) == 1 or tp.cuts[0] > 0 else []
        if len(tp.nodes) == 2 or (len(tp.nodes) == 3 and tp.cuts[1] > tp.cuts[0]):
            tiers.append("edge")
        if len(tp.nodes) == 3:
            tiers.append("cloud")
        key = "+".join(tiers)
        out[key] = out.get(key, 0) + 1
    return out


def run_point(sc: Scenario, planner: str, **params: Any) -> dict[str, Any]:
    """Plan and simulate ``sc`` with one planner; the metrics of one row.

    For ``deepar`` planners also the largest gap between Alg. 1's predicted latency
    (``w_ij + delta t``) and the simulated one (``prediction_gap_s``; 0 up to rounding).
    """
    p = get_planner(planner, **params)
    if getattr(p, "online", False):
        plan, result = simulate_online(sc, p, name=planner)
    else:
        plan = p.plan(sc)
        result = simulate(sc, plan)
    lat = result.latencies
    row = {"planner": planner, "params": p.get_params(), "tasks": len(sc.tasks),
           "total_delay_s": float(lat.sum()), "mean_latency_s": float(lat.mean()),
           "p95_latency_s": result.percentile(95), "makespan_s": result.makespan,
           "plan_time_s": plan.plan_time_s,
           **{f"n_{k}": _kinds(plan).get(k, 0) for k in KINDS}}
    decisions = getattr(p, "decisions", None)
    if decisions:
        sim = {r.id: r.latency for r in result.tasks}
        row["prediction_gap_s"] = max(abs(d["latency"] - sim[t]) for t, d in decisions.items())
        row["mean_wait_s"] = float(np.mean([d["wait"] for d in decisions.values()]))
    return row


def _sweep(config: dict[str, Any], figure: str) -> list[dict[str, Any]]:
    rows = []
    extra = {k: config[k] for k in ("profile_ref", "hardware") if k in config}
    for n in config["devices"]:
        for seed in config["seeds"]:
            sc = paper_scenario(seed, n, config["edges"], config["horizon"], **extra)
            for planner in config.get("planners", PLANNERS):
                row = run_point(sc, planner)
                rows.append({"figure": figure, "devices": n, "edges": config["edges"],
                             "horizon_s": config["horizon"], "seed": seed, **row})
    return rows


_FULL = {"devices": [20, 30, 40, 50, 60, 70, 80], "seeds": [0, 1, 2, 3, 4]}
_QUICK = {"devices": [20], "seeds": [0]}
_CLAIM = ("DeePar reduces the total inference delay by over 60 % against device-only and "
          "cloud-only execution")


@experiment("huang2019-fig4a", title="DeePar Fig. 4(a): 10 edge servers, arrivals within 300 s",
            source=f"{_SOURCE}, section V-B, Fig. 4(a)",
            claim=_CLAIM + ", and by about 20 % against edge-only.",
            quick={**_QUICK, "edges": 10, "horizon": 300.0},
            full={**_FULL, "edges": 10, "horizon": 300.0})
def fig4a(config: dict[str, Any]) -> list[dict[str, Any]]:
    """Total delay vs number of devices, 10 edges, arrivals over 300 s."""
    return _sweep(config, "4a")


@experiment("huang2019-fig4b", title="DeePar Fig. 4(b): 10 edge servers, arrivals within 50 s",
            source=f"{_SOURCE}, section V-B, Fig. 4(b)",
            claim="DeePar reduces the total delay by about 70 % against cloud-only and by up to "
                  "30 % against edge-only.",
            quick={**_QUICK, "edges": 10, "horizon": 50.0},
            full={**_FULL, "edges": 10, "horizon": 50.0})
def fig4b(config: dict[str, Any]) -> list[dict[str, Any]]:
    """Total delay vs number of devices, 10 edges, arrivals over 50 s."""
    return _sweep(config, "4b")


@experiment("huang2019-fig4c", title="DeePar Fig. 4(c): 40 edge servers",
            source=f"{_SOURCE}, section V-B, Fig. 4(c)",
            claim="DeePar reduces the total delay by about 80 % against device-only and by 40 % "
                  "against edge-only.",
            quick={**_QUICK, "edges": 40, "horizon": 50.0},
            full={**_FULL, "edges": 40, "horizon": 50.0})
def fig4c(config: dict[str, Any]) -> list[dict[str, Any]]:
    """Total delay vs number of devices, 40 edges (arrivals over 50 s)."""
    return _sweep(config, "4c")


def _plot(rows: list[dict[str, Any]], path: Path) -> None:
    fig, ax = figure(figsize=(6.4, 4.2))
    for p in present(PLANNERS, rows, "planner"):
        plot_band(ax, *band([r for r in rows if r["planner"] == p], "devices", "total_delay_s"),
                  "--" if p in VARIANTS.values() else "-", edge=False, marker="o", label=p,
                  color=_COLORS.get(p))
    r0 = rows[0]
    ax.set_yscale("log")
    ax.set_xlabel("number of devices (one task each)")
    ax.set_ylabel("total inference delay (s, simulated)")
    seeds = len({r["seed"] for r in rows})
    ax.set_title(f"DeePar Fig. 4({r0['figure'][-1]}): {r0['edges']} edges, arrivals in "
                 f"{r0['horizon_s']:g} s; mean of {seeds} seed(s), band min-max", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    save(fig, path)


def reductions(rows: list[dict[str, Any]]) -> dict[str, list[float]]:
    """Per (devices, seed): ``1 - total(deepar) / total(baseline)`` for every baseline (the
    paper preset ``deepar-paper`` is no baseline and is left out).

    Examples
    --------
    >>> rows = [{"devices": 2, "seed": 0, "planner": "deepar", "total_delay_s": 1.0},
    ...         {"devices": 2, "seed": 0, "planner": "deepar-edge-only", "total_delay_s": 4.0}]
    >>> reductions(rows)
    {'deepar-edge-only': [0.75]}
    """
    ours = {(r["devices"], r["seed"]): r["total_delay_s"] for r in rows if r["planner"] == "deepar"}
    out: dict[str, list[float]] = {}
    for r in rows:
        key = (r["devices"], r["seed"])
        if r["planner"] != "deepar" and r["planner"] not in VARIANTS.values() and key in ours:
            out.setdefault(r["planner"], []).append(1.0 - ours[key] / r["total_delay_s"])
    return out


def _summary(rows: list[dict[str, Any]]) -> str:
    parts = []
    for planner, vals in reductions(rows).items():
        parts.append(f"{100 * np.mean(vals):.0f} % less than {planner.removeprefix('deepar-')} "
                     f"(range {100 * min(vals):.0f} to {100 * max(vals):.0f} %)")
    n = len({(r["devices"], r["seed"]) for r in rows})
    text = f"DeePar's total delay (simulated, {n} scenario(s)): " + "; ".join(parts) + "."
    if any(r["planner"] in VARIANTS.values() for r in rows):
        from splitinfer.experiments.variants import ranking_sentence

        text += " " + ranking_sentence(
            rows, "devices", "total_delay_s", VARIANTS, x_text="{} devices", unit="s", digits=0,
            others=[p for p in PLANNERS if p not in VARIANTS and p not in VARIANTS.values()])
    return text


for _id in ("huang2019-fig4a", "huang2019-fig4b", "huang2019-fig4c"):
    plotter(_id)(_plot)
    summarizer(_id)(_summary)


def single_task_options(model: str = "alexnet", *, input_bytes: float | None = None,
                        b1: float = 100e6, b2: float = 20e6, samples: int = 1,
                        hardware: str = "cpu-1t", edge_flops: float = EDGE_FLOPS,
                        cloud_flops: float = CLOUD_FLOPS) -> list[dict[str, Any]]:
    """One task alone (Fig. 1 / Fig. 3): the best cut pair and delay of every execution scheme.

    Exhaustive search over all cut pairs (section IV-A) for device-only, edge-only and
    cloud-only (raw input), one cut device | edge, one cut device | cloud (through the edge) and
    two cuts device | edge | cloud (``c1 < c2 < l``; the device's piece may be empty), with the
    whole bandwidths ``b1`` (device -> edge) and ``b2`` (edge -> cloud).

    Returns
    -------
    list of dict
        One row per scheme: ``scheme``, ``c1``, ``c2`` (cut names), ``delay_s``, and the six
        components of eqs. (1)-(6) in seconds.
    """
    from splitinfer.planners.huang2019.delay import TaskCurves, deepar_plan, option_list
    from splitinfer.system.stages import build_stages

    d = {"name": f"single-{model}",
         "nodes": [{"name": "device", "kind": "device", "compute": {"hardware": hardware}},
                   {"name": "edge", "kind": "edge", "compute": {"flops_per_s": edge_flops}},
                   {"name": "cloud", "kind": "cloud", "compute": {"flops_per_s": cloud_flops},
                    "concurrency": None}],
         "links": [{"src": "device", "dst": "edge", "bandwidth": b1, "sharing": "reserved"},
                   {"src": "edge", "dst": "cloud", "bandwidth": b2, "sharing": "reserved"}],
         "models": {model: {"profiles": {hardware: f"{model}@{hardware}"},
                            **({"input_bytes": input_bytes} if input_bytes else {})}},
         "workload": {"tasks": [{"device": "device", "model": model, "samples": samples}]}}
    sc = scenario_from_dict(d, source=d["name"])
    task = sc.tasks[0]
    curves = TaskCurves(sc, task)
    names = sc.models[model].cut_names
    schemes = [("device-only", "device", None), ("edge-only", "edge", 0),
               ("cloud-only", "cloud", 0), ("one cut: device/edge", "edge", None),
               ("one cut: device/cloud", "cloud", None),
               ("two cuts: device/edge/cloud", "edge+cloud", None)]
    rows = []
    for label, kind, first in schemes:
        option = next(o for o in option_list(sc) if o.kind == kind)
        ch = curves.best(option, first_cut=first)
        if ch is None:
            continue
        parts = {"device": 0.0, "uplink": 0.0, "edge": 0.0, "backbone": 0.0, "cloud": 0.0,
                 "return": 0.0}
        for st in build_stages(sc, task, deepar_plan(sc, task, ch)):
            key = st.name if st.name in parts else ("device" if st.node == "device" else st.name)
            parts[key] = parts.get(key, 0.0) + st.duration
        rows.append({"scheme": label, "c1": names[ch.c1], "c2": names[ch.c2],
                     "delay_s": ch.delay, **{f"{k}_s": v for k, v in parts.items()}})
    return rows
