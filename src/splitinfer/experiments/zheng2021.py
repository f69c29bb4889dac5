"""Reproductions of Zheng 2021 (DMCJIA): Fig. 5 and Fig. 6.

``zheng2021-fig5``
    DMCJIA's convergence: P1 of the best individual of the GA population per generation, for
    D = 5, 10, 15, 20 edge nodes (speeds drawn from 5-9 GMAC/s, lambda = 1/s, B = 1 Mbps,
    task types drawn at random), beside the proven optimum of P1 (``dmcjia-exact``).
``zheng2021-fig6``
    Mean delay against the uplink bandwidth 0.5-5 Mbps for cloud-only, greedy, Neurosurgeon and
    DMCJIA (D = 10 nodes of 5 GMAC/s, lambda = 1/s), plus the optimum. Every row has P1 of the
    plan (the paper's analytic mean, ``p1_s``) and the mean latency of the same plan in the
    discrete-event simulator over a seeded Poisson workload (``sim_mean_s``, simulated).

The scenario is the shipped ``zheng2021`` (ResNet34 cut tables at the three input sizes; see the
file's header and ``docs/algorithms/zheng2021.md``); :func:`paper_scenario` varies its node count,
speeds, bandwidth, rates and workload. :func:`derive_cut_tables` re-derives the cut tables from
the real model (torch), so the shipped numbers can be checked.

The plans of every planner here are one decision per node (a cut and a share), so each planner
plans a copy of the scenario with one task per node (:func:`plan_per_node`) and the decision is
applied to every task of that node; this keeps per-task planners such as ``neurosurgeon`` from
re-deciding thousands of identical tasks. Planning times are of that step.

Examples
--------
>>> sc = paper_scenario(nodes=3, bandwidth_mbps=2.0, horizon=5.0, seed=1)
>>> len(sc.devices), sc.link("edge0", "cloud").rate, sc.extra["dmcjia"]["arrival_rates"]["edge0"]
(3, 2000000.0, 1.0)
"""

from __future__ import annotations

import math
import time
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from splitinfer.errors import NotApplicableError
from splitinfer.experiments._plots import band, figure, plot_band, present, save
from splitinfer.experiments.registry import experiment, plotter, summarizer
from splitinfer.papers import cite
from splitinfer.system.load import scenario_from_dict
from splitinfer.system.plan import Plan
from splitinfer.system.scenario import Scenario

__all__ = ["TASK_TYPES", "PLANNERS", "derive_cut_tables", "shipped_models", "paper_scenario",
           "plan_per_node", "evaluate_plan", "summarize_fig6"]

SOURCE = cite("zheng2021")

#: Task type -> (dataset, input shape C x H x W as in Table 4, number of classes).
TASK_TYPES: dict[str, tuple[str, tuple[int, int, int], int]] = {
    "t1": ("MNIST", (1, 28, 28), 10),
    "t2": ("CIFAR-100", (3, 32, 32), 100),
    "t3": ("ImageNet", (3, 224, 224), 1000),
}

#: label -> (registered planner, parameters): the four curves of Fig. 6, DMCJIA as the paper
#: wrote it (``dmcjia-paper``: random population, K = 50, N = 32, C3) and the optimum.
PLANNERS: dict[str, tuple[str, dict[str, Any]]] = {
    "cloud-only": ("cloud-only", {}),
    "greedy": ("greedy", {}),
    "Neurosurgeon": ("zheng-neurosurgeon", {}),
    "DMCJIA": ("dmcjia", {}),
    "DMCJIA (paper)": ("dmcjia-paper", {}),
    "optimum": ("dmcjia-exact", {}),
}
#: improved label -> the paper preset's label (same colour, dashed)
VARIANTS = {"DMCJIA": "DMCJIA (paper)"}
_COLORS = {"cloud-only": "tab:orange", "greedy": "tab:green", "Neurosurgeon": "tab:purple",
           "DMCJIA": "tab:blue", "DMCJIA (paper)": "tab:blue", "optimum": "black"}

_BLOCKS = [("layer1", 3), ("layer2", 4), ("layer3", 6), ("layer4", 3)]


def _cut_name(after: str | None) -> str:
    """``"layer2.1 [7]"``: the head's last layer and the paper's layer number in brackets."""
    blocks = [f"{name}.{i}" for name, n in _BLOCKS for i in range(n)]
    if after is None:
        return "input [0]"
    if after.startswith("add"):
        k = 0 if after == "add" else int(after.split("_")[1])
        return f"{blocks[k]} [{1 + 2 * (k + 1)}]"
    return f"{after} [{ {'conv1': 1, 'maxpool': 1, 'avgpool': 33}.get(after, 34) }]"


def derive_cut_tables() -> dict[str, list[dict[str, Any]]]:
    """ResNet34's cut tables for t1, t2, t3 from the real model (needs torch).

    Traces torchvision's resnet34 (``weights=None``, the task type's number of classes) on a
    3-channel input of the type's size, keeps every single-tensor cut and merges consecutive
    cuts with equal FLOPs and bytes. MNIST is replicated to 3 channels inside the model: its cut
    0 sends the 1-channel image (``1 x 28 x 28 x 4`` bytes).
    """
    import torch

    from splitinfer.graph import trace
    from splitinfer.models import get_model

    out: dict[str, list[dict[str, Any]]] = {}
    for t, (_, (c, h, w), classes) in TASK_TYPES.items():
        g = trace(get_model("resnet34", init=False, num_classes=classes),
                  torch.zeros(1, 3, h, w))
        rows: list[dict[str, Any]] = []
        for cut in g.cuts:
            key = (int(cut.head_flops), int(cut.transfer_bytes))
            if rows and (rows[-1]["head_flops"], rows[-1]["transfer_bytes"]) == key:
                continue
            rows.append({"name": _cut_name(cut.after), "transfer_bytes": key[1],
                         "head_flops": key[0]})
        rows[0]["transfer_bytes"] = c * h * w * 4
        out[t] = rows
    return out


@cache
def _shipped_spec() -> dict[str, Any]:
    import yaml

    from splitinfer.data import shipped_scenario_path

    return yaml.safe_load(Path(shipped_scenario_path("zheng2021")).read_text())


def shipped_models() -> dict[str, Any]:
    """The ``models`` section of the shipped ``zheng2021`` scenario (t1, t2, t3 cut tables)."""
    return _shipped_spec()["models"]


def paper_scenario(*, nodes: int = 10, edge_gmacs: float | tuple[float, float] = 5.0,
                   cloud_gmacs: float = 400.0, bandwidth_mbps: float = 1.0, rate: float = 1.0,
                   horizon: float = 600.0, seed: int = 0,
                   task_types: list[str] | None = None) -> Scenario:
    """Zheng's section 4 system with ``nodes`` edge nodes.

    Parameters
    ----------
    nodes : int
        D.
    edge_gmacs : float or (low, high)
        F_d in GMAC/s: one value for every node, or drawn uniformly from ``[low, high]``.
    cloud_gmacs : float
        F_eps in GMAC/s (400).
    bandwidth_mbps : float
        B_d for every node (the paper's "MHz" read as Mbit/s).
    rate : float
        lambda_d for every node (tasks per second).
    horizon : float
        Seconds of Poisson arrivals to simulate.
    seed : int
        Draws the task types, the speeds and the workload.
    task_types : list of str, optional
        One per node (default: drawn uniformly from t1, t2, t3).
    """
    rng = np.random.default_rng(seed)
    types = list(task_types) if task_types is not None else \
        [str(x) for x in rng.choice(sorted(TASK_TYPES), nodes)]
    if isinstance(edge_gmacs, tuple):
        speeds = [float(x) for x in rng.uniform(edge_gmacs[0], edge_gmacs[1], nodes)]
    else:
        speeds = [float(edge_gmacs)] * nodes
    names = [f"edge{d}" for d in range(nodes)]
    spec = {
        "name": f"zheng2021-D{nodes}-B{bandwidth_mbps:g}-s{seed}",
        "description": "Zheng 2021 section 4 system (generated by experiments.zheng2021)",
        "objective": "mean_latency", "result_return": 0.0,
        "nodes": [{"name": n, "kind": "device", "compute": {"flops_per_s": f"{s}GMACS"},
                   "concurrency": 1} for n, s in zip(names, speeds, strict=True)]
        + [{"name": "cloud", "kind": "cloud", "compute": {"flops_per_s": f"{cloud_gmacs}GMACS"},
            "concurrency": 1, "divisible": True}],
        "links": [{"src": n, "dst": "cloud", "bandwidth": bandwidth_mbps * 1e6,
                   "sharing": "dedicated"} for n in names],
        "models": {t: shipped_models()[t] for t in sorted(set(types))},
        "workload": {"seed": seed, "generators": [
            {"kind": "poisson", "devices": [n], "model": t, "rate": rate, "horizon": horizon}
            for n, t in zip(names, types, strict=True)]},
        "extra": {"dmcjia": {"arrival_rates": {n: rate for n in names}}},
    }
    return scenario_from_dict(spec, source=spec["name"])


def plan_per_node(name: str, params: dict[str, Any], sc: Scenario) -> Plan:
    """Plan ``sc`` with one task per node, then give every task its node's decision."""
    from dataclasses import replace

    from splitinfer.planners import get_planner

    first: dict[str, Any] = {}
    for t in sc.tasks:
        first.setdefault(t.device, t)
    small = sc.with_tasks(first.values())
    plan = get_planner(name, **params).plan(small)
    by_device = {small.task(tid).device: tp for tid, tp in plan.tasks.items()}
    tasks = {t.id: replace(by_device[t.device], task=t.id) for t in sc.tasks}
    return Plan(plan.planner, tasks, plan.params, plan.plan_time_s, plan.info)


def evaluate_plan(sc: Scenario, plan: Plan, *, simulate_it: bool = True) -> dict[str, float]:
    """P1 of ``plan`` (analytic) and, optionally, its simulated mean latency."""
    from splitinfer.planners.zheng2021.dmcjia import p1_of_plan
    from splitinfer.sim import simulate

    p1, _ = p1_of_plan(sc, plan)
    out = {"p1_s": p1, "stable": bool(math.isfinite(p1))}
    if simulate_it:
        out["sim_mean_s"] = simulate(sc, plan).mean_latency
    return out


# --------------------------------------------------------------------------- Fig. 5
_CLAIM5 = ("DMCJIA converges within 32 generations for D = 5..20; fewer nodes converge in fewer "
           "generations, and more nodes give a larger average delay (less cloud per node).")


@experiment("zheng2021-fig5", title="DMCJIA convergence: P1 of the best individual per GA "
            "generation, D = 5, 10, 15, 20", source=f"{SOURCE}, Fig. 5, section 4.2.1",
            claim=_CLAIM5,
            quick={"nodes": [5, 10], "generations": 4, "pop_size": 10, "seeds": [0],
                   "inner": "kkt", "planners": ["dmcjia", "dmcjia-paper"]},
            full={"nodes": [5, 10, 15, 20], "generations": 32, "pop_size": 50, "seeds": [0, 1],
                  "inner": "al", "planners": ["dmcjia", "dmcjia-paper"]})
def fig5(config: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows (nodes, seed, planner, generation): best and mean P1 of the population, and the
    optimum; ``dmcjia`` (improved: seeded with the baselines' cuts, stops on convergence) and
    ``dmcjia-paper`` (Alg. 1 as written) with the same K and N."""
    from splitinfer.planners import get_planner

    rows = []
    for nodes in config["nodes"]:
        for seed in config["seeds"]:
            sc = paper_scenario(nodes=nodes, edge_gmacs=(5.0, 9.0), bandwidth_mbps=1.0,
                                rate=1.0, horizon=1.0, seed=seed)
            params = {"pop_size": config["pop_size"], "generations": config["generations"],
                      "inner": config["inner"], "seed": seed}
            opt = get_planner("dmcjia-exact").plan(sc)
            for name in config.get("planners", ["dmcjia"]):
                plan = plan_per_node(name, params, sc)
                rows += _history_rows(plan, opt, nodes, seed, name, params)
    return rows


def _history_rows(plan, opt, nodes, seed, name, params) -> list[dict[str, Any]]:
    rows = []
    for h in plan.info["history"]:
        rows.append({"nodes": nodes, "seed": seed, "planner": name, **params,
                     "generation": h["generation"], "best_p1_s": h["best"],
                     "mean_p1_s": h["mean"], "evaluations": h["evaluations"],
                     "optimum_p1_s": opt.info["objective_p1"],
                     "optimum_proven": opt.info["optimal"],
                     "plan_time_s": plan.plan_time_s})
    return rows


@plotter("zheng2021-fig5")
def _plot5(rows, path) -> None:
    fig, ax = figure(figsize=(7, 4.2))
    for i, nodes in enumerate(sorted({r["nodes"] for r in rows})):
        sub = [r for r in rows if r["nodes"] == nodes]
        color = f"C{i}"
        for name in dict.fromkeys(r["planner"] for r in sub):
            mine = [r for r in sub if r["planner"] == name]
            plot_band(ax, *band(mine, "generation", "best_p1_s", scale=1e3),
                      "--" if name == "dmcjia-paper" else "-", color=color,
                      label=f"D = {nodes}" + (" (paper)" if name == "dmcjia-paper" else ""))
        opt = np.mean([r["optimum_p1_s"] for r in sub if r["generation"] == 0])
        ax.axhline(1e3 * opt, color=color, ls=":", lw=1)
    ax.set_xlabel("GA generation (0 = initial population)")
    ax.set_ylabel("P1 of the best individual (ms, analytic)")
    ax.set_title("Zheng 2021 Fig. 5: DMCJIA convergence (mean, min-max over seeds;\n"
                 "dashed: dmcjia-paper, Alg. 1 as written; dotted: proven optimum of P1)",
                 fontsize=10)
    ax.legend()
    save(fig, path)


@summarizer("zheng2021-fig5")
def _sum5(rows) -> str:
    parts = []
    for nodes in sorted({r["nodes"] for r in rows}):
        for name in dict.fromkeys(r.get("planner", "dmcjia") for r in rows):
            sub = [r for r in rows if r["nodes"] == nodes and r.get("planner", "dmcjia") == name]
            ends = [max((r for r in sub if r["seed"] == s), key=lambda r: r["generation"])
                    for s in dict.fromkeys(r["seed"] for r in sub)]
            last = max(r["generation"] for r in ends)
            final = np.mean([r["best_p1_s"] for r in ends])
            opt = np.mean([r["optimum_p1_s"] for r in ends])
            parts.append(f"D={nodes} {name}: {1e3 * final:.0f} ms after at most {last} "
                         f"generations (optimum {1e3 * opt:.0f} ms, "
                         f"+{100 * (final / opt - 1):.1f}%)")
    return "; ".join(parts)


# --------------------------------------------------------------------------- Fig. 6
_CLAIM6 = ("Cloud-only suffers most from low bandwidth and improves fastest as it grows; greedy "
           "declines only a little; Neurosurgeon is close to DMCJIA, and DMCJIA has the least "
           "average delay at every bandwidth.")


@experiment("zheng2021-fig6", title="Mean delay against the uplink bandwidth (D = 10, 5 GMAC/s, "
            "lambda = 1/s)", source=f"{SOURCE}, Fig. 6, section 4.2.2", claim=_CLAIM6,
            quick={"bandwidths_mbps": [0.5, 5.0], "nodes": 4, "horizon": 20.0, "seeds": [0],
                   "planners": list(PLANNERS), "dmcjia": {"inner": "kkt"},
                   "dmcjia-paper": {"inner": "kkt"}},
            full={"bandwidths_mbps": [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0],
                  "nodes": 10, "horizon": 600.0, "seeds": [0, 1, 2], "planners": list(PLANNERS),
                  "dmcjia": {"inner": "kkt"}, "dmcjia-paper": {"inner": "kkt"}})
def fig6(config: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows (bandwidth, planner, seed): P1 of the plan and its simulated mean latency."""
    rows = []
    for bw in config["bandwidths_mbps"]:
        for seed in config["seeds"]:
            sc = paper_scenario(nodes=config["nodes"], edge_gmacs=5.0, bandwidth_mbps=bw,
                                rate=1.0, horizon=config["horizon"], seed=seed)
            for label in config["planners"]:
                name, params = PLANNERS[label]
                params = dict(params)
                if name in ("dmcjia", "dmcjia-paper"):
                    params.update(config.get(name, {}), seed=seed)
                t0 = time.perf_counter()
                try:
                    plan = plan_per_node(name, params, sc)
                except NotApplicableError as exc:
                    rows.append({"bandwidth_mbps": bw, "seed": seed, "planner": label,
                                 "registered": name, "params": params, "p1_s": math.inf,
                                 "sim_mean_s": math.nan, "stable": False, "note": str(exc)})
                    continue
                wall = time.perf_counter() - t0
                ev = evaluate_plan(sc, plan, simulate_it=True)
                rows.append({"bandwidth_mbps": bw, "seed": seed, "planner": label,
                             "registered": name, "params": params, **ev,
                             "tasks": len(sc.tasks), "plan_time_s": wall, "note": ""})
    return rows


@plotter("zheng2021-fig6")
def _plot6(rows, path) -> None:
    fig, axes = figure(1, 2, figsize=(11, 4.2), sharey=True)
    for ax, key, title in [(axes[0], "p1_s", "P1 (analytic, eq. 3-7)"),
                           (axes[1], "sim_mean_s", "simulated mean latency (same plans)")]:
        for label in present(PLANNERS, rows, "planner"):
            ls = ":" if label == "optimum" else ("--" if label in VARIANTS.values() else "-")
            plot_band(ax, *band([r for r in rows if r["planner"] == label], "bandwidth_mbps", key),
                      ls, alpha=0.15, marker="o", ms=3, color=_COLORS.get(label), label=label)
        ax.set_xlabel("uplink bandwidth B (Mbit/s)")
        ax.set_title(title, fontsize=10)
        ax.set_yscale("log")
    axes[0].set_ylabel("mean delay per task (s)")
    axes[0].legend(fontsize=8)
    fig.suptitle("Zheng 2021 Fig. 6: D = 10 nodes of 5 GMAC/s, lambda = 1/s, 400 GMAC/s cloud "
                 "(mean, min-max over seeds)", fontsize=10)
    save(fig, path)


def summarize_fig6(rows: list[dict[str, Any]]) -> str:
    """Mean P1 per planner over bandwidths and seeds, and how often DMCJIA is the best curve.

    Examples
    --------
    >>> rows = [{"planner": p, "bandwidth_mbps": 1.0, "seed": 0, "p1_s": v} for p, v in
    ...         [("cloud-only", 4.0), ("greedy", 1.0), ("Neurosurgeon", 0.5), ("DMCJIA", 0.5)]]
    >>> summarize_fig6(rows)
    'mean P1: cloud-only 4.000 s, greedy 1.000 s, Neurosurgeon 0.500 s, DMCJIA 0.500 s; DMCJIA best (within 0.1%) of the four at 1/1 points'
    """
    labels = [p for p in PLANNERS if any(r["planner"] == p for r in rows)]
    means = {p: float(np.mean([r["p1_s"] for r in rows if r["planner"] == p])) for p in labels}
    points = sorted({(r["bandwidth_mbps"], r["seed"]) for r in rows})
    four = [p for p in ("cloud-only", "greedy", "Neurosurgeon", "DMCJIA") if p in labels]
    best = 0
    for pt in points:
        v = {r["planner"]: r["p1_s"] for r in rows if (r["bandwidth_mbps"], r["seed"]) == pt}
        if "DMCJIA" in v and v["DMCJIA"] <= min(v[p] for p in four if p in v) * 1.001:
            best += 1
    text = ", ".join(f"{p} {means[p]:.3f} s" for p in labels)
    out = f"mean P1: {text}; DMCJIA best (within 0.1%) of the four at {best}/{len(points)} points"
    if any(p in VARIANTS.values() for p in labels):
        from splitinfer.experiments.variants import ranking_sentence

        out += ". " + ranking_sentence(rows, "bandwidth_mbps", "p1_s", VARIANTS, unit="s",
                                       others=["cloud-only", "greedy", "Neurosurgeon"],
                                       x_text="{} Mbit/s", digits=3)
    return out


@summarizer("zheng2021-fig6")
def _sum6(rows) -> str:
    return summarize_fig6(rows)
