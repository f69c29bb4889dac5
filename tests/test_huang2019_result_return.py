"""DeePar's planners under a constant ``result_return`` (issue 17 item 8).

Their plans return the result as a ``kind="return"`` step, so a scenario's constant return delay
applies to them as to every planner: no task of theirs may finish before the best no-wait
latency any plan of the scenario can reach (a brute force over every device/edge/cloud cut pair,
timed by the simulator's chain stages at the links' full rates, with no contention).
"""

from __future__ import annotations

import pytest

from splitinfer.planners import get_planner
from splitinfer.planners.huang2019.delay import toy_three_tier
from splitinfer.sim import simulate
from splitinfer.system import TaskPlan
from splitinfer.system.load import scenario_from_dict
from splitinfer.system.stages import no_wait_latency
from splitinfer.testing.family_huang2019 import small_huang2019_dict

PLANNERS = ["deepar", "deepar-exact", "deepar-edge-only", "deepar-cloud-only"]


def _best_no_wait(sc, task):
    """The least no-wait latency of ``task`` over every chain plan: device only, device + edge
    (cut c1), device + edge + cloud (cuts c1 <= c2; c1 = c2 is a relaying edge)."""
    last = sc.models[task.model].last_cut
    cloud = [n for n in sc.nodes if sc.nodes[n].kind == "cloud"]
    plans = [TaskPlan(task.id, (task.device,), ())]
    for e in sc.edges:
        if not sc.has_link(task.device, e):
            continue
        plans += [TaskPlan(task.id, (task.device, e), (c1,)) for c1 in range(last)]
        for c in cloud:
            if sc.has_link(e, c):
                plans += [TaskPlan(task.id, (task.device, e, c), (c1, c2))
                          for c1 in range(last) for c2 in range(c1, last)]
    return min(no_wait_latency(sc, task, tp) for tp in plans)


def _scenarios():
    out = []
    for ret in (0.0, 0.05, 0.4):
        d = toy_three_tier(tasks=3)
        d["result_return"] = ret
        out.append(pytest.param(d, id=f"toy-ret{ret}"))
    for seed in range(4):
        d = small_huang2019_dict(seed, max_tasks=4)
        d["result_return"] = 0.2
        out.append(pytest.param(d, id=f"small{seed}-ret0.2"))
    return out


@pytest.mark.parametrize("planner", PLANNERS)
@pytest.mark.parametrize("scenario", _scenarios())
def test_never_below_the_brute_force_optimum(planner, scenario):
    sc = scenario_from_dict(scenario)
    result = simulate(sc, get_planner(planner).plan(sc))
    tasks = {t.id: t for t in sc.tasks}
    for r in result.tasks:
        assert r.latency >= _best_no_wait(sc, tasks[r.id]) * (1 - 1e-9) - 1e-12, r.id
        if r.offloaded:  # a result computed away from the device comes back by the rule
            assert r.latency >= sc.result_return


def test_the_return_is_the_scenarios_constant():
    d = toy_three_tier(tasks=1)
    d["result_return"] = 0.4
    sc = scenario_from_dict(d)
    plan = get_planner("deepar").plan(sc)
    tp = plan.tasks[sc.tasks[0].id]
    assert tp.steps is not None and tp.steps[-1].kind == "return"
    assert [s.label for s in tp.steps].count("return") == 1
    planner = get_planner("deepar")
    planner.plan(sc)
    (decision,) = planner.decisions.values()
    assert simulate(sc, plan).tasks[0].latency == pytest.approx(decision["latency"], rel=1e-12)
