"""The cut-profile figure and the table rows behind it."""

from __future__ import annotations

import pytest

from splitinfer.profile import Profile, cut_table, layer_table
from splitinfer.profile.format import example_profile_dict
from splitinfer.report.cutplot import plot_cut_profile


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_plot_is_written(tmp_path, suffix):
    p = Profile.from_dict(example_profile_dict())
    out = plot_cut_profile(p, tmp_path / "deep" / f"cuts{suffix}")
    assert out.exists() and out.stat().st_size > 1000
    if suffix == ".png":
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    else:
        text = out.read_text()
        assert "<svg" in text and "transfer size" in text


def test_cut_rows_carry_repaired_and_raw_latency():
    p = Profile.from_dict(example_profile_dict())
    rows = cut_table(p)
    assert [r["after"] for r in rows] == ["(input)", "fc", "relu"]
    assert [r["head_fraction"] for r in rows] == [0.0, 1.0, 1.0]
    assert rows[2]["raw_head_latency_s"] == 0.0014 and rows[2]["head_latency_s"] == 0.0015
    assert rows[0]["tail_latency_s"] == pytest.approx(0.0015)
    assert [r["param_bytes"] for r in layer_table(p)] == [4000, 0]


def test_tables_accept_a_graph_like_object():
    class _Node:
        def __init__(self, name):
            self.name, self.op, self.flops, self.macs = name, "Linear", 10, 5
            self.out_bytes, self.param_bytes = 4, 8

    class _Cut:
        def __init__(self, i, after):
            self.index, self.after, self.position = i, after, i
            self.transfer_bytes, self.head_flops = 4, 10 * i

    class _Graph:
        nodes = [_Node("a"), _Node("b")]
        cuts = [_Cut(0, None), _Cut(1, "a"), _Cut(2, "b")]
        flops = 20

    rows = cut_table(_Graph())
    assert [r["after"] for r in rows] == ["(input)", "a", "b"]
    assert "head_latency_s" not in rows[0] and rows[1]["head_fraction"] == 0.5
    assert "latency_s" not in layer_table(_Graph())[0]
