"""The demo: its scenario, the shipped demo.yaml, and a run on a shipped (and a measured) profile."""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")

import pytest
import yaml

from splitinfer.data import data_path
from splitinfer.experiments.demo import (
    LINKS,
    SERVER_HARDWARE,
    SERVER_SPEEDS,
    demo_scenario,
    run_demo,
)
from splitinfer.profile import list_shipped_profiles
from splitinfer.system import load_scenario, scenario_from_dict


def _need(profile: str) -> None:
    if profile not in list_shipped_profiles():
        pytest.skip(f"shipped profile {profile} not present yet")


def test_shipped_demo_yaml_is_the_demo_system():
    _need("resnet18@cpu-1t")
    shipped = load_scenario("demo")
    built = scenario_from_dict(demo_scenario("resnet18@cpu-1t", "cpu-1t", model="resnet18"))
    assert shipped.nodes == built.nodes and shipped.links == built.links
    assert [(t.device, t.model, t.arrival) for t in shipped.tasks] == \
           [(t.device, t.model, t.arrival) for t in built.tasks]
    assert shipped.objective == "mean_latency" and len(shipped.tasks) == 8
    assert shipped.nodes["cloud"].hardware == SERVER_HARDWARE["cloud"] == "h100-fitted"
    assert shipped.nodes["edge-bs"].speed == SERVER_SPEEDS["edge-bs"]
    assert shipped.models["resnet18"].head_latency.keys() == built.models["resnet18"].head_latency.keys()
    assert {(s, d) for s, d, *_ in LINKS} <= set(shipped.links)
    text = data_path("scenarios", "demo.yaml").read_text()
    assert "import torch" not in text and "simulated" in text.lower()


def test_demo_scenario_uses_wifi_and_4g_figures():
    spec = demo_scenario("lenet5@cpu-1t", "cpu-1t", model="lenet5", tasks=5)
    links = {(link["src"], link["dst"]): link for link in spec["links"]}
    wifi, lte = links[("phone", "edge-wifi")], links[("phone", "edge-bs")]
    assert 50e6 <= wifi["bandwidth"] <= 100e6 and wifi["latency"] <= 0.01
    assert 10e6 <= lte["bandwidth"] <= 20e6 and 0.03 <= lte["latency"] <= 0.05
    assert spec["workload"]["generators"][0]["count"] == 5


def test_run_demo_on_a_shipped_profile(tmp_path):
    _need("lenet5@cpu-1t")
    out = run_demo(tmp_path / "demo", profile="lenet5@cpu-1t", tasks=3,
                   planners="local,edge,cloud,neurosurgeon", echo=False)
    names = sorted(p.name for p in (tmp_path / "demo").iterdir())
    assert {"scenario.yaml", "comparison.json", "comparison.png", "gantt_local.png",
            "gantt_edge.png", "gantt_cloud.png", "gantt_neurosurgeon.png"} <= set(names)
    doc = json.loads((tmp_path / "demo" / "comparison.json").read_text())
    assert [r["planner"] for r in doc["results"]] == ["local", "edge", "cloud", "neurosurgeon"]
    assert all(r["status"] == "ok" for r in doc["results"])
    # neurosurgeon picks the best single cut for a lone task: never worse than local or cloud
    obj = {r["planner"]: r["objective"] for r in doc["results"]}
    assert obj["neurosurgeon"] <= max(obj["local"], obj["cloud"])
    again = load_scenario(tmp_path / "demo" / "scenario.yaml")
    assert again.name == "demo" and len(again.tasks) == 3
    assert yaml.safe_load((tmp_path / "demo" / "scenario.yaml").read_text())["models"]["lenet5"]
    assert out["profile_seconds"] == 0.0 and "plan" not in out["rows"][0]
    assert out["profile_source"].startswith("shipped profile lenet5@cpu-1t")


def test_demo_uses_the_shipped_profile_by_default_and_is_deterministic(tmp_path):
    _need("lenet5@cpu-1t")
    runs = [run_demo(tmp_path / str(i), model="lenet5", tasks=3, planners="local,neurosurgeon",
                     echo=False) for i in range(2)]
    assert all(r["profile_seconds"] == 0.0 for r in runs)
    assert not (tmp_path / "0" / "profile_lenet5.json").exists()
    assert [r["objective"] for r in runs[0]["rows"]] == [r["objective"] for r in runs[1]["rows"]]
    assert "shipped profile lenet5@cpu-1t" in runs[0]["profile_source"]
    with pytest.raises(ValueError, match="not both"):
        run_demo(tmp_path / "x", profile="lenet5@cpu-1t", measure=True, echo=False)


@pytest.mark.slow
def test_run_demo_measures_this_cpu(tmp_path):
    pytest.importorskip("torch")
    out = run_demo(tmp_path, model="lenet5", repeats=1, tasks=2, planners="local,edge",
                   echo=False, measure=True)
    assert out["profile_source"].startswith("measured on this CPU")
    prof = tmp_path / "profile_lenet5.json"
    assert prof.exists() and out["profile_seconds"] > 0
    sc = load_scenario(tmp_path / "scenario.yaml")
    assert sc.nodes["phone"].hardware == "this-cpu"
    assert sc.compute_time("phone", "lenet5", 0, sc.models["lenet5"].last_cut) > 0
