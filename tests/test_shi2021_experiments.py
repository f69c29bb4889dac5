"""The seed-000 reproductions: rows are tidy and the numbers hold together."""

from __future__ import annotations

import pytest

from splitinfer.experiments import get_experiment
from splitinfer.experiments.shi2021 import fig6, fig7a, fig7b


def test_fig7_rows_are_tidy_and_predictions_match_the_simulator():
    cfg = {"tasks": [20, 60], "bandwidth": 8e6, "slots": 100, "seeds": [0, 1],
           "planners": ["end-only", "server-only", "GSPI", "online"]}
    rows = fig7a(cfg)
    assert len(rows) == 2 * 2 * 4
    assert {(r["tasks"], r["seed"], r["planner"]) for r in rows} == {
        (n, s, p) for n in (20, 60) for s in (0, 1) for p in cfg["planners"]}
    for r in rows:
        if r["planner"] == "end-only":
            assert r["mean_latency_ms"] == pytest.approx(88.0) and r["offloaded_share"] == 0
        else:  # the FIFO planners predict the simulated mean exactly
            assert r["predicted_mean_ms"] == pytest.approx(r["mean_latency_ms"], abs=1e-6)
    by = {(r["tasks"], r["seed"], r["planner"]): r["mean_latency_ms"] for r in rows}
    assert all(by[(n, s, "GSPI")] <= by[(n, s, "online")] + 1e-9 for n in (20, 60) for s in (0, 1))


def test_fig7b_sweeps_the_bandwidth():
    rows = fig7b({"tasks": 30, "bandwidths": [2e6, 16e6], "slots": 100, "seeds": [3],
                  "planners": ["server-only", "GSPI"]})
    mean = {(r["bandwidth_bps"], r["planner"]): r["mean_latency_ms"] for r in rows}
    assert mean[(16e6, "GSPI")] < mean[(2e6, "GSPI")]
    assert mean[(16e6, "server-only")] < mean[(2e6, "server-only")]


def test_fig6_marks_the_points_pps_keeps():
    pytest.importorskip("splitinfer.profile")
    cfg = dict(get_experiment("shi2021-fig6").quick)
    rows = fig6(cfg)
    bound = rows[0]["latency_bound_ms"]
    for cut in {r["cut"] for r in rows}:
        mine = [r for r in rows if r["cut"] == cut]
        every_server_within = all(r["total_ms"] <= bound + 1e-9 for r in mine)
        assert all(r["kept"] == every_server_within for r in mine)
    assert any(r["kept"] for r in rows) and not all(r["kept"] for r in rows)
