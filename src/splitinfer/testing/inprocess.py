"""Execute a plan for real in this process: the runtime tests' harness.

:func:`execute_in_process` serves every server of a scenario as a :class:`~splitinfer.runtime.
worker.Worker` on loopback gRPC (each knowing its linked peers), builds a
:class:`~splitinfer.runtime.device.Device` for every device with tasks, makes each device take
its tasks' decisions from the plan, and replays all of them from one epoch in threads — a
whole ``splitinfer run`` without the controller and the separate processes, so that a test can
compare the outputs with the unsplit model and the measured stages with the simulator's.

Needs the ``torch`` and ``runtime`` extras (imported when called).

Examples
--------
>>> from splitinfer.runtime.pieces import ModelPieces
>>> from splitinfer.system.load import scenario_from_dict
>>> from splitinfer.system.plan import Plan, TaskPlan
>>> sc = scenario_from_dict({
...     "nodes": [{"name": "phone", "kind": "device", "compute": {"flops_per_s": 1e9}}],
...     "models": {"lenet5": {"profile": "lenet5@cpu-1t"}},
...     "workload": {"tasks": [{"device": "phone", "model": "lenet5"}]}})
>>> plan = Plan("local", {"t0": TaskPlan("t0", ("phone",))})
>>> outs, epoch = execute_in_process(sc, plan, {"lenet5": ModelPieces("lenet5")})
>>> [(o.record.id, o.nodes, o.executed_as_planned) for o in outs]
[('t0', ['phone'], True)]
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

from splitinfer.system.plan import Plan
from splitinfer.system.scenario import Scenario

__all__ = ["execute_in_process"]


def execute_in_process(sc: Scenario, plan: Plan, pieces: Mapping[str, Any], *,
                       paced: Iterable[str] = (), deadline_s: float = 60.0,
                       timeout_s: float = 120.0, start_in_s: float = 0.2
                       ) -> tuple[list[Any], float]:
    """Serve every server of ``sc`` here and replay every device's tasks under ``plan``.

    Parameters
    ----------
    sc : Scenario
    plan : Plan
        Every task's decision (each device's ``decide`` returns the plan's task plan).
    pieces : mapping
        Model name -> :class:`~splitinfer.runtime.pieces.ModelPieces`, shared by all nodes.
    paced : iterable of str
        Devices that hold each compute stage for the scenario's time of it
        (``DeviceConfig.paced``).
    deadline_s : float
        A device's deadline for one remote call (``DeviceConfig.deadline_s``).
    timeout_s : float
        Every task must finish within this many seconds after the last arrival
        (``Device.replay``); the threads are joined for twice as long.
    start_in_s : float
        The epoch (time 0 of the arrivals) is this many seconds after the call.

    Returns
    -------
    outcomes : list of Outcome
        One per task of ``sc``, in its order (``Outcome.output``, ``.record``, ``.nodes``,
        ``.executed_as_planned``).
    epoch : float
        The ``time.monotonic()`` value of time 0.

    Raises
    ------
    RuntimeError
        When a device's replay failed (the first error is the cause) or a task has no outcome.
    """
    from splitinfer.runtime.device import Device, DeviceConfig
    from splitinfer.runtime.transport import free_ports
    from splitinfer.runtime.worker import Worker, WorkerConfig

    servers = []
    addrs = {n: f"127.0.0.1:{p}" for n, p in zip(sc.servers, free_ports(len(sc.servers)),
                                                  strict=True)}
    devices: list = []
    outs: dict[str, Any] = {}
    errors: list[BaseException] = []
    try:
        for name in sc.servers:
            peers = {p: addrs[p] for p in sc.servers if p != name and sc.has_link(name, p)}
            w = Worker(WorkerConfig(name, tuple(sc.models),
                                    concurrency=sc.nodes[name].concurrency, scenario=sc,
                                    peers=peers), pieces)
            servers.append(w.serve(addrs[name])[0])
        devices = [Device(DeviceConfig(d, sc, {s: addrs[s] for s in sc.servers
                                               if sc.has_link(d, s)},
                                       controller=None, deadline_s=deadline_s,
                                       paced=tuple(paced)), pieces)
                   for d in sc.devices if any(t.device == d for t in sc.tasks)]
        for dev in devices:
            dev.decide = lambda t, now: (plan.tasks[t.id], "test", None)
        epoch = time.monotonic() + start_in_s

        def go(dev) -> None:
            try:
                for o in dev.replay(list(sc.tasks), epoch, timeout=timeout_s):
                    outs[o.record.id] = o
            except BaseException as exc:  # re-raised below, after every device ended
                errors.append(exc)

        threads = [threading.Thread(target=go, args=(d,)) for d in devices]
        for th in threads:
            th.start()
        for th in threads:
            th.join(2 * timeout_s)
    finally:
        for dev in devices:
            dev.close()
        for s in servers:
            s.stop(None)
    if errors:
        raise RuntimeError(f"{len(errors)} device replay(s) failed: {errors!r}") from errors[0]
    missing = [t.id for t in sc.tasks if t.id not in outs]
    if missing:
        raise RuntimeError(f"no outcome for task(s) {missing} within {2 * timeout_s:g} s")
    return [outs[t.id] for t in sc.tasks], epoch
