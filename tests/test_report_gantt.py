"""Gantt charts: rows per resource in scenario order, a bar per stage, coloured by task."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest

from splitinfer.report.gantt import gantt_rows, plot_gantt
from splitinfer.sim import simulate
from splitinfer.system import Plan, TaskPlan, scenario_from_dict


@pytest.fixture(scope="module")
def run():
    sc = scenario_from_dict({
        "name": "g", "nodes": [
            {"name": "d0", "kind": "device", "compute": {"flops_per_s": 1.0}},
            {"name": "d1", "kind": "device", "compute": {"flops_per_s": 1.0}},
            {"name": "e", "kind": "edge", "compute": {"flops_per_s": 2.0}},
            {"name": "c", "kind": "cloud", "compute": {"flops_per_s": 4.0}, "divisible": True},
            {"name": "idle", "kind": "edge", "compute": {"flops_per_s": 1.0}}],
        "links": [{"src": "d0", "dst": "e", "bandwidth": 8}, {"src": "d1", "dst": "e", "bandwidth": 8},
                  {"src": "e", "dst": "c", "bandwidth": 8}],
        "models": {"m": {"cuts": [{"transfer_bytes": 1}, {"transfer_bytes": 1, "head_flops": 1},
                                  {"transfer_bytes": 1, "head_flops": 3}]}},
        "workload": {"tasks": [{"device": "d1", "model": "m"}, {"device": "d0", "model": "m"},
                               {"device": "d0", "model": "m", "arrival": 0.5}]}})
    plan = Plan("hand", {"t0": TaskPlan("t0", ("d1", "e"), (1,)),
                         "t1": TaskPlan("t1", ("d0", "e", "c"), (0, 1), share=0.5),
                         "t2": TaskPlan("t2", ("d0",))})
    return sc, simulate(sc, plan)


def test_rows_follow_the_scenario_and_cover_every_stage(run):
    sc, res = run
    rows = gantt_rows(res, sc)
    names = [r.resource for r in rows]
    assert names == ["d0", "d0->e", "d1", "d1->e", "e", "e->c", "e->d0", "e->d1", "idle", "c#d0",
                     "c->e"]                        # devices, edges, clouds as in the file
    assert rows[8].bars == []                       # an idle node still has its row
    drawn = sorted((b.task, round(b.start, 9)) for r in rows for b in r.bars)
    staged = sorted((k, round(s.start, 9)) for k, t in enumerate(res.tasks) for s in t.stages
                    if s.resource is not None)
    assert drawn == staged
    e = next(r for r in rows if r.resource == "e")
    assert [(b.start, b.duration, b.task) for b in e.bars] == [(2.0, 1.0, 0), (1.0, 0.5, 1)]


def test_rows_without_scenario_in_first_use_order(run):
    _, res = run
    names = [r.resource for r in gantt_rows(res)]
    assert set(names) == {"d0", "d0->e", "d1", "d1->e", "e", "e->c", "e->d0", "e->d1", "c#d0",
                          "c->e"}
    assert names.index("d1") < names.index("e") and names.index("e->c") < names.index("c#d0")


def test_max_tasks_keeps_the_first_ones(run):
    sc, res = run
    rows = gantt_rows(res, sc, max_tasks=1)
    assert {b.task for r in rows for b in r.bars} == {0}


def test_plot_gantt_writes_a_png(run, tmp_path):
    sc, res = run
    out = plot_gantt(res, tmp_path / "sub" / "g.png", sc)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    big = plot_gantt(res, tmp_path / "h.png", max_tasks=2, title="custom")
    assert big.stat().st_size > 1000
