"""Reproductions of Duan & Wu (JPS, ICPP 2021): Fig. 11-14 and Table 1.

The system is the paper's (section 6.1) with this machine standing in for the Raspberry Pi 4: the
device is this CPU at one thread (the shipped ``<model>@cpu-1t`` profiles), the cloud's compute is
negligible (section 3.1; a table with a zero tail), and the jobs share one FIFO uplink with
``t = w0 + w1 s / b``. The paper gives no fitted ``w0, w1``; we use ``w0 = 0``, ``w1 = 1`` (the
ideal channel, consistent with its ">4,000 ms to upload the input tensor" at 1.1 Mbit/s:
602,112 bytes take 4.38 s) and expose both as config keys. Every number is **simulated** from
measured profiles; nothing here is random, so the seeds repeat identical runs (the spread is 0).

Scenarios are the shipped ``duan2021-<model>`` files; the config key ``scenarios`` maps a model to
another file (e.g. one with other profiles).

Examples
--------
>>> from splitinfer.experiments.registry import get_experiment
>>> get_experiment("duan2021-table1").source
'Duan & Wu, JPS (ICPP 2021), Table 1 (section 6.3)'
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from splitinfer.experiments._plots import band, figure, plot_band, present, save
from splitinfer.experiments.registry import experiment, plotter, summarizer
from splitinfer.experiments.reported import reported_points
from splitinfer.papers import cite
from splitinfer.planners import get_planner
from splitinfer.planners.duan2021.flowshop import two_type_makespans
from splitinfer.planners.duan2021.jps import virtual_blocks
from splitinfer.planners.duan2021.partitions import jps_setting, make_taskplan, partition_options
from splitinfer.sim import simulate
from splitinfer.system.entities import Task
from splitinfer.system.load import load_scenario, scenario_from_dict
from splitinfer.system.plan import Plan
from splitinfer.system.scenario import Scenario

__all__ = ["duan_scenario", "PAPER_TABLE1", "BANDWIDTHS"]

_SOURCE = cite("duan2021")

#: Section 6.3: typical uplink bandwidths (bit/s) of 3G, 4G and Wi-Fi, after [7].
BANDWIDTHS = {"3G": 1.1e6, "4G": 5.85e6, "Wi-Fi": 18.88e6}



def _paper_table1() -> dict[str, dict[str, tuple[float, float]]]:
    out: dict[str, dict[str, list[float]]] = {}
    for p in reported_points("duan2021", "table1"):
        cell = out.setdefault(p["model"], {}).setdefault(p["network"], [math.nan, math.nan])
        cell[("PO", "JPS").index(p["scheme"])] = float(p["reduction_pct"])
    return {m: {n: (v[0], v[1]) for n, v in d.items()} for m, d in out.items()}


#: Duan & Wu 2021 Table 1: latency reduction against LO (%), (PO, JPS) per network (read from
#: ``data/papers/reported.yaml``).
PAPER_TABLE1 = _paper_table1()

#: (label, planner, parameters): the paper's four schemes, JPS as the paper wrote it (the
#: floored ratio of section 5.1: ``jps-paper``) and a variant of PO of ours.
SCHEMES = [("LO", "lo", {}), ("CO", "co", {}), ("PO", "po", {}), ("JPS", "jps", {}),
           ("JPS (paper)", "jps-paper", {}),
           ("PO-makespan", "po", {"criterion": "makespan"})]
#: improved label -> its paper preset's label (same colour; dashed or hatched)
VARIANTS = {"JPS": "JPS (paper)"}
_COLORS = {"LO": "tab:gray", "CO": "tab:brown", "PO": "tab:blue", "JPS": "tab:red",
           "JPS (paper)": "tab:red", "PO-makespan": "tab:cyan", "BF": "black"}


@lru_cache(maxsize=16)
def _base(ref: str) -> Scenario:
    return load_scenario(ref)


def duan_scenario(model: str, n: int, bandwidth: float, *, w0: float = 0.0, w1: float = 1.0,
                  scenarios: dict[str, str] | None = None) -> Scenario:
    """Duan & Wu's system for ``n`` identical jobs of ``model`` at ``bandwidth`` bit/s.

    Parameters
    ----------
    model : str
        ``alexnet``, ``mobilenet_v2``, ``googlenet`` or ``resnet18`` (a shipped
        ``duan2021-<model>`` scenario), or any model named in ``scenarios``.
    n : int
        Jobs, all at time 0.
    bandwidth : float
        Uplink (and downlink) rate in bit/s.
    w0, w1 : float
        Section 6.1's regression ``t = w0 + w1 s / b``: the links' ``latency`` and ``slowdown``.
    scenarios : dict, optional
        Model -> scenario file or shipped name, instead of ``duan2021-<model>``.
    """
    ref = (scenarios or {}).get(model, f"duan2021-{model.replace('_', '-')}")
    sc = _base(ref)
    device = sc.devices[0]
    links = {k: replace(v, rate=bandwidth, latency=w0, slowdown=w1) for k, v in sc.links.items()}
    tasks = [Task(f"t{i}", i, device, model, 0.0) for i in range(n)]
    return replace(sc, links=links, name=f"{sc.name}-n{n}-{bandwidth / 1e6:g}Mbps").with_tasks(tasks)


def _synthetic_alexnet(sc: Scenario) -> Scenario:
    """Fig. 11's AlexNet': AlexNet's device times at its virtual-block cuts, with the bytes
    replaced by an exponential fitted to them (section 3.2: g "decreases exponentially"), so
    that the communication time is "sampled from the fitted curve"."""
    st = jps_setting(sc)
    line = [o for o in virtual_blocks(partition_options(sc, st)) if o.kind == "chain"]
    m = sc.models[st.model]
    cuts = [o.cut for o in line]
    nbytes = m.transfer_bytes[cuts]
    x = np.arange(len(cuts), dtype=float)
    slope, icpt = np.polyfit(x, np.log(nbytes), 1)
    fitted = np.exp(icpt + slope * x)
    heads = [o.f for o in line] + [sc.compute_time(st.device, st.model, 0, m.last_cut)]
    link = sc.link(st.device, st.server)
    d = {"name": "alexnet-prime", "objective": "makespan", "result_return": 0,
         "nodes": [{"name": st.device, "kind": "device", "compute": {"table": True}},
                   {"name": st.server, "kind": "cloud", "compute": {"table": True},
                    "concurrency": None}],
         "links": [{"src": st.device, "dst": st.server, "bandwidth": link.rate,
                    "latency": link.latency, "slowdown": link.slowdown, "sharing": "fifo"}],
         "models": {"alexnet-prime": {
             "cuts": [{"name": m.cut_names[c], "transfer_bytes": float(b)}
                      for c, b in zip(cuts, fitted, strict=True)]
             + [{"name": "output", "transfer_bytes": float(m.output_bytes)}],
             "table": {st.device: {"head": heads}, st.server: {"tail": [0.0] * (len(cuts) + 1)}}}},
         "workload": {"generators": [{"kind": "batch", "devices": [st.device],
                                      "model": "alexnet-prime", "count": len(sc.tasks)}]}}
    return scenario_from_dict(d, source="AlexNet' (fitted)")


def _run(sc: Scenario, planner: str, params: dict[str, Any]) -> dict[str, Any]:
    plan = get_planner(planner, **params).plan(sc)
    res = simulate(sc, plan)
    types = plan.info.get("types")
    return {"makespan_s": res.makespan, "mean_completion_s": res.mean_latency,
            "plan_time_s": plan.plan_time_s, "params": dict(params),
            "types": json.dumps([[t["label"], t["count"]] for t in types]) if types else ""}


def _kw(config: dict[str, Any]) -> dict[str, Any]:
    return {"w0": config.get("w0", 0.0), "w1": config.get("w1", 1.0),
            "scenarios": config.get("scenarios")}


# ---------------------------------------------------------------------- Fig. 11
@experiment("duan2021-fig11", title="JPS against brute force, 1-30 identical AlexNet jobs",
            source=f"{_SOURCE}, Fig. 11 (section 6.3)",
            claim="JPS is optimal for AlexNet up to 22 jobs, and on the fitted AlexNet' for all n",
            quick={"jobs": [1, 2, 4, 6], "bandwidths_mbps": [5.85], "seeds": [0]},
            full={"jobs": list(range(1, 31)), "bandwidths_mbps": [1.1, 5.85, 18.88],
                  "seeds": [0]})
def fig11(config: dict[str, Any]) -> list[dict[str, Any]]:
    """JPS and BF makespans on AlexNet and AlexNet' for each batch size."""
    rows = []
    for bw in config["bandwidths_mbps"]:
        for n in config["jobs"]:
            real = duan_scenario("alexnet", n, bw * 1e6, **_kw(config))
            for label, sc in (("AlexNet", real), ("AlexNet'", _synthetic_alexnet(real))):
                for scheme, planner in (("JPS", "jps"), ("JPS (paper)", "jps-paper"),
                                        ("BF", "jps-bf")):
                    out = _run(sc, planner, {})
                    for seed in config["seeds"]:
                        rows.append({"model": label, "bandwidth_mbps": bw, "jobs": n,
                                     "scheme": scheme, "planner": planner, "seed": seed, **out})
    return rows


@plotter("duan2021-fig11")
def _plot_fig11(rows, path: Path) -> None:
    bws = sorted({r["bandwidth_mbps"] for r in rows})
    models = ["AlexNet", "AlexNet'"]
    fig, axes = figure(len(bws), 2, figsize=(10, 3.2 * len(bws)), squeeze=False)
    for i, bw in enumerate(bws):
        for j, model in enumerate(models):
            ax = axes[i][j]
            for scheme, style in (("BF", "k-"), ("JPS", "r-"), ("JPS (paper)", "r--")):
                if not any(r["scheme"] == scheme for r in rows):
                    continue
                pts = band([r for r in rows if r["bandwidth_mbps"] == bw and r["model"] == model
                            and r["scheme"] == scheme], "jobs", "makespan_s")
                plot_band(ax, *pts, style, marker="o", ms=3, label=scheme)
            ax.set_title(f"{model}, {bw:g} Mbit/s (simulated)")
            ax.set_xlabel("identical jobs")
            ax.set_ylabel("makespan (s)")
            ax.legend()
    save(fig, path, dpi=110)


@summarizer("duan2021-fig11")
def _sum_fig11(rows) -> str:
    parts = []
    for model in ("AlexNet", "AlexNet'"):
        for bw in sorted({r["bandwidth_mbps"] for r in rows}):
            sel = [r for r in rows if r["model"] == model and r["bandwidth_mbps"] == bw]
            bf = {r["jobs"]: r["makespan_s"] for r in sel if r["scheme"] == "BF"}
            gaps = {n: r["makespan_s"] / bf[n] - 1 for r in sel if r["scheme"] == "JPS"
                    for n in [r["jobs"]]}
            worse = sorted(n for n, gap in gaps.items() if gap > 1e-9)
            if worse:
                parts.append(f"{model} @ {bw:g} Mbit/s: JPS = BF for {len(gaps) - len(worse)} of "
                             f"{len(gaps)} batch sizes, first gap at n = {worse[0]} (largest "
                             f"{100 * max(gaps.values()):.1f} %)")
            else:
                parts.append(f"{model} @ {bw:g} Mbit/s: JPS = BF for every n")
    return "; ".join(parts)


# ---------------------------------------------------------------------- Fig. 12 / Table 1
def _comparison(config: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for model in config["models"]:
        for net in config["networks"]:
            sc = duan_scenario(model, config["jobs"], BANDWIDTHS[net], **_kw(config))
            for scheme, planner, params in SCHEMES:
                out = _run(sc, planner, params)
                for seed in config["seeds"]:
                    rows.append({"model": model, "network": net,
                                 "bandwidth_mbps": BANDWIDTHS[net] / 1e6, "jobs": config["jobs"],
                                 "scheme": scheme, "planner": planner, "seed": seed, **out})
    return rows


_COMPARE_QUICK = {"models": ["alexnet"], "networks": ["3G", "4G", "Wi-Fi"], "jobs": 20,
                  "seeds": [0]}
_COMPARE_FULL = {"models": ["alexnet", "mobilenet_v2", "googlenet", "resnet18"],
                 "networks": ["3G", "4G", "Wi-Fi"], "jobs": 100, "seeds": [0]}


@experiment("duan2021-fig12", title="Total latency of 100 jobs: LO, CO, PO, JPS at 3G/4G/Wi-Fi",
            source=f"{_SOURCE}, Fig. 12 (section 6.3)",
            claim="JPS has the least latency for every model and network; its overhead is "
                  "negligible (Fig. 12(d))",
            quick=_COMPARE_QUICK, full=_COMPARE_FULL)
def fig12(config: dict[str, Any]) -> list[dict[str, Any]]:
    """Makespan, mean completion time and planning time of every scheme."""
    return _comparison(config)


@experiment("duan2021-table1", title="Latency reduction against LO (%) of PO and JPS",
            source=f"{_SOURCE}, Table 1 (section 6.3)",
            claim="e.g. AlexNet 3G/4G/Wi-Fi: PO 0/33.33/63.91 %, JPS 22.06/42.11/73.43 %",
            quick=_COMPARE_QUICK, full=_COMPARE_FULL)
def table1(config: dict[str, Any]) -> list[dict[str, Any]]:
    """The runs of Fig. 12 with each scheme's reduction against LO and the paper's number."""
    rows = _comparison(config)
    lo = {(r["model"], r["network"], r["seed"]): r["makespan_s"] for r in rows
          if r["scheme"] == "LO"}
    for r in rows:
        r["reduction_vs_lo_pct"] = 100.0 * (1.0 - r["makespan_s"] / lo[(r["model"], r["network"],
                                                                         r["seed"])])
        paper = PAPER_TABLE1.get(r["model"], {}).get(r["network"])
        idx = {"PO": 0, "JPS": 1}.get(r["scheme"])
        r["paper_reduction_pct"] = paper[idx] if paper and idx is not None else None
    return rows


@plotter("duan2021-fig12")
def _plot_fig12(rows, path: Path) -> None:
    nets = present(BANDWIDTHS, rows, "network")
    models = list(dict.fromkeys(r["model"] for r in rows))
    schemes = present((s for s, _, _ in SCHEMES), rows, "scheme")
    fig, axes = figure(1, len(nets) + 1, figsize=(4.2 * (len(nets) + 1), 3.8))
    width = 0.8 / len(schemes)
    for ax, net in zip(axes, nets, strict=False):
        for k, scheme in enumerate(schemes):
            vals = [np.mean([r["makespan_s"] for r in rows if r["network"] == net
                             and r["model"] == m and r["scheme"] == scheme]) for m in models]
            ax.bar(np.arange(len(models)) + k * width, vals, width, label=scheme,
                   color=_COLORS[scheme], hatch="//" if scheme in VARIANTS.values() else None,
                   alpha=0.6 if scheme in VARIANTS.values() else 1.0)
        ax.set_yscale("log")
        ax.set_xticks(np.arange(len(models)) + 0.4 - width / 2, models, rotation=20)
        ax.set_title(f"{net} ({BANDWIDTHS[net] / 1e6:g} Mbit/s), simulated")
        ax.set_ylabel("makespan of the batch (s)")
    axes[0].legend(fontsize=7)
    ax = axes[-1]
    jps = [np.mean([r["plan_time_s"] for r in rows if r["model"] == m and r["scheme"] == "JPS"])
           for m in models]
    ax.bar(models, [1e3 * v for v in jps], color=_COLORS["JPS"])
    ax.set_ylabel("JPS planning time (ms, measured)")
    ax.set_title("overhead (Fig. 12(d))")
    ax.tick_params(axis="x", rotation=20)
    save(fig, path, dpi=110)


@plotter("duan2021-table1")
def _plot_table1(rows, path: Path) -> None:
    models = list(dict.fromkeys(r["model"] for r in rows))
    nets = present(BANDWIDTHS, rows, "network")
    fig, axes = figure(1, len(models), figsize=(4.5 * len(models), 3.6), squeeze=False)
    for ax, model in zip(axes[0], models, strict=True):
        x = np.arange(len(nets))
        shown = [s for s in ("PO", "JPS", "JPS (paper)") if any(r["scheme"] == s for r in rows)]
        for k, scheme in enumerate(shown):
            ours = [np.mean([r["reduction_vs_lo_pct"] for r in rows if r["model"] == model
                             and r["network"] == n and r["scheme"] == scheme]) for n in nets]
            preset = scheme in VARIANTS.values()
            ax.bar(x + k * 0.25, ours, 0.25, label=f"{scheme} (simulated)", color=_COLORS[scheme],
                   hatch="//" if preset else None, alpha=0.6 if preset else 1.0)
            if scheme in ("PO", "JPS"):  # Table 1's printed values as markers
                paper = [PAPER_TABLE1.get(model, {}).get(n, (np.nan, np.nan))[("PO", "JPS").index(
                    scheme)] for n in nets]
                ax.plot(x + k * 0.25, paper, "D", color="black", mfc=_COLORS[scheme], ms=6,
                        label=f"{scheme}: Table 1 of the paper" if model == models[0] else None)
        ax.set_xticks(x + 0.25, nets)
        ax.set_title(model)
        ax.set_ylabel("reduction vs LO (%)")
    axes[0][0].legend(fontsize=7)
    save(fig, path, dpi=110)


@summarizer("duan2021-table1")
def _sum_table1(rows) -> str:
    parts = []
    for model in dict.fromkeys(r["model"] for r in rows):
        cells = []
        for net in BANDWIDTHS:
            sel = {r["scheme"]: r["reduction_vs_lo_pct"] for r in rows
                   if r["model"] == model and r["network"] == net}
            if sel:
                cells.append(f"{net} PO {sel['PO']:.1f} / JPS {sel['JPS']:.1f}")
        parts.append(f"{model}: " + ", ".join(cells))
    return "reduction vs LO (%, simulated): " + "; ".join(parts) + _variant_sentence(
        rows, ["model", "network"], "{} {}")


def _variant_sentence(rows, x, x_text: str) -> str:
    """The ranking sentence of the paper preset ``jps-paper`` against ``jps`` (or nothing)."""
    from splitinfer.experiments.variants import ranking_sentence

    if not any(r["scheme"] in VARIANTS.values() for r in rows):
        return ""
    return ". " + ranking_sentence(rows, x, "makespan_s", VARIANTS, label="scheme",
                                   others=["LO", "CO", "PO"], x_text=x_text, unit="s", digits=2)


@summarizer("duan2021-fig12")
def _sum_fig12(rows) -> str:
    wins = total = 0
    for key in {(r["model"], r["network"]) for r in rows}:
        sel = {r["scheme"]: r["makespan_s"] for r in rows if (r["model"], r["network"]) == key}
        total += 1
        wins += sel["JPS"] <= min(sel[s] for s in ("LO", "CO", "PO")) + 1e-12
    worst = max(r["plan_time_s"] for r in rows if r["scheme"] == "JPS")
    return (f"JPS has the least makespan in {wins}/{total} (model, network) cases; "
            f"its planning time is at most {1e3 * worst:.1f} ms")


# ---------------------------------------------------------------------- Fig. 13
@experiment("duan2021-fig13", title="Latency against bandwidth (1-50 Mbit/s), AlexNet and "
            "MobileNetV2", source=f"{_SOURCE}, Fig. 13 (section 6.3)",
            claim="JPS speeds up AlexNet and MobileNet over [1, 20] Mbit/s; AlexNet's benefit "
                  "range is wider and reaches past 50 Mbit/s",
            quick={"models": ["alexnet"], "bandwidths_mbps": [1, 10, 50], "jobs": 20,
                   "seeds": [0]},
            full={"models": ["alexnet", "mobilenet_v2"], "bandwidths_mbps": list(range(1, 51)),
                  "jobs": 100, "seeds": [0]})
def fig13(config: dict[str, Any]) -> list[dict[str, Any]]:
    """Makespan of LO, CO, PO and JPS at every bandwidth."""
    rows = []
    for model in config["models"]:
        for bw in config["bandwidths_mbps"]:
            sc = duan_scenario(model, config["jobs"], bw * 1e6, **_kw(config))
            for scheme, planner, params in SCHEMES[:5]:
                out = _run(sc, planner, params)
                for seed in config["seeds"]:
                    rows.append({"model": model, "bandwidth_mbps": bw, "jobs": config["jobs"],
                                 "scheme": scheme, "planner": planner, "seed": seed, **out})
    return rows


@plotter("duan2021-fig13")
def _plot_fig13(rows, path: Path) -> None:
    models = list(dict.fromkeys(r["model"] for r in rows))
    fig, axes = figure(1, len(models), figsize=(5.5 * len(models), 3.8), squeeze=False)
    for ax, model in zip(axes[0], models, strict=True):
        for scheme in present(("LO", "CO", "PO", "JPS", "JPS (paper)"), rows, "scheme"):
            plot_band(ax, *band([r for r in rows if r["model"] == model and r["scheme"] == scheme],
                                "bandwidth_mbps", "makespan_s"),
                      "--" if scheme in VARIANTS.values() else "-",
                      label=scheme, color=_COLORS[scheme], marker=".", ms=3)
        ax.set_yscale("log")
        ax.set_xlabel("uplink bandwidth (Mbit/s)")
        ax.set_ylabel("makespan (s, simulated)")
        ax.set_title(f"{model}, {rows[0]['jobs']} jobs")
        ax.legend()
    save(fig, path, dpi=110)


@summarizer("duan2021-fig13")
def _sum_fig13(rows) -> str:
    parts = []
    for model in dict.fromkeys(r["model"] for r in rows):
        better = []
        for bw in sorted({r["bandwidth_mbps"] for r in rows}):
            sel = {r["scheme"]: r["makespan_s"] for r in rows
                   if r["model"] == model and r["bandwidth_mbps"] == bw}
            if sel["JPS"] < min(sel["LO"], sel["CO"]) * (1 - 1e-3):
                better.append(bw)
        rng = f"{min(better):g}-{max(better):g} Mbit/s" if better else "nowhere"
        parts.append(f"{model}: JPS beats both LO and CO by >0.1 % at {len(better)} of "
                     f"{len({r['bandwidth_mbps'] for r in rows})} bandwidths ({rng})")
    return "; ".join(parts) + _variant_sentence(rows, ["model", "bandwidth_mbps"],
                                                "{} at {} Mbit/s")


# ---------------------------------------------------------------------- Fig. 14
@experiment("duan2021-fig14", title="Makespan against the mix of Alg. 2's two job types",
            source=f"{_SOURCE}, Fig. 14 (section 6.3)",
            claim="the optimal ratio of computation- to communication-heavy jobs is not 1 and "
                  "shifts with bandwidth",
            quick={"models": ["alexnet"], "bandwidths_mbps": [5.85], "jobs": 10, "seeds": [0]},
            full={"models": ["alexnet", "mobilenet_v2"], "bandwidths_mbps": [1.1, 5.85, 18.88],
                  "jobs": 100, "seeds": [0]})
def fig14(config: dict[str, Any]) -> list[dict[str, Any]]:
    """For every split of n jobs between l* - 1 and l*: the simulated and the exact makespan."""
    rows = []
    for model in config["models"]:
        for bw in config["bandwidths_mbps"]:
            n = config["jobs"]
            sc = duan_scenario(model, n, bw * 1e6, **_kw(config))
            jps = get_planner("jps").plan(sc)
            types = jps.info["types"]
            if len(types) != 2:
                continue
            st = jps_setting(sc)
            opts = {o.label: o for o in partition_options(sc, st)}
            a, b = opts[types[0]["label"]], opts[types[1]["label"]]
            exact = two_type_makespans(a.f, a.g, b.f, b.g, n, a.h, b.h)
            for m in range(n + 1):
                plans = {}
                seq = [a] * m + [b] * (n - m)  # a is communication-heavy: Johnson puts it first
                for pos, (task, opt) in enumerate(zip(sc.tasks, seq, strict=True)):
                    plans[task.id] = make_taskplan(opt, task.id, float(pos))
                span = simulate(sc, Plan("mix", plans)).makespan
                for seed in config["seeds"]:
                    rows.append({"model": model, "bandwidth_mbps": bw, "jobs": n,
                                 "comm_heavy_cut": a.label, "comp_heavy_cut": b.label,
                                 "comm_heavy_jobs": m, "planner": "jps-mix", "seed": seed,
                                 "makespan_s": span, "exact_makespan_s": float(exact[m]),
                                 "jps_choice": types[0]["count"], "paper_ratio": jps.info["ratio"]})
    return rows


@plotter("duan2021-fig14")
def _plot_fig14(rows, path: Path) -> None:
    models = list(dict.fromkeys(r["model"] for r in rows))
    fig, axes = figure(1, len(models), figsize=(5.5 * len(models), 3.8), squeeze=False)
    for ax, model in zip(axes[0], models, strict=True):
        for bw in sorted({r["bandwidth_mbps"] for r in rows if r["model"] == model}):
            sel = [r for r in rows if r["model"] == model and r["bandwidth_mbps"] == bw]
            xs, mean, lo, hi = band(sel, "comm_heavy_jobs", "makespan_s")
            n = sel[0]["jobs"]
            frac = [x / n for x in xs]
            line = plot_band(ax, frac, mean, lo, hi, label=f"{bw:g} Mbit/s "
                             f"({sel[0]['comm_heavy_cut']} / {sel[0]['comp_heavy_cut']})")
            best = sel[0]["jps_choice"] / n
            ax.axvline(best, color=line.get_color(), ls=":")
            ratio = sel[0]["paper_ratio"]  # jps-paper: ``ratio`` jobs at l* - 1 per job at l*
            if ratio > 0:
                ax.axvline((n - math.ceil(n / (ratio + 1))) / n, color=line.get_color(), ls="--")
        ax.set_xlabel("share of communication-heavy jobs (cut at l* - 1)")
        ax.set_ylabel("makespan (s, simulated)")
        ax.set_title(f"{model}; dotted: JPS's choice; dashed: the paper's ratio (if > 0)")
        ax.legend(fontsize=7)
    save(fig, path, dpi=110)


@summarizer("duan2021-fig14")
def _sum_fig14(rows) -> str:
    parts = []
    for key in dict.fromkeys((r["model"], r["bandwidth_mbps"]) for r in rows):
        sel = [r for r in rows if (r["model"], r["bandwidth_mbps"]) == key]
        best = min(sel, key=lambda r: (r["makespan_s"], r["comm_heavy_jobs"]))
        n = best["jobs"]
        m = best["comm_heavy_jobs"]
        parts.append(f"{key[0]} @ {key[1]:g} Mbit/s: best {m} comm-heavy : {n - m} comp-heavy")
    return "; ".join(parts)
