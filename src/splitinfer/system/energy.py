"""Per-task device energy: the energy model of ``docs/energy.md``.

A task's **device energy** (joules) is what its own end device draws for it, from the device's
power figures (:class:`~splitinfer.system.entities.Power`, watts):

.. math::

    E = P_c\\,C + P_{tx}\\,T + P_{rx}\\,R + P_{idle}\\,\\max(0,\\; f - s_0 - (C + T + R))

* ``C``: seconds of the task's compute stages on its device;
* ``T``: seconds of its transfers that leave the device (links ``device->x``);
* ``R``: seconds of its transfers that reach the device (links ``x->device``) and of a constant
  result-return delay (Shi et al. 2021's t_r: the device receives the result);
* ``s0``: the start of the task's first stage on the device (compute, send or receive), ``f``
  its finish (the result is on the device): the device is idle for the task, waiting for its
  result, during the part of ``[s0, f]`` that none of its own stages fills. Time queued before
  ``s0`` is not charged: the device is then busy with (and charged to) other tasks.

This is Kang et al. 2017's mobile-energy model of a partitioned inference (Neurosurgeon: compute
power on the mobile layers, radio power for the upload, idle power while the server works), with
the download and queueing of a multi-task run added. When tasks of one device overlap, each
charges its own waiting to idle power, so the sum over tasks is then an upper bound of what the
device draws above zero; for tasks that do not overlap on their device it is exact. A device
without power figures gives its tasks no energy (``None``); servers' figures are not used.

Examples
--------
>>> from splitinfer.system.load import scenario_from_dict
>>> from splitinfer.system.plan import TaskPlan
>>> sc = scenario_from_dict({
...     "nodes": [{"name": "d", "kind": "device", "compute": {"flops_per_s": 1e9},
...                "power": {"compute": 2.0, "idle": 0.5, "transmit": 1.0, "receive": 1.0}},
...               {"name": "e", "kind": "edge", "compute": {"flops_per_s": 1e10}}],
...     "links": [{"src": "d", "dst": "e", "bandwidth": 8e6}],
...     "models": {"m": {"cuts": [{"transfer_bytes": 1e6, "head_flops": 0},
...                               {"transfer_bytes": 5e5, "head_flops": 1e9},
...                               {"transfer_bytes": 1e3, "head_flops": 3e9}]}},
...     "workload": {"tasks": [{"device": "d", "model": "m"}]}})
>>> tp = TaskPlan("t0", ("d", "e"), (1,))   # compute 1 s, send 0.5 s, edge 0.2 s, return 1 ms
>>> round(no_wait_energy(sc, sc.tasks[0], tp), 4)   # 2*1 + 1*0.5 + 1*0.001 + 0.5*0.2
2.601
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from splitinfer.system.entities import Power, Task
from splitinfer.system.plan import TaskPlan
from splitinfer.system.result import Result, Timeline, columns
from splitinfer.system.scenario import Scenario
from splitinfer.system.stages import Stage, build_stages

__all__ = ["ENERGY_OBJECTIVES", "stage_role", "stages_energy", "no_wait_energy",
           "timeline_energy", "device_power", "has_energy", "attach_energy"]

#: The objectives that need power figures.
ENERGY_OBJECTIVES = ("energy", "latency+energy")

#: Roles of a stage for its task's device (index into a power vector).
NONE, COMPUTE, TRANSMIT, RECEIVE = -1, 0, 1, 2


def device_power(sc: Scenario, device: str) -> Power | None:
    """The power figures of ``device`` (``None`` if it has none)."""
    return sc.nodes[device].power


def has_energy(sc: Scenario, devices: Sequence[str] | None = None) -> bool:
    """Whether every device with tasks gives power figures (so every task has an energy).

    ``devices``, when given, are the devices of the scenario's tasks (each once), e.g. from the
    simulator's task columns: the tasks are then not read one by one.
    """
    if not sc.tasks or all(node.power is None for node in sc.nodes.values()):
        return False
    used = {t.device for t in sc.tasks} if devices is None else devices
    return all(sc.nodes[d].power is not None for d in used)


def stage_role(stage: Stage, device: str) -> int:
    """``COMPUTE``, ``TRANSMIT``, ``RECEIVE`` or ``NONE``: what ``stage`` is for ``device``.

    Examples
    --------
    >>> stage_role(Stage("uplink", "transfer", "d->e", None, 0.1, ()), "d")
    1
    >>> stage_role(Stage("compute", "compute", "e", "e", 0.1, ()), "d")
    -1
    """
    if stage.kind == "compute":
        return COMPUTE if stage.node == device else NONE
    if stage.kind == "delay":
        return RECEIVE
    if stage.resource is not None and "->" in stage.resource:
        src, dst = stage.resource.split("->", 1)
        return TRANSMIT if src == device else RECEIVE if dst == device else NONE
    return NONE


def stages_energy(power: Power, device: str, stages: Sequence[Stage], start: Sequence[float],
                  end: Sequence[float], finish: float) -> float:
    """Device energy (J) of one task whose ``stages`` ran from ``start`` to ``end`` and which
    finished at ``finish`` (the model of the module docstring)."""
    watts = (power.compute, power.transmit, power.receive)
    active = busy = 0.0
    s0 = None
    for s, a, b in zip(stages, start, end, strict=True):
        role = stage_role(s, device)
        if role == NONE:
            continue
        active += watts[role] * (b - a)
        busy += b - a
        s0 = a if s0 is None else min(s0, a)
    idle = 0.0 if s0 is None else max(0.0, finish - s0 - busy)
    return active + power.idle * idle


def no_wait_energy(sc: Scenario, task: Task, tp: TaskPlan) -> float:
    """Device energy of ``task`` under ``tp`` if it never waited (stages as early as their
    dependencies allow; the counterpart of
    :func:`~splitinfer.system.stages.no_wait_latency`). NaN if the device has no power figures."""
    power = device_power(sc, task.device)
    if power is None:
        return float("nan")
    stages = build_stages(sc, task, tp)
    start: list[float] = []
    end: list[float] = []
    for s in stages:
        a = max((end[d] for d in s.deps), default=0.0)
        start.append(a)
        end.append(a + s.duration)
    return stages_energy(power, task.device, stages, start, end, max(end, default=0.0))


def timeline_energy(sc: Scenario, tl: Timeline) -> np.ndarray:
    """Per-task device energy (J) of a run's columns, computed on the arrays.

    NaN for tasks whose device has no power figures.
    """
    n = len(tl.ids)
    if n == 0:
        return np.zeros(0)
    dev_names = sorted(set(tl.devices))
    code = {d: i for i, d in enumerate(dev_names)}
    dev_task = np.array([code[d] for d in tl.devices], np.int64)
    watts = np.full((len(dev_names), 4), np.nan)  # compute, transmit, receive, idle
    for d, i in code.items():
        p = sc.nodes[d].power if d in sc.nodes else None
        if p is not None:
            watts[i] = (p.compute, p.transmit, p.receive, p.idle)
    # per label: compute node code (-2: not a compute stage), delay flag
    lab_node = np.array([code.get(node, -1) if kind == "compute" else -2
                         for _, kind, node in tl.labels] or [-2], np.int64)
    lab_delay = np.array([kind == "delay" for _, kind, _ in tl.labels] or [False], bool)
    # per resource (+1 entry for "none" at index -1): link ends
    ends = [r.split("->", 1) if "->" in r else (None, None) for r in tl.resources]
    res_src = np.array([code.get(a, -1) if a else -1 for a, _ in ends] + [-1], np.int64)
    res_dst = np.array([code.get(b, -1) if b else -1 for _, b in ends] + [-1], np.int64)
    task = tl.task
    dev = dev_task[task]
    label = tl.label
    res = tl.resource
    role = np.full(len(task), NONE, np.int64)
    role[res_dst[res] == dev] = RECEIVE
    role[lab_delay[label]] = RECEIVE
    role[res_src[res] == dev] = TRANSMIT
    role[lab_node[label] == dev] = COMPUTE
    on_device = role != NONE
    dur = tl.end - tl.start
    power = watts[dev, np.where(on_device, role, 0)]
    active = np.bincount(task[on_device], weights=(dur * power)[on_device], minlength=n)
    busy = np.bincount(task[on_device], weights=dur[on_device], minlength=n)
    s0 = np.full(n, np.inf)
    np.minimum.at(s0, task[on_device], tl.start[on_device])
    idle = np.where(np.isfinite(s0), np.maximum(0.0, tl.finish - s0 - busy), 0.0)
    return active + watts[dev_task, 3] * idle


def attach_energy(result: Result, sc: Scenario, devices: Sequence[str] | None = None
                  ) -> Result:
    """Give ``result`` its per-task energy (``result.energy``) and the scenario's objective
    weight, when every device with tasks has power figures; returns ``result``.
    ``devices``: as for :func:`has_energy`."""
    result.objective_weight = sc.objective_weight
    if has_energy(sc, devices) and len(result):
        tl = result.timeline if result.timeline is not None else columns(result.tasks)
        result.energy = timeline_energy(sc, tl)
    return result
