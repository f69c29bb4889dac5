"""The compiled engine against the reference (pure-Python) engine: every stage's times equal.

Random stage graphs exercise what plans can produce and more: resources with 1, 2 or unlimited
slots, priorities, releases, pools (reserved bandwidth), zero-duration stages, pure delays, DAGs
with forks and joins, ties (times on a coarse grid, and offsets below the 1e-12 s same-instant
rule), and online arrivals decided when they happen. Scenario-level checks run one scenario of
every conformance family through ``simulate`` / ``simulate_online`` with every planner that
applies. ``benchmarks/bench_sim_oracle.py`` runs the full-size comparison (500 workloads, every
shipped scenario).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from splitinfer.sim.engine import Engine
from splitinfer.testing.oracle_engine import Engine as Reference
from splitinfer.testing.oracle_engine import compare_engines, random_workload


def assert_same(a, b, where: str) -> None:
    assert a.finish.keys() == b.finish.keys(), where
    for tid in a.finish:
        assert math.isclose(a.finish[tid], b.finish[tid], abs_tol=1e-9), (where, tid)
        for name in ("ready", "start", "end"):
            x, y = getattr(a, name)[tid], getattr(b, name)[tid]
            assert len(x) == len(y), (where, tid, name)
            assert np.allclose(x, y, rtol=0, atol=1e-9, equal_nan=True), (where, tid, name, x, y)
    assert a.finish_order == b.finish_order, where
    assert a.events == b.events, where


@pytest.mark.parametrize("seed", range(60))
def test_random_stage_graphs_match_reference(seed):
    for online in (False, True):
        new, ref = compare_engines(Engine, seed, online)
        assert_same(new, ref, f"seed {seed} online={online}")


def test_the_comparison_can_fail():
    """A changed duration is seen (the check is not vacuous)."""
    slot_of, pools, tasks = random_workload(3)
    ref = Reference(slot_of.__getitem__, pools)
    new = Engine(slot_of.__getitem__, pools)
    changed = next(i for i, task in enumerate(tasks) if task["stages"])
    for i, task in enumerate(tasks):
        stages = task["stages"]
        if i == changed:
            stages = [replace(stages[0], duration=stages[0].duration + 1e-6), *stages[1:]]
        for eng, st in ((ref, task["stages"]), (new, stages)):
            eng.add_task(task["id"], st, task["arrival"], task["release"], task["priority"],
                         task["index"])
    ref.run()
    new.run()
    with pytest.raises(AssertionError):
        assert_same(new, ref, "changed")


def _family_cases():
    from splitinfer.testing.families import get_family, list_families, planners_for

    return [(fam, seed, name) for fam in list_families() for seed in get_family(fam).seeds[:1]
            for name in planners_for(fam)]


@pytest.mark.parametrize("fam,seed,name", _family_cases())
def test_family_scenarios_match_reference(fam, seed, name):
    """Every scenario family (pools, shares, priorities, releases, returns) x every planner."""
    from splitinfer.errors import NotApplicableError
    from splitinfer.planners import get_planner
    from splitinfer.testing.families import get_family
    from splitinfer.testing.oracle_engine import max_difference

    family = get_family(fam)
    planner = get_planner(name, **family.planner_params(name))
    try:
        worst = max_difference(family.make(seed), planner)
    except NotApplicableError:
        pytest.skip(f"{name} does not apply to {fam}")
    assert worst <= 1e-9


@pytest.mark.parametrize("fam,seed,name", _family_cases())
def test_columnar_plans_simulate_the_same(fam, seed, name, tmp_path):
    """A plan kept as arrays (and saved/loaded as .npz) simulates exactly as its TaskPlans."""
    from splitinfer.errors import NotApplicableError
    from splitinfer.planners import get_planner
    from splitinfer.sim import simulate
    from splitinfer.system.plan import ChainColumns, Plan
    from splitinfer.testing.families import get_family

    family = get_family(fam)
    sc = family.make(seed)
    try:
        plan = get_planner(name, **family.planner_params(name)).plan(sc)
    except NotApplicableError:
        pytest.skip(f"{name} does not apply to {fam}")
    cols = ChainColumns.from_taskplans([plan.tasks[t.id] for t in sc.tasks])
    if cols is None:
        pytest.skip("not a plain chain plan")
    columnar = Plan.from_columns(plan.planner, cols)
    columnar.save(tmp_path / "p.npz")
    loaded = Plan.load(tmp_path / "p.npz")
    want = simulate(sc, plan).timeline
    for p in (columnar, loaded):
        got = simulate(sc, p).timeline
        assert np.array_equal(got.finish, want.finish)
        for col in ("ready", "start", "end"):
            assert np.array_equal(getattr(got, col), getattr(want, col)), col
        names = [None, *want.resources]
        assert [[None, *got.resources][r + 1] for r in got.resource] == \
            [names[r + 1] for r in want.resource]
        assert [got.labels[x] for x in got.label] == [want.labels[x] for x in want.label]


@pytest.mark.parametrize("name,params", [("gspi-online", {}), ("gspi-online", {"rate": "estimate"}),
                                         ("neurosurgeon-online", {})])
def test_online_planners_on_traced_links_match_reference(name, params):
    """On links that follow a bandwidth trace an online planner sees the rate at the decision and
    the measured throughputs: the reference run gives it the same State (the full oracle bench
    found the two engines' runs of trace-drop deciding differently when it did not)."""
    from splitinfer.planners import get_planner
    from splitinfer.system import load_scenario
    from splitinfer.testing.oracle_engine import max_difference

    sc = load_scenario("trace-drop")
    assert sc.traced_links
    assert max_difference(sc, get_planner(name, **params)) <= 1e-9
