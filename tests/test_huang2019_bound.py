"""``fastest_alone`` (the per-task term of ``deepar-exact``'s ``relaxation_bound``) equals its
definition, the least no-wait latency over every chain plan, to the last bit, on scenarios
that exercise every kind of stage: profile- and FLOP-timed nodes, link latencies, slowdowns
and wire dtypes, constant and transferred returns (direct and back along the chain), a device
linked to the cloud, pools narrower than their links, several samples per task."""

from __future__ import annotations

import numpy as np
import pytest

from splitinfer.errors import InfeasiblePlanError
from splitinfer.experiments.huang2019 import paper_scenario
from splitinfer.planners.common.options import chain_options
from splitinfer.planners.huang2019.deepar import fastest_alone, relaxation_bound
from splitinfer.system.load import scenario_from_dict
from splitinfer.system.stages import no_wait_latency
from splitinfer.testing.family_huang2019 import small_huang2019_dict, varied_links_huang2019


def _by_definition(sc, task):
    return min(no_wait_latency(sc, task, tp) for tp in chain_options(sc, task))


def _same(sc):
    for task in sc.tasks:
        assert fastest_alone(sc, task) == _by_definition(sc, task), task.id


@pytest.mark.parametrize("seed", range(24))
def test_fastest_alone_is_the_definitions_on_small_and_varied_scenarios(seed):
    _same(scenario_from_dict(small_huang2019_dict(seed, max_tasks=8)))
    _same(varied_links_huang2019(seed, np.random.default_rng(seed), max_tasks=8))


def test_fastest_alone_is_the_definitions_on_the_paper_setting():
    for seed in range(2):
        _same(paper_scenario(seed, 40, 4, 20.0))


@pytest.mark.parametrize("seed", range(8))
def test_fastest_alone_with_a_cloud_link_fifo_hops_and_narrow_pools(seed):
    rng = np.random.default_rng(seed)
    d = small_huang2019_dict(seed, max_tasks=6)
    d["links"].append({"src": "d0", "dst": "cloud", "bandwidth": float(rng.uniform(1e6, 1e8)),
                       "latency": 0.02})  # a direct route, and a direct return from the cloud
    for link in d["links"]:
        if link.get("sharing") == "reserved" and rng.random() < 0.3:
            d["pools"][link["pool"]] = link["bandwidth"] / 3  # the pool caps the rate
        if link["src"] == "cloud" or (link["dst"] == "cloud" and rng.random() < 0.5):
            link.pop("pool", None)
            link["sharing"] = "fifo"
    _same(scenario_from_dict(d))


def test_a_divisible_server_is_left_to_the_definition():
    d = small_huang2019_dict(3, max_tasks=4)
    for node in d["nodes"]:
        if node["name"] == "cloud":
            node["divisible"] = True
    sc = scenario_from_dict(d)
    with pytest.raises(InfeasiblePlanError, match="divisible"):
        _by_definition(sc, sc.tasks[0])
    with pytest.raises(InfeasiblePlanError, match="divisible"):
        fastest_alone(sc, sc.tasks[0])


def test_relaxation_bound_is_the_mean_of_the_definitions():
    sc = paper_scenario(2, 30, 3, 10.0)
    lows = [_by_definition(sc, t) for t in sc.tasks]
    assert relaxation_bound(sc) == sum(lows) / len(lows)
