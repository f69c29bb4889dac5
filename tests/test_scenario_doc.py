"""Every complete example in docs/scenario-format.md loads, and means what the text says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from splitinfer.profile import list_shipped_profiles
from splitinfer.system import scenario_from_dict

DOC = Path(__file__).resolve().parents[1] / "docs" / "scenario-format.md"


def _examples() -> dict[str, str]:
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), flags=re.S)
    out = {}
    for block in blocks:
        first = block.splitlines()[0]
        if first.startswith("# example:"):
            out[first.split(":", 1)[1].strip()] = block
    return out


EXAMPLES = _examples()


def test_one_example_per_paper():
    assert {"first", "000", "001", "002", "003", "004"} <= set(EXAMPLES)


def _load(key):
    data = yaml.safe_load(EXAMPLES[key])
    shipped = set(list_shipped_profiles())
    refs = re.findall(r"\b([\w.-]+@[\w.-]+)\b", EXAMPLES[key])
    missing = [r for r in refs if r not in shipped]
    if missing:
        pytest.skip(f"shipped profile(s) {missing} not present yet")
    return scenario_from_dict(data, source=f"docs/scenario-format.md#{key}", require_units=True)


@pytest.mark.parametrize("key", sorted(EXAMPLES))
def test_example_loads(key):
    sc = _load(key)
    assert sc.tasks and sc.nodes


def test_example_000_slots_and_table():
    sc = _load("000")
    assert sc.slot == 0.001 and len(sc.servers) == 4 and sc.result_return == 0
    assert all(t.slot is not None and t.arrival == pytest.approx(t.slot * 1e-3) for t in sc.tasks)
    assert sc.compute_time("server4", "vgg16", 0, 5) == pytest.approx(0.038)
    assert sc.nodes["end"].concurrency is None and sc.extra["pps_latency"] == "90ms"


def test_example_001_shannon_rate():
    sc = _load("001")
    assert sc.links[("phone", "es")].rate / 1e6 == pytest.approx(33.29, abs=0.01)
    assert sc.compute_time("es", "alexnet", 0, 5) == pytest.approx(1428376960 / 4.32e9)


def test_example_002_pools_and_reachability():
    sc = _load("002")
    assert sc.reachable_servers("phone1") == ["edge1"]
    assert sc.reachable_servers("phone2") == ["edge1", "edge2"]
    assert sc.links[("phone2", "edge2")].pool == "edge2.access" and sc.pools["edge1.backbone"] == 2e8
    assert sc.nodes["edge1"].concurrency == 2 and sc.nodes["cloud"].concurrency is None
    assert sc.models["alexnet"].transfer_bytes[0] == 200e3 and sc.tasks[1].samples == 50


def test_example_003_batch_fifo_makespan():
    sc = _load("003")
    assert sc.objective == "makespan" and len(sc.tasks) == 10
    assert all(t.arrival == 0 for t in sc.tasks) and sc.links[("pi", "cloud")].sharing == "fifo"


def test_example_004_poisson_divisible():
    sc = _load("004")
    assert sc.nodes["cloud"].divisible and sc.objective == "mean_sojourn"
    per = {d: sum(t.device == d for t in sc.tasks) for d in sc.devices}
    # Poisson counts over 200 s near 100, 200, 400
    assert 60 < per["node1"] < 140 and 150 < per["node2"] < 250 and 330 < per["node3"] < 470


def test_error_examples_in_the_doc_are_real():
    text = DOC.read_text()
    assert "links.1.dst: unknown node 'clod'; nodes are ['cloud', 'edge', 'phone']" in text
    with pytest.raises(Exception) as info:
        scenario_from_dict({
            "nodes": [{"name": n, "kind": k, "compute": {"flops_per_s": 1e9}}
                      for n, k in (("phone", "device"), ("edge", "edge"), ("cloud", "cloud"))],
            "links": [{"src": "phone", "dst": "edge", "bandwidth": 1e6},
                      {"src": "edge", "dst": "clod", "bandwidth": 1e6}],
            "models": {"m": {"cuts": [{"transfer_bytes": 1}, {"transfer_bytes": 1}]}},
            "workload": {"tasks": [{"device": "phone", "model": "resnet"}]}}, source="my.yaml")
    lines = str(info.value).splitlines()
    for line in lines:
        assert line in text, line
