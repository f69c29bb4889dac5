"""Expanding a workload spec into a seeded, ordered list of tasks.

Every generator draws from one ``numpy.random.Generator`` seeded by ``workload.seed``, in the
order the generators are listed, so the same file and seed always give the same tasks.

Examples
--------
>>> from splitinfer.system.schema import WorkloadSpec
>>> spec = WorkloadSpec.model_validate({"seed": 1, "generators": [
...     {"kind": "batch", "devices": ["d0"], "model": "m", "count": 3}]})
>>> [(t.id, t.arrival) for t in expand_workload(spec)]
[('t0', 0.0), ('t1', 0.0), ('t2', 0.0)]
"""

from __future__ import annotations

import numpy as np

from splitinfer.system.entities import Task
from splitinfer.system.schema import GeneratorSpec, WorkloadSpec

__all__ = ["expand_workload"]


def _samples(rng: np.random.Generator, spec: GeneratorSpec) -> int:
    if isinstance(spec.samples, tuple):
        lo, hi = spec.samples
        return int(rng.integers(lo, hi + 1))
    return int(spec.samples)


def _model(rng: np.random.Generator, spec: GeneratorSpec) -> str:
    if isinstance(spec.model, str):
        return spec.model
    return str(spec.model[int(rng.integers(len(spec.model)))])


def _generate(rng: np.random.Generator, spec: GeneratorSpec, slot: float | None) -> list[tuple]:
    rows: list[tuple] = []  # (arrival, slot, device, model, samples)
    if spec.kind == "batch":
        for device in spec.devices:
            rows += [(0.0, None, device, _model(rng, spec), _samples(rng, spec))
                     for _ in range(spec.count)]
    elif spec.kind == "poisson":
        for device in spec.devices:
            t, n = 0.0, 0
            while True:
                t += float(rng.exponential(1.0 / spec.rate))
                if spec.horizon is not None and t > spec.horizon:
                    break
                rows.append((t, None, device, _model(rng, spec), _samples(rng, spec)))
                n += 1
                if spec.count is not None and n >= spec.count:
                    break
    else:  # uniform
        for _ in range(spec.count):
            device = spec.devices[int(rng.integers(len(spec.devices)))]
            if spec.slots is not None:
                s = int(rng.integers(spec.slots))
                arrival = s * (slot or 0.0)
                rows.append((arrival, s, device, _model(rng, spec), _samples(rng, spec)))
            else:
                rows.append((float(rng.uniform(0.0, spec.horizon)), None, device,
                             _model(rng, spec), _samples(rng, spec)))
    return rows


def expand_workload(spec: WorkloadSpec, slot: float | None = None) -> tuple[Task, ...]:
    """Return the tasks of a workload, ordered by arrival time then generation order.

    Parameters
    ----------
    spec : WorkloadSpec
        The validated workload.
    slot : float, optional
        Slot length in seconds, for tasks given by ``slot``.

    Returns
    -------
    tuple of Task
        Tasks with ``index`` = position in this order and ids ``t<index>`` unless given.
    """
    rng = np.random.default_rng(spec.seed)
    rows: list[tuple] = []
    for t in spec.tasks:
        arrival = t.arrival if t.arrival is not None else (t.slot or 0) * (slot or 0.0)
        rows.append((arrival, t.slot, t.device, t.model, t.samples, t.id))
    for g in spec.generators:
        rows += [(*r, None) for r in _generate(rng, g, slot)]
    order = sorted(range(len(rows)), key=lambda i: (rows[i][0], i))
    tasks = []
    for index, i in enumerate(order):
        arrival, s, device, model, samples, tid = rows[i]
        tasks.append(Task(id=tid or f"t{index}", index=index, device=device, model=model,
                          arrival=float(arrival), samples=samples, slot=s))
    return tuple(tasks)
