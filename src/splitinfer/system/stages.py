"""Turning a task's plan into timed stages: the shared timing rules of every paper.

:func:`build_stages` is the single place where a :class:`~splitinfer.system.plan.TaskPlan` becomes
a small DAG of :class:`Stage` s with durations taken from the scenario: device compute, uplink
transfer, server compute, further transfers and compute for multi-tier plans, and the result
return. The simulator executes these stages on resources; planners that need a task's cost
without waiting (e.g. seed 000 Alg. 1, seed 003's f and g) sum them. Neither re-derives timing.

Resource names: a node's name for compute (``"cloud#edge3"`` for the share of a divisible
node given to group ``edge3``), ``"src->dst"`` for a link; a stage with no resource is a pure
delay (a constant result-return time).

Examples
--------
>>> from splitinfer.system.load import scenario_from_dict
>>> from splitinfer.system.plan import TaskPlan
>>> sc = scenario_from_dict({
...     "nodes": [{"name": "d", "kind": "device", "compute": {"flops_per_s": 1e9}},
...               {"name": "e", "kind": "edge", "compute": {"flops_per_s": 1e10}}],
...     "links": [{"src": "d", "dst": "e", "bandwidth": 8e6}],
...     "models": {"m": {"cuts": [{"transfer_bytes": 1e6, "head_flops": 0},
...                               {"transfer_bytes": 5e5, "head_flops": 1e9},
...                               {"transfer_bytes": 1e3, "head_flops": 3e9}]}},
...     "workload": {"tasks": [{"device": "d", "model": "m"}]}})
>>> [(s.name, s.resource, round(s.duration, 3)) for s in
...  build_stages(sc, sc.tasks[0], TaskPlan("t0", ("d", "e"), (1,)))]
[('compute', 'd', 1.0), ('uplink', 'd->e', 0.5), ('compute', 'e', 0.2), ('return', 'e->d', 0.001)]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from splitinfer.errors import InfeasiblePlanError
from splitinfer.system.entities import Task, link_name
from splitinfer.system.plan import Step, TaskPlan
from splitinfer.system.scenario import Scenario

__all__ = ["Stage", "build_stages", "no_wait_latency"]


@dataclass(frozen=True, slots=True)
class Stage:
    """A timed stage of one task.

    ``deps`` index earlier stages of the same task; ``pool``/``amount`` is the reserved bandwidth
    (bit/s) that a transfer on a reserved link also holds for its duration.
    """

    name: str
    kind: Literal["compute", "transfer", "delay"]
    resource: str | None
    node: str | None
    duration: float
    deps: tuple[int, ...]
    pool: str | None = None
    amount: float = 0.0


def _compute_resource(sc: Scenario, node: str, tp: TaskPlan) -> tuple[str, float]:
    """Resource name and speed factor for compute on ``node`` under this plan."""
    n = sc.nodes.get(node)
    if n is None:
        raise InfeasiblePlanError(f"task {tp.task}: unknown node {node!r}")
    if n.divisible:
        if tp.share is None or not 0 < tp.share <= 1:
            raise InfeasiblePlanError(f"task {tp.task}: node {node!r} is divisible, so the plan "
                                      f"must give a share in (0, 1], got {tp.share!r}")
        return f"{node}#{tp.share_group or sc.task(tp.task).device}", tp.share
    return node, 1.0


def _transfer(sc: Scenario, tp: TaskPlan, src: str, dst: str, nbytes: float, rate: float | None,
              name: str, deps: tuple[int, ...]) -> Stage:
    link = sc.link(src, dst)
    if rate is not None and rate > link.rate * (1 + 1e-9):
        raise InfeasiblePlanError(f"task {tp.task}: reserved rate {rate:.4g} bit/s exceeds the "
                                  f"cap {link.rate:.4g} bit/s of link {link.name}")
    use = rate if rate is not None else link.rate
    pool = link.pool if link.sharing == "reserved" else None
    return Stage(name, "transfer", link_name(src, dst), None, link.time(nbytes, use), deps,
                 pool, use if pool else 0.0)


def _chain(sc: Scenario, task: Task, tp: TaskPlan) -> list[Stage]:
    model = sc.models[task.model]
    if tp.nodes[0] != task.device:
        raise InfeasiblePlanError(f"task {task.id}: the first node must be its device "
                                  f"{task.device!r}, got {tp.nodes[0]!r}")
    if tp.cuts and (tp.cuts[0] < 0 or tp.cuts[-1] > model.last_cut):
        raise InfeasiblePlanError(f"task {task.id}: cuts {tp.cuts} out of range 0..{model.last_cut}")
    stages: list[Stage] = []
    pieces = tp.pieces(model.last_cut)
    for k, (node, a, b) in enumerate(pieces):
        if k > 0 and node != pieces[k - 1][0]:
            rate = tp.bandwidth[k - 1] if tp.bandwidth is not None else None
            nbytes = float(model.transfer_bytes[a]) * task.samples
            stages.append(_transfer(sc, tp, pieces[k - 1][0], node, nbytes, rate,
                                    "uplink" if k == 1 else f"hop{k}",
                                    (len(stages) - 1,) if stages else ()))
        resource, factor = _compute_resource(sc, node, tp)
        duration = sc.compute_time(node, task.model, a, b, task.samples) / factor
        if b > a:
            stages.append(Stage("compute", "compute", resource, node, duration,
                                (len(stages) - 1,) if stages else ()))
    last = pieces[-1][0]
    if last != task.device:
        dep = (len(stages) - 1,)
        if sc.result_return is not None:
            stages.append(Stage("return", "delay", None, None, sc.result_return, dep))
        else:
            out = float(model.output_bytes) * task.samples
            if sc.has_link(last, task.device):
                stages.append(_transfer(sc, tp, last, task.device, out, None, "return", dep))
            else:  # back along the chain
                hops = [n for n, _, _ in pieces]
                hops = [h for i, h in enumerate(hops) if i == 0 or h != hops[i - 1]][::-1]
                for src, dst in zip(hops, hops[1:], strict=False):
                    stages.append(_transfer(sc, tp, src, dst, out, None, "return",
                                            (len(stages) - 1,)))
    return stages


def _steps(sc: Scenario, task: Task, tp: TaskPlan, steps: tuple[Step, ...]) -> list[Stage]:
    out: list[Stage] = []
    for i, s in enumerate(steps):
        if any(d >= i or d < 0 for d in s.deps):
            raise InfeasiblePlanError(f"task {task.id}: step {i} depends on a later step {s.deps}")
        if s.kind == "compute":
            resource, factor = _compute_resource(sc, s.node, tp)
            if s.segment is not None:
                t = sc.compute_time(s.node, task.model, *s.segment, task.samples)
            elif s.flops is not None:
                t = sc.flops_time(s.node, s.flops) * task.samples
            elif s.layers is not None:
                t = sc.layers_time(s.node, task.model, s.layers, task.samples)
            else:
                raise InfeasiblePlanError(f"task {task.id}: compute step {i} has neither segment, "
                                          "flops nor layers")
            out.append(Stage(s.label or "compute", "compute", resource, s.node, t / factor, s.deps))
        elif s.kind == "return":
            if s.src is None:
                raise InfeasiblePlanError(f"task {task.id}: return step {i} needs src")
            if sc.result_return is not None:
                out.append(Stage(s.label or "return", "delay", None, None, sc.result_return, s.deps))
            else:
                model = sc.models[task.model]
                nbytes = float(model.output_bytes if s.nbytes is None else s.nbytes)
                out.append(_transfer(sc, tp, s.src, task.device, nbytes * task.samples, None,
                                     s.label or "return", s.deps))
        else:
            if s.nbytes is None or s.src is None or s.dst is None:
                raise InfeasiblePlanError(f"task {task.id}: transfer step {i} needs src, dst, nbytes")
            st = _transfer(sc, tp, s.src, s.dst, s.nbytes * task.samples, s.rate,
                           s.label or "transfer", s.deps)
            out.append(st)
    return out


def build_stages(sc: Scenario, task: Task, tp: TaskPlan) -> list[Stage]:
    """The timed stages of ``task`` under plan ``tp`` (see the module docstring).

    Raises
    ------
    InfeasiblePlanError
        Unknown nodes, missing links, cuts out of range, a divisible node without a share, or a
        reserved rate above a link's cap.
    """
    if tp.steps is not None:
        return _steps(sc, task, tp, tp.steps)
    return _chain(sc, task, tp)


def no_wait_latency(sc: Scenario, task: Task, tp: TaskPlan) -> float:
    """Latency of ``task`` under ``tp`` if it never waited: the longest path through its stages.

    Examples
    --------
    >>> from splitinfer.system.load import scenario_from_dict
    >>> sc = scenario_from_dict({
    ...     "nodes": [{"name": "d", "kind": "device", "compute": {"flops_per_s": 1e9}}],
    ...     "models": {"m": {"cuts": [{"transfer_bytes": 1}, {"transfer_bytes": 1, "head_flops": 5e8}]}},
    ...     "workload": {"tasks": [{"device": "d", "model": "m"}]}})
    >>> no_wait_latency(sc, sc.tasks[0], TaskPlan("t0", ("d",)))
    0.5
    """
    stages = build_stages(sc, task, tp)
    finish: list[float] = []
    for s in stages:
        start = max((finish[d] for d in s.deps), default=0.0)
        finish.append(start + s.duration)
    return max(finish, default=0.0)
