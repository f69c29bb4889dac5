"""Random small scenarios that mix scenario features the per-paper families keep apart.

Issue 17 found two defects from outside, on scenarios that combine features no family combines:
a constant ``result_return`` with reserved links, zero-duration stages, and one bandwidth pool
shared by both directions of a reserved link. :func:`mixed_scenario_dict` draws small
scenarios over the cross-product of such features, so that planners can be checked against a
brute-force optimum of the same plan space (see ``tests/test_exact_honest.py``).

Examples
--------
>>> d = mixed_scenario_dict(0, zero_stage=True, shared_pool=True)
>>> sorted(d["pools"]), d["result_return"] is None
(['edge0.link'], True)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from splitinfer.system.load import scenario_from_dict
from splitinfer.system.scenario import Scenario

__all__ = ["FEATURES", "mixed_scenario_dict", "mixed_scenario"]

#: the features drawn (each on or off)
FEATURES = ("constant_return", "reserved", "zero_stage", "shared_pool", "releases_apart",
            "one_slot_edge")


def mixed_scenario_dict(seed: int, *, max_tasks: int = 3, constant_return: bool = False,
                        reserved: bool = True, zero_stage: bool = False,
                        shared_pool: bool = False, releases_apart: bool = False,
                        one_slot_edge: bool = True) -> dict[str, Any]:
    """A random scenario dict with the named features (all drawn from ``seed``).

    Parameters
    ----------
    seed : int
    max_tasks : int
        2 to ``max_tasks`` tasks.
    constant_return : bool
        A constant ``result_return`` delay instead of returning the output over the links.
    reserved : bool
        Device <-> edge links are ``reserved`` (else ``fifo``).
    zero_stage : bool
        The model has a cut whose piece costs no FLOPs (a zero-duration compute stage) and a
        last cut whose output is 0 bytes on a latency-free link (a zero-duration transfer).
    shared_pool : bool
        Every reserved link of an edge, uplink and downlink alike, draws from one pool (needs
        ``reserved``).
    releases_apart : bool
        Tasks arrive spread over a second instead of together.
    one_slot_edge : bool
        Edge servers run one stage at a time.
    """
    rng = np.random.default_rng([seed, 1717])
    n_tasks = int(rng.integers(2, max(2, max_tasks) + 1))
    n_edge = int(rng.integers(1, 3))
    nodes: list[dict[str, Any]] = [
        {"name": f"dev{d}", "kind": "device", "concurrency": 1,
         "compute": {"flops_per_s": float(rng.uniform(1e9, 4e9))}} for d in range(n_tasks)]
    nodes += [{"name": f"edge{e}", "kind": "edge",
               "concurrency": 1 if one_slot_edge else int(rng.integers(2, 4)),
               "compute": {"flops_per_s": float(rng.uniform(8e9, 4e10))}} for e in range(n_edge)]
    pools: dict[str, float] = {}
    links: list[dict[str, Any]] = []
    for e in range(n_edge):
        if reserved and shared_pool:
            pools[f"edge{e}.link"] = float(rng.uniform(1.2e7, 3e7))
    for d in range(n_tasks):
        for e in range(n_edge):
            if e > 0 and rng.random() < 0.5:
                continue
            rate = float(rng.uniform(4e6, 2e7))
            for src, dst in ((f"dev{d}", f"edge{e}"), (f"edge{e}", f"dev{d}")):
                link: dict[str, Any] = {"src": src, "dst": dst, "bandwidth": rate,
                                        "sharing": "reserved" if reserved else "fifo"}
                if reserved and shared_pool:
                    link["pool"] = f"edge{e}.link"
                links.append(link)
    total = float(rng.uniform(2e8, 2e9))
    n_cuts = int(rng.integers(3, 6))
    head = np.concatenate([[0.0], np.cumsum(rng.dirichlet(np.ones(n_cuts - 1)) * total)])
    size = float(rng.uniform(5e4, 4e5))
    cuts = [{"name": f"c{c}", "transfer_bytes": round(size * float(rng.uniform(0.1, 1.0)) ** c),
             "head_flops": float(head[c])} for c in range(n_cuts)]
    if zero_stage:
        k = int(rng.integers(1, n_cuts - 1))
        cuts[k + 1]["head_flops"] = cuts[k]["head_flops"]  # a piece of no FLOPs
        cuts[-1]["transfer_bytes"] = 0.0  # the output: a zero-duration return
    else:
        cuts[-1]["transfer_bytes"] = float(rng.integers(64, 4096))
    arrivals = (np.round(np.sort(rng.uniform(0.0, 1.0, n_tasks)), 4) if releases_apart
                else np.zeros(n_tasks))
    tasks = [{"id": f"t{i}", "device": f"dev{i}", "model": "m", "arrival": float(arrivals[i])}
             for i in range(n_tasks)]
    flags = "".join(str(int(f)) for f in (constant_return, reserved, zero_stage, shared_pool,
                                          releases_apart, one_slot_edge))
    return {"name": f"mixed-{seed}-{flags}", "objective": "mean_latency", "nodes": nodes,
            "pools": pools, "links": links, "models": {"m": {"cuts": cuts}},
            "result_return": float(rng.uniform(0.01, 0.1)) if constant_return else None,
            "workload": {"tasks": tasks}}


def mixed_scenario(seed: int, **features: Any) -> Scenario:
    """:func:`mixed_scenario_dict` loaded as a :class:`~splitinfer.system.scenario.Scenario`.

    Examples
    --------
    >>> sc = mixed_scenario(1, zero_stage=True)
    >>> 2 <= len(sc.tasks) <= 3
    True
    """
    return scenario_from_dict(mixed_scenario_dict(seed, **features),
                              source=f"mixed_scenario({seed})")
