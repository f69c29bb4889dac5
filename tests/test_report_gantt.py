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


def test_rows_by_hop_edge_before_cloud_whatever_the_file_order():
    sc = scenario_from_dict({
        "name": "hops", "nodes": [
            {"name": "cloud", "kind": "cloud", "compute": {"flops_per_s": 4.0}},
            {"name": "e2", "kind": "edge", "compute": {"flops_per_s": 2.0}},
            {"name": "e1", "kind": "edge", "compute": {"flops_per_s": 2.0}},
            {"name": "dev", "kind": "device", "compute": {"flops_per_s": 1.0}}],
        "links": [{"src": "dev", "dst": "e1", "bandwidth": 8}, {"src": "e1", "dst": "e2", "bandwidth": 8},
                  {"src": "e2", "dst": "cloud", "bandwidth": 8}],
        "models": {"m": {"cuts": [{"transfer_bytes": 1}, {"transfer_bytes": 1, "head_flops": 1},
                                  {"transfer_bytes": 1, "head_flops": 2},
                                  {"transfer_bytes": 1, "head_flops": 3}]}},
        "workload": {"tasks": [{"device": "dev", "model": "m"}]}})
    res = simulate(sc, Plan("hand", {"t0": TaskPlan("t0", ("dev", "e1", "e2", "cloud"), (0, 1, 2))}))
    with_sc = [r.resource for r in gantt_rows(res, sc)]
    route = ["dev", "e1", "e2", "cloud"]
    assert [n for n in with_sc if "->" not in n] == route
    for a, b in zip(route, route[1:], strict=False):   # each hop's link between its two nodes
        assert with_sc.index(a) < with_sc.index(f"{a}->{b}") < with_sc.index(b)
    without = [r.resource for r in gantt_rows(res)]   # hops from the route the task took
    assert without[0] == "dev->e1"                     # cut 0: the device only sends
    assert [n for n in without if "->" not in n] == ["e1", "e2", "cloud"]


def test_run_gantt_two_panels_same_rows_shared_axis_and_full_legend(tmp_path):
    from splitinfer.report.gantt import _run_figure, plot_run_gantt
    from splitinfer.system.result import Result, StageRecord, TaskRecord

    def result(scale: float, measured: bool) -> Result:
        tasks = [TaskRecord(f"t{i}", "d", "m", 0.1 * i, 0.1 * i + 0.3 * scale, [
            StageRecord("compute", "compute", "d", "d", 0.1 * i, 0.1 * i, 0.1 * i + 0.1 * scale),
            StageRecord("uplink", "transfer", "d->e", None, 0.1 * i + 0.1 * scale,
                        0.1 * i + 0.1 * scale, 0.1 * i + 0.2 * scale),
            StageRecord("compute", "compute", "e", "e", 0.1 * i + 0.2 * scale,
                        0.1 * i + 0.2 * scale, 0.1 * i + 0.3 * scale)]) for i in range(33)]
        return Result("s", "p", tasks, measured=measured)

    measured, predicted = result(1.2, True), result(1.0, False)
    fig = _run_figure(measured, predicted, None, None)
    top, bottom = fig.axes
    assert [t.get_text() for t in top.get_yticklabels()] == ["d", "d->e", "e"]
    assert [t.get_text() for t in bottom.get_yticklabels()] == ["d", "d->e", "e"]
    assert top.get_xlim() == bottom.get_xlim()          # one time axis
    assert bottom.get_xlim()[1] >= measured.tasks[-1].finish   # seconds; the longer run fits
    legend, = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == [f"t{i}" for i in range(33)]
    renderer = fig.canvas.get_renderer()
    box, tight = legend.get_window_extent(renderer), fig.get_tightbbox(renderer)
    # saved with bbox_inches="tight": the image spans the legend (in inches, as tight is)
    assert box.x0 / fig.dpi >= tight.x0 - 1e-6 and box.y0 / fig.dpi >= tight.y0 - 1e-6
    assert box.x1 / fig.dpi <= tight.x1 + 1e-6
    import matplotlib.pyplot as plt

    plt.close(fig)
    out = plot_run_gantt(measured, predicted, tmp_path / "g.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
