"""compare_planners (plan, simulate, time, gap to exact), its figure and table, and the demo."""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")

import pytest

from splitinfer.errors import NotApplicableError, SplitInferError, UnknownNameError
from splitinfer.experiments.compare import (
    compare_planners,
    evaluate_planner,
    load_plan,
    parse_params,
    planner_params,
    resolve_planners,
    rows_to_json,
)
from splitinfer.planners import list_planners, planner_info
from splitinfer.planners.common.base import BasePlanner
from splitinfer.planners.common.registry import PLANNERS, register
from splitinfer.report.compare_plot import comparison_table, plot_comparison, skipped_reasons
from splitinfer.system import TaskPlan, scenario_from_dict


def _jobs(n=2):
    """Seed 003's two-job example (Fig. 2) with ``n`` jobs: makespan objective."""
    return scenario_from_dict({
        "name": "fig2", "objective": "makespan", "result_return": 0,
        "nodes": [{"name": "pi", "kind": "device", "compute": {"table": True}},
                  {"name": "cloud", "kind": "cloud", "compute": {"table": True},
                   "concurrency": None}],
        "links": [{"src": "pi", "dst": "cloud", "bandwidth": 8, "sharing": "fifo"}],
        "models": {"m": {"cuts": [{"transfer_bytes": 100}, {"transfer_bytes": 6},
                                  {"transfer_bytes": 2}, {"transfer_bytes": 0}],
                         "table": {"pi": {"head": [0, 4, 7, 100]},
                                   "cloud": {"tail": [0, 0, 0, 0]}}}},
        "workload": {"generators": [{"kind": "batch", "devices": ["pi"], "model": "m",
                                     "count": n}]}})


@pytest.fixture
def temp_planners():
    """Register throw-away planners; remove them afterwards."""
    added = []

    def add(name, cls):
        register(name, description="test", source="test")(cls)
        added.append(name)

    yield add
    for name in added:
        PLANNERS.remove(name)


class _NeedsSlots(BasePlanner):
    def _plan(self, scenario):
        raise NotApplicableError("needs slots")


class _Broken(BasePlanner):
    def _plan(self, scenario):
        return {t.id: TaskPlan(t.id, (t.device, "nowhere"), (0,)) for t in scenario.tasks}


def test_rows_hold_metrics_and_gap_to_exact():
    sc = _jobs()
    rows = compare_planners(sc, "local,cloud,exact", {"exact": {"time_limit_s": 5}})
    by = {r["planner"]: r for r in rows}
    assert [r["planner"] for r in rows] == ["local", "cloud", "exact"]
    assert by["exact"]["objective"] == 13.0 and by["exact"]["optimal"] is True
    assert by["exact"]["gap_to_exact"] == 0.0
    # cloud sends 100 bytes each at 8 bit/s over the shared uplink: finishes at 100 and 200
    assert by["cloud"]["makespan_s"] == by["cloud"]["objective"] == 200.0
    assert by["cloud"]["gap_to_exact"] == pytest.approx(200 / 13 - 1)
    assert by["local"]["mean_latency_s"] == 150.0 and by["local"]["p95_latency_s"] == 195.0
    for r in rows:
        assert r["status"] == "ok" and r["plan_time_s"] >= 0 and r["simulated"] is True
        assert r["objective_kind"] == "makespan" and r["tasks"] == 2
    assert by["exact"]["params"]["time_limit_s"] == 5


def test_no_gap_without_exact():
    rows = compare_planners(_jobs(), ["local", "jps"])
    assert all(r["gap_to_exact"] is None for r in rows)


def test_not_applicable_and_failed_planners_are_reported(temp_planners):
    temp_planners("test-needs-slots", _NeedsSlots)
    temp_planners("test-broken", _Broken)
    rows = compare_planners(_jobs(), "test-needs-slots,local,test-broken", keep=True)
    status = {r["planner"]: (r["status"], r["error"]) for r in rows}
    assert status["test-needs-slots"] == ("not_applicable", "needs slots")
    assert status["test-broken"][0] == "failed" and "InfeasiblePlanError" in status["test-broken"][1]
    assert status["local"] == ("ok", None)
    kept = {r["planner"]: r for r in rows}
    assert kept["local"]["result"].makespan == 200.0 and kept["test-broken"]["plan"] is None


def test_resolve_planners():
    everything = resolve_planners("all")
    assert everything == resolve_planners(None) == resolve_planners(["all"])
    assert set(everything) <= set(list_planners())
    assert all(planner_info(n).alias_of is None or planner_info(n).defaults for n in everything)
    with pytest.raises(UnknownNameError, match="unknown planner 'nope'"):
        resolve_planners("local,nope")


def test_params_parsing():
    assert parse_params(["exact.time_limit_s=2.5", "seed=3", "grids=[2, 3]", "mode=fast"]) == {
        "exact": {"time_limit_s": 2.5}, "*": {"seed": 3, "grids": [2, 3], "mode": "fast"}}
    with pytest.raises(SplitInferError, match="key=value"):
        parse_params(["oops"])
    with pytest.raises(SplitInferError, match="for planner"):
        planner_params("exact", ["jps.mix=1"])
    with pytest.raises(SplitInferError, match="has no parameter"):
        evaluate_planner(_jobs(), "local", {"depth": 3})


def test_json_document_schema():
    sc = _jobs()
    doc = rows_to_json(sc, compare_planners(sc, "local,jps", keep=True))
    text = json.dumps(doc)
    back = json.loads(text)
    assert back["scenario"] == "fig2" and back["objective"] == "makespan"
    for r in back["results"]:
        assert {"planner", "objective", "mean_latency_s", "p95_latency_s", "makespan_s",
                "plan_time_s"} <= set(r)
        assert "plan" not in r and "result" not in r


def test_load_plan_errors(tmp_path):
    with pytest.raises(SplitInferError, match="does not exist"):
        load_plan(str(tmp_path / "none.json"))
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(SplitInferError, match="not valid JSON"):
        load_plan(str(tmp_path / "bad.json"))
    (tmp_path / "other.json").write_text('{"format": "something/1"}')
    with pytest.raises(SplitInferError, match="not a splitinfer plan"):
        load_plan(str(tmp_path / "other.json"))


def test_figure_and_table(tmp_path, temp_planners):
    temp_planners("test-needs-slots", _NeedsSlots)
    rows = compare_planners(_jobs(), "local,jps,test-needs-slots")
    png = plot_comparison(rows, tmp_path / "c.png", scenario="fig2")
    assert png.read_bytes()[:4] == b"\x89PNG"
    table = comparison_table(rows, "t")
    assert table.row_count == 3
    assert [c.header for c in table.columns] == ["planner", "objective", "mean latency",
                                                 "p95 latency", "makespan", "plan time",
                                                 "gap to exact"]
    assert skipped_reasons(rows) == ["test-needs-slots: not applicable: needs slots"]
    long = skipped_reasons([{"planner": "x", "status": "failed", "error": "y" * 500}])[0]
    assert long.endswith("y" * 500)  # reasons are never cut off
