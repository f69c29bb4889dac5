"""Valid scenarios: every feature of the format loads into the numbers the papers' models need."""

from __future__ import annotations

import math

import numpy as np
import pytest

from splitinfer.system import load_scenario, scenario_from_dict
from splitinfer.system.channel import shannon_rate


def _sc(**over):
    base = {
        "nodes": [{"name": "d", "kind": "device", "compute": {"flops_per_s": "1GFLOPS"}},
                  {"name": "e", "kind": "edge", "compute": {"flops_per_s": "400GMACS"}}],
        "links": [{"src": "d", "dst": "e", "bandwidth": "1.1MB/s", "latency": "7ms"}],
        "models": {"m": {"cuts": [{"transfer_bytes": "1KiB"}, {"transfer_bytes": "800bit",
                                                               "head_flops": 2e9}]}},
        "workload": {"tasks": [{"device": "d", "model": "m"}]},
    }
    base.update(over)
    return scenario_from_dict(base)


def test_units_become_si_numbers():
    sc = _sc()
    assert sc.nodes["e"].speed == 800e9                       # 1 MAC = 2 FLOPs
    assert sc.links[("d", "e")].rate == 8.8e6 and sc.links[("d", "e")].latency == 0.007
    m = sc.models["m"]
    assert m.transfer_bytes.tolist() == [1024.0, 100.0] and m.output_bytes == 100.0
    assert sc.transfer_time("d", "e", 1100) == pytest.approx(0.007 + 8 * 1100 / 8.8e6)
    assert sc.compute_time("d", "m", 0, 1) == 2.0


def test_shannon_link_seed001_table1():
    sc = _sc(links=[{"src": "d", "dst": "e", "shannon": {"bandwidth_hz": "5MHz", "power_w": 0.1,
                                                          "gain": 1e-6, "noise_w": 1e-9}}])
    rate = sc.links[("d", "e")].rate
    assert rate == pytest.approx(5e6 * math.log2(1 + 0.1 * 1e-6 / 1e-9))
    assert rate == pytest.approx(shannon_rate(5e6, 0.1, 1e-6, 1e-9))


def test_asymmetric_links_and_sharing():
    sc = _sc(links=[{"src": "d", "dst": "e", "bandwidth": "10Mbps", "sharing": "fifo",
                     "symmetric": False},
                    {"src": "e", "dst": "d", "bandwidth": "40Mbps"}])
    assert sc.links[("d", "e")].sharing == "fifo" and sc.links[("e", "d")].sharing == "dedicated"
    assert sc.links[("e", "d")].rate == 40e6
    one_way = _sc(links=[{"src": "d", "dst": "e", "bandwidth": 1e6, "symmetric": False}])
    assert not one_way.has_link("e", "d") and one_way.reachable_servers("d") == ["e"]


def test_slowdown_is_seed003_w1():
    sc = _sc(links=[{"src": "d", "dst": "e", "bandwidth": 8e6, "latency": 0.01, "slowdown": 1.5}])
    assert sc.transfer_time("d", "e", 1e6) == pytest.approx(0.01 + 1.5 * 1.0)


def test_table_compute_head_and_tail_rows_seed000():
    sc = scenario_from_dict({
        "slot": "1ms",
        "nodes": [{"name": "dev", "kind": "device", "compute": {"table": True}},
                  {"name": "s1", "kind": "edge", "compute": {"table": True}}],
        "links": [{"src": "dev", "dst": "s1", "bandwidth": "4Mbps"}],
        "models": {"vgg": {"cuts": [{"transfer_bytes": 1}, {"transfer_bytes": 1},
                                    {"transfer_bytes": 1}],
                           "table": {"dev": {"head": ["0ms", "25ms", "88ms"]},
                                     "s1": {"tail": ["7ms", "5ms", "0ms"]}}}},
        "workload": {"tasks": [{"device": "dev", "model": "vgg", "slot": 4}]}})
    assert sc.tasks[0].arrival == pytest.approx(0.004) and sc.tasks[0].slot == 4
    assert sc.compute_time("dev", "vgg", 0, 1) == pytest.approx(0.025)
    assert sc.compute_time("s1", "vgg", 1, 2) == pytest.approx(0.005)
    assert sc.compute_time("s1", "vgg", 0, 2) == pytest.approx(0.007)


def test_generators_are_seeded_and_ordered():
    wl = {"seed": 7, "generators": [
        {"kind": "poisson", "devices": ["d"], "model": "m", "rate": 50, "horizon": "1s"},
        {"kind": "uniform", "devices": ["d"], "model": "m", "count": 5, "horizon": 2},
        {"kind": "batch", "devices": ["d"], "model": ["m"], "count": 3, "samples": [2, 4]}]}
    a, b = _sc(workload=wl), _sc(workload=wl)
    assert [(t.id, t.arrival, t.samples) for t in a.tasks] == \
           [(t.id, t.arrival, t.samples) for t in b.tasks]
    arrivals = [t.arrival for t in a.tasks]
    assert arrivals == sorted(arrivals) and [t.index for t in a.tasks] == list(range(len(a.tasks)))
    assert sum(t.arrival == 0 for t in a.tasks) >= 3
    assert {t.samples for t in a.tasks if t.samples > 1} <= {2, 3, 4}
    other = _sc(workload={**wl, "seed": 8})
    assert [t.arrival for t in other.tasks] != arrivals


def test_poisson_count_and_uniform_slots():
    sc = _sc(slot="1ms", workload={"seed": 1, "generators": [
        {"kind": "poisson", "devices": ["d"], "model": "m", "rate": 10, "count": 25},
        {"kind": "uniform", "devices": ["d"], "model": "m", "count": 40, "slots": 100}]})
    slotted = [t for t in sc.tasks if t.slot is not None]
    assert len(sc.tasks) == 65 and len(slotted) == 40
    assert all(0 <= t.slot < 100 and t.arrival == pytest.approx(t.slot * 1e-3) for t in slotted)


def test_concurrency_divisible_pools_objective_and_extra():
    sc = _sc(objective="mean_sojourn", pools={"up": "100Mbps"}, extra={"latency_bound": 0.5},
             nodes=[{"name": "d", "kind": "device", "compute": {"flops_per_s": 1e9}},
                    {"name": "e", "kind": "edge", "compute": {"flops_per_s": 1e10},
                     "concurrency": None},
                    {"name": "c", "kind": "cloud", "compute": {"flops_per_s": 1e11},
                     "divisible": True}],
             links=[{"src": "d", "dst": "e", "bandwidth": "20Mbps", "sharing": "reserved",
                     "pool": "up"}, {"src": "e", "dst": "c", "bandwidth": "1Gbps"}])
    assert sc.nodes["e"].concurrency is None and sc.nodes["c"].divisible
    assert sc.pools == {"up": 100e6} and sc.links[("e", "d")].pool == "up"
    assert sc.objective == "mean_sojourn" and sc.extra["latency_bound"] == 0.5
    assert sc.devices == ["d"] and sc.servers == ["e", "c"] and sc.reachable_servers("d") == ["e"]


def test_output_and_input_bytes_override():
    sc = _sc(models={"m": {"cuts": [{"transfer_bytes": 1000}, {"transfer_bytes": 10,
                                                               "head_flops": 1}],
                           "output_bytes": "2B", "input_bytes": "100B"}})
    assert sc.models["m"].output_bytes == 2.0 and sc.models["m"].transfer_bytes[0] == 100.0


def test_load_scenario_overrides_and_relative_paths(tmp_path):
    import yaml

    (tmp_path / "s.yaml").write_text(yaml.safe_dump({
        "nodes": [{"name": "d", "kind": "device", "compute": {"flops_per_s": 1e9}}],
        "models": {"m": {"cuts": [{"transfer_bytes": 1}, {"transfer_bytes": 1, "head_flops": 1}]}},
        "workload": {"tasks": [{"device": "d", "model": "m"}]}}))
    sc = load_scenario(tmp_path / "s.yaml", workload={"generators": [
        {"kind": "batch", "devices": ["d"], "model": "m", "count": 4}]})
    assert len(sc.tasks) == 4


def test_measured_profile_model(tmp_path):
    """A model whose cuts and per-hardware times come from profile files (here a shipped one)."""
    from splitinfer.profile import list_shipped_profiles, load_profile

    shipped = [p for p in list_shipped_profiles() if p.endswith("@cpu-1t")]
    if not shipped:
        pytest.skip("no shipped cpu-1t profile yet")
    name = "lenet5@cpu-1t" if "lenet5@cpu-1t" in shipped else shipped[0]
    prof = load_profile(name)
    sc = scenario_from_dict({
        "nodes": [{"name": "pi", "kind": "device", "compute": {"hardware": "cpu-1t"}},
                  {"name": "e", "kind": "edge", "compute": {"flops_per_s": "1TFLOPS"}}],
        "links": [{"src": "pi", "dst": "e", "bandwidth": "10Mbps"}],
        "models": {"net": {"profile": name, "profiles": {"cpu-1t": name}}},
        "workload": {"tasks": [{"device": "pi", "model": "net"}]}})
    m = sc.models["net"]
    assert m.num_cuts == prof.num_cuts
    last = m.last_cut
    assert sc.compute_time("pi", "net", 0, last) == pytest.approx(
        float(prof.head_latency[last] - prof.head_latency[0]))
    assert sc.compute_time("e", "net", 0, last) == pytest.approx(
        float(np.asarray(prof.head_flops)[last]) / 1e12)



def test_every_shipped_scenario_loads_without_torch():
    import re
    import subprocess
    import sys

    from splitinfer.data import list_shipped_scenarios, shipped_scenario_path
    from splitinfer.profile import list_shipped_profiles

    names = []
    for name in list_shipped_scenarios():
        text = shipped_scenario_path(name).read_text()
        refs = re.findall(r"\b([\w.-]+@[\w.-]+)\b", text)
        if all(r in list_shipped_profiles() for r in refs):  # the rest wait for their profiles
            names.append(name)
    assert "demo" in list_shipped_scenarios() and names
    code = ("import sys; from splitinfer.system import load_scenario\n"
            f"for name in {names!r}:\n"
            "    assert load_scenario(name).tasks, name\n"
            "assert 'torch' not in sys.modules, 'loading a scenario imported torch'\n"
            f"print({len(names)})")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == str(len(names))


def test_models_naming_the_same_profiles_read_each_once_and_cost_what_one_model_alone_does(
        monkeypatch):
    """Huang et al.'s setting has one model per task (the tasks differ in their input bytes),
    all naming a few shipped profiles: a load reads each profile once, and every model's
    costs equal those of the same model loaded on its own."""
    import copy

    import splitinfer.profile
    from splitinfer.experiments.huang2019 import paper_scenario_dict

    d = paper_scenario_dict(0, 24, 3, 10.0)
    refs = {ref for m in d["models"].values() for ref in m["profiles"].values()}
    assert len(d["models"]) == 24 and len(refs) < 24
    read = []
    load = splitinfer.profile.load_profile

    def counted(ref):
        read.append(str(ref))
        return load(ref)

    monkeypatch.setattr(splitinfer.profile, "load_profile", counted)
    sc = scenario_from_dict(d)
    assert sorted(read) == sorted(refs)
    for name in list(d["models"])[:6]:
        alone = copy.deepcopy(d)
        alone["models"] = {name: d["models"][name]}
        alone["workload"] = {"tasks": [t for t in d["workload"]["tasks"] if t["model"] == name]}
        a, b = sc.models[name], scenario_from_dict(alone).models[name]
        assert a.transfer_bytes.tolist() == b.transfer_bytes.tolist()
        assert {hw: c.tolist() for hw, c in a.head_latency.items()} == \
            {hw: c.tolist() for hw, c in b.head_latency.items()}
        assert a.layers is not None and a.layers.names == b.layers.names
        assert {hw: c.tolist() for hw, c in a.layers.latency.items()} == \
            {hw: c.tolist() for hw, c in b.layers.latency.items()}
        assert a.layers.flops.tolist() == b.layers.flops.tolist()
        assert (a.agreement is None) == (b.agreement is None)
