"""The ``return`` step kind follows the scenario's result-return rule."""

from __future__ import annotations

import pytest

from splitinfer.sim import simulate
from splitinfer.system import Plan, Step, TaskPlan, scenario_from_dict


def _scenario(result_return):
    return scenario_from_dict({
        "result_return": result_return,
        "nodes": [{"name": "d", "kind": "device", "compute": {"flops_per_s": 1e9}},
                  {"name": "e", "kind": "edge", "compute": {"flops_per_s": 1e10}}],
        "links": [{"src": "d", "dst": "e", "bandwidth": 8e6}],
        "models": {"m": {"cuts": [{"transfer_bytes": 1e6}, {"transfer_bytes": 2e3, "head_flops": 1e9}]}},
        "workload": {"tasks": [{"device": "d", "model": "m"}]}})


STEPS = (Step("transfer", src="d", dst="e", nbytes=1e6),
         Step("compute", node="e", segment=(0, 1), deps=(0,)),
         Step("return", src="e", deps=(1,)))


@pytest.mark.parametrize(("result_return", "expected"), [(0.005, 1.0 + 0.1 + 0.005),
                                                         (None, 1.0 + 0.1 + 2e3 * 8 / 8e6)])
def test_return_step_uses_constant_delay_or_output_bytes(result_return, expected):
    sc = _scenario(result_return)
    plan = Plan("steps", {"t0": TaskPlan("t0", ("d", "e"), steps=STEPS)})
    res = simulate(sc, plan)
    assert res.tasks[0].latency == pytest.approx(expected, rel=1e-12)
    # the same plan as a chain gives the same timeline
    chain = simulate(sc, Plan("chain", {"t0": TaskPlan("t0", ("d", "e"), (0,))}))
    assert chain.tasks[0].latency == pytest.approx(expected, rel=1e-12)


def test_plan_with_return_step_round_trips_through_json(tmp_path):
    plan = Plan("steps", {"t0": TaskPlan("t0", ("d", "e"), steps=STEPS)})
    plan.save(tmp_path / "p.json")
    assert Plan.load(tmp_path / "p.json").tasks["t0"].steps == STEPS
