"""The CP-SAT ``exact`` planner against brute force, its bound, gap reporting and limits."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import pytest

from splitinfer.errors import NotApplicableError
from splitinfer.planners import get_planner, planner_info
from splitinfer.planners.exact.model import task_options
from splitinfer.sim import simulate
from splitinfer.system import Plan, scenario_from_dict
from splitinfer.testing.families import get_family
from splitinfer.testing.random import random_chain_scenario

#: a reproducible work budget that proves these instances optimal, with a wall clock that a
#: loaded CI machine cannot hit
PROVE = {"work_limit": 0.2, "time_limit_s": 300.0}


def _brute_force(sc):
    """Best simulated objective over every option combination x every priority order."""
    options = [[o.plan for o in task_options(sc, t)] for t in sc.tasks]
    best = math.inf
    for combo in itertools.product(*options):
        for order in itertools.permutations(range(len(sc.tasks))):
            plans = {tp.task: replace(tp, priority=float(order.index(k)))
                     for k, tp in enumerate(combo)}
            best = min(best, simulate(sc, Plan("bf", plans)).objective(sc.objective))
    return best


def _small_seeds(count, limit=2500):
    """Seeds of random-chain scenarios small enough to brute-force (3 tasks at most)."""
    out, seed = [], 0
    while len(out) < count:
        sc = random_chain_scenario(seed, max_tasks=3)
        size = math.prod(len(task_options(sc, t)) for t in sc.tasks) * math.factorial(len(sc.tasks))
        if size <= limit:
            out.append(seed)
        seed += 1
    return out


SMALL = _small_seeds(6)


@pytest.mark.parametrize("seed", SMALL)
def test_exact_equals_brute_force(seed):
    sc = random_chain_scenario(seed, max_tasks=3)
    plan = get_planner("exact", **PROVE).plan(sc)
    value = simulate(sc, plan).objective(sc.objective)
    best = _brute_force(sc)
    assert plan.info["optimal"]
    assert plan.info["bound"] <= best * (1 + 1e-9)
    # exact may also use release times (idle time on purpose), so it can only be better
    assert value <= best * (1 + 1e-6)
    assert value == pytest.approx(best, rel=1e-6)
    assert value == pytest.approx(plan.info["objective"], rel=1e-12)


def test_simulated_objective_reproduces_the_solver():
    for seed in get_family("random-chain").seeds:
        sc = random_chain_scenario(seed)
        info = get_planner("exact", **PROVE).plan(sc).info
        assert info["optimal"], seed
        assert info["bound"] <= info["objective"] * (1 + 1e-12)
        assert info["objective"] == pytest.approx(info["solver_objective"], rel=1e-5), seed
        assert info["gap"] < 1e-5


def test_flow_shop_makespan_of_seed_003_fig_2():
    # seed 003 section 1: two jobs, (local, offload) = (4, 6) at cut 1 and (7, 2) at cut 2 on a
    # shared channel; the same cut gives 16, different cuts 13 (and 13 is optimal)
    sc = scenario_from_dict({"objective": "makespan", "result_return": 0,
        "nodes": [{"name": "pi", "kind": "device", "compute": {"table": True}},
                  {"name": "cloud", "kind": "cloud", "compute": {"table": True}, "concurrency": None}],
        "links": [{"src": "pi", "dst": "cloud", "bandwidth": 8, "sharing": "fifo"}],
        "models": {"m": {"cuts": [{"transfer_bytes": 99}, {"transfer_bytes": 6},
                                  {"transfer_bytes": 2}, {"transfer_bytes": 0}],
                         "table": {"pi": {"head": [0, 4, 7, 99]},
                                   "cloud": {"tail": [0, 0, 0, 0]}}}},
        "workload": {"tasks": [{"device": "pi", "model": "m"}, {"device": "pi", "model": "m"}]}})
    plan = get_planner("exact", **PROVE).plan(sc)
    assert plan.info["optimal"] and plan.info["objective"] == pytest.approx(13.0)
    assert plan.info["bound"] == pytest.approx(13.0, rel=1e-8)
    assert sorted(tp.cuts for tp in plan.tasks.values()) == [(1,), (2,)]
    assert simulate(sc, plan).makespan == pytest.approx(13.0)


def test_reserved_pool_serialises_transfers():
    # two devices, reserved uplinks of 8 Mbit/s in a pool of 8 Mbit/s: one upload at a time.
    # Each task: local 1 s, or raw 1 MB (1 s) + edge 0.01 s; best: one offloads, one runs locally
    sc = scenario_from_dict({
        "pools": {"air": 8e6},
        "nodes": [{"name": "d0", "kind": "device", "compute": {"flops_per_s": 1e9}},
                  {"name": "d1", "kind": "device", "compute": {"flops_per_s": 1e9}},
                  {"name": "e", "kind": "edge", "compute": {"flops_per_s": 1e11}, "concurrency": None}],
        "links": [{"src": "d0", "dst": "e", "bandwidth": 8e6, "sharing": "reserved", "pool": "air"},
                  {"src": "d1", "dst": "e", "bandwidth": 8e6, "sharing": "reserved", "pool": "air"}],
        "models": {"m": {"cuts": [{"transfer_bytes": 1e6}, {"transfer_bytes": 0, "head_flops": 1.2e9}]}},
        "workload": {"tasks": [{"device": "d0", "model": "m"}, {"device": "d1", "model": "m"}]}})
    plan = get_planner("exact", **PROVE).plan(sc)
    # offloading both: 1.012 and 2.012 (mean 1.512) > one local: (1.2 + 1.012) / 2 = 1.106
    assert plan.info["optimal"]
    assert plan.info["objective"] == pytest.approx(1.106)
    assert plan.info["objective"] == pytest.approx(_brute_force(sc), rel=1e-9)


@pytest.mark.parametrize("work", [1e-4, 3e-3])
def test_gap_is_reported_under_a_tiny_work_limit(work):
    sc = random_chain_scenario(16)  # 6 tasks, proven optimal after about 5e-3 work units
    plan = get_planner("exact", work_limit=work).plan(sc)
    info = plan.info
    assert not info["optimal"] and info["status"] in ("FEASIBLE", "UNKNOWN")
    assert 0 <= info["bound"] <= info["objective"]
    assert info["gap"] == pytest.approx((info["objective"] - info["bound"]) / info["objective"])
    assert info["gap"] > 0.01
    assert simulate(sc, plan).objective(sc.objective) == pytest.approx(info["objective"])
    full = get_planner("exact", **PROVE).plan(sc).info
    assert full["optimal"]
    assert info["bound"] <= full["objective"] * (1 + 1e-9)  # still a true lower bound
    assert full["objective"] <= info["objective"] * (1 + 1e-9)


def test_exact_is_registered_exact_and_deterministic():
    assert planner_info("exact").exact
    sc = random_chain_scenario(6)
    a = get_planner("exact", work_limit=0.002, seed=3).plan(sc)
    b = get_planner("exact", work_limit=0.002, seed=3).plan(sc)
    assert a.tasks == b.tasks and a.info == b.info


def test_exact_refuses_large_or_divisible_scenarios():
    sc = random_chain_scenario(1)
    with pytest.raises(NotApplicableError, match="max_tasks"):
        get_planner("exact", max_tasks=2).plan(sc)
    nodes = dict(sc.nodes)
    edge = sc.edges[0]
    nodes[edge] = replace(nodes[edge], divisible=True)
    with pytest.raises(NotApplicableError, match="divisible"):
        get_planner("exact").plan(replace(sc, nodes=nodes))


def test_three_tier_options_can_be_switched_off():
    sc = random_chain_scenario(1)
    plan = get_planner("exact", three_tier=False, **PROVE).plan(sc)
    assert all(len(tp.nodes) <= 2 for tp in plan.tasks.values())
    full = get_planner("exact", **PROVE).plan(sc)
    assert full.info["bound"] <= plan.info["objective"] * (1 + 1e-9)
