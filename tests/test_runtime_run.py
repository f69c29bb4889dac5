"""`splitinfer run` end to end: separate processes, calibration, a killed worker, verification."""

from __future__ import annotations

import json

import pytest

from splitinfer.runtime.run import RunOptions, run_scenario

SCENARIO = {
    "name": "run-test",
    "nodes": [{"name": "phone", "kind": "device", "compute": {"hardware": "cpu-1t"}},
              {"name": "edge", "kind": "edge", "compute": {"hardware": "cpu-1t"}}],
    "links": [{"src": "phone", "dst": "edge", "bandwidth": "20Mbps", "latency": "3ms",
               "sharing": "fifo"}],
    "models": {"lenet5": {"profile": "lenet5@cpu-1t", "profiles": {"cpu-1t": "lenet5@cpu-1t"}}},
    "workload": {"tasks": [{"device": "phone", "model": "lenet5", "arrival": 0.05 * i}
                           for i in range(8)]},
}


@pytest.mark.slow
def test_run_with_killed_worker_loses_nothing_and_matches_local(tmp_path):
    options = RunOptions(planner="edge", out_dir=tmp_path, compute="shipped", verify=True,
                         kill={"edge": 0.22}, deadline_s=5.0)
    report = run_scenario(SCENARIO, options)
    s = report.summary()
    assert s["lost"] == 0 and len(report.rows) == 8
    assert s["verified"]["equal"] == 8 and s["verified"]["differ"] == []
    assert s["tasks"] == 8 and s["as_planned"] + s["fallbacks"] == 8 and s["refused"] == 0
    assert s["offloaded"] >= 1
    assert report.measured.measured and not report.predicted.measured
    # before the kill tasks ran on the edge; after it the device ran them itself
    assert any(r["nodes"][-1] == "edge" and not r["fallback"] for r in report.rows)
    assert any(r["fallback"] for r in report.rows)
    cal = report.calibration["transfer"]
    assert cal is not None and cal["n_samples"] >= 8 and cal["w1"] > 0.5
    saved = json.loads((tmp_path / "run.json").read_text())
    assert saved["format"] == "splitinfer.run/1" and saved["measured"]["measured"] is True
    from splitinfer.report.gantt import plot_gantt

    assert plot_gantt(report.measured, tmp_path / "gantt-measured.png").stat().st_size > 0
    names = {st.name for t in report.measured.tasks for st in t.stages}
    assert {"uplink", "compute", "return", "fallback"} <= names
