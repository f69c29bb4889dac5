"""Fidelity scenarios: one per paper key (plus the demo), each plannable by every planner listed
for it, with offloading that pays for the paper's own planner (devices paced slower than the
servers)."""

from __future__ import annotations

import pytest

from splitinfer.papers import PAPERS, paper_of
from splitinfer.planners import get_planner, list_planners
from splitinfer.runtime.fidelity import FIDELITY, fidelity_names, fidelity_scenario
from splitinfer.sim import simulate
from splitinfer.system.load import scenario_from_dict


def test_one_fidelity_scenario_per_paper_key_plus_the_demo():
    assert set(FIDELITY) == {"fidelity-demo"} | {f"fidelity-{k}" for k in PAPERS}
    for name, spec in FIDELITY.items():
        assert spec.name == name
        p = paper_of(name)
        assert (p.key if p else None) == spec.paper
        assert set(spec.planners) <= set(list_planners())
    assert fidelity_names()[0] == "fidelity-demo" and sorted(fidelity_names()) == sorted(FIDELITY)


def test_unknown_name_lists_the_scenarios():
    with pytest.raises(Exception, match="fidelity-li2022"):
        fidelity_scenario("fidelity-li2023")


def _offloaded(tp) -> bool:
    if tp.steps is not None:
        nodes = {s.node for s in tp.steps if s.node} | {s.dst for s in tp.steps if s.dst}
        return len(nodes) > 1
    return len(set(tp.nodes)) > 1


PAIRS = [(name, p) for name, spec in FIDELITY.items() for p in spec.planners]


@pytest.mark.parametrize(("name", "planner"), PAIRS, ids=[f"{n}-{p}" for n, p in PAIRS])
def test_every_listed_planner_plans_its_fidelity_scenario(name, planner):
    sc = scenario_from_dict(fidelity_scenario(name))
    assert sc.name == name and 4 <= len(sc.tasks) <= 12    # a real run of about a minute
    plan = get_planner(planner).plan(sc)
    assert set(plan.tasks) == {t.id for t in sc.tasks}
    result = simulate(sc, plan)
    assert result.lost == 0 and len(result.tasks) == len(sc.tasks)
    if planner == FIDELITY[name].planners[0]:
        # the paper's planner offloads: the paced devices are slower than the servers
        assert any(_offloaded(tp) for tp in plan.tasks.values())
        local = simulate(sc, get_planner("local").plan(sc))
        assert result.mean_latency < local.mean_latency


@pytest.mark.parametrize("name", sorted(set(FIDELITY) - {"fidelity-demo"}))
def test_paper_scenarios_pace_their_devices_slower_than_this_machine(name):
    sc = scenario_from_dict(fidelity_scenario(name))
    for d in sc.devices:
        node = sc.nodes[d]
        assert node.compute == "flops" and node.speed <= 5e9   # one core here: ~15-25 GFLOP/s
