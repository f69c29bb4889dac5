"""Seed 003 reproductions (splitinfer.experiments.duan2021) on small synthetic profiles."""

from __future__ import annotations

import json

import numpy as np
import pytest

from splitinfer.data import data_path
from splitinfer.experiments import read_rows, run_experiment
from splitinfer.experiments.duan2021 import PAPER_TABLE1, duan_scenario
from splitinfer.planners import get_planner
from splitinfer.profile import list_shipped_profiles
from splitinfer.profile.format import FORMAT, example_profile_dict
from splitinfer.sim import simulate
from splitinfer.system import load_scenario

MODELS = ("alexnet", "mobilenet_v2", "googlenet", "resnet18")


def _line_profile(path, name: str, seed: int) -> int:
    """A line model: growing compute, bytes that shrink overall (one layer enlarges them)."""
    rng = np.random.default_rng(seed)
    k = 7
    lat = rng.uniform(0.002, 0.012, k)
    nbytes = [150_528, 290_000, 70_000, 120_000, 30_000, 9_000, 4_096, 4_000][: k + 1]
    d = example_profile_dict()
    d["layers"] = [{"name": f"l{i}", "op": "Conv2d", "flops": 1000, "macs": 500,
                    "out_bytes": nbytes[i + 1], "param_bytes": 0, "latency_s": float(lat[i]),
                    "latency_median_s": float(lat[i]), "latency_std_s": 0.0} for i in range(k)]
    d["edges"] = [[i - 1, i] for i in range(k)]
    head = np.concatenate([[0.0], np.cumsum(lat)])
    d["cuts"] = [{"index": c, "after": f"l{c - 1}" if c else None, "position": c,
                  "transfer_bytes": nbytes[c], "head_flops": 1000 * c,
                  "head_latency_s": float(head[c]), "tail_latency_s": float(head[-1] - head[c])}
                 for c in range(k + 1)]
    d.update(model=name, flops=1000 * k, macs=500 * k, input_bytes=nbytes[0],
             output_bytes=nbytes[k], whole_latency_s=float(head[-1]),
             whole_latency_median_s=float(head[-1]), whole_latency_std_s=0.0, format=FORMAT)
    path.write_text(json.dumps(d))
    return k + 1


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory):
    """Scenario files like the shipped duan2021-<model> ones, on synthetic line profiles."""
    folder = tmp_path_factory.mktemp("duan2021")
    out = {}
    for i, model in enumerate(MODELS):
        prof = folder / f"{model}@cpu-1t.json"
        cuts = _line_profile(prof, model, i)
        text = data_path("scenarios", "duan2021-alexnet.yaml").read_text()
        text = text.replace("alexnet@cpu-1t", str(prof)).replace("alexnet", model)
        head, _, rest = text.partition("tail: [")
        tail = "tail: [" + ", ".join(["0"] * cuts) + "]" + rest.split("]", 1)[1]
        path = folder / f"duan2021-{model}.yaml"
        path.write_text(head + tail)
        out[model] = str(path)
    return out


def test_shipped_scenarios_are_well_formed():
    for model in MODELS:
        text = data_path("scenarios", f"duan2021-{model.replace('_', '-')}.yaml").read_text()
        assert "sharing: fifo" in text and "objective: makespan" in text
        if f"{model}@cpu-1t" in list_shipped_profiles():
            sc = load_scenario(f"duan2021-{model.replace('_', '-')}")
            assert len(sc.tasks) == 100 and sc.models[model].layers is not None


def test_duan_scenario_sets_the_link_regression(scenarios):
    sc = duan_scenario("alexnet", 5, 2e6, w0=0.01, w1=1.2, scenarios=scenarios)
    link = sc.link("pi", "cloud")
    assert (link.rate, link.latency, link.slowdown) == (2e6, 0.01, 1.2)
    assert len(sc.tasks) == 5 and {t.arrival for t in sc.tasks} == {0.0}
    assert sc.transfer_time("pi", "cloud", 1000) == pytest.approx(0.01 + 1.2 * 8000 / 2e6)


@pytest.mark.parametrize("eid", ["duan2021-fig11", "duan2021-fig12", "duan2021-table1",
                                 "duan2021-fig13", "duan2021-fig14"])
def test_quick_runs_write_rows_and_plots(eid, scenarios, tmp_path):
    config = {"scenarios": scenarios}
    if eid in ("duan2021-fig12", "duan2021-table1"):
        config["models"] = list(MODELS)
    res = run_experiment(eid, quick=True, out=tmp_path, config=config)
    rows = read_rows(res["csv"])
    assert rows and all("seed" in r for r in rows)
    assert res["png"].stat().st_size > 1000 and res["summary"]


def test_fig11_bf_is_never_worse_than_jps(scenarios, tmp_path):
    res = run_experiment("duan2021-fig11", quick=True, out=tmp_path,
                         config={"scenarios": scenarios, "jobs": [1, 3, 5, 8]})
    rows = read_rows(res["csv"])
    for model in ("AlexNet", "AlexNet'"):
        for n in (1, 3, 5, 8):
            span = {r["scheme"]: r["makespan_s"] for r in rows
                    if r["model"] == model and r["jobs"] == n}
            assert span["BF"] <= span["JPS"] + 1e-12


def test_table1_reductions_are_against_lo(scenarios, tmp_path):
    res = run_experiment("duan2021-table1", quick=True, out=tmp_path,
                         config={"scenarios": scenarios, "models": list(MODELS)})
    rows = read_rows(res["csv"])
    for r in rows:
        lo = next(x for x in rows if x["scheme"] == "LO" and x["model"] == r["model"]
                  and x["network"] == r["network"])
        assert r["reduction_vs_lo_pct"] == pytest.approx(100 * (1 - r["makespan_s"]
                                                                / lo["makespan_s"]))
        if r["scheme"] == "JPS":
            assert r["paper_reduction_pct"] == PAPER_TABLE1[r["model"]][r["network"]][1]
            assert r["makespan_s"] <= lo["makespan_s"] + 1e-12  # LO is a candidate of JPS


def test_fig14_simulation_equals_the_exact_formula(scenarios, tmp_path):
    res = run_experiment("duan2021-fig14", quick=True, out=tmp_path,
                         config={"scenarios": scenarios, "bandwidths_mbps": [2.0, 8.0]})
    rows = read_rows(res["csv"])
    assert rows
    for r in rows:
        assert r["makespan_s"] == pytest.approx(r["exact_makespan_s"], rel=1e-12)
    for bw in (2.0, 8.0):
        sel = [r for r in rows if r["bandwidth_mbps"] == bw]
        if sel:  # JPS's choice is the best mix
            best = min(r["makespan_s"] for r in sel)
            chosen = next(r for r in sel if r["comm_heavy_jobs"] == r["jps_choice"])
            assert chosen["makespan_s"] == pytest.approx(best)


def test_jps_beats_or_ties_po_on_the_synthetic_models(scenarios):
    for model in MODELS:
        for bw in (1.1e6, 5.85e6, 18.88e6):
            sc = duan_scenario(model, 30, bw, scenarios=scenarios)
            jps = simulate(sc, get_planner("jps").plan(sc)).makespan
            po = simulate(sc, get_planner("po", criterion="makespan").plan(sc)).makespan
            assert jps <= po + 1e-12
