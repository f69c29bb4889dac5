"""The ``duan2021`` scenario family: small random batches in Duan & Wu's model.

One device, a cloud of negligible compute (a table with a zero tail, Duan & Wu 2021 section 3.1), one
shared FIFO uplink ``t = w0 + w1 s / b`` (section 6.1) and ``n <= 6`` identical jobs at time 0;
the objective is the makespan. The line model has random cut tables: the device time grows with
the cut, the bytes shrink overall but not monotonically, so virtual blocks (section 3.2) matter.
The yardstick is ``jps-bf``, exact here (chain cuts only, zero tails).

Examples
--------
>>> sc = small_duan2021(0)
>>> sc.objective, len(sc.devices), len(sc.clouds), 1 <= len(sc.tasks) <= 6
('makespan', 1, 1, True)
"""

from __future__ import annotations

import numpy as np

from splitinfer.system.load import scenario_from_dict
from splitinfer.system.scenario import Scenario
from splitinfer.testing.families import scenario_family

__all__ = ["small_duan2021", "duan2021_dict"]


def duan2021_dict(seed: int, *, max_jobs: int = 6, max_cuts: int = 7) -> dict:
    """The scenario dict of :func:`small_duan2021` (for tests that vary it).

    Examples
    --------
    >>> d = duan2021_dict(3)
    >>> d["links"][0]["sharing"], d["workload"]["generators"][0]["kind"]
    ('fifo', 'batch')
    """
    rng = np.random.default_rng(seed)
    k = int(rng.integers(3, max_cuts + 1))  # cuts, the first sends the input
    head = np.concatenate([[0.0], np.cumsum(rng.uniform(0.005, 0.05, k - 1))])
    nbytes = np.empty(k)
    nbytes[0] = 150_000.0
    for c in range(1, k):  # shrinking overall, but some layers enlarge the tensor
        nbytes[c] = nbytes[c - 1] * float(rng.choice([rng.uniform(0.2, 0.9),
                                                      rng.uniform(1.0, 1.6)], p=[0.7, 0.3]))
    nbytes[-1] = float(rng.uniform(100, 4000))  # the output
    return {
        "name": f"duan2021-small-{seed}",
        "objective": "makespan",
        "result_return": 0,
        "nodes": [{"name": "pi", "kind": "device", "compute": {"table": True}},
                  {"name": "cloud", "kind": "cloud", "compute": {"table": True},
                   "concurrency": None}],
        "links": [{"src": "pi", "dst": "cloud", "sharing": "fifo",
                   "bandwidth": float(rng.uniform(5e6, 60e6)),
                   "latency": float(rng.uniform(0.0, 0.01)),
                   "slowdown": float(rng.uniform(1.0, 1.3))}],
        "models": {"net": {"cuts": [{"transfer_bytes": float(b)} for b in nbytes],
                           "table": {"pi": {"head": [float(x) for x in head]},
                                     "cloud": {"tail": [0.0] * k}}}},
        "workload": {"generators": [{"kind": "batch", "devices": ["pi"], "model": "net",
                                     "count": int(rng.integers(1, max_jobs + 1))}]},
    }


@scenario_family("duan2021", planners=("jps", "jps-paper", "po", "lo", "co", "jps-bf"), yardstick="jps-bf")
def small_duan2021(seed: int) -> Scenario:
    """Duan & Wu's model: one device, a negligible cloud, a FIFO uplink, n <= 6 identical jobs."""
    return scenario_from_dict(duan2021_dict(seed), source=f"duan2021 family seed {seed}")
