"""Baselines local / edge / cloud / neurosurgeon on hand-computed timelines."""

from __future__ import annotations

import pytest

from splitinfer.errors import NotApplicableError
from splitinfer.planners import get_planner
from splitinfer.planners.classic.neurosurgeon import best_single_cut
from splitinfer.planners.common.options import chain_options
from splitinfer.sim import simulate
from splitinfer.system import scenario_from_dict
from splitinfer.system.stages import no_wait_latency
from splitinfer.testing.random import random_chain_scenario

# d: 1 GFLOP/s, e: 10 GFLOP/s (one at a time), c: 100 GFLOP/s (unlimited); d-e 8 Mbit/s FIFO,
# e-c 80 Mbit/s; model: raw input 1 MB, cut 1 after 0.1 GFLOP (10 kB), output 1 kB at 2 GFLOP.
BASE = {
    "nodes": [{"name": "d", "kind": "device", "compute": {"flops_per_s": 1e9}},
              {"name": "e", "kind": "edge", "compute": {"flops_per_s": 1e10}},
              {"name": "c", "kind": "cloud", "compute": {"flops_per_s": 1e11}, "concurrency": None}],
    "links": [{"src": "d", "dst": "e", "bandwidth": 8e6, "sharing": "fifo"},
              {"src": "e", "dst": "c", "bandwidth": 8e7}],
    "models": {"m": {"cuts": [{"transfer_bytes": 1e6, "head_flops": 0},
                              {"transfer_bytes": 1e4, "head_flops": 1e8},
                              {"transfer_bytes": 1e3, "head_flops": 2e9}]}},
    "workload": {"tasks": [{"id": "a", "device": "d", "model": "m", "arrival": 0.0},
                           {"id": "b", "device": "d", "model": "m", "arrival": 0.5}]},
}


def _sc(**changes):
    return scenario_from_dict({**BASE, **changes})


def _latencies(sc, name, **params):
    r = simulate(sc, get_planner(name, **params).plan(sc))
    return {t.id: round(t.latency, 9) for t in r.tasks}


def test_local_runs_back_to_back_on_the_device():
    # a: 0 -> 2; b waits for the device: 2 -> 4, latency 3.5
    assert _latencies(_sc(), "local") == {"a": 2.0, "b": 3.5}


def test_edge_sends_raw_input_and_queues_on_the_fifo_uplink():
    # a: uplink 0-1, edge 1-1.2, return 1 kB 1.2-1.201; b: uplink 1-2, edge 2-2.2, return -2.201
    sc = _sc()
    plan = get_planner("edge").plan(sc)
    assert {tp.cuts for tp in plan.tasks.values()} == {(0,)}
    assert _latencies(sc, "edge") == {"a": 1.201, "b": 1.701}


def test_cloud_goes_through_the_edge_when_not_linked_directly():
    sc = _sc()
    tp = get_planner("cloud").plan(sc)["a"]
    assert tp.nodes == ("d", "e", "c") and tp.cuts == (0, 0)
    # uplink 1 + hop 0.1 + cloud 0.02 + return c->e 1e-4 + e->d 1e-3
    assert no_wait_latency(sc, sc.task("a"), tp) == pytest.approx(1.1211)


def test_cloud_is_not_applicable_without_a_cloud():
    sc = _sc(nodes=BASE["nodes"][:2], links=BASE["links"][:1])
    with pytest.raises(NotApplicableError, match="reaches no cloud"):
        get_planner("cloud").plan(sc)


def test_neurosurgeon_picks_the_known_best_cut():
    # local 2.0; raw input to e 1.201; cut 1 to e: 0.1 + 0.01 + 0.19 + 0.001 = 0.301
    sc = _sc()
    plan = get_planner("neurosurgeon").plan(sc)
    assert plan["a"].nodes == ("d", "e") and plan["a"].cuts == (1,)
    assert plan.info["predicted_latency"]["a"] == pytest.approx(0.301)
    # b arrives at 0.5, when a no longer holds the device, the uplink or the edge
    assert _latencies(sc, "neurosurgeon") == {"a": 0.301, "b": 0.301}


def test_neurosurgeon_three_tier_extension():
    # d 0.1, uplink 0.01, hop e->c 1e4 B at 80 Mbit/s 0.001, cloud 1.9 GFLOP 0.019,
    # return c->e 1e-4 and e->d 1e-3: 0.1311 beats 0.301
    sc = _sc()
    tp = get_planner("neurosurgeon", three_tier=True).plan(sc)["a"]
    assert (tp.nodes, tp.cuts) == (("d", "e", "c"), (1, 1))
    assert no_wait_latency(sc, sc.task("a"), tp) == pytest.approx(0.1311)


def test_neurosurgeon_is_blind_to_other_tasks():
    # ten tasks at once: every one gets the same (alone-best) cut although they queue
    tasks = [{"id": f"t{i}", "device": "d", "model": "m", "arrival": 0.0} for i in range(10)]
    sc = _sc(workload={"tasks": tasks})
    plan = get_planner("neurosurgeon").plan(sc)
    assert {(tp.nodes, tp.cuts) for tp in plan.tasks.values()} == {(("d", "e"), (1,))}


def test_neurosurgeon_equals_brute_force_over_single_cuts():
    for seed in range(8):
        sc = random_chain_scenario(seed)
        plan = get_planner("neurosurgeon").plan(sc)
        for t in sc.tasks:
            best = min(no_wait_latency(sc, t, tp) for tp in chain_options(sc, t, three_tier=False))
            assert no_wait_latency(sc, t, plan[t.id]) == pytest.approx(best, rel=1e-12)
            assert plan[t.id].nodes[1:2] in ((), *[(s,) for s in sc.reachable_servers(t.device)])


def test_neurosurgeon_ties_prefer_least_offloading():
    # a free network and an equally fast server: every option takes 2 s; local wins the tie
    sc = _sc(nodes=[BASE["nodes"][0], {"name": "e", "kind": "edge", "compute": {"flops_per_s": 1e9}}],
             links=[{"src": "d", "dst": "e", "bandwidth": 1e30}])
    tp, value = best_single_cut(sc, sc.task("a"))
    assert tp.is_local and value == pytest.approx(2.0)


def test_neurosurgeon_gives_equal_shares_of_a_divisible_cloud():
    nodes = [BASE["nodes"][0], {"name": "d2", "kind": "device", "compute": {"flops_per_s": 1e9}},
             {"name": "c", "kind": "cloud", "compute": {"flops_per_s": 1e11}, "divisible": True}]
    links = [{"src": "d", "dst": "c", "bandwidth": 8e7}, {"src": "d2", "dst": "c", "bandwidth": 8e7}]
    tasks = [{"id": "a", "device": "d", "model": "m"}, {"id": "b", "device": "d2", "model": "m"}]
    sc = _sc(nodes=nodes, links=links, workload={"tasks": tasks})
    plan = get_planner("neurosurgeon").plan(sc)
    assert {tp.share for tp in plan.tasks.values()} == {0.5}
    # cut 1: 0.1 + 0.001 uplink + 1.9 GFLOP at half of 100 GFLOP/s 0.038 + return 1e-4
    assert plan.info["predicted_latency"]["a"] == pytest.approx(0.1391)
    r = simulate(sc, plan)
    assert r.mean_latency == pytest.approx(0.1391)
