"""JPS planners (seed 003) on scenarios: jps, po, lo, co, jps-bf, Alg. 3 on a branching model."""

from __future__ import annotations

import json

import numpy as np
import pytest

from splitinfer.errors import NotApplicableError
from splitinfer.planners import get_planner, planner_info
from splitinfer.planners.duan2021.dag import independent_paths, regions
from splitinfer.planners.duan2021.jps import prop41_makespan, virtual_blocks
from splitinfer.planners.duan2021.partitions import jps_setting, partition_options
from splitinfer.profile.format import FORMAT, example_profile_dict
from splitinfer.sim import simulate
from splitinfer.system import scenario_from_dict
from splitinfer.testing.family_duan2021 import duan2021_dict, small_duan2021

PLANNERS = ("jps", "po", "lo", "co", "jps-bf")


def _fig2(count: int = 2, f2: float = 7.0) -> dict:
    return {"objective": "makespan", "result_return": 0,
            "nodes": [{"name": "pi", "kind": "device", "compute": {"table": True}},
                      {"name": "cloud", "kind": "cloud", "compute": {"table": True},
                       "concurrency": None}],
            "links": [{"src": "pi", "dst": "cloud", "bandwidth": 8, "sharing": "fifo"}],
            "models": {"m": {"cuts": [{"transfer_bytes": 99}, {"transfer_bytes": 6},
                                      {"transfer_bytes": 2}, {"transfer_bytes": 0}],
                             "table": {"pi": {"head": [0, 4, f2, 99]},
                                       "cloud": {"tail": [0, 0, 0, 0]}}}},
            "workload": {"generators": [{"kind": "batch", "devices": ["pi"], "model": "m",
                                         "count": count}]}}


def test_registry_entries():
    assert planner_info("jps-bf").exact
    assert planner_info("lo").alias_of == "local" and planner_info("co").alias_of == "cloud"
    for name in ("jps", "po", "jps-bf"):
        assert planner_info(name).cls.general is False
        assert "Duan & Wu" in planner_info(name).source


def test_fig2_jps_mixes_the_two_cuts():
    sc = scenario_from_dict(_fig2())
    plan = get_planner("jps").plan(sc)
    res = simulate(sc, plan)
    assert res.makespan == 13.0 == plan.info["predicted_makespan"]
    first = min(plan.tasks.values(), key=lambda tp: tp.priority)
    assert first.cuts == (1,)  # the communication-heavy job goes first (Johnson)
    po = simulate(sc, get_planner("po", criterion="makespan").plan(sc))
    assert po.makespan == 16.0


@pytest.mark.parametrize("seed", range(12))
def test_family_predictions_equal_simulation_and_bf_is_a_bound(seed):
    sc = small_duan2021(seed)
    bf = get_planner("jps-bf").plan(sc)
    assert bf.info["optimal"] and bf.info["bound"] == pytest.approx(simulate(sc, bf).makespan)
    every = get_planner("jps-bf", orders="all").plan(sc)
    assert every.info["bound"] == pytest.approx(bf.info["bound"])
    for name in PLANNERS:
        plan = get_planner(name).plan(sc)
        span = simulate(sc, plan).makespan
        assert span >= bf.info["bound"] - 1e-12
        if "predicted_makespan" in plan.info:
            assert plan.info["predicted_makespan"] == pytest.approx(span, rel=1e-12)
        again = get_planner(name).plan(sc)
        assert {k: (v.cuts, v.priority) for k, v in again.tasks.items()} == \
            {k: (v.cuts, v.priority) for k, v in plan.tasks.items()}


@pytest.mark.parametrize("seed", range(6))
def test_prop41_equals_simulation_for_identical_line_jobs(seed):
    """Any cuts, in Johnson's order, of a line whose f increases and g does not (after virtual
    blocks): Proposition 4.1's closed form is the simulated makespan."""
    sc = small_duan2021(seed)
    options = virtual_blocks(partition_options(sc, jps_setting(sc)))
    rng = np.random.default_rng(seed)
    n = len(sc.tasks)
    from splitinfer.planners.duan2021.jps import johnson_order
    from splitinfer.planners.duan2021.partitions import make_taskplan
    from splitinfer.system.plan import Plan

    for _ in range(5):
        pick = rng.integers(0, len(options), n)
        f = [options[i].f for i in pick]
        g = [options[i].g for i in pick]
        order = johnson_order(f, g)
        plans = {}
        for pos, j in enumerate(order):
            tid = sc.tasks[j].id
            plans[tid] = make_taskplan(options[pick[j]], tid, float(pos))
        span = simulate(sc, Plan("manual", plans)).makespan
        assert prop41_makespan(f, g, order) == pytest.approx(span, rel=1e-12)


def test_jps_paper_mix_uses_the_floored_ratio():
    sc = scenario_from_dict(_fig2(count=9))
    best = get_planner("jps").plan(sc)
    paper = get_planner("jps", mix="paper").plan(sc)
    # l* - 1 = cut 1 (f=4 < g=6), l* = cut 2 (f=7 >= g=2): ratio floor(5 / 2) = 2, so three
    # jobs at l* and six at l* - 1
    assert paper.info["ratio"] == 2
    assert [t["count"] for t in paper.info["types"]] == [6, 3]
    assert simulate(sc, best).makespan <= simulate(sc, paper).makespan
    assert best.info["predicted_makespan"] == pytest.approx(simulate(sc, best).makespan)


def test_po_latency_picks_the_single_job_optimum():
    sc = small_duan2021(4)
    plan = get_planner("po").plan(sc)
    cuts = {tp.cuts for tp in plan.tasks.values()}
    assert len(cuts) == 1
    opts = partition_options(sc, jps_setting(sc))
    one = sc.with_tasks(sc.tasks[:1])
    alone = simulate(one, get_planner("po").plan(one)).makespan
    assert alone == pytest.approx(min(o.latency for o in opts))


@pytest.mark.parametrize("change, reason", [
    ({"workload": {"tasks": [{"device": "pi", "model": "m"},
                             {"device": "pi", "model": "m", "arrival": 1.0}]}}, "at once"),
    ({"links": [{"src": "pi", "dst": "cloud", "bandwidth": 8}]}, "fifo"),
])
def test_outside_the_model_is_not_applicable(change, reason):
    sc = scenario_from_dict({**_fig2(), **change})
    for name in ("jps", "po", "jps-bf"):
        with pytest.raises(NotApplicableError, match=reason):
            get_planner(name).plan(sc)


def test_bf_refuses_too_many_schedules():
    d = duan2021_dict(1)
    d["workload"]["generators"][0]["count"] = 30
    sc = scenario_from_dict(d)
    with pytest.raises(NotApplicableError, match="more than"):
        get_planner("jps-bf", max_evaluations=10).plan(sc)


def test_cloud_compute_is_a_tail_and_counted():
    d = _fig2(count=3)
    d["nodes"][1]["compute"] = {"table": True}
    d["models"]["m"]["table"]["cloud"] = {"tail": [6, 3, 1, 0]}
    sc = scenario_from_dict(d)
    for name in ("jps", "po", "jps-bf"):
        plan = get_planner(name).plan(sc)
        assert plan.info["predicted_makespan"] == pytest.approx(simulate(sc, plan).makespan)
    assert get_planner("jps-bf").plan(sc).info["optimal"] is False
    assert get_planner("jps-bf", orders="all").plan(sc).info["optimal"] is True


# ------------------------------------------------------------------ Alg. 3 on a branching model
def _inception_profile(path) -> str:
    """A stem, one Inception-like module of three branches, a classifier."""
    d = example_profile_dict()
    spec = [  # name, out_bytes, latency, reads
        ("stem", 1000, 0.010, [-1]),
        ("b1", 200, 0.004, [0]),
        ("b2_reduce", 100, 0.002, [0]),
        ("b2_conv", 300, 0.006, [2]),
        ("b3_pool", 1000, 0.001, [0]),
        ("b3_conv", 150, 0.003, [4]),
        ("cat", 650, 0.0005, [1, 3, 5]),
        ("fc", 40, 0.002, [6]),
    ]
    d["layers"] = [{"name": n, "op": "Conv2d", "flops": 1000, "macs": 500, "out_bytes": b,
                    "param_bytes": 0, "latency_s": t, "latency_median_s": t,
                    "latency_std_s": 0.0} for n, b, t, _ in spec]
    d["edges"] = [[i, j] for j, (_, _, _, reads) in enumerate(spec) for i in reads]
    lat = np.cumsum([0.0] + [t for _, _, t, _ in spec])
    positions = [0, 1, 7, 8]
    nbytes = [3000, 1000, 650, 40]
    d["cuts"] = [{"index": k, "after": spec[p - 1][0] if p else None, "position": p,
                  "transfer_bytes": b, "head_flops": 1000 * p, "head_latency_s": float(lat[p]),
                  "tail_latency_s": float(lat[-1] - lat[p])}
                 for k, (p, b) in enumerate(zip(positions, nbytes, strict=True))]
    d.update(model="toyception", flops=8000, macs=4000, input_bytes=3000, output_bytes=40,
             whole_latency_s=float(lat[-1]), whole_latency_median_s=float(lat[-1]),
             whole_latency_std_s=0.0, format=FORMAT)
    path.write_text(json.dumps(d))
    return str(path)


def _branching_scenario(tmp_path, bandwidth: float, count: int = 4):
    prof = _inception_profile(tmp_path / "toyception@cpu-1t.json")
    return scenario_from_dict({
        "objective": "makespan", "result_return": 0,
        "nodes": [{"name": "pi", "kind": "device", "compute": {"hardware": "cpu-1t"}},
                  {"name": "cloud", "kind": "cloud", "compute": {"table": True},
                   "concurrency": None}],
        "links": [{"src": "pi", "dst": "cloud", "bandwidth": bandwidth, "sharing": "fifo"}],
        "models": {"net": {"profiles": {"cpu-1t": prof},
                           "table": {"cloud": {"tail": [0, 0, 0, 0]}}}},
        "workload": {"generators": [{"kind": "batch", "devices": ["pi"], "model": "net",
                                     "count": count}]}})


def test_regions_and_paths_of_the_branching_model(tmp_path):
    sc = _branching_scenario(tmp_path, 1e6)
    lc = sc.models["net"].layers
    regs = regions(lc)
    assert [r.is_chain for r in regs] == [True, False, True]
    assert regs[1].entry == 0 and regs[1].exit == 6
    assert regs[1].paths == ((1,), (2, 3), (4, 5))
    assert independent_paths(lc.edges, 0, 6) == [[0, 1, 6], [0, 2, 3, 6], [0, 4, 5, 6]]


def test_alg3_general_cut_is_simulated_as_planned(tmp_path):
    # 0.5 Mbit/s: the stem (10 ms) is communication-heavy (its 1000 B take 16 ms); on every
    # branch Alg. 2 crosses at the first reduced tensor, and the union sends 450 B (7.2 ms)
    # after 20 ms of compute, which beats the cut after the module (26.5 ms, 10.4 ms)
    sc = _branching_scenario(tmp_path, 0.5e6)
    opts = partition_options(sc, jps_setting(sc))
    general = [o for o in opts if o.kind == "general"]
    assert general, "Alg. 3 found no general cut"
    line = virtual_blocks(opts)
    assert any(o.kind == "general" for o in line)
    lc = sc.models["net"].layers
    assert [sorted(o.head) for o in general] == [[0, 1, 2, 4, 5]]
    assert general[0].f == pytest.approx(0.020) and general[0].g == pytest.approx(0.0072)
    for o in general:
        assert lc.is_closed(o.head)
        assert o.f == pytest.approx(float(lc.latency["cpu-1t"][sorted(o.head)].sum()))
    for name in ("jps", "po", "jps-bf"):
        plan = get_planner(name).plan(sc)
        assert plan.info["predicted_makespan"] == pytest.approx(simulate(sc, plan).makespan)
    jps = get_planner("jps").plan(sc)
    assert jps.info["l_star"].startswith("general@")
    assert any(tp.steps is not None for tp in jps.tasks.values())
    bf = get_planner("jps-bf").plan(sc)
    assert bf.info["optimal"] is False  # general cuts are not enumerated exhaustively
    plain = get_planner("jps", dag=False).plan(sc)
    assert all(t["kind"] != "general" for t in plain.info["types"])


@pytest.mark.parametrize("bandwidth", [0.2e6, 0.43e6, 0.5e6, 1e6, 4e6, 64e6])
def test_po_is_the_dads_min_cut_over_every_closed_head(tmp_path, bandwidth):
    """PO (Duan & Wu 2021 section 6.2, after DADS) is the least single-job latency over every
    head closed under predecessors, not only over JPS's candidates; simulated as predicted."""
    import itertools

    sc = _branching_scenario(tmp_path, bandwidth)
    st = jps_setting(sc)
    lc = sc.models["net"].layers
    t = lc.latency["cpu-1t"]
    rate_s = 8.0 / bandwidth
    best = float(t.sum())  # local
    for bits in itertools.product((0, 1), repeat=lc.n):
        head = frozenset(i for i in range(lc.n) if bits[i])
        if len(head) < lc.n and lc.is_closed(head):
            best = min(best, float(t[sorted(head)].sum()) + lc.crossing_bytes(head) * rate_s)
    plan = get_planner("po").plan(sc)
    assert plan.info["min_cut_mode"] == "layers"
    one = simulate(sc.with_tasks(sc.tasks[:1]),
                   get_planner("po").plan(sc.with_tasks(sc.tasks[:1]))).makespan
    assert one == pytest.approx(best, rel=1e-9, abs=1e-9)
    assert best <= min(o.latency for o in partition_options(sc, st)) + 1e-12
    assert plan.info["predicted_makespan"] == pytest.approx(simulate(sc, plan).makespan)
