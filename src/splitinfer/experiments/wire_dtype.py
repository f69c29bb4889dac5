"""Smaller tensors on the wire (issue 20, part 3): latency against the dtype of the cut's tensor.

``dtype-latency``
    A phone (``phone_gflops`` FLOP/s: 5 GFLOP/s, the paced phone of ``fidelity-demo``) offloads one
    inference to a Jetson-class edge box (GPU server model) over one link of rate ``r``
    (5 ms latency). For each model, rate and wire dtype (float32, float16, bfloat16, int8) the
    link sends the cut's tensor in that dtype and Neurosurgeon (Kang et al. 2017) picks the cut
    with the least latency at the real byte count (:func:`splitinfer.transfer.wire_bytes`);
    the ``chosen`` line is Neurosurgeon choosing the dtype per cut itself (``wire_dtypes=all``)
    within a top-1 agreement tolerance (``min_agreement``, from the model's shipped agreement
    table, :mod:`splitinfer.profile.agreement`). The claim checked: compression helps most
    when the link is slow (the cut moves earlier or the transfer shrinks) and not at all when
    the link is fast enough that everything runs on the edge from the raw input (float32
    input crossing vs int8 input crossing still differ) or locally.

Every latency is simulated (``splitinfer.sim``) from shipped profiles; compression costs no
compute time in the model (it is a few element-wise passes over one tensor).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from splitinfer.experiments._plots import figure, save
from splitinfer.experiments.registry import experiment, plotter, summarizer
from splitinfer.planners import get_planner
from splitinfer.sim import simulate
from splitinfer.system.load import scenario_from_dict
from splitinfer.transfer import WIRE_DTYPES

__all__ = ["dtype_scenario", "run_dtype_latency"]

_COLORS = {"float32": "black", "float16": "tab:blue", "bfloat16": "tab:green",
           "int8": "tab:orange", "chosen": "tab:red"}


def dtype_scenario(model: str, rate_mbps: float, dtype: str = "float32",
                   edge_hardware: str = "jetson-agx-orin-fitted", phone_gflops: float = 5.0) -> Any:
    """The experiment's scenario: phone -> edge at ``rate_mbps``, the link sending ``dtype``.

    Examples
    --------
    >>> sc = dtype_scenario("resnet18", 10, "int8")
    >>> sc.link("phone", "edge").dtype, sc.link("edge", "phone").dtype
    ('int8', 'int8')
    """
    return scenario_from_dict({
        "name": f"dtype-{model}-{rate_mbps:g}Mbps-{dtype}",
        "nodes": [{"name": "phone", "kind": "device",
                   "compute": {"flops_per_s": f"{phone_gflops:g}GFLOPS"}},
                  {"name": "edge", "kind": "edge", "compute": {"hardware": edge_hardware}}],
        "links": [{"src": "phone", "dst": "edge", "bandwidth": f"{rate_mbps:g}Mbps",
                   "latency": "5ms", "dtype": dtype}],
        "models": {model: {"profile": f"{model}@cpu-1t",
                           "profiles": {"cpu-1t": f"{model}@cpu-1t",
                                        edge_hardware: f"{model}@{edge_hardware}"}}},
        "workload": {"tasks": [{"device": "phone", "model": model}]}})


def _row(sc: Any, model: str, rate: float, label: str, params: dict, seed: int) -> dict[str, Any]:
    plan = get_planner("neurosurgeon", **params).plan(sc)
    result = simulate(sc, plan)
    tid = sc.tasks[0].id
    tp = plan.tasks[tid]
    m = sc.models[model]
    cut = tp.cuts[0] if tp.cuts else m.last_cut
    sent = (tp.dtype[0] if tp.dtype else sc.link("phone", "edge").dtype) if tp.cuts else "-"
    agree = m.agreement.top1_at(cut, sent) if m.agreement is not None and tp.cuts else None
    up = [s for s in result.tasks[0].stages if s.name == "uplink"]
    return {"model": model, "rate_mbps": rate, "label": label, "planner": "neurosurgeon",
            "params": params, "seed": seed, "latency_ms": result.mean_latency * 1e3,
            "cut": cut, "cut_name": m.cut_names[cut], "sent_dtype": sent,
            "uplink_ms": (up[0].end - up[0].start) * 1e3 if up else 0.0,
            "top1_agreement": agree}


@experiment("dtype-latency", title="Smaller tensors on the wire: latency vs the cut's dtype",
            source="issue 20 part 3; Neurosurgeon (Kang et al., ASPLOS 2017) choosing the cut",
            claim="Sending the cut's tensor as float16/bfloat16 (half the bytes) or int8 (a "
                  "quarter) lowers the latency most on slow links, where the transfer "
                  "dominates; on fast links the cut and the latency barely change.",
            quick={"models": ["resnet18"], "rates_mbps": [2.0, 50.0], "min_agreement": 0.99, "phone_gflops": 5.0,
                   "seeds": [0]},
            full={"models": ["alexnet", "resnet18", "mobilenet_v2"],
                  "rates_mbps": [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0],
                  "min_agreement": 0.99, "phone_gflops": 5.0, "seeds": [0]})
def run_dtype_latency(config: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows: one per model, rate and dtype (and ``chosen``); deterministic (seed 0)."""
    rows = []
    seed = int(config["seeds"][0])
    for model in config["models"]:
        for rate in config["rates_mbps"]:
            for dtype in WIRE_DTYPES:
                sc = dtype_scenario(model, rate, dtype, phone_gflops=config["phone_gflops"])
                rows.append(_row(sc, model, rate, dtype, {}, seed))
            sc = dtype_scenario(model, rate, phone_gflops=config["phone_gflops"])
            if sc.models[model].agreement is not None:
                params = {"wire_dtypes": "all", "min_agreement": config["min_agreement"]}
                rows.append(_row(sc, model, rate, "chosen", params, seed))
    return rows


@plotter("dtype-latency")
def plot_dtype_latency(rows: list[dict[str, Any]], path: Path) -> None:
    """One panel per model: latency against link rate, one line per wire dtype."""
    models = list(dict.fromkeys(r["model"] for r in rows))
    fig, axes = figure(1, len(models), figsize=(4.2 * len(models), 3.4), squeeze=False)
    for ax, model in zip(axes[0], models, strict=True):
        mine = [r for r in rows if r["model"] == model]
        for label in [*WIRE_DTYPES, "chosen"]:
            pts = sorted((float(r["rate_mbps"]), float(r["latency_ms"])) for r in mine
                         if r["label"] == label)
            if pts:
                ax.plot(*zip(*pts, strict=True), marker="o", ms=3, color=_COLORS[label],
                        ls="--" if label == "chosen" else "-", label=label)
        ax.set_xscale("log")
        ax.set_xlabel("link rate (Mbit/s)")
        ax.set_ylabel("latency (ms, simulated)")
        ax.set_title(model)
        ax.legend(fontsize=7)
    save(fig, path)


@summarizer("dtype-latency")
def summarize_dtype_latency(rows: list[dict[str, Any]]) -> str:
    """int8's and float16's latency relative to float32 at the slowest and fastest rate."""
    parts = []
    for model in dict.fromkeys(r["model"] for r in rows):
        mine = [r for r in rows if r["model"] == model]
        rates = sorted({float(r["rate_mbps"]) for r in mine})
        out = []
        for rate in (rates[0], rates[-1]):
            at = {r["label"]: float(r["latency_ms"]) for r in mine if float(r["rate_mbps"]) == rate}
            out.append(f"{rate:g} Mbit/s: float32 {at['float32']:.0f} ms, float16 "
                       f"{at['float16']:.0f} ms, int8 {at['int8']:.0f} ms")
        parts.append(f"{model} ({'; '.join(out)})")
    return "Simulated latency by wire dtype: " + "; ".join(parts) + "."
