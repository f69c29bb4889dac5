"""The ``li2022`` scenario family: small random instances of Li et al.'s fused-layer model.

One device, one ES (serial or parallel), one FIFO link at a random rate, one task whose model is
a random chain of 2-4 conv/pool layers on a 3x3 to 5x5 input whose every fused layer is at most
2 x 2 (:func:`small_li2022_dict`). ``fl-bf`` with its defaults
(every grid of at most 4 paths, chain cuts competing) then searches the whole plan space of the
paper's model exactly, so it is the yardstick: ``mw`` and ``nfl`` and every general planner
must not beat its bound.

Examples
--------
>>> sc = small_li2022(0)
>>> len(sc.tasks), sc.links[("phone", "es")].sharing
(1, 'fifo')
"""

from __future__ import annotations

import numpy as np

from splitinfer.graph.receptive import FLGeometry
from splitinfer.planners.li2022.scenarios import li2022_scenario_dict
from splitinfer.system.load import scenario_from_dict
from splitinfer.system.scenario import Scenario
from splitinfer.testing.families import scenario_family

__all__ = ["small_li2022", "small_li2022_dict"]


def small_li2022_dict(seed: int) -> dict:
    """The scenario dict of :func:`small_li2022`: every ``S_tau`` at most 2 x 2.

    Examples
    --------
    >>> from splitinfer.graph.receptive import FLGeometry
    >>> d = small_li2022_dict(1)
    >>> g = FLGeometry.from_dict(d["extra"]["fused"][next(iter(d["models"]))])
    >>> all(max(g.fused_size(t)) <= 2 for t in range(1, g.num_units + 1))
    True
    """
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 6))  # input 3x3 .. 5x5
    c_in = int(rng.choice([1, 3]))
    layers = [("conv", 3, 2, 0 if n == 5 else 1, int(rng.integers(2, 9)))]  # output 2 x 2
    size = 2
    for _ in range(int(rng.integers(1, 3))):
        kind = str(rng.choice(["conv3", "conv1", "pool"]))
        if kind == "pool" and size >= 2:
            layers.append(("maxpool", 2, 2, 0, 0))
            size //= 2
        elif kind == "conv3":
            layers.append(("conv", 3, 1, 1, int(rng.integers(2, 9))))
        else:
            layers.append(("conv", 1, 1, 0, int(rng.integers(2, 9))))
    geom0 = FLGeometry.from_layers("p", (c_in, n, n), layers)
    tail = float(rng.uniform(0.1, 2.0)) * geom0.unit_flops(geom0.num_units)
    geom = FLGeometry.from_layers(f"small{seed}", (c_in, n, n), layers, tail_flops=tail,
                                  output_bytes=float(rng.integers(4, 200)))
    f_end = float(rng.uniform(1e6, 1e7))
    f_es = f_end * float(rng.uniform(3.0, 30.0))
    local = geom.total_flops / f_end
    rate = 8.0 * geom.chain[0].transfer_bytes / (local * float(rng.uniform(0.1, 2.0)))
    return li2022_scenario_dict(geom, rate=rate, f_end=f_end, f_es=f_es,
                                es_concurrency=1 if rng.random() < 0.7 else None,
                                result_return=0.0 if rng.random() < 0.5 else None,
                                name=f"li2022-small-{seed}")


@scenario_family("li2022", planners=("mw", "mw-paper", "fl-bf", "fl-bf-paper", "nfl"), yardstick="fl-bf",
                 seeds=(0, 1, 2, 3))
def small_li2022(seed: int) -> Scenario:
    """Li et al.'s model: one device, one ES, a FIFO link, one task on a tiny random conv chain."""
    return scenario_from_dict(small_li2022_dict(seed), source=f"li2022 family seed {seed}")
