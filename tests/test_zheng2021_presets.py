"""DMCJIA's presets (issue 17 item 9): the improved default starts from its baselines' cuts and
is never above them; ``preset="paper"`` is Alg. 1 as written (K = 50, N = 32, C3)."""

from __future__ import annotations

import math

import pytest

from splitinfer.planners import get_planner
from splitinfer.planners.zheng2021.dmcjia import PRESETS, p1_of_plan
from splitinfer.planners.zheng2021.genetic import decode, encode
from splitinfer.system.load import scenario_from_dict
from splitinfer.testing.family_zheng2021 import small_zheng2021_dict


@pytest.mark.parametrize("num_cuts", [(5, 2, 3), (21, 1, 40), (8, 9)])
def test_encode_is_decodes_inverse(num_cuts):
    for k in range(max(num_cuts)):
        gamma = tuple(min(k, n - 1) for n in num_cuts)
        assert decode(encode(gamma, num_cuts), num_cuts) == gamma


@pytest.mark.parametrize("d", [8])
def test_improved_dmcjia_never_above_its_baselines(d):
    sc = scenario_from_dict(small_zheng2021_dict(d, nodes=(d, d), tasks_per_node=2))
    plan = get_planner("dmcjia").plan(sc)
    value = plan.info["objective_p1"]
    assert plan.info["preset"] == "improved"
    for name in ("greedy", "cloud-only", "zheng-neurosurgeon"):
        base = p1_of_plan(sc, get_planner(name).plan(sc))[0]
        if math.isfinite(base):
            assert value <= base * (1 + 1e-6), name
    # it stopped on convergence, within the preset's limit of generations
    assert len(plan.info["history"]) <= PRESETS["improved"]["generations"] + 1


def test_paper_preset_runs_k50_n32_with_c3():
    sc = scenario_from_dict(small_zheng2021_dict(0))
    planner = get_planner("dmcjia-paper")
    plan = planner.plan(sc)
    assert plan.info["preset"] == "paper"
    assert len(plan.info["history"]) == 33  # the initial population and N = 32 generations
    assert planner._settings["c3"] and planner._settings["pop_size"] == 50
