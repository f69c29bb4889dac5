"""Scenarios in Li et al.'s setting: Table I, and random fused-layer instances.

:func:`li2022_scenario_dict` writes the paper's system (section IV, Table I): one end device of
``f_end = 2.23e8`` FLOP/s, one ES of ``f_ES = 4.32e9`` FLOP/s that computes one layer at a time,
and a first-come-first-served wireless link whose rate is either given (Fig. 4 varies it from
1.1 to 3 MB/s) or the Shannon rate of eq. 2 with ``B = 5 MHz``, ``Q = 0.1 W``, ``G = 1e-6`` and
noise power ``1e-9 W`` (Table I calls it epsilon^2, "the power of background noise"), which is
33.3 Mbit/s. The model's cut table comes from its FL geometry, so ``nfl`` and the FL planners see
the same network. ``result_return`` is 0: eq. 6 ends at the last layer on the ES.

:func:`random_geometry` and :func:`random_li2022_dict` make random instances for the
``li2022`` conformance family and the MW-versus-BF study.

Examples
--------
>>> sc = li2022_scenario("alexnet")
>>> round(sc.link("phone", "es").rate / 1e6, 2), sc.nodes["es"].speed, sc.result_return
(33.29, 4320000000.0, 0.0)
>>> li2022_scenario("alexnet", rate="1.1MB/s").link("phone", "es").rate
8800000.0
"""

from __future__ import annotations

from typing import Any

import numpy as np

from splitinfer.graph.receptive import FLGeometry, load_geometry
from splitinfer.system.load import scenario_from_dict
from splitinfer.system.scenario import Scenario

__all__ = ["TABLE_I", "li2022_scenario_dict", "li2022_scenario", "random_geometry",
           "random_li2022_dict"]

#: Li et al. 2022 Table I.
TABLE_I: dict[str, float] = {"f_end": 2.23e8, "f_es": 4.32e9, "bandwidth_hz": 5e6,
                             "power_w": 0.1, "noise_w": 1e-9, "gain": 1e-6}


def li2022_scenario_dict(model: str | FLGeometry, *, rate: float | str | None = None,
                         f_end: float = TABLE_I["f_end"], f_es: float = TABLE_I["f_es"],
                         es_concurrency: int | None = 1, result_return: float | None = 0.0,
                         name: str | None = None) -> dict[str, Any]:
    """The scenario dict of Li et al.'s system for one model.

    Parameters
    ----------
    model : str or FLGeometry
        A shipped FL geometry name (``"alexnet"``, ``"squeezenet1_0"``, ``"tiny-yolov2"``...) or
        a geometry (written inline into ``extra.fused``).
    rate : float or str, optional
        Link rate (bit/s or ``"1.1MB/s"``); default the Shannon rate of Table I.
    f_end, f_es : float
        FLOP/s of the device and the ES.
    es_concurrency : int or None
        1: the ES computes one path at a time; None: paths in parallel (eq. 4 literally).
    result_return : float or None
        0 (eq. 6), a constant return delay in seconds, or None to send the output bytes back.
    name : str, optional
        Scenario name.
    """
    geom = model if isinstance(model, FLGeometry) else load_geometry(model)
    ref: Any = geom.to_dict() if isinstance(model, FLGeometry) else model
    if rate is None:
        link = {"shannon": {k: TABLE_I[k] for k in ("bandwidth_hz", "power_w", "gain", "noise_w")}}
    else:
        link = {"bandwidth": rate}
    return {
        "name": name or f"li2022-{geom.model}",
        "description": "Li et al. 2022 Table I: one device, one ES, a FIFO wireless link",
        "objective": "mean_latency",
        "result_return": result_return,
        "nodes": [{"name": "phone", "kind": "device", "compute": {"flops_per_s": f_end}},
                  {"name": "es", "kind": "edge", "compute": {"flops_per_s": f_es},
                   "concurrency": es_concurrency}],
        "links": [{"src": "phone", "dst": "es", "sharing": "fifo", **link}],
        "models": {geom.model: {"cuts": geom.chain_cuts(), "output_bytes": geom.output_bytes}},
        "workload": {"tasks": [{"id": "t0", "device": "phone", "model": geom.model,
                                "arrival": 0.0}]},
        "extra": {"fused": {geom.model: ref}},
    }


def li2022_scenario(model: str | FLGeometry, **kwargs: Any) -> Scenario:
    """:func:`li2022_scenario_dict` validated into a :class:`Scenario`."""
    d = li2022_scenario_dict(model, **kwargs)
    return scenario_from_dict(d, source=d["name"])


def random_geometry(rng: np.random.Generator, *, size: tuple[int, int] = (8, 24),
                    layers: tuple[int, int] = (2, 5), channels: tuple[int, int] = (4, 32)
                    ) -> FLGeometry:
    """A random chain of conv and pooling layers (a synthetic model for random instances).

    The first layer is a convolution (so the model has FLOPs); later ones are 3 in 10 a 2x2/2
    max pooling, else a 1x1, 3x3 or 5x5 convolution of stride 1 or 2 with "same" padding.

    Parameters
    ----------
    rng : numpy.random.Generator
    size : tuple of int
        Range of the input's height = width.
    layers : tuple of int
        Range of the number of FL layers.
    channels : tuple of int
        Range of conv output channels.

    Examples
    --------
    >>> g = random_geometry(np.random.default_rng(0))
    >>> 2 <= g.num_units <= 5 and g.tail_flops(g.num_units) > 0
    True
    """
    h = int(rng.integers(size[0], size[1] + 1))
    c_in = int(rng.choice([1, 3]))
    spec = []
    n = h
    for i in range(int(rng.integers(layers[0], layers[1] + 1))):
        kind = "conv" if i == 0 or n < 4 or rng.random() < 0.7 else "maxpool"
        if kind == "conv":
            k = int(rng.choice([1, 3, 5])) if n >= 5 else int(rng.choice([1, 3]))
            s = int(rng.choice([1, 2], p=[0.7, 0.3]))
            p = k // 2
            layer = ("conv", k, s, p, int(rng.integers(channels[0], channels[1] + 1)))
        else:
            layer = ("maxpool", 2, 2, 0, 0)
        m = FLGeometry.from_layers("probe", (c_in, n, n), [layer])
        if m.fused_size(1)[0] < 1:
            break
        spec.append(layer)
        n = m.fused_size(1)[0]
    probe = FLGeometry.from_layers("probe", (c_in, h, h), spec)
    tail = float(rng.uniform(0.05, 1.0)) * probe.unit_flops(probe.num_units)
    out = float(rng.integers(10, 1000)) * 4
    return FLGeometry.from_layers(f"rand{int(rng.integers(1_000_000))}", (c_in, h, h), spec,
                                  tail_flops=tail, output_bytes=out)


def random_li2022_dict(seed: int, *, size: tuple[int, int] = (8, 24),
                       layers: tuple[int, int] = (2, 5)) -> dict[str, Any]:
    """A random single-task instance of Li et al.'s system (random model, speeds and rate).

    The ES is 4 to 40 times faster than the device; the rate is drawn so that sending the raw
    input takes between 0.1 and 3 times the device's time for the whole model, the range where
    offloading decisions matter. The ES is serial or parallel and results are returned or not,
    at random.

    Examples
    --------
    >>> d = random_li2022_dict(0)
    >>> d["links"][0]["sharing"], len(d["workload"]["tasks"])
    ('fifo', 1)
    """
    rng = np.random.default_rng(seed)
    geom = random_geometry(rng, size=size, layers=layers)
    f_end = float(rng.uniform(1e8, 1e9))
    f_es = f_end * float(rng.uniform(4.0, 40.0))
    local_s = geom.total_flops / f_end
    rate = 8.0 * geom.chain[0].transfer_bytes / (local_s * float(rng.uniform(0.1, 3.0)))
    d = li2022_scenario_dict(geom, rate=rate, f_end=f_end, f_es=f_es,
                             es_concurrency=1 if rng.random() < 0.7 else None,
                             result_return=0.0 if rng.random() < 0.5 else None,
                             name=f"li2022-random-{seed}")
    return d
