"""The shipped seed-000 scenario: Table 2 as printed, and the transfer sizes of VGG16-CIFAR."""

from __future__ import annotations

import pytest

from splitinfer.system import load_scenario

# Table 2 of 000_43fc0f31cdfdc870.txt, in 1 ms slots (rows P1..P6)
TABLE2 = {
    "end": [0, 25, 41, 62, 71, 88],
    "server1": [7, 5, 3, 2, 1, 0],
    "server2": [10, 7, 5, 3, 2, 0],
    "server3": [20, 13, 8, 4, 3, 0],
    "server4": [38, 27, 19, 9, 6, 0],
}
# the layer whose output crosses each partition point (None: the raw input)
POINTS = [None, "pool1", "pool2", "pool3", "pool4", "fc"]


def test_table2_is_shipped_as_printed():
    sc = load_scenario("shi2021")
    m = sc.models["vgg16"]
    assert m.cut_names == ("P1", "P2", "P3", "P4", "P5", "P6")
    assert [round(x * 1e3, 9) for x in m.table_head["end"]] == TABLE2["end"]
    for s in ("server1", "server2", "server3", "server4"):
        assert [round(x * 1e3, 9) for x in m.table_tail[s]] == TABLE2[s]
    # t_d + J^k of the whole model: P1 runs everything on the server, P6 on the device
    assert sc.compute_time("server4", "vgg16", 0, 5) == pytest.approx(0.038)
    assert sc.compute_time("end", "vgg16", 0, 5) == pytest.approx(0.088)
    assert sc.compute_time("server2", "vgg16", 2, 5) == pytest.approx(0.005)
    assert sc.slot == 0.001 and sc.result_return == 0.0
    assert {sc.links[("end", s)].rate for s in sc.edges} == {4e6}
    assert {sc.nodes[s].concurrency for s in sc.edges} == {1}
    assert sc.nodes["end"].concurrency is None
    assert len(sc.tasks) == 75 and max(t.slot for t in sc.tasks) < 100


def test_transfer_sizes_match_vgg16_cifar():
    """Recompute d_p from the real model: float32 tensors after the input, pool1..pool4, fc."""
    torch = pytest.importorskip("torch")
    models = pytest.importorskip("splitinfer.models")
    graph = pytest.importorskip("splitinfer.graph")
    if "vgg16-cifar" not in models.list_models():
        pytest.skip("the model zoo has no vgg16-cifar")
    g = graph.trace(models.get_model("vgg16-cifar"), torch.zeros(1, 3, 32, 32))
    by_layer = {c.after: c.transfer_bytes for c in g.cuts}
    derived = [by_layer[name] for name in POINTS]
    shipped = load_scenario("shi2021").models["vgg16"].transfer_bytes.tolist()
    assert derived == shipped == [12288, 65536, 32768, 16384, 8192, 40]
