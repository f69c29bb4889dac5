"""The energy scenario families: small random chain scenarios whose devices give power figures
and whose objective is the device energy (``energy-chain``) or latency + weight x energy
(``latency-energy-chain``; :mod:`splitinfer.system.energy`).

Every general planner runs on them: those that support the objective (``planner_info(name)
.objectives``: ``neurosurgeon``, the ``local``/``edge``/``cloud`` baselines, ``exact``) must
plan, simulate and stay above ``exact``'s proven lower bound; the others must refuse the
objective with :class:`~splitinfer.errors.NotApplicableError` (reported as not applicable).
Power figures are drawn per device: compute 1-4 W, transmit 0.5-2.5 W, receive 0.2-1.5 W,
idle 0.05-0.6 W (so idle sometimes exceeds receive, which the exact model must handle).

Examples
--------
>>> sc = energy_chain(0)
>>> sc.objective, all(sc.nodes[d].power is not None for d in sc.devices)
('energy', True)
>>> latency_energy_chain(0).objective_weight
0.5
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from splitinfer.system.entities import Power
from splitinfer.system.scenario import Scenario
from splitinfer.testing.families import scenario_family
from splitinfer.testing.random import random_chain_scenario

__all__ = ["energy_chain", "latency_energy_chain", "with_power"]


def with_power(sc: Scenario, seed: int, objective: str, weight: float = 0.0) -> Scenario:
    """``sc`` with random power figures on its devices (drawn from ``seed``) and ``objective``."""
    rng = np.random.default_rng([seed, 23])
    nodes = dict(sc.nodes)
    for d in sc.devices:
        nodes[d] = replace(nodes[d], power=Power(
            compute=float(rng.uniform(1.0, 4.0)), idle=float(rng.uniform(0.05, 0.6)),
            transmit=float(rng.uniform(0.5, 2.5)), receive=float(rng.uniform(0.2, 1.5))))
    return replace(sc, nodes=nodes, objective=objective, objective_weight=weight,
                   name=f"{sc.name}-{objective}")


@scenario_family("energy-chain", yardstick="exact", seeds=(0, 1, 2, 3))
def energy_chain(seed: int) -> Scenario:
    """Random small chain scenarios (2-4 tasks) minimising the mean device energy."""
    return with_power(random_chain_scenario(seed, max_tasks=4), seed, "energy")


@scenario_family("latency-energy-chain", yardstick="exact", seeds=(0, 1, 2))
def latency_energy_chain(seed: int) -> Scenario:
    """Random small chain scenarios (2-4 tasks) minimising mean latency + 0.5 s/J x energy."""
    return with_power(random_chain_scenario(seed, max_tasks=4), seed, "latency+energy", 0.5)
