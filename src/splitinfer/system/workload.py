"""Expanding a workload spec into a seeded, ordered list of tasks.

Every generator draws from one ``numpy.random.Generator`` seeded by ``workload.seed``, in the
order the generators are listed, so the same file and seed always give the same tasks.

A workload is bounded before anything is generated (:func:`check_workload_size`): its tasks may
number at most :func:`splitinfer.settings.max_tasks` (``SPLITINFER_MAX_TASKS``, 10^6 by default)
and their samples add up to at most :func:`splitinfer.settings.max_samples`
(``SPLITINFER_MAX_SAMPLES``, 10^9). A generator's count is an upper bound known in advance; a
Poisson generator with a horizon only is bounded by ``rate x horizon`` per device plus ten
standard deviations, and stops with the same error should it draw more than the limit.

Examples
--------
>>> from splitinfer.system.schema import WorkloadSpec
>>> spec = WorkloadSpec.model_validate({"seed": 1, "generators": [
...     {"kind": "batch", "devices": ["d0"], "model": "m", "count": 3}]})
>>> [(t.id, t.arrival) for t in expand_workload(spec)]
[('t0', 0.0), ('t1', 0.0), ('t2', 0.0)]
>>> huge = WorkloadSpec.model_validate({"generators": [
...     {"kind": "batch", "devices": ["d0", "d1"], "model": "m", "count": 10**9}]})
>>> expand_workload(huge)
Traceback (most recent call last):
...
splitinfer.system.workload.WorkloadTooLarge: 2000000000 tasks (count 1000000000 x 2 device(s)) exceed the limit of 1000000 tasks per workload (setting SPLITINFER_MAX_TASKS)
"""

from __future__ import annotations

import math

import numpy as np

from splitinfer.errors import ScenarioError
from splitinfer.settings import max_samples, max_tasks
from splitinfer.system.entities import Task
from splitinfer.system.schema import GeneratorSpec, WorkloadSpec

__all__ = ["expand_workload", "check_workload_size", "WorkloadTooLarge"]


class WorkloadTooLarge(ScenarioError):
    """A workload that would create more tasks or samples than the settings allow.

    Attributes
    ----------
    field : str
        The field path that asks for too much (``workload.generators.0.count``).
    """

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def _num(n: float) -> str:
    if isinstance(n, int) and n.bit_length() > 64:
        return f"about 10^{int(n.bit_length() * 0.30103)}"
    return f"{n:.4g}" if isinstance(n, float) else str(n)


def _tasks_bound(g: GeneratorSpec) -> tuple[float, str]:
    """Most tasks generator ``g`` can create, with how that was counted."""
    devices = len(g.devices)
    if g.kind == "uniform":
        return g.count, f"count {_num(g.count)}"
    if g.kind == "batch":
        return g.count * devices, f"count {_num(g.count)} x {devices} device(s)"
    if g.horizon is None:
        return g.count * devices, f"count {_num(g.count)} x {devices} device(s)"
    mean = g.rate * g.horizon
    per_device = mean + 10.0 * math.sqrt(mean) + 10.0 if math.isfinite(mean) else math.inf
    if g.count is not None and g.count < per_device:
        return g.count * devices, f"count {_num(g.count)} x {devices} device(s)"
    return per_device * devices, (f"rate x horizon = {_num(mean)} per device (plus ten standard "
                                  f"deviations) x {devices} device(s)")


def check_workload_size(spec: WorkloadSpec) -> None:
    """Refuse a workload that could create more tasks or samples than the settings allow.

    Raises
    ------
    WorkloadTooLarge
        Naming the field that asks for too much, before anything is allocated.
    """
    limit_tasks, limit_samples = max_tasks(), max_samples()
    tasks = len(spec.tasks)
    if tasks > limit_tasks:
        raise WorkloadTooLarge(f"{tasks} explicit tasks exceed the limit of {limit_tasks} tasks "
                               "per workload (setting SPLITINFER_MAX_TASKS)", "workload.tasks")
    samples = 0
    for i, t in enumerate(spec.tasks):
        samples += t.samples
        if samples > limit_samples:
            raise WorkloadTooLarge(f"the tasks' samples add up to {_num(samples)} here, more than "
                                   f"the limit of {limit_samples} (setting "
                                   "SPLITINFER_MAX_SAMPLES)", f"workload.tasks.{i}.samples")
    for i, g in enumerate(spec.generators):
        n, how = _tasks_bound(g)
        field = f"workload.generators.{i}." + ("rate" if "rate x" in how else "count")
        tasks += n
        if tasks > limit_tasks:
            already = "" if tasks == n else " with the tasks before it"
            raise WorkloadTooLarge(f"{_num(n)} tasks ({how}){already} exceed the limit of "
                                   f"{limit_tasks} tasks per workload (setting "
                                   "SPLITINFER_MAX_TASKS)", field)
        hi = g.samples[1] if isinstance(g.samples, tuple) else g.samples
        samples += n * hi
        if samples > limit_samples:
            raise WorkloadTooLarge(f"up to {_num(n)} tasks of up to {_num(hi)} samples bring the "
                                   f"samples to {_num(samples)}, more than the limit of "
                                   f"{limit_samples} (setting SPLITINFER_MAX_SAMPLES)",
                                   f"workload.generators.{i}.samples")


def _samples(rng: np.random.Generator, spec: GeneratorSpec) -> int:
    if isinstance(spec.samples, tuple):
        lo, hi = spec.samples
        return int(rng.integers(lo, hi + 1))
    return int(spec.samples)


def _model(rng: np.random.Generator, spec: GeneratorSpec) -> str:
    if isinstance(spec.model, str):
        return spec.model
    return str(spec.model[int(rng.integers(len(spec.model)))])


def _generate(rng: np.random.Generator, spec: GeneratorSpec, slot: float | None,
              budget: int, field: str) -> list[tuple]:
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
                if len(rows) > budget:  # drawn far beyond rate x horizon: never in practice
                    raise WorkloadTooLarge(f"more than {budget} tasks drawn; the limit is "
                                           f"{max_tasks()} tasks per workload (setting "
                                           "SPLITINFER_MAX_TASKS)", field)
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

    Raises
    ------
    WorkloadTooLarge
        If the workload could exceed the task or sample limits (:func:`check_workload_size`).
    """
    check_workload_size(spec)
    rng = np.random.default_rng(spec.seed)
    rows: list[tuple] = []
    for t in spec.tasks:
        arrival = t.arrival if t.arrival is not None else (t.slot or 0) * (slot or 0.0)
        rows.append((arrival, t.slot, t.device, t.model, t.samples, t.id))
    for i, g in enumerate(spec.generators):
        budget = max_tasks() - len(rows)
        rows += [(*r, None) for r in _generate(rng, g, slot, budget,
                                               f"workload.generators.{i}.rate")]
    order = sorted(range(len(rows)), key=lambda i: (rows[i][0], i))
    tasks = []
    for index, i in enumerate(order):
        arrival, s, device, model, samples, tid = rows[i]
        tasks.append(Task(id=tid or f"t{index}", index=index, device=device, model=model,
                          arrival=float(arrival), samples=samples, slot=s))
    return tuple(tasks)
