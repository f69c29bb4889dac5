"""Bandwidth that changes over time: planners that adapt against planners that decide once.

``traces-adapt`` (``splitinfer reproduce traces-adapt``; ``docs/traces.md``) runs the shipped
scenario ``trace-drop`` (a 5 GFLOP/s phone offloading ResNet18 to a Jetson-class edge box
over Wi-Fi, 2 frames/s for 30 s) with the link's rate following each shipped synthetic trace,
and compares:

* planners that decide every task in advance from the rate known at time 0: ``neurosurgeon``
  (Kang et al., ASPLOS 2017) and ``gspi`` (Shi et al. 2021, Alg. 2);
* the same decisions made when each task arrives, on the rate in force then:
  ``neurosurgeon-online`` and ``gspi-online`` (Alg. 3), and ``neurosurgeon-online`` with the
  rate estimated from the last 3 measured transfers (harmonic mean) instead of the truth;
* ``local`` (never offload), the floor a planner should not fall below.

Every latency is simulated (the transfers integrated over the trace exactly). One row per
(trace, planner, seed) with the mean and 95th-percentile latency, the share of tasks run
locally, and the per-task series (arrival, latency, local) that the figure draws.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from splitinfer.experiments._plots import figure, save
from splitinfer.experiments.registry import experiment, plotter, summarizer

__all__ = ["PLANNERS", "run_adapt"]

#: Label -> (registered planner, parameters).
PLANNERS: dict[str, tuple[str, dict[str, Any]]] = {
    "local": ("local", {}),
    "neurosurgeon": ("neurosurgeon", {}),
    "gspi": ("gspi", {}),
    "neurosurgeon-online": ("neurosurgeon-online", {}),
    "neurosurgeon-online (estimate)": ("neurosurgeon-online", {"rate": "estimate", "last": 3}),
    "gspi-online": ("gspi-online", {}),
}
_ADAPTS = {"neurosurgeon-online", "neurosurgeon-online (estimate)", "gspi-online"}
_COLORS = {"local": "tab:gray", "neurosurgeon": "tab:red", "gspi": "tab:orange",
           "neurosurgeon-online": "tab:blue", "neurosurgeon-online (estimate)": "tab:cyan",
           "gspi-online": "tab:green"}
_CLAIM = ("A planner that decides each task on the rate in force when it arrives (Neurosurgeon "
          "re-partitioning as the network changes, Kang et al. 2017; GSPI's online strategy "
          "center, Shi et al. 2021) runs the frames locally while the link is slow, so its mean "
          "latency stays near the better of local and offloaded at every moment; a planner that "
          "decides once at the starting rate keeps offloading through a drop.")


def _scenario(trace: str, seed: int, rate: float, horizon: float):
    from splitinfer.system import load_scenario

    return load_scenario(
        "trace-drop",
        links=[{"src": "phone", "dst": "edge", "bandwidth": {"trace": trace}, "latency": 0.005}],
        workload={"seed": seed, "generators": [{"kind": "poisson", "devices": ["phone"],
                                                "model": "resnet18", "rate": rate,
                                                "horizon": horizon}]})


@experiment("traces-adapt", title="Adapting vs fixed planners on bandwidth traces (ResNet18, "
            "phone to edge over Wi-Fi)", source="Kang et al., ASPLOS 2017 (re-partitioning when "
            "the bandwidth changes); Shi et al. 2021, Alg. 3 (online strategy center); issue 20",
            claim=_CLAIM,
            quick={"traces": ["step-drop"], "seeds": [0], "rate": 2.0, "horizon": 30.0,
                   "planners": list(PLANNERS)},
            full={"traces": ["step-drop", "ramp", "noisy-walk"], "seeds": list(range(5)),
                  "rate": 2.0, "horizon": 30.0, "planners": list(PLANNERS)})
def run_adapt(config: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per (trace, planner, seed): latencies and the per-task series."""
    from splitinfer.planners import get_planner
    from splitinfer.sim import simulate

    rows = []
    for trace in config["traces"]:
        for seed in config["seeds"]:
            sc = _scenario(trace, seed, float(config["rate"]), float(config["horizon"]))
            tr = sc.link("phone", "edge").trace
            for label in config["planners"]:
                name, params = PLANNERS[label]
                plan = get_planner(name, **params).plan(sc)
                res = simulate(sc, plan)
                tl = res.timeline
                lat = tl.finish - tl.arrival
                local = np.array([plan.tasks[t].is_local for t in tl.ids], bool)
                series = [[round(float(a), 4), round(float(v) * 1e3, 3), int(loc)]
                          for a, v, loc in zip(tl.arrival, lat, local, strict=True)]
                rows.append({"trace": trace, "planner": label, "seed": seed,
                             "adapts": label in _ADAPTS, "tasks": len(lat),
                             "mean_latency_s": float(lat.mean()),
                             "p95_latency_s": float(np.percentile(lat, 95)),
                             "local_share": float(local.mean()),
                             "mean_rate_mbps": tr.mean_rate(0.0, float(config["horizon"])) / 1e6,
                             "series": series})
    return rows


@plotter("traces-adapt")
def _plot(rows: list[dict[str, Any]], path) -> None:
    from splitinfer.data import shipped_trace_path
    from splitinfer.traces import read_trace

    traces = list(dict.fromkeys(r["trace"] for r in rows))
    labels = [p for p in PLANNERS if any(r["planner"] == p for r in rows)]
    fig, axes = figure(nrows=2, ncols=len(traces), figsize=(5.2 * len(traces) + 1.5, 7.5),
                       squeeze=False, gridspec_kw={"height_ratios": [3, 2]})
    for j, trace in enumerate(traces):
        top, bottom = axes[0][j], axes[1][j]
        seed = min(r["seed"] for r in rows if r["trace"] == trace)
        horizon = max(a for r in rows if r["trace"] == trace for a, _, _ in r["series"])
        tr = read_trace(shipped_trace_path(trace))
        t = np.linspace(0.0, horizon, 600)
        twin = top.twinx()
        twin.fill_between(t, tr.rate_at(t) / 1e6, step="post", color="0.85", zorder=0)
        twin.set_ylabel("link rate (Mbit/s)", color="0.4")
        top.set_zorder(twin.get_zorder() + 1)
        top.patch.set_visible(False)
        for lab in labels:
            (r,) = [r for r in rows if r["trace"] == trace and r["planner"] == lab
                    and r["seed"] == seed]
            s = np.array(r["series"], float)
            top.plot(s[:, 0], s[:, 1], ".-" if lab in _ADAPTS else "x--", ms=3, lw=0.8,
                     color=_COLORS.get(lab), label=lab)
        top.set_yscale("log")
        top.set_ylabel("task latency (ms, simulated)")
        top.set_xlabel("task arrival (s)")
        top.set_title(f"trace {trace}, seed {seed}", fontsize=9)
        top.grid(alpha=0.3)
        means = [np.mean([r["mean_latency_s"] for r in rows
                          if r["trace"] == trace and r["planner"] == lab]) * 1e3 for lab in labels]
        bottom.barh(range(len(labels)), means, color=[_COLORS.get(lab) for lab in labels])
        bottom.set_yticks(range(len(labels)), labels if j == 0 else [""] * len(labels),
                          fontsize=8)
        seeds = len({r["seed"] for r in rows if r["trace"] == trace})
        bottom.set_xlabel(f"mean latency (ms, simulated; mean of {seeds} seed(s))")
        for k, m in enumerate(means):
            bottom.text(m, k, f" {m:.0f}", va="center", fontsize=7)
    axes[0][0].legend(fontsize=7, loc="upper left")
    fig.suptitle("Adapting (decide at arrival on the rate in force) vs fixed (decide once, rate\n"
                 "at time 0) planners on bandwidth traces; grey: the link's rate", fontsize=10)
    save(fig, path)


@summarizer("traces-adapt")
def _summary(rows: list[dict[str, Any]]) -> str:
    parts = []
    for trace in dict.fromkeys(r["trace"] for r in rows):
        def mean(label, trace=trace):
            vals = [r["mean_latency_s"] for r in rows if r["trace"] == trace
                    and r["planner"] == label]
            return 1e3 * float(np.mean(vals)) if vals else float("nan")
        parts.append(f"{trace}: neurosurgeon {mean('neurosurgeon'):.0f} ms -> "
                     f"neurosurgeon-online {mean('neurosurgeon-online'):.0f} ms "
                     f"(estimate {mean('neurosurgeon-online (estimate)'):.0f} ms), gspi "
                     f"{mean('gspi'):.0f} ms -> gspi-online {mean('gspi-online'):.0f} ms, "
                     f"local {mean('local'):.0f} ms")
    return "Mean latency, simulated: " + "; ".join(parts) + "."
