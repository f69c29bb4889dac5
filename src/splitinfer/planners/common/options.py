"""Enumerating the chain plans a task can take (shared by baselines and exact searches).

Examples
--------
>>> from splitinfer.system import scenario_from_dict
>>> sc = scenario_from_dict({
...     "nodes": [{"name": "d", "kind": "device", "compute": {"flops_per_s": 1e9}},
...               {"name": "e", "kind": "edge", "compute": {"flops_per_s": 1e10}},
...               {"name": "c", "kind": "cloud", "compute": {"flops_per_s": 1e11}}],
...     "links": [{"src": "d", "dst": "e", "bandwidth": 8e6}, {"src": "e", "dst": "c", "bandwidth": 8e6}],
...     "models": {"m": {"cuts": [{"transfer_bytes": 10}, {"transfer_bytes": 5, "head_flops": 1},
...                               {"transfer_bytes": 1, "head_flops": 2}]}},
...     "workload": {"tasks": [{"device": "d", "model": "m"}]}})
>>> [(tp.nodes, tp.cuts) for tp in chain_options(sc, sc.tasks[0])][:4]
[(('d',), ()), (('d', 'e'), (0,)), (('d', 'e'), (1,)), (('d', 'e', 'c'), (0, 0))]
>>> len(chain_options(sc, sc.tasks[0]))
6
"""

from __future__ import annotations

from splitinfer.system.entities import Task
from splitinfer.system.plan import TaskPlan
from splitinfer.system.scenario import Scenario

__all__ = ["chain_options", "chain_routes", "cloud_route"]


def chain_routes(sc: Scenario, device: str) -> list[tuple[str, ...]]:
    """The routes of :func:`chain_options`, in its order: each server the device reaches,
    followed (for an edge server) by each cloud that edge reaches.

    Examples
    --------
    >>> from splitinfer.system import load_scenario
    >>> chain_routes(load_scenario("huang2019-single"), "phone")
    [('phone', 'edge'), ('phone', 'edge', 'cloud')]
    """
    out: list[tuple[str, ...]] = []
    for s in sc.servers:
        if not sc.has_link(device, s):
            continue
        out.append((device, s))
        if sc.nodes[s].kind == "edge":
            out += [(device, s, cl) for cl in sc.clouds if sc.has_link(s, cl)]
    return out


def chain_options(sc: Scenario, task: Task, *, two_tier: bool = True, three_tier: bool = True,
                  local: bool = True) -> list[TaskPlan]:
    """Every chain plan of ``task``: local; device -> server at each cut; device -> edge -> cloud
    at each cut pair ``c1 <= c2`` (an empty edge piece relays; Huang et al.'s two cut points).

    Plans that would run the whole model on the device and still send the output are left out.
    Divisible nodes get no share here; the caller sets it.
    """
    last = sc.models[task.model].last_cut
    out: list[TaskPlan] = []
    if local:
        out.append(TaskPlan(task.id, (task.device,), ()))
    for route in chain_routes(sc, task.device):
        if len(route) == 2 and two_tier:
            out += [TaskPlan(task.id, route, (c,)) for c in range(last)]
        elif len(route) == 3 and three_tier:
            out += [TaskPlan(task.id, route, (c1, c2))
                    for c1 in range(last) for c2 in range(c1, last)]
    return out


def cloud_route(sc: Scenario, device: str, cloud: str) -> tuple[str, ...] | None:
    """Nodes from ``device`` to ``cloud``: direct if linked, else through one edge server."""
    if sc.has_link(device, cloud):
        return (device, cloud)
    for e in sc.edges:
        if sc.has_link(device, e) and sc.has_link(e, cloud):
            return (device, e, cloud)
    return None
