"""The compiled engine against the reference (pure-Python) engine: every stage's times equal.

Random stage graphs exercise what plans can produce and more: resources with 1, 2 or unlimited
slots, priorities, releases, pools (reserved bandwidth), zero-duration stages, pure delays, DAGs
with forks and joins, ties (times on a coarse grid, and offsets below the 1e-12 s same-instant
rule), and online arrivals decided when they happen. Scenario-level checks run every shipped
scenario and random scenarios through ``simulate`` with several planners.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from splitinfer.sim.engine import Engine
from splitinfer.system.stages import Stage
from splitinfer.testing.oracle_engine import Engine as Reference


def random_workload(seed: int):
    """A random engine workload: (slots, pools, tasks) where each task is a dict."""
    rng = np.random.default_rng([seed, 16])
    nres = int(rng.integers(1, 6))
    names = [f"r{int(x)}" for x in rng.permutation(50)[:nres]]
    slot_of = {n: [1, 1, 2, None][int(rng.integers(4))] for n in names}
    pools = {f"p{k}": float(rng.choice([1.0, 2.0, 3.0])) for k in range(int(rng.integers(0, 3)))}
    grid = float(rng.choice([0.5, 0.25, 1e-3]))

    def t(lo, hi):
        x = round(float(rng.uniform(lo, hi)) / grid) * grid
        if rng.random() < 0.1:
            x += float(rng.choice([1e-13, 5e-13, 3e-12]))
        return x

    def stages():
        n = int(rng.integers(0, 6)) if rng.random() < 0.95 else 0
        out = []
        for i in range(n):
            deps = tuple(sorted({int(d) for d in rng.integers(0, i, size=int(rng.integers(1, 3)))})
                         ) if i and rng.random() < 0.85 else ()
            res = None if rng.random() < 0.15 else names[int(rng.integers(nres))]
            pool = None
            amount = 0.0
            if pools and res is not None and rng.random() < 0.4:
                pool = list(pools)[int(rng.integers(len(pools)))]
                amount = float(rng.choice([0.5, 1.0, pools[pool]]))
            dur = 0.0 if rng.random() < 0.15 else t(0.0, 3.0)
            out.append(Stage(f"s{i}", "compute", res, res, dur, deps, pool, amount))
        return out

    shared = [stages() for _ in range(3)]
    tasks = []
    for k in range(int(rng.integers(1, 40))):
        st = shared[int(rng.integers(3))] if rng.random() < 0.4 else stages()
        arrival = t(0.0, 10.0)
        tasks.append({"id": k, "stages": st, "arrival": arrival,
                      "release": arrival + (t(0.0, 2.0) if rng.random() < 0.3 else 0.0),
                      "priority": float(rng.choice([0.0, 0.0, 1.0, -1.0, 2.5])),
                      "index": int(rng.integers(0, 5)) if rng.random() < 0.2 else k,
                      "online": bool(rng.random() < 0.5)})
    return slot_of, pools, tasks


def _run(cls, slot_of, pools, tasks, online: bool):
    eng = cls(slot_of.__getitem__, pools)
    for task in tasks:
        if online and task["online"]:
            def supply(now, task=task):
                return task["stages"], max(now, task["release"]), task["priority"]
            eng.add_arrival(task["id"], task["arrival"], task["index"], supply)
        else:
            eng.add_task(task["id"], task["stages"], task["arrival"], task["release"],
                         task["priority"], task["index"])
    eng.run()
    return eng


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
    slot_of, pools, tasks = random_workload(seed)
    for online in (False, True):
        ref = _run(Reference, slot_of, pools, tasks, online)
        new = _run(Engine, slot_of, pools, tasks, online)
        assert_same(new, ref, f"seed {seed} online={online}")


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
