"""Partition-Points-Selection (Shi et al. 2021, Alg. 1).

For every server s_u, the partition points v whose task time *without waiting*,

    T = sum_{i<=v} t_d^i + d_v / B + sum_{k>v} t_{s_u}^k     (Alg. 1, line 2),

is within the bound ``Latency`` form SP_u; the result is SP = the intersection of the SP_u over
all servers. The all-local point (the paper's P6) has the same T on every server (no transfer,
no server part), so it is kept iff the device alone meets the bound.

Reading: section 3.1 defines a good point by "the total time cost of the task t(m) is less than
Latency without considering the waiting time", i.e. eq. (1) without t_w, which includes the
constant result-return time t_r that Alg. 1's T leaves out; we follow the text (T + t_r for the
offloading points) by timing each point with
:func:`splitinfer.system.stages.no_wait_latency`. With t_r constant this only shifts the bound.
Alg. 1 writes ``Latency >= T``; we keep that (points exactly at the bound are kept).

Examples
--------
Shi et al.'s Table 2 (6 points) at 4 Mbps: with a bound of 60 ms only the raw-input point P1 passes
on all four servers (P1 to Server4 takes 24.6 + 38 ms), so SP is empty of offloading points and
the all-local point (88 ms) is out too; a bound of 90 ms keeps P1 and P6 (index 5):

>>> from splitinfer.system import load_scenario
>>> sc = load_scenario("shi2021")
>>> pps(sc, latency=0.060)
[]
>>> pps(sc, latency=0.090)
[0, 5]
>>> pps(sc)  # no bound: every point
[0, 1, 2, 3, 4, 5]
"""

from __future__ import annotations

import math

from splitinfer.errors import NotApplicableError
from splitinfer.system.entities import Task
from splitinfer.system.plan import TaskPlan
from splitinfer.system.scenario import Scenario
from splitinfer.system.stages import no_wait_latency

__all__ = ["pps", "point_times"]


def _defaults(sc: Scenario, model: str | None, device: str | None) -> tuple[str, str]:
    if model is None:
        if len(sc.models) != 1:
            raise NotApplicableError(f"the scenario has {len(sc.models)} models; name one")
        model = next(iter(sc.models))
    if device is None:
        owners = [t.device for t in sc.tasks if t.model == model]
        device = owners[0] if owners else (sc.devices[0] if sc.devices else None)
        if device is None:
            raise NotApplicableError("the scenario has no end device")
    return model, device


def point_times(scenario: Scenario, model: str | None = None, device: str | None = None
                ) -> dict[str | None, list[float]]:
    """Task time without waiting at every cut, per server (``None``: all-local, one value).

    Returns
    -------
    dict
        Server name -> list of seconds per cut ``0..last-1`` (offloading points); ``None`` ->
        ``[local seconds]``.

    Examples
    --------
    >>> from splitinfer.system import load_scenario
    >>> times = point_times(load_scenario("shi2021"))
    >>> [round(x * 1000, 3) for x in times["server1"]]
    [31.576, 161.072, 109.536, 96.768, 88.384]
    >>> times[None]
    [0.088]
    """
    model, device = _defaults(scenario, model, device)
    last = scenario.models[model].last_cut
    probe = Task("pps-probe", 0, device, model, 0.0)
    out: dict[str | None, list[float]] = {
        None: [no_wait_latency(scenario, probe, TaskPlan(probe.id, (device,), ()))]}
    for s in scenario.reachable_servers(device):
        out[s] = [no_wait_latency(scenario, probe, TaskPlan(probe.id, (device, s), (c,)))
                  for c in range(last)]
    return out


def pps(scenario: Scenario, model: str | None = None, device: str | None = None,
        latency: float | None = None) -> list[int]:
    """Alg. 1: the partition points within ``latency`` (no waiting) on every server.

    Parameters
    ----------
    scenario : Scenario
    model, device : str, optional
        Default: the scenario's only model; the first device that runs it.
    latency : float, optional
        The bound *Latency* in seconds; ``None`` keeps every point.

    Returns
    -------
    list of int
        Sorted cut indices; the model's last cut stands for the all-local point.
    """
    model, device = _defaults(scenario, model, device)
    bound = math.inf if latency is None else float(latency)
    times = point_times(scenario, model, device)
    last = scenario.models[model].last_cut
    keep = set(range(last)) if len(times) > 1 else set()
    for server, row in times.items():
        if server is not None:
            keep &= {c for c, t in enumerate(row) if t <= bound}
    if times[None][0] <= bound:
        keep.add(last)
    return sorted(keep)
