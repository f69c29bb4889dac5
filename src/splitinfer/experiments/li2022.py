"""Reproductions of Li et al. 2022 (Li, Wang, Zhou, Duan, Wu: fused-layer parallelism, MW).

``li2022-fig4``
    Fig. 4: inference time of AlexNet, SqueezeNet and Tiny YOLOv2 against the transmission rate
    (1.1 to 3 MB/s) under Table I, for NFL, BF(2x2), MW(2x2) and MW(k x k). The paper claims
    MW(k x k) is on average 18.39 times faster than NFL and BF(2x2) is never worse than MW(2x2).
    The instances are deterministic (no random input), so every point is one run (seed 0).
    Beside MW(k x k) (the default ``mw``: square grids, ``P`` capped) the figure draws MW as
    Alg. 1 line 3 writes it (``mw-paper``: every balanced grid), dashed in the same colour, with
    ``P`` capped at ``max_paths_alg1`` for time (uncapped, it takes minutes per point on
    224 x 224 inputs); the values the paper prints (the curves' end points, section IV) are
    markers, read from ``data/papers/reported.yaml``.
``li2022-mw-gap``
    The distribution of MW's gap to the optimum of the same plan space (``fl-bf``) on random
    small instances (:func:`~splitinfer.planners.li2022.scenarios.random_li2022_dict`): the
    paper says MW "is very close to the optimal solution Brute Force" (abstract).

Every latency is simulated (``splitinfer.sim``) from the plans; the planners' own predictions
are stored beside it and agree to rounding.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from splitinfer.experiments._plots import band, figure, plot_band, save
from splitinfer.experiments.registry import experiment, plotter, summarizer
from splitinfer.experiments.reported import reported_points
from splitinfer.papers import cite
from splitinfer.planners import get_planner
from splitinfer.planners.li2022.scenarios import li2022_scenario, random_li2022_dict
from splitinfer.sim import simulate
from splitinfer.system.load import scenario_from_dict

__all__ = ["FIG4_PLANNERS", "run_fig4", "run_mw_gap"]

_SOURCE = cite("li2022")

#: Fig. 4's curves: label, planner, parameters.
FIG4_PLANNERS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("NFL", "nfl", {}),
    ("BF(2x2)", "fl-bf", {"grids": "2x2", "with_chain": False}),
    ("MW(2x2)", "mw", {"grids": "2x2"}),
    ("MW(kxk)", "mw", {"grids": "square", "max_paths": 256}),
    ("MW(Alg. 1)", "mw-paper", {}),
)
#: improved label -> the paper preset's label (same colour, dashed)
VARIANTS = {"MW(kxk)": "MW(Alg. 1)"}
_COLORS = {"NFL": "tab:gray", "BF(2x2)": "black", "MW(2x2)": "tab:orange", "MW(kxk)": "tab:blue",
           "MW(Alg. 1)": "tab:blue"}

_MB = 8e6  # one MB/s in bit/s


def _row(sc, label: str, name: str, params: dict, seed: int, **point: Any) -> dict[str, Any]:
    plan = get_planner(name, **params).plan(sc)
    result = simulate(sc, plan)
    tid = sc.tasks[0].id
    strat = plan.info.get("strategies", {}).get(tid, {})
    return {**point, "label": label, "planner": name, "params": params, "seed": seed,
            "latency_ms": result.mean_latency * 1e3,
            "predicted_ms": plan.info["predicted_latency"][tid] * 1e3,
            "tau": strat.get("tau"), "grid": "x".join(map(str, strat["grid"])) if "grid" in strat
            else "chain", "paths": strat.get("paths", 1),
            "redundant_gflops": strat.get("redundant_flops", 0.0) / 1e9,
            "plan_time_s": plan.plan_time_s}


@experiment("li2022-fig4", title="Li et al. 2022 Fig. 4: FL inference time vs transmission rate",
            source=f"{_SOURCE}, Fig. 4, Table I",
            claim="MW(kxk) is on average 18.39x faster than NFL over AlexNet, SqueezeNet and "
                  "YOLOv2 at 1.1-3 MB/s (AlexNet: NFL 1470->1384 ms, BF(2x2) 260->160 ms, "
                  "MW(2x2) 335->255 ms, MW(kxk) 40->38 ms); BF(2x2) <= MW(2x2).",
            quick={"models": ["alexnet"], "rates_MBps": [1.1, 3.0], "max_paths_kxk": 16,
                   "max_paths_alg1": 16, "seeds": [0]},
            full={"models": ["alexnet", "squeezenet1_0", "tiny-yolov2"],
                  "rates_MBps": [1.1, 1.3, 1.5, 1.8, 2.0, 2.2, 2.4, 2.6, 2.8, 3.0],
                  "max_paths_kxk": 256, "max_paths_alg1": 64, "seeds": [0]})
def run_fig4(config: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per (model, rate, curve): simulated latency of the curve's plan."""
    rows = []
    for model in config["models"]:
        for rate in config["rates_MBps"]:
            sc = li2022_scenario(model, rate=rate * _MB)
            for label, name, params in FIG4_PLANNERS:
                p = dict(params)
                if label == "MW(kxk)":
                    p["max_paths"] = config["max_paths_kxk"]
                if label == "MW(Alg. 1)":
                    if "max_paths_alg1" not in config:
                        continue
                    p["max_paths"] = config["max_paths_alg1"]
                for seed in config.get("seeds", [0]):
                    rows.append(_row(sc, label, name, p, seed, model=model, rate_MBps=rate))
    return rows


@plotter("li2022-fig4")
def plot_fig4(rows: list[dict[str, Any]], path: Path) -> None:
    """One panel per model: latency (log scale) against rate, one curve per planner (the paper
    preset dashed in its default's colour), the paper's printed values as diamonds."""
    models = list(dict.fromkeys(r["model"] for r in rows))
    labels = list(dict.fromkeys(r["label"] for r in rows))
    fig, axes = figure(1, len(models), figsize=(4.2 * len(models), 3.4), squeeze=False)
    for ax, model in zip(axes[0], models, strict=True):
        for label in labels:
            sel = [r for r in rows if r["model"] == model and r["label"] == label]
            plot_band(ax, *band(sel, "rate_MBps", "latency_ms"),
                      "--" if label in VARIANTS.values() else "-", marker="o", ms=3,
                      label=label, color=_COLORS.get(label))
            paper = reported_points("li2022", "fig4", model=model, label=label)
            if paper:
                ax.plot([p["rate_MBps"] for p in paper], [p["latency_ms"] for p in paper], "D",
                        ms=6, mfc="none", color=_COLORS.get(label),
                        label=f"{label}: paper (text of Fig. 4)")
        ax.set_yscale("log")
        ax.set_title(f"{model} (simulated)")
        ax.set_xlabel("transmission rate (MB/s)")
        ax.set_ylabel("inference time (ms)")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    save(fig, path)


@summarizer("li2022-fig4")
def summarize_fig4(rows: list[dict[str, Any]]) -> str:
    """NFL / MW(kxk) speed-up per model and overall; how often BF(2x2) <= MW(2x2)."""
    def lat(model, rate, label):
        return next(r["latency_ms"] for r in rows
                    if r["model"] == model and r["rate_MBps"] == rate and r["label"] == label)

    points = sorted({(r["model"], r["rate_MBps"]) for r in rows})
    parts, ratios, bf_ok = [], [], 0
    for model in dict.fromkeys(m for m, _ in points):
        rs = [lat(m, x, "NFL") / lat(m, x, "MW(kxk)") for m, x in points if m == model]
        ratios += rs
        parts.append(f"{model} {np.mean(rs):.2f}x")
    bf_ok = sum(lat(m, x, "BF(2x2)") <= lat(m, x, "MW(2x2)") * (1 + 1e-9) for m, x in points)
    text = (f"simulated NFL/MW(kxk) latency ratio: mean {np.mean(ratios):.2f}x ({', '.join(parts)})"
            f" vs the paper's 18.39x; BF(2x2) <= MW(2x2) at {bf_ok}/{len(points)} points")
    if any(r["label"] in VARIANTS.values() for r in rows):
        from splitinfer.experiments.variants import ranking_sentence

        text += ". " + ranking_sentence(rows, ["model", "rate_MBps"], "latency_ms", VARIANTS,
                                        label="label", others=["NFL", "BF(2x2)", "MW(2x2)"],
                                        x_text="{} at {} MB/s", digits=0)
    return text


# ---------------------------------------------------------------------- MW vs BF
#: Plan spaces compared: name -> grids (the same for ``mw`` and ``fl-bf``).
GAP_SPACES: dict[str, dict[str, Any]] = {
    "2x2": {"grids": "2x2", "max_paths": None},
    "P<=4": {"grids": "all", "max_paths": 4},
}


@experiment("li2022-mw-gap", title="Li et al. 2022: MW's gap to the brute-force optimum",
            source=f"{_SOURCE}, Alg. 1 vs BF (section IV)",
            claim="MW is very close to the optimal solution BF with much lower time complexity.",
            quick={"seeds": list(range(4)), "spaces": ["2x2"]},
            full={"seeds": list(range(200)), "spaces": ["2x2", "P<=4"]})
def run_mw_gap(config: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per (random instance, plan space, planner) with the gap to the optimum."""
    rows = []
    for seed in config["seeds"]:
        sc = scenario_from_dict(random_li2022_dict(seed), source=f"li2022 random {seed}")
        for space in config["spaces"]:
            grid = GAP_SPACES[space]
            bf = _row(sc, "BF", "fl-bf", {**grid, "with_chain": False}, seed, space=space)
            mw = _row(sc, "MW", "mw", dict(grid), seed, space=space)
            for r in (bf, mw):
                r["gap"] = r["latency_ms"] / bf["latency_ms"] - 1.0
                rows.append(r)
    return rows


@plotter("li2022-mw-gap")
def plot_mw_gap(rows: list[dict[str, Any]], path: Path) -> None:
    """Empirical CDF of MW's relative gap per plan space."""
    fig, ax = figure(figsize=(5, 3.4))
    for space in dict.fromkeys(r["space"] for r in rows):
        gaps = np.sort([r["gap"] * 100 for r in rows if r["space"] == space and r["label"] == "MW"])
        ax.step(gaps, np.arange(1, gaps.size + 1) / gaps.size, where="post",
                label=f"{space} ({gaps.size} instances)")
    ax.set_xlabel("MW latency above BF optimum (%)")
    ax.set_ylabel("fraction of instances")
    ax.set_title("MW vs BF on random instances (simulated)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    save(fig, path)


@summarizer("li2022-mw-gap")
def summarize_mw_gap(rows: list[dict[str, Any]]) -> str:
    """Median, mean, 90th percentile and max of the gap, and the share of optimal MW plans."""
    out = []
    for space in dict.fromkeys(r["space"] for r in rows):
        g = np.array([r["gap"] for r in rows if r["space"] == space and r["label"] == "MW"])
        out.append(f"{space}: median {np.median(g):.1%}, mean {g.mean():.1%}, p90 "
                   f"{np.percentile(g, 90):.1%}, max {g.max():.1%}, optimal in "
                   f"{np.mean(g <= 1e-9):.0%} of {g.size}")
    return "MW gap to BF (simulated) -- " + "; ".join(out)
