"""The ``shi2021`` scenario family: small random instances of Shi et al.'s system model.

Shi et al. 2021 (section 2): identical end devices that never wait locally
(one device node with unlimited concurrency), 1-3 heterogeneous edge servers that compute one
task at a time, a dedicated bandwidth B per task, a constant result-return time t_r, 1 ms slots
and 2-6 tasks released in the first few slots (several per slot, so same-slot ties and
overtaking happen). Compute times come from a random Table-2-like cut table: a device ``head``
row and a ``tail`` row per server, the servers 3-20 times faster than the device.

The family's planners are the paper's (``gspi``, ``gspi-online``, ``server-only``,
``end-only``); the yardstick is ``exact`` (CP-SAT over every chain plan and every service order),
so GSPI's FIFO plans must never beat its bound.

Examples
--------
>>> sc = small_shi2021(0)
>>> len(sc.devices), 1 <= len(sc.edges) <= 3, 2 <= len(sc.tasks) <= 6, sc.slot
(1, True, True, 0.001)
>>> small_shi2021(0).summary() == sc.summary()
True
"""

from __future__ import annotations

import numpy as np

from splitinfer.system.load import scenario_from_dict
from splitinfer.system.scenario import Scenario
from splitinfer.testing.families import scenario_family

__all__ = ["small_shi2021", "shi2021_dict"]


def shi2021_dict(seed: int, *, max_tasks: int = 6, max_servers: int = 3) -> dict:
    """The scenario dict of :func:`small_shi2021` (for tests that vary it).

    Examples
    --------
    >>> d = shi2021_dict(1)
    >>> d["nodes"][0]["concurrency"] is None, {n["concurrency"] for n in d["nodes"][1:]}
    (True, {1})
    """
    rng = np.random.default_rng(seed)
    k = int(rng.integers(3, 6))  # cuts: raw input, k - 2 inner points, all-local
    dev_layers = rng.uniform(2.0, 12.0, k - 1)  # ms per block on the device
    head = np.concatenate([[0.0], np.cumsum(dev_layers)])
    nbytes = [float(rng.uniform(4000, 16000))]
    for _ in range(k - 2):
        nbytes.append(float(nbytes[-1] * rng.uniform(0.4, 1.8)))
    nbytes.append(40.0)
    u = int(rng.integers(1, max_servers + 1))
    nodes = [{"name": "end", "kind": "device", "compute": {"table": True}, "concurrency": None}]
    table = {"end": {"head": [f"{x:.3f}ms" for x in head]}}
    links = []
    for s in range(u):
        speedup = float(rng.uniform(3.0, 20.0))
        tail = (head[-1] - head) / speedup
        name = f"server{s + 1}"
        nodes.append({"name": name, "kind": "edge", "compute": {"table": True}, "concurrency": 1})
        table[name] = {"tail": [f"{x:.3f}ms" for x in tail]}
        links.append({"src": "end", "dst": name, "bandwidth": f"{rng.uniform(4, 16):.2f}Mbps",
                      "sharing": "dedicated"})
    n = int(rng.integers(2, max_tasks + 1))
    slots = sorted(int(x) for x in rng.integers(0, 4, n))
    return {
        "name": f"shi2021-small-{seed}",
        "slot": "1ms",
        "result_return": f"{rng.uniform(0.0, 1.0):.3f}ms",
        "nodes": nodes,
        "links": links,
        "models": {"net": {"cuts": [{"name": f"P{i + 1}", "transfer_bytes": b}
                                    for i, b in enumerate(nbytes)],
                           "table": table}},
        "workload": {"tasks": [{"device": "end", "model": "net", "slot": s} for s in slots]},
    }


@scenario_family("shi2021", planners=("gspi", "gspi-online", "gspi-paper", "gspi-online-paper",
                                      "server-only", "end-only"),
                 yardstick="exact", seeds=(0, 1, 2, 3))
def small_shi2021(seed: int) -> Scenario:
    """Shi et al.'s model: devices that never wait, 1-3 FIFO edge servers, B per task, 2-6 tasks."""
    return scenario_from_dict(shi2021_dict(seed), source=f"shi2021 family seed {seed}")
