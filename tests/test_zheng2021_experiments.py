"""Seed 004 reproductions: the shipped scenario, its cut tables from the real model, the
per-node planning shortcut, and the quick runs of Fig. 5 and Fig. 6."""

from __future__ import annotations

import math

import pytest

from splitinfer.experiments import get_experiment, read_rows, run_experiment
from splitinfer.experiments.zheng2021 import (
    derive_cut_tables,
    paper_scenario,
    plan_per_node,
    shipped_models,
)
from splitinfer.planners import get_planner
from splitinfer.system import load_scenario


def test_shipped_cut_tables_are_the_real_resnet34():
    pytest.importorskip("torch")
    derived = derive_cut_tables()
    shipped = shipped_models()
    assert sorted(derived) == sorted(shipped) == ["t1", "t2", "t3"]
    for t in derived:
        assert derived[t] == shipped[t]["cuts"], t
    t3 = derived["t3"]
    assert t3[-1]["head_flops"] == 7327522816          # 3.66 GMACs: the paper's "3.66 GFLOPs"
    assert t3[0]["transfer_bytes"] == 3 * 224 * 224 * 4 and derived["t1"][0]["transfer_bytes"] == 3136


def test_shipped_scenario_is_the_generator_at_seed_0():
    sc = load_scenario("zheng2021")
    gen = paper_scenario(nodes=10, edge_gmacs=5.0, bandwidth_mbps=1.0, horizon=600.0, seed=0)
    assert [(t.device, t.model, t.arrival) for t in sc.tasks] == \
        [(t.device, t.model, t.arrival) for t in gen.tasks]
    assert sc.nodes["edge0"].speed == 1e10 and sc.nodes["cloud"].speed == 8e11
    assert sc.nodes["cloud"].divisible and all(lk.sharing == "dedicated" for lk in sc.links.values())


@pytest.mark.parametrize("name", ["greedy", "dmcjia-exact", "zheng-neurosurgeon", "cloud-only"])
def test_planning_per_node_equals_planning_every_task(name):
    sc = paper_scenario(nodes=3, bandwidth_mbps=4.0, horizon=4.0, seed=3)
    direct = get_planner(name).plan(sc)
    short = plan_per_node(name, {}, sc)
    assert short.tasks == direct.tasks


@pytest.mark.parametrize("eid", ["zheng2021-fig5", "zheng2021-fig6"])
def test_quick_runs(eid, tmp_path):
    res = run_experiment(eid, quick=True, out=tmp_path)
    rows = read_rows(res["csv"])
    assert rows and all("seed" in r for r in rows)
    assert res["png"].stat().st_size > 1000 and res["summary"]
    assert get_experiment(eid).full["seeds"]


def test_fig6_rows_are_consistent(tmp_path):
    res = run_experiment("zheng2021-fig6", quick=True, out=tmp_path)
    rows = read_rows(res["csv"])
    for bw in {r["bandwidth_mbps"] for r in rows}:
        at = {r["planner"]: r for r in rows if r["bandwidth_mbps"] == bw}
        opt = at["optimum"]["p1_s"]
        for r in at.values():                      # nothing beats the proven optimum of P1
            assert r["p1_s"] >= opt * (1 - 1e-9)
            assert math.isfinite(r["sim_mean_s"])
    cloud = sorted((r["bandwidth_mbps"], r["p1_s"]) for r in rows if r["planner"] == "cloud-only")
    assert cloud[0][1] > cloud[-1][1]               # cloud-only gains most from bandwidth


def test_fig5_history_never_gets_worse(tmp_path):
    rows = read_rows(run_experiment("zheng2021-fig5", quick=True, out=tmp_path)["csv"])
    assert {r["planner"] for r in rows} == {"dmcjia", "dmcjia-paper"}
    for nodes, name in {(r["nodes"], r["planner"]) for r in rows}:
        mine = sorted((r for r in rows if r["nodes"] == nodes and r["planner"] == name),
                      key=lambda r: r["generation"])
        best = [r["best_p1_s"] for r in mine]
        assert all(a >= b for a, b in zip(best, best[1:], strict=False))   # elitism
        assert best[-1] >= mine[0]["optimum_p1_s"] * (1 - 1e-9)           # never below optimum
