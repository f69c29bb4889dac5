"""The scenario family of DeePar (Huang et al. 2019): small random device-edge-cloud systems.

Huang et al. 2019 section III in miniature: one task per device with ``N_i`` samples and its own input
size, 1-3 edge servers with ``r_e`` slots, one cloud of unlimited concurrency, devices that reach
a random non-empty subset ``E_i`` of the edges over reserved links (per-task cap B_i^1, pool
B_e^1 per edge), edge -> cloud links in a pool B_e^2 per edge with per-task caps B_i^2
(``extra.deepar.backbone_cap``). The magnitudes are scaled down from section V-B so that 2-6
tasks contend: pools hold one to three tasks at their caps, ``r_e`` is 1-3, and the tasks
arrive together or within a second. Models are random chain cut tables (no profile needed).

Yardstick: ``deepar-exact``, whose ``bound`` is :func:`splitinfer.planners.huang2019.deepar.relaxation_bound`
(every task alone at full rates); it covers every plan whose pieces form one chain per task.

Examples
--------
>>> sc = small_huang2019(0)
>>> len(sc.clouds), 2 <= len(sc.tasks) <= 6, len({t.device for t in sc.tasks}) == len(sc.tasks)
(1, True, True)
>>> all(l.sharing == "reserved" for l in sc.links.values())
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from splitinfer.system.load import scenario_from_dict
from splitinfer.system.scenario import Scenario
from splitinfer.testing.families import scenario_family
from splitinfer.testing.random import random_cut_table

__all__ = ["small_huang2019", "small_huang2019_dict", "varied_links_huang2019"]


def small_huang2019_dict(seed: int, *, max_tasks: int = 6) -> dict[str, Any]:
    """The scenario dict of :func:`small_huang2019` (to edit before loading)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, max_tasks + 1))
    m = int(rng.integers(1, 4))
    edges = [f"e{j}" for j in range(m)]
    devices = [f"d{i}" for i in range(n)]
    nodes = [{"name": d, "kind": "device", "compute": {"flops_per_s": float(rng.uniform(1e9, 5e9))}}
             for d in devices]
    nodes += [{"name": e, "kind": "edge", "compute": {"flops_per_s": float(rng.uniform(2e10, 1e11))},
               "concurrency": int(rng.integers(1, 4))} for e in edges]
    nodes.append({"name": "cloud", "kind": "cloud", "compute": {"flops_per_s": 1e12},
                  "concurrency": None})
    pools, links = {}, []
    for e in edges:
        pools[f"{e}.access"] = float(rng.uniform(3e8, 9e8))
        pools[f"{e}.backbone"] = float(rng.uniform(5e7, 1.5e8))
        links.append({"src": e, "dst": "cloud", "bandwidth": 5e7, "sharing": "reserved",
                      "pool": f"{e}.backbone"})
    caps, models, tasks = {}, {}, []
    arrive_together = bool(rng.integers(2))
    for i, d in enumerate(devices):
        reach = [e for e in edges if rng.random() < 0.6] or [edges[int(rng.integers(m))]]
        b1 = float(rng.uniform(2e7, 3e8))
        links += [{"src": d, "dst": e, "bandwidth": b1, "sharing": "reserved",
                   "pool": f"{e}.access"} for e in reach]
        caps[d] = float(rng.uniform(1e7, 5e7))
        models[f"m{i}"] = {"cuts": random_cut_table(rng, int(rng.integers(3, 7))),
                           "input_bytes": float(rng.uniform(1e4, 1e6))}
        tasks.append({"id": f"t{i}", "device": d, "model": f"m{i}",
                      "samples": int(rng.integers(1, 6)),
                      "arrival": 0.0 if arrive_together else float(rng.uniform(0.0, 1.0))})
    return {"name": f"small-deepar-{seed}", "objective": "mean_latency", "nodes": nodes,
            "pools": pools, "links": links, "models": models, "workload": {"tasks": tasks},
            "extra": {"deepar": {"backbone_cap": caps}}}


@scenario_family("huang2019", planners=("deepar", "deepar-paper", "deepar-edge-only",
                                     "deepar-cloud-only",
                                     "deepar-exact"),
                 yardstick="deepar-exact", seeds=(0, 1, 2, 3))
def small_huang2019(seed: int) -> Scenario:
    """Small random device-edge-cloud scenarios with reserved bandwidth pools and r_e (Huang et al. 2019)."""
    return scenario_from_dict(small_huang2019_dict(seed), source=f"small_huang2019({seed})")


def varied_links_huang2019(seed: int, rng: np.random.Generator, max_tasks: int = 6) -> Scenario:
    """:func:`small_huang2019_dict` with every link given a random latency, slowdown and wire
    dtype (drawn from ``rng``), and a constant result return on odd seeds: the cases where the
    delay model's transfer terms and wire bytes matter (for the tests of DeePar's searches).

    Examples
    --------
    >>> sc = varied_links_huang2019(1, np.random.default_rng(0), max_tasks=3)
    >>> sc.result_return, len(sc.tasks) <= 3
    (0.05, True)
    """
    d = small_huang2019_dict(seed, max_tasks=max_tasks)
    for link in d["links"]:
        link["latency"] = float(rng.choice([0.0, 0.003, 0.0117]))
        link["slowdown"] = float(rng.choice([1.0, 1.3]))
        link["dtype"] = str(rng.choice(["float32", "float16", "bfloat16", "int8"]))
    if seed % 2:
        d["result_return"] = 0.05
    return scenario_from_dict(d)
