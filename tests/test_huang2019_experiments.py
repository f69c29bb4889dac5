"""DeePar reproductions: the section V-B scenario generator, rows, summaries, the shipped files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from splitinfer.data import list_shipped_scenarios, shipped_scenario_path
from splitinfer.experiments.huang2019 import (
    KINDS,
    PLANNERS,
    RANGES,
    paper_scenario,
    paper_scenario_dict,
    reductions,
    run_point,
    single_task_options,
)
from splitinfer.profile import list_shipped_profiles
from splitinfer.profile.format import example_profile_dict
from splitinfer.system.load import load_scenario, read_scenario_file, scenario_from_dict
from splitinfer.system.schema import scenario_file_dict
from splitinfer.units import parse_bandwidth

NEEDED = [f"{m}@cpu-1t" for m in ("alexnet", "vgg16", "deepface", "lenet5")]
needs_profiles = pytest.mark.skipif(not set(NEEDED) <= set(list_shipped_profiles()),
                                    reason="the shipped cpu-1t profiles are not all there yet")


@pytest.fixture
def toy_ref(tmp_path):
    (tmp_path / "toy@cpu-1t.json").write_text(json.dumps(example_profile_dict()))
    return str(tmp_path / "{model}@{hardware}.json")


def test_generator_draws_every_value_from_the_papers_ranges():
    d = paper_scenario_dict(3, devices=60, edges=10, horizon=50.0)
    edges = [n for n in d["nodes"] if n["kind"] == "edge"]
    assert len(edges) == 10 and len([n for n in d["nodes"] if n["kind"] == "device"]) == 60
    assert all(RANGES["r_e"][0] <= e["concurrency"] <= RANGES["r_e"][1] for e in edges)
    for name, value in d["pools"].items():
        lo, hi = RANGES["be1"] if name.endswith("access") else RANGES["be2"]
        assert lo - 1e3 <= value <= hi + 1e3
    access = [link for link in d["links"] if link["src"].startswith("dev")]
    assert all(RANGES["b1"][0] - 1e3 <= link["bandwidth"] <= RANGES["b1"][1] + 1e3
               for link in access)
    per_device = {}
    for link in access:
        per_device.setdefault(link["src"], set()).add(link["bandwidth"])
    assert all(len(v) == 1 for v in per_device.values())  # one B_i^1 per device
    reach = np.bincount([int(link["src"][3:]) for link in access])
    assert reach.min() >= 1 and reach.max() <= 3
    caps = d["extra"]["deepar"]["backbone_cap"]
    assert all(RANGES["b2"][0] - 1e3 <= parse_bandwidth(v) <= RANGES["b2"][1] + 1e3
               for v in caps.values())
    tasks = d["workload"]["tasks"]
    assert len({t["device"] for t in tasks}) == 60
    assert all(1 <= t["samples"] <= 1000 and 0 <= t["arrival"] <= 50.0 for t in tasks)
    assert all(1e4 <= m["input_bytes"] <= 1e6 for m in d["models"].values())
    assert {k.rsplit("-", 1)[0] for k in d["models"]} <= {"alexnet", "vgg16", "deepface", "lenet5"}
    assert paper_scenario_dict(3, devices=60, edges=10, horizon=50.0) == d
    assert paper_scenario_dict(4, devices=60, edges=10, horizon=50.0) != d


def test_run_point_rows_and_alg1_prediction_gap(toy_ref):
    # the toy model has no shipped layers for the fitted GPU servers: FLOP/s servers instead
    sc = paper_scenario(1, devices=12, edges=2, horizon=0.05, models=("toy",), profile_ref=toy_ref,
                        edge_hardware=None, cloud_hardware=None)
    rows = {p: run_point(sc, p) for p in PLANNERS}
    for p, row in rows.items():
        assert row["planner"] == p and row["tasks"] == 12
        assert sum(row[f"n_{k}"] for k in KINDS) == 12
        assert row["total_delay_s"] == pytest.approx(12 * row["mean_latency_s"])
    assert rows["deepar-device-only"]["n_device"] == 12
    assert rows["deepar-edge-only"]["n_edge"] == 12
    assert rows["deepar-cloud-only"]["n_cloud"] == 12
    assert rows["deepar"]["prediction_gap_s"] < 1e-9
    assert rows["deepar"]["params"] == {"scheme": "hybrid", "delayed": True, "line12": None,
                                        "preset": "improved"}
    assert rows["deepar-paper"]["prediction_gap_s"] < 1e-9


def test_reductions_pair_rows_by_point_and_seed():
    rows = [{"devices": 20, "seed": s, "planner": p, "total_delay_s": v}
            for s, (a, b) in enumerate([(1.0, 2.0), (3.0, 4.0)])
            for p, v in (("deepar", a), ("deepar-edge-only", b))]
    assert reductions(rows) == {"deepar-edge-only": [0.5, 0.25]}


@needs_profiles
def test_single_task_schemes_add_up_their_components():
    rows = single_task_options("alexnet", b1=1e9, b2=300e6, edge_flops=1e11)
    assert [r["scheme"] for r in rows] == [
        "device-only", "edge-only", "cloud-only", "one cut: device/edge", "one cut: device/cloud",
        "two cuts: device/edge/cloud"]
    for r in rows:
        parts = sum(r[f"{k}_s"] for k in ("device", "uplink", "edge", "backbone", "cloud",
                                          "return"))
        assert parts == pytest.approx(r["delay_s"], rel=1e-9)
    best = min(rows, key=lambda r: r["delay_s"])
    assert best["scheme"] == "two cuts: device/edge/cloud"  # docs/examples/three-tier.md


@needs_profiles
@pytest.mark.parametrize("name", ["huang2019-paper", "huang2019-single"])
def test_shipped_scenarios_load_and_match_their_generator(name):
    assert name in list_shipped_scenarios()
    sc = load_scenario(name)
    assert sc.name == name
    data = read_scenario_file(shipped_scenario_path(name))
    if name == "huang2019-paper":
        assert data == scenario_file_dict(  # the file gives units (docs/scenario-format.md)
            paper_scenario_dict(0, devices=20, edges=10, horizon=300.0, name=name))
        assert len(sc.tasks) == 20 and len(sc.edges) == 10
    assert scenario_from_dict(data).summary() == sc.summary()
