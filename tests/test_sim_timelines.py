"""Hand-computed timelines: every stage's start and end on small scenarios worked out on paper.

Numbers are chosen so that every duration is exact in binary floating point: a FLOP/s node of
speed 1 runs 2 FLOPs in 2 s, a link of 8 bit/s sends 1 byte in 1 s.
"""

from __future__ import annotations

import pytest

from splitinfer.errors import InfeasiblePlanError
from splitinfer.sim import simulate
from splitinfer.system import Plan, TaskPlan, scenario_from_dict


def node(name, kind, speed=1.0, **kw):
    return {"name": name, "kind": kind, "compute": {"flops_per_s": speed}, **kw}


def link(src, dst, rate=8.0, **kw):
    return {"src": src, "dst": dst, "bandwidth": rate, **kw}


def cuts(*rows):
    """``rows`` = (transfer_bytes, head_flops) per cut."""
    return {"cuts": [{"transfer_bytes": b, "head_flops": f} for b, f in rows]}


def scenario(nodes, links, models, tasks, **top):
    return scenario_from_dict({"nodes": nodes, "links": links, "models": models,
                               "workload": {"tasks": tasks}, **top})


def timeline(res, task_id):
    """[(stage name, resource, start, end)] of one task."""
    rec = next(t for t in res.tasks if t.id == task_id)
    return [(s.name, s.resource, s.start, s.end) for s in rec.stages]


def plan_of(*tps, name="hand"):
    return Plan(name, {tp.task: tp for tp in tps})


# --------------------------------------------------------------------------- FIFO server
def test_fifo_server_three_tasks():
    # three devices send their raw input (1 byte -> 1 s) to one edge server, 2 s of work each,
    # 1-byte result back (1 s). Arrivals 0, 0.5, 1.0; the server takes them first come first served.
    sc = scenario([node("d0", "device"), node("d1", "device"), node("d2", "device"),
                   node("e", "edge")],
                  [link("d0", "e"), link("d1", "e"), link("d2", "e")],
                  {"m": cuts((1, 0), (1, 2))},
                  [{"id": "a", "device": "d0", "model": "m", "arrival": 0.0},
                   {"id": "b", "device": "d1", "model": "m", "arrival": 0.5},
                   {"id": "c", "device": "d2", "model": "m", "arrival": 1.0}])
    plan = plan_of(*(TaskPlan(t.id, (t.device, "e"), (0,)) for t in sc.tasks))
    res = simulate(sc, plan)
    assert timeline(res, "a") == [("uplink", "d0->e", 0, 1), ("compute", "e", 1, 3),
                                  ("return", "e->d0", 3, 4)]
    assert timeline(res, "b") == [("uplink", "d1->e", 0.5, 1.5), ("compute", "e", 3, 5),
                                  ("return", "e->d1", 5, 6)]
    assert timeline(res, "c") == [("uplink", "d2->e", 1, 2), ("compute", "e", 5, 7),
                                  ("return", "e->d2", 7, 8)]
    assert res.latencies.tolist() == [4.0, 5.5, 7.0]
    b = next(t for t in res.tasks if t.id == "b")
    assert [s.wait for s in b.stages] == [0.0, 1.5, 0.0]
    assert res.makespan == 8.0 and res.mean_latency == pytest.approx(16.5 / 3)
    assert res.utilisation()["e"] == pytest.approx(6 / 8)
    m = res.metrics()
    assert m["p50_latency_s"] == 5.5 and m["lost"] == 0 and m["tasks"] == 3


# --------------------------------------------------------------------------- two tiers
def test_two_tier_uplink_and_return():
    # device runs 2 FLOPs (2 s), sends 3 bytes (3 s at 8 bit/s), the edge (speed 4) runs the
    # remaining 8 FLOPs (2 s), and the 2-byte result comes back over the reverse link with its
    # 0.25 s latency: 0.25 + 2 = 2.25 s.
    sc = scenario([node("d", "device"), node("e", "edge", 4.0)],
                  [link("d", "e", latency=0.25)],
                  {"m": cuts((5, 0), (3, 2), (2, 10))},
                  [{"device": "d", "model": "m", "arrival": 1.0}])
    res = simulate(sc, plan_of(TaskPlan("t0", ("d", "e"), (1,))))
    assert timeline(res, "t0") == [("compute", "d", 1, 3), ("uplink", "d->e", 3, 6.25),
                                   ("compute", "e", 6.25, 8.25), ("return", "e->d", 8.25, 10.5)]
    assert res.tasks[0].latency == 9.5 and res.tasks[0].offloaded


def test_constant_result_return_is_a_pure_delay():
    sc = scenario([node("d", "device"), node("e", "edge")], [link("d", "e")],
                  {"m": cuts((1, 0), (1, 2))},
                  [{"device": "d", "model": "m"}, {"device": "d", "model": "m"}],
                  result_return=0.5)
    res = simulate(sc, plan_of(*(TaskPlan(t.id, ("d", "e"), (0,)) for t in sc.tasks)))
    # both uplinks run at once (dedicated link), both return delays overlap
    assert timeline(res, "t0")[-1] == ("return", None, 3, 3.5)
    assert timeline(res, "t1")[-1] == ("return", None, 5, 5.5)
    assert "e->d" not in res.utilisation()


def test_local_plan_has_one_stage_and_no_transfer():
    sc = scenario([node("d", "device", 2.0), node("e", "edge")], [link("d", "e")],
                  {"m": cuts((1, 0), (1, 6))}, [{"device": "d", "model": "m", "arrival": 2}])
    res = simulate(sc, plan_of(TaskPlan("t0", ("d",))))
    assert timeline(res, "t0") == [("compute", "d", 2, 5)]
    assert not res.tasks[0].offloaded


# --------------------------------------------------------------------------- three tiers
def _three_tier(direct_return: bool):
    links = [link("d", "e"), link("e", "c", 16.0)]
    if direct_return:
        links.append(link("c", "d", 4.0, symmetric=False))
    return scenario([node("d", "device"), node("e", "edge", 2.0), node("c", "cloud", 8.0)],
                    links, {"m": cuts((4, 0), (2, 1), (4, 5), (1, 21))},
                    [{"device": "d", "model": "m"}])


def test_three_tier_chain_returns_back_along_the_chain():
    res = simulate(_three_tier(False), plan_of(TaskPlan("t0", ("d", "e", "c"), (1, 2))))
    # d: 1 FLOP = 1 s; d->e 2 B = 2 s; e: 4 FLOPs / 2 = 2 s; e->c 4 B at 16 bit/s = 2 s;
    # c: 16 FLOPs / 8 = 2 s; output 1 B back c->e (16 bit/s: 0.5 s) then e->d (8 bit/s: 1 s).
    assert timeline(res, "t0") == [
        ("compute", "d", 0, 1), ("uplink", "d->e", 1, 3), ("compute", "e", 3, 5),
        ("hop2", "e->c", 5, 7), ("compute", "c", 7, 9), ("return", "c->e", 9, 9.5),
        ("return", "e->d", 9.5, 10.5)]


def test_three_tier_chain_uses_a_direct_return_link():
    res = simulate(_three_tier(True), plan_of(TaskPlan("t0", ("d", "e", "c"), (1, 2))))
    assert timeline(res, "t0")[-1] == ("return", "c->d", 9, 11)  # 1 B at 4 bit/s


def test_empty_edge_piece_relays_without_compute():
    # cuts (1, 1): the edge runs nothing, it only forwards the activation to the cloud
    res = simulate(_three_tier(False), plan_of(TaskPlan("t0", ("d", "e", "c"), (1, 1))))
    names = [(s[0], s[1]) for s in timeline(res, "t0")]
    assert names == [("compute", "d"), ("uplink", "d->e"), ("hop2", "e->c"), ("compute", "c"),
                     ("return", "c->e"), ("return", "e->d")]
    assert timeline(res, "t0")[2] == ("hop2", "e->c", 3, 4)  # 2 B at 16 bit/s


# --------------------------------------------------------------------------- concurrency
def test_concurrency_two():
    sc = scenario([node("d", "device"), node("e", "edge", concurrency=2)], [link("d", "e")],
                  {"m": cuts((0, 0), (0, 2))},
                  [{"device": "d", "model": "m"} for _ in range(3)], result_return=0)
    res = simulate(sc, plan_of(*(TaskPlan(t.id, ("d", "e"), (0,)) for t in sc.tasks)))
    starts = [[s.start for s in t.stages if s.resource == "e"][0] for t in res.tasks]
    assert starts == [0, 0, 2] and res.latencies.tolist() == [2, 2, 4]
    assert res.capacity["e"] == 2 and res.utilisation()["e"] == pytest.approx(6 / (4 * 2))


def test_unlimited_concurrency():
    sc = scenario([node("d", "device"), node("e", "edge", concurrency=None)], [link("d", "e")],
                  {"m": cuts((0, 0), (0, 2))},
                  [{"device": "d", "model": "m"} for _ in range(5)], result_return=0)
    res = simulate(sc, plan_of(*(TaskPlan(t.id, ("d", "e"), (0,)) for t in sc.tasks)))
    assert res.latencies.tolist() == [2.0] * 5


def test_device_runs_one_task_at_a_time():
    sc = scenario([node("d", "device")], [], {"m": cuts((1, 0), (1, 3))},
                  [{"device": "d", "model": "m", "arrival": a} for a in (0, 1, 1)])
    res = simulate(sc, plan_of(*(TaskPlan(t.id, ("d",)) for t in sc.tasks)))
    assert [(t.stages[0].start, t.finish) for t in res.tasks] == [(0, 3), (3, 6), (6, 9)]


# --------------------------------------------------------------------------- shared links
def test_fifo_link_serialises_transfers():
    sc = scenario([node("d", "device"), node("e", "edge", 1e9)],
                  [link("d", "e", sharing="fifo")],
                  {"m": cuts((2, 0), (1, 1e-9))},
                  [{"device": "d", "model": "m"}, {"device": "d", "model": "m"}], result_return=0)
    res = simulate(sc, plan_of(*(TaskPlan(t.id, ("d", "e"), (0,)) for t in sc.tasks)))
    assert timeline(res, "t0")[0] == ("uplink", "d->e", 0, 2)
    assert timeline(res, "t1")[0] == ("uplink", "d->e", 2, 4)


def _reserved(pool_capacity: float):
    return scenario([node("d0", "device"), node("d1", "device"), node("e", "edge", 1e9)],
                    [link("d0", "e", sharing="reserved", pool="down"),
                     link("d1", "e", sharing="reserved", pool="down")],
                    {"m": cuts((1, 0), (1, 1e-9))},
                    [{"device": "d0", "model": "m"}, {"device": "d1", "model": "m", "arrival": 0.25}],
                    pools={"down": pool_capacity}, result_return=0)


def test_reserved_pool_blocks_until_bandwidth_frees():
    # each transfer reserves the full 8 bit/s of its link; the pool holds 10, so the second waits
    res = simulate(_reserved(10.0), plan_of(TaskPlan("t0", ("d0", "e"), (0,), bandwidth=(8.0,)),
                                            TaskPlan("t1", ("d1", "e"), (0,), bandwidth=(8.0,))))
    assert timeline(res, "t0")[0] == ("uplink", "d0->e", 0, 1)
    assert timeline(res, "t1")[0] == ("uplink", "d1->e", 1, 2)


def test_reserved_pool_shared_when_it_fits():
    # 4 bit/s each: 1 byte takes 2 s, both fit in the pool of 10 and run side by side
    res = simulate(_reserved(10.0), plan_of(TaskPlan("t0", ("d0", "e"), (0,), bandwidth=(4.0,)),
                                            TaskPlan("t1", ("d1", "e"), (0,), bandwidth=(4.0,))))
    assert timeline(res, "t0")[0] == ("uplink", "d0->e", 0, 2)
    assert timeline(res, "t1")[0] == ("uplink", "d1->e", 0.25, 2.25)


def test_reserved_rate_above_link_cap_or_pool_is_infeasible():
    with pytest.raises(InfeasiblePlanError, match="exceeds the cap"):
        simulate(_reserved(10.0), plan_of(TaskPlan("t0", ("d0", "e"), (0,), bandwidth=(9.0,)),
                                          TaskPlan("t1", ("d1", "e"), (0,))))
    with pytest.raises(InfeasiblePlanError, match="pool 'down'"):
        simulate(_reserved(6.0), plan_of(TaskPlan("t0", ("d0", "e"), (0,), bandwidth=(8.0,)),
                                         TaskPlan("t1", ("d1", "e"), (0,), bandwidth=(2.0,))))


def test_a_plan_without_a_rate_reserves_at_most_its_pool():
    # links cap 8 bit/s, pool 4: with no rate in the plan each transfer reserves the pool's 4
    # (not the cap, which could never fit), so 1 byte takes 2 s and the second waits its turn
    res = simulate(_reserved(4.0), plan_of(TaskPlan("t0", ("d0", "e"), (0,)),
                                           TaskPlan("t1", ("d1", "e"), (0,))))
    assert timeline(res, "t0")[0] == ("uplink", "d0->e", 0, 2)
    assert timeline(res, "t1")[0] == ("uplink", "d1->e", 2, 4)


# --------------------------------------------------------------------------- divisible node
def _divisible():
    return scenario([node("d0", "device"), node("d1", "device"),
                     node("c", "cloud", 10.0, divisible=True, concurrency=None)],
                    [link("d0", "c", 1e9), link("d1", "c", 1e9)],
                    {"m": cuts((0, 0), (0, 10))},
                    [{"device": "d0", "model": "m"}, {"device": "d0", "model": "m"},
                     {"device": "d1", "model": "m"}], result_return=0)


def test_divisible_share_sets_speed_and_isolates_groups():
    sc = _divisible()
    plan = plan_of(TaskPlan("t0", ("d0", "c"), (0,), share=0.5),
                   TaskPlan("t1", ("d0", "c"), (0,), share=0.5),
                   TaskPlan("t2", ("d1", "c"), (0,), share=0.25))
    res = simulate(sc, plan)
    # d0's share: 10 FLOPs at 0.5 x 10 FLOP/s = 2 s, its two tasks one after the other;
    # d1's share of 0.25 is its own server: 4 s, in parallel with d0's.
    assert timeline(res, "t0")[1] == ("compute", "c#d0", 0, 2)
    assert timeline(res, "t1")[1] == ("compute", "c#d0", 2, 4)
    assert timeline(res, "t2")[1] == ("compute", "c#d1", 0, 4)


def test_divisible_share_errors():
    sc = _divisible()
    with pytest.raises(InfeasiblePlanError, match="add up to"):
        simulate(sc, plan_of(TaskPlan("t0", ("d0", "c"), (0,), share=0.8),
                             TaskPlan("t1", ("d0", "c"), (0,), share=0.8),
                             TaskPlan("t2", ("d1", "c"), (0,), share=0.3)))
    with pytest.raises(InfeasiblePlanError, match="two shares"):
        simulate(sc, plan_of(TaskPlan("t0", ("d0", "c"), (0,), share=0.5),
                             TaskPlan("t1", ("d0", "c"), (0,), share=0.4),
                             TaskPlan("t2", ("d1", "c"), (0,), share=0.1)))
    with pytest.raises(InfeasiblePlanError, match="must give a share"):
        simulate(sc, plan_of(*(TaskPlan(t.id, (t.device, "c"), (0,)) for t in sc.tasks)))


# --------------------------------------------------------------------------- release, priority
def test_release_delays_the_first_stage():
    sc = scenario([node("d", "device")], [], {"m": cuts((1, 0), (1, 1))},
                  [{"device": "d", "model": "m", "arrival": 1.0},
                   {"device": "d", "model": "m", "arrival": 1.0}])
    res = simulate(sc, plan_of(TaskPlan("t0", ("d",), release=3.0), TaskPlan("t1", ("d",))))
    assert timeline(res, "t0") == [("compute", "d", 3, 4)]
    assert timeline(res, "t1") == [("compute", "d", 1, 2)]
    assert res.tasks[0].latency == 3.0  # latency counts from arrival, not from release
    # a release before the arrival is the arrival
    res = simulate(sc, plan_of(TaskPlan("t0", ("d",), release=0.0), TaskPlan("t1", ("d",))))
    assert timeline(res, "t0") == [("compute", "d", 1, 2)]


def test_priority_changes_the_order():
    sc = scenario([node("d", "device")], [], {"m": cuts((1, 0), (1, 1)), "n": cuts((1, 0), (1, 2))},
                  [{"device": "d", "model": "m"}, {"device": "d", "model": "n"}])
    fifo = simulate(sc, plan_of(TaskPlan("t0", ("d",)), TaskPlan("t1", ("d",))))
    assert [t.finish for t in fifo.tasks] == [1, 3]
    first = simulate(sc, plan_of(TaskPlan("t0", ("d",)), TaskPlan("t1", ("d",), priority=-1)))
    assert [t.finish for t in first.tasks] == [3, 2]


def test_ties_first_generated_first_served_and_earlier_arrival_first():
    # seed 000 section 2.2: tasks reaching a server in the same instant are served in generation
    # order. t1 (arrived at 0) and t2 (arrived at 0.5) both reach the edge at 2: t1 goes first.
    sc = scenario([node("d0", "device"), node("d1", "device"), node("e", "edge")],
                  [link("d0", "e"), link("d1", "e")],
                  {"slow": cuts((2, 0), (0, 1)), "fast": cuts((1.5, 0), (0, 1))},
                  [{"device": "d0", "model": "slow", "arrival": 0},
                   {"device": "d1", "model": "fast", "arrival": 0.5}], result_return=0)
    res = simulate(sc, plan_of(TaskPlan("t0", ("d0", "e"), (0,)),
                               TaskPlan("t1", ("d1", "e"), (0,))))
    assert timeline(res, "t0")[1] == ("compute", "e", 2, 3)
    assert timeline(res, "t1")[1] == ("compute", "e", 3, 4)
    # same arrival, same readiness: generation order decides
    sc2 = scenario([node("d0", "device"), node("d1", "device"), node("e", "edge")],
                   [link("d0", "e"), link("d1", "e")], {"m": cuts((1, 0), (0, 1))},
                   [{"id": "x", "device": "d1", "model": "m"},
                    {"id": "y", "device": "d0", "model": "m"}], result_return=0)
    res2 = simulate(sc2, plan_of(TaskPlan("x", ("d1", "e"), (0,)), TaskPlan("y", ("d0", "e"), (0,))))
    assert timeline(res2, "x")[1] == ("compute", "e", 1, 2)
    assert timeline(res2, "y")[1] == ("compute", "e", 2, 3)


# --------------------------------------------------------------------------- seed 003, Fig. 2
def _jps_two_jobs():
    """Seed 003 section 1: two identical jobs; cut after l1 -> local 4, offload 6; after l2 ->
    local 7, offload 2; cloud time negligible; one shared uplink."""
    return scenario_from_dict({
        "objective": "makespan", "result_return": 0,
        "nodes": [{"name": "pi", "kind": "device", "compute": {"table": True}},
                  {"name": "cloud", "kind": "cloud", "compute": {"table": True},
                   "concurrency": None}],
        "links": [{"src": "pi", "dst": "cloud", "bandwidth": 8, "sharing": "fifo"}],
        "models": {"m": {"cuts": [{"transfer_bytes": 100}, {"transfer_bytes": 6},
                                  {"transfer_bytes": 2}, {"transfer_bytes": 0}],
                         "table": {"pi": {"head": [0, 4, 7, 100]},
                                   "cloud": {"tail": [0, 0, 0, 0]}}}},
        "workload": {"generators": [{"kind": "batch", "devices": ["pi"], "model": "m",
                                     "count": 2}]}})


@pytest.mark.parametrize("cut_a, cut_b, prio_b, makespan", [
    (1, 1, 0, 16.0),    # both after l1: local 4 + 4, uplink 6 + 6 from t=4
    (2, 2, 0, 16.0),    # both after l2: local 7 + 7, last uplink 14..16
    (1, 2, 0, 13.0),    # Johnson order (f < g first): 0-4, 4-11 | uplink 4-10, 11-13
    (2, 1, 0, 17.0),    # the other order: 0-7, 7-11 | uplink 7-9, 11-17
    (2, 1, -1, 13.0),   # ... fixed by priority: the plan's order wins over generation order
])
def test_seed003_two_job_example(cut_a, cut_b, prio_b, makespan):
    sc = _jps_two_jobs()
    plan = plan_of(TaskPlan("t0", ("pi", "cloud"), (cut_a,)),
                   TaskPlan("t1", ("pi", "cloud"), (cut_b,), priority=prio_b))
    res = simulate(sc, plan)
    assert res.makespan == makespan == res.objective("makespan")
    # Proposition 4.1 of seed 003 for the order actually run
    f = {1: 4.0, 2: 7.0}
    g = {1: 6.0, 2: 2.0}
    order = sorted(res.tasks, key=lambda t: t.stages[0].start)
    x = [{"t0": cut_a, "t1": cut_b}[t.id] for t in order]
    prop = f[x[0]] + max(f[x[1]], g[x[0]]) + g[x[1]]
    assert res.makespan == prop


def test_seed003_jobs_use_device_then_link_in_pipeline():
    res = simulate(_jps_two_jobs(), plan_of(TaskPlan("t0", ("pi", "cloud"), (1,)),
                                            TaskPlan("t1", ("pi", "cloud"), (2,))))
    assert timeline(res, "t0")[:2] == [("compute", "pi", 0, 4), ("uplink", "pi->cloud", 4, 10)]
    assert timeline(res, "t1")[:2] == [("compute", "pi", 4, 11), ("uplink", "pi->cloud", 11, 13)]


# --------------------------------------------------------------------------- infeasible plans
def test_infeasible_plans_raise_and_never_drop_tasks():
    sc = scenario([node("d", "device"), node("e", "edge"), node("c", "cloud")], [link("d", "e")],
                  {"m": cuts((1, 0), (1, 1))},
                  [{"device": "d", "model": "m"}, {"device": "d", "model": "m"}])
    with pytest.raises(InfeasiblePlanError, match="decides no path for 1 task"):
        simulate(sc, plan_of(TaskPlan("t0", ("d",))))
    with pytest.raises(InfeasiblePlanError, match="no link from 'd' to 'c'"):
        simulate(sc, plan_of(TaskPlan("t0", ("d", "c"), (0,)), TaskPlan("t1", ("d",))))
    with pytest.raises(InfeasiblePlanError, match="'x'"):
        simulate(sc, plan_of(TaskPlan("t0", ("d", "x"), (0,)), TaskPlan("t1", ("d",))))
    with pytest.raises(InfeasiblePlanError, match="out of range"):
        simulate(sc, plan_of(TaskPlan("t0", ("d", "e"), (5,)), TaskPlan("t1", ("d",))))
    with pytest.raises(InfeasiblePlanError, match="first node must be its device"):
        simulate(sc, plan_of(TaskPlan("t0", ("e",)), TaskPlan("t1", ("d",))))


def test_plan_and_result_round_trip_through_json(tmp_path):
    sc = _jps_two_jobs()
    plan = plan_of(TaskPlan("t0", ("pi", "cloud"), (1,)),
                   TaskPlan("t1", ("pi", "cloud"), (2,), priority=1.0, release=0.5))
    plan.save(tmp_path / "p.json")
    again = Plan.load(tmp_path / "p.json")
    assert again.tasks == plan.tasks
    res = simulate(sc, again)
    res.save(tmp_path / "r.json")
    import json

    data = json.loads((tmp_path / "r.json").read_text())
    assert data["metrics"]["makespan_s"] == res.makespan
    assert [s["start"] for s in data["tasks"][1]["stages"]] == [4.0, 11.0, 13.0, 13.0]
