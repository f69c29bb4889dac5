"""The ``zheng2021`` scenario family: small random instances of Zheng's edge-cloud model.

Zheng 2021 (section 3.2) in miniature: 2-3 edge nodes (our device
nodes, one FIFO processor each: the M/D/1 queue of eq. 3-2) with one task type each (a random
chain cut table of 3-6 cuts), Poisson arrivals at lambda_d in {0.5, 1, 2} per second (two tasks
per node, so at most 6 tasks), one divisible cloud 10-40 times faster than a node, a dedicated
uplink per node (eq. 3-3 is a pure delay) and no result return (the paper ignores it). Node
speeds are drawn so that running everything locally keeps the node's utilisation in [0.4, 0.9]
(a stable queue), and bandwidths so that sending the raw input takes 0.05-0.5 s.

Planners: ``dmcjia`` and ``dmcjia-paper`` (a smaller GA: the instances are tiny), ``dmcjia-exact``, ``greedy``,
the load-aware ``zheng-neurosurgeon`` and the alias ``cloud-only``. Yardstick: ``dmcjia-exact``, whose
``bound`` is the no-queueing relaxation of the simulated mean latency (P1, a steady-state mean,
bounds nothing in a six-task run; see :mod:`splitinfer.planners.zheng2021.dmcjia`).

Examples
--------
>>> sc = small_zheng2021(0)
>>> 2 <= len(sc.devices) <= 3, len(sc.tasks) == 2 * len(sc.devices), sc.nodes["cloud"].divisible
(True, True, True)
>>> sorted(sc.extra["dmcjia"]["arrival_rates"].values())[0] in (0.5, 1.0, 2.0)
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from splitinfer.system.load import scenario_from_dict
from splitinfer.system.scenario import Scenario
from splitinfer.testing.families import scenario_family
from splitinfer.testing.random import random_cut_table

__all__ = ["small_zheng2021", "small_zheng2021_dict"]


def small_zheng2021_dict(seed: int, *, nodes: tuple[int, int] = (2, 3),
                         tasks_per_node: int = 2) -> dict[str, Any]:
    """The scenario dict of :func:`small_zheng2021` (to vary before loading).

    Examples
    --------
    >>> d = small_zheng2021_dict(3, nodes=(4, 4), tasks_per_node=50)
    >>> len(d["nodes"]), d["workload"]["generators"][0]["count"]
    (5, 50)
    """
    rng = np.random.default_rng(seed)
    n = int(rng.integers(nodes[0], nodes[1] + 1))
    speeds, rates, models, links, node_specs = [], {}, {}, [], []
    for d in range(n):
        cuts = random_cut_table(rng, int(rng.integers(3, 7)))
        lam = float(rng.choice([0.5, 1.0, 2.0]))
        speed = cuts[-1]["head_flops"] * lam / float(rng.uniform(0.4, 0.9))
        bandwidth = cuts[0]["transfer_bytes"] * 8.0 / float(rng.uniform(0.05, 0.5))
        name = f"edge{d}"
        node_specs.append({"name": name, "kind": "device", "compute": {"flops_per_s": speed},
                           "concurrency": 1})
        links.append({"src": name, "dst": "cloud", "bandwidth": bandwidth,
                      "sharing": "dedicated"})
        models[f"t{d}"] = {"cuts": cuts}
        rates[name] = lam
        speeds.append(speed)
    node_specs.append({"name": "cloud", "kind": "cloud",
                       "compute": {"flops_per_s": float(max(speeds) * rng.uniform(10, 40))},
                       "concurrency": 1, "divisible": True})
    gens = [{"kind": "poisson", "devices": [f"edge{d}"], "model": f"t{d}",
             "rate": rates[f"edge{d}"], "count": tasks_per_node} for d in range(n)]
    return {"name": f"zheng2021-small-{seed}", "objective": "mean_latency", "result_return": 0.0,
            "nodes": node_specs, "links": links, "models": models,
            "workload": {"seed": seed, "generators": gens},
            "extra": {"dmcjia": {"arrival_rates": rates}}}


@scenario_family("zheng2021", planners=("dmcjia", "dmcjia-paper", "dmcjia-exact", "greedy",
                                        "cloud-only", "zheng-neurosurgeon"),
                 yardstick="dmcjia-exact",
                 params={"dmcjia": {"pop_size": 16, "generations": 8},
                         "dmcjia-paper": {"pop_size": 16, "generations": 8}},
                 seeds=(0, 1, 2))
def small_zheng2021(seed: int) -> Scenario:
    """Zheng's model: 2-3 M/D/1 edge nodes, one divisible cloud, dedicated uplinks, <= 6 tasks."""
    return scenario_from_dict(small_zheng2021_dict(seed), source=f"small_zheng2021({seed})")
