"""Energy-optimal vs latency-optimal cuts as the bandwidth grows (issue 20, part 1).

Kang et al. 2017 (Neurosurgeon, ASPLOS) choose the partition point of one DNN either for
latency or for the mobile device's energy, and show that the two choices differ: a cut that sends
more data can finish sooner yet cost the phone more radio energy, and the reverse. This
experiment plans one inference of AlexNet and of ResNet18 on a phone linked to a GPU edge box by
Wi-Fi, with ``neurosurgeon`` under the objective ``mean_latency`` and under ``energy``
(:mod:`splitinfer.system.energy`), for a range of link rates, and reports both choices' cut,
latency and device energy (simulated).

Setting (stated assumptions, not measurements): the phone computes at 5 GFLOP/s (the
``fidelity-demo`` phone) with the shipped ``<model>@cpu-1t`` profile's FLOPs per cut; the edge is
the Jetson-class GPU model (``<model>@jetson-agx-orin-fitted``); the link has 5 ms latency.
The phone's power figures are :data:`PHONE_POWER`: assumed values of the order of a smartphone's
(SoC busy 2.5 W, idle 0.25 W, radio sending 1.3 W and receiving 1.0 W). Kang et al. measured
their phone's power and modelled the radios from Huang et al. (MobiSys 2012) per network; we do
not copy their numbers, so the bandwidths where the choices switch are ours, not theirs.

Examples
--------
>>> rows = energy_cuts({"models": ["alexnet"], "bandwidths_mbps": [100.0], "seeds": [0]})
>>> sorted((r["optimised_for"], r["cut_name"]) for r in rows)
[('energy', 'input'), ('mean_latency', 'features_2')]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from splitinfer.experiments._plots import figure, save
from splitinfer.experiments.registry import experiment, plotter, summarizer
from splitinfer.planners import get_planner
from splitinfer.sim import simulate
from splitinfer.system.load import scenario_from_dict
from splitinfer.system.scenario import Scenario

__all__ = ["PHONE_POWER", "energy_scenario", "energy_cuts"]

#: The phone's power figures in W (stated assumptions; see the module docstring).
PHONE_POWER = {"compute": 2.5, "idle": 0.25, "transmit": 1.3, "receive": 1.0}

#: The edge GPU's fitted hardware (:mod:`splitinfer.profile.server_model`).
EDGE_HARDWARE = "jetson-agx-orin-fitted"

OBJECTIVES = ("mean_latency", "energy")


def energy_scenario(model: str, bandwidth: float, objective: str) -> Scenario:
    """One task of ``model`` on the phone, a Wi-Fi link of ``bandwidth`` bit/s to the edge.

    Examples
    --------
    >>> sc = energy_scenario("alexnet", 20e6, "energy")
    >>> sc.objective, sc.nodes["phone"].power.transmit, sc.link("phone", "edge").rate
    ('energy', 1.3, 20000000.0)
    """
    return scenario_from_dict({
        "name": f"energy-{model}", "objective": objective,
        "description": "a phone (5 GFLOP/s, assumed power figures) and a GPU edge box over Wi-Fi",
        "nodes": [{"name": "phone", "kind": "device", "compute": {"flops_per_s": 5e9},
                   "power": dict(PHONE_POWER)},
                  {"name": "edge", "kind": "edge", "compute": {"hardware": EDGE_HARDWARE}}],
        "links": [{"src": "phone", "dst": "edge", "bandwidth": bandwidth, "latency": 0.005}],
        "models": {model: {"profile": f"{model}@cpu-1t",
                           "profiles": {EDGE_HARDWARE: f"{model}@{EDGE_HARDWARE}"}}},
        "workload": {"tasks": [{"device": "phone", "model": model}]}})


@experiment("energy-cuts",
            title="Energy-optimal vs latency-optimal cuts as bandwidth grows (AlexNet, ResNet18)",
            source="Kang et al., Neurosurgeon, ASPLOS 2017 (partition for latency or for mobile "
                   "energy); phone power figures assumed (docs/energy.md)",
            claim="The partition point that minimises the mobile device's energy is not always "
                  "the one that minimises latency; which one is best depends on the wireless "
                  "bandwidth (Kang et al. 2017 choose per network and per objective).",
            # quick: AlexNet on the full grid (about a second; docs/energy.md is written from it)
            quick={"models": ["alexnet"],
                   "bandwidths_mbps": [float(x) for x in np.round(np.geomspace(0.5, 200, 25), 3)],
                   "seeds": [0]},
            full={"models": ["alexnet", "resnet18"],
                  "bandwidths_mbps": [float(x) for x in np.round(np.geomspace(0.5, 200, 25), 3)],
                  "seeds": [0]})
def energy_cuts(config: dict[str, Any]) -> list[dict[str, Any]]:
    """For every model, bandwidth and objective (``optimised_for``): neurosurgeon's cut, its
    latency and its device energy."""
    rows = []
    for model in config["models"]:
        for mbps in config["bandwidths_mbps"]:
            for objective in OBJECTIVES:
                sc = energy_scenario(model, mbps * 1e6, objective)
                plan = get_planner("neurosurgeon").plan(sc)
                result = simulate(sc, plan)
                tp = plan.tasks["t0"]
                mc = sc.models[model]
                cut = tp.cuts[0] if tp.cuts else mc.last_cut
                for seed in config.get("seeds", [0]):  # deterministic: one row per seed
                    rows.append({"model": model, "bandwidth_mbps": mbps,
                                 "optimised_for": objective,
                                 "planner": f"neurosurgeon ({objective})", "seed": seed,
                                 "cut": cut, "cut_name": "local" if not tp.cuts else
                                 mc.cut_names[cut], "offloaded": bool(tp.cuts),
                                 "latency_s": result.mean_latency,
                                 "energy_j": result.mean_energy})
    return rows


@plotter("energy-cuts")
def _plot(rows: list[dict[str, Any]], path: Path) -> None:
    models = list(dict.fromkeys(r["model"] for r in rows))
    fig, axes = figure(3, len(models), figsize=(5.2 * len(models), 7.6), sharex=True,
                       squeeze=False)
    styles = {"mean_latency": ("tab:blue", "-", "latency-optimal"),
              "energy": ("tab:green", "--", "energy-optimal")}
    for j, model in enumerate(models):
        for objective, (colour, ls, label) in styles.items():
            sel = sorted((r for r in rows if r["model"] == model
                          and r["optimised_for"] == objective
                          and int(r["seed"]) == int(rows[0]["seed"])),
                         key=lambda r: float(r["bandwidth_mbps"]))
            x = [float(r["bandwidth_mbps"]) for r in sel]
            axes[0][j].step(x, [int(r["cut"]) for r in sel], where="mid", color=colour, ls=ls,
                            label=label)
            axes[1][j].plot(x, [float(r["energy_j"]) for r in sel], color=colour, ls=ls,
                            marker=".", label=label)
            axes[2][j].plot(x, [1e3 * float(r["latency_s"]) for r in sel], color=colour, ls=ls,
                            marker=".", label=label)
        axes[0][j].set_title(f"{model}: one inference, phone -> Wi-Fi -> GPU edge", fontsize=9)
        axes[0][j].set_ylabel("cut index (0: raw input;\nlast: all on the phone)")
        axes[1][j].set_ylabel("phone energy (J)")
        axes[2][j].set_ylabel("latency (ms)")
        axes[2][j].set_xlabel("Wi-Fi bandwidth (Mbit/s)")
        for ax in (axes[0][j], axes[1][j], axes[2][j]):
            ax.set_xscale("log")
            ax.grid(True, which="both", alpha=0.3)
        axes[1][j].set_yscale("log")
        axes[0][j].legend(fontsize=8)
    fig.suptitle("Neurosurgeon's cut for latency vs for phone energy (simulated; assumed phone "
                 "power figures)", fontsize=10)
    save(fig, path)


@summarizer("energy-cuts")
def _summary(rows: list[dict[str, Any]]) -> str:
    parts = []
    for model in dict.fromkeys(r["model"] for r in rows):
        by_bw: dict[float, dict[str, dict[str, Any]]] = {}
        for r in rows:
            if r["model"] == model:
                by_bw.setdefault(float(r["bandwidth_mbps"]), {})[r["optimised_for"]] = r
        differ = [(bw, d) for bw, d in sorted(by_bw.items())
                  if int(d["energy"]["cut"]) != int(d["mean_latency"]["cut"])]
        if not differ:
            parts.append(f"{model}: the same cut at all {len(by_bw)} bandwidths")
            continue
        saving = max(1 - float(d["energy"]["energy_j"]) / float(d["mean_latency"]["energy_j"])
                     for _, d in differ)
        slower = max(float(d["energy"]["latency_s"]) / float(d["mean_latency"]["latency_s"]) - 1
                     for _, d in differ)
        parts.append(f"{model}: the cuts differ at {len(differ)} of {len(by_bw)} bandwidths "
                     f"({differ[0][0]:g}-{differ[-1][0]:g} Mbit/s), saving up to "
                     f"{100 * saving:.0f} % of the phone's energy for up to {100 * slower:.0f} % "
                     "more latency")
    return "Simulated, one inference, assumed phone power figures: " + "; ".join(parts) + "."
