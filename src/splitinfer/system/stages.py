"""Turning a task's plan into timed stages: the shared timing rules of every paper.

:func:`build_stages` is the single place where a :class:`~splitinfer.system.plan.TaskPlan` becomes
a small DAG of :class:`Stage` s with durations taken from the scenario: device compute, uplink
transfer, server compute, further transfers and compute for multi-tier plans, and the result
return. The simulator executes these stages on resources; planners that need a task's cost
without waiting (e.g. Shi et al. 2021 Alg. 1, Duan & Wu's f and g) sum them. Neither re-derives timing.

Resource names: a node's name for compute (``"cloud#edge3"`` for the share of a divisible
node given to group ``edge3``), ``"src->dst"`` for a link; a stage with no resource is a pure
delay (a constant result-return time).

The stages are also what the real runtime executes (one stage graph, two executors): every
compute stage names the model ``layers`` it runs (indices into ``ModelCosts.layers``, a cut
range or a general DAG cut; ``None`` when the plan gives only a FLOP count) and the ``factor``
(share) of the node it runs on; every transfer, return or delay names its ``src`` and ``dst``,
``nbytes`` and reserved ``rate``. :func:`stage_values` says which tensors (layer outputs, ``-1``
the model input) each stage produces or carries, and refuses a graph whose data cannot flow
(a compute stage whose inputs no earlier stage brings to its node, a result that never reaches
the device): that is the check that a plan is executable, made before a run starts.

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

import math
from dataclasses import dataclass, replace
from typing import Any, Literal

from splitinfer.errors import InfeasiblePlanError
from splitinfer.system.entities import Task, link_name
from splitinfer.system.plan import Step, TaskPlan
from splitinfer.system.scenario import Scenario
from splitinfer.system.tiles import covers, key_order, tile_io, tile_key
from splitinfer.traces import TracedTransfer
from splitinfer.transfer import wire_bytes

__all__ = ["Stage", "build_stages", "no_wait_latency", "stage_values", "stage_location"]


@dataclass(frozen=True, slots=True)
class Stage:
    """A timed stage of one task.

    A transfer's ``dtype`` is the wire dtype its tensors cross in
    (:data:`~splitinfer.transfer.WIRE_DTYPES`); its ``nbytes`` are then the real bytes on the
    wire (:func:`~splitinfer.transfer.wire_bytes`), which its time is computed from.

    ``deps`` index earlier stages of the same task; ``pool``/``amount`` is the reserved bandwidth
    (bit/s) that a transfer on a reserved link also holds for its duration.

    The fields after ``amount`` describe what the stage does, for the runtime (they default so
    that the timing fields keep their positions): ``src``/``dst`` of a transfer, return or
    delay, its ``nbytes`` and reserved ``rate`` (``None``: the link's rate); the ``layers`` a
    compute stage runs (``None``: only a FLOP count, which cannot run for real) and the
    ``factor`` of the node's speed it gets (a divisible node's share, else 1); ``tile`` the
    spatial tile a compute stage computes or a transfer carries (``Step.tile``: cut, rows,
    columns; :mod:`splitinfer.system.tiles`). A transfer on a link with a bandwidth trace also
    carries ``traced``: its bits on that trace, which the simulator integrates from the moment
    the transfer starts (``duration`` is then its time at the rate in force at time 0).
    """

    name: str
    kind: Literal["compute", "transfer", "delay"]
    resource: str | None
    node: str | None
    duration: float
    deps: tuple[int, ...]
    pool: str | None = None
    amount: float = 0.0
    src: str | None = None
    dst: str | None = None
    nbytes: float = 0.0
    rate: float | None = None
    layers: tuple[int, ...] | None = None
    factor: float = 1.0
    dtype: str = "float32"
    traced: TracedTransfer | None = None
    tile: tuple[int, int, int, int, int] | None = None


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
              name: str, deps: tuple[int, ...], dtype: str | None = "float32") -> Stage:
    """A transfer stage; ``nbytes`` are float32 bytes, sent as ``dtype`` (``None``: the
    link's dtype; the result's return passes ``"float32"``)."""
    link = sc.link(src, dst)
    dtype = link.dtype if dtype is None else dtype
    try:
        nbytes = float(wire_bytes(nbytes, dtype))
    except ValueError as exc:
        raise InfeasiblePlanError(f"task {tp.task}: {exc}") from None
    if rate is not None and rate > link.rate * (1 + 1e-9):
        raise InfeasiblePlanError(f"task {tp.task}: reserved rate {rate:.4g} bit/s exceeds the "
                                  f"cap {link.rate:.4g} bit/s of link {link.name}")
    if rate is not None and link.trace is not None:
        raise InfeasiblePlanError(f"task {tp.task}: link {link.name} follows a bandwidth trace, "
                                  "so a plan cannot set its rate")
    pool = link.pool if link.sharing == "reserved" else None
    if rate is None and pool is not None and sc.pools.get(pool, math.inf) < link.rate:
        # no rate in the plan: the link's cap, but never more than its pool holds (a transfer
        # asking for more than the whole pool could never start); the rate is then explicit,
        # so the runtime paces the transfer at it too
        rate = float(sc.pools[pool])
    use = rate if rate is not None else link.rate
    return Stage(name, "transfer", link_name(src, dst), None, link.time(nbytes, use), deps,
                 pool, use if pool else 0.0, src=src, dst=dst, nbytes=nbytes, rate=rate,
                 traced=link.traced(nbytes), dtype=dtype)


def _segment_layers(sc: Scenario, model: str, a: int, b: int) -> tuple[int, ...] | None:
    """The layers between cuts ``a`` and ``b`` (``None`` for a model without layers)."""
    lc = sc.models[model].layers
    if lc is None:
        return None
    return tuple(range(lc.cut_positions[a], lc.cut_positions[b]))


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
            dtype = tp.dtype[k - 1] if tp.dtype is not None else None
            nbytes = float(model.transfer_bytes[a]) * task.samples
            stages.append(_transfer(sc, tp, pieces[k - 1][0], node, nbytes, rate,
                                    "uplink" if k == 1 else f"hop{k}",
                                    (len(stages) - 1,) if stages else (), dtype))
        resource, factor = _compute_resource(sc, node, tp)
        duration = sc.compute_time(node, task.model, a, b, task.samples) / factor
        if b > a:
            stages.append(Stage("compute", "compute", resource, node, duration,
                                (len(stages) - 1,) if stages else (),
                                layers=_segment_layers(sc, task.model, a, b), factor=factor))
    last = pieces[-1][0]
    if last != task.device:
        dep = (len(stages) - 1,)
        if sc.result_return is not None:
            stages.append(Stage("return", "delay", None, None, sc.result_return, dep,
                                src=last, dst=task.device))
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


def _flops_time(sc: Scenario, s: Step, task: Task) -> float:
    """Seconds of a step given as FLOPs: at the node's FLOP/s; on a node timed by a profile
    (a runtime view), the named piece's time in proportion of its FLOPs."""
    if sc.nodes[s.node].compute == "flops" or s.segment is None:
        return sc.flops_time(s.node, s.flops)
    a, b = s.segment
    model = sc.models[task.model]
    whole = float(model.head_flops[b] - model.head_flops[a])
    t = sc.compute_time(s.node, task.model, a, b)
    return t * s.flops / whole if whole > 0 else t


def _steps(sc: Scenario, task: Task, tp: TaskPlan, steps: tuple[Step, ...]) -> list[Stage]:
    out: list[Stage] = []
    for i, s in enumerate(steps):
        if any(d >= i or d < 0 for d in s.deps):
            raise InfeasiblePlanError(f"task {task.id}: step {i} depends on a later step {s.deps}")
        if s.kind == "compute":
            resource, factor = _compute_resource(sc, s.node, tp)
            layers = None
            if s.segment is not None:
                layers = _segment_layers(sc, task.model, *s.segment)
            elif s.layers is not None:
                layers = tuple(int(v) for v in s.layers)
            if s.tile is not None and (s.segment is None or s.flops is None):
                raise InfeasiblePlanError(f"task {task.id}: tile step {i} needs the segment it "
                                          "tiles and its FLOPs")
            if s.flops is not None:  # FLOPs time it; segment or layers name what it runs
                t = _flops_time(sc, s, task) * task.samples
            elif s.segment is not None:
                t = sc.compute_time(s.node, task.model, *s.segment, task.samples)
            elif s.layers is not None:
                t = sc.layers_time(s.node, task.model, s.layers, task.samples)
            else:
                raise InfeasiblePlanError(f"task {task.id}: compute step {i} has neither segment, "
                                          "flops nor layers")
            out.append(Stage(s.label or "compute", "compute", resource, s.node, t / factor, s.deps,
                             layers=layers, factor=factor, tile=s.tile))
        elif s.kind == "return":
            if s.src is None:
                raise InfeasiblePlanError(f"task {task.id}: return step {i} needs src")
            if sc.result_return is not None:
                out.append(Stage(s.label or "return", "delay", None, None, sc.result_return, s.deps,
                                 src=s.src, dst=task.device))
            else:
                model = sc.models[task.model]
                nbytes = float(model.output_bytes if s.nbytes is None else s.nbytes)
                out.append(_transfer(sc, tp, s.src, task.device, nbytes * task.samples, None,
                                     s.label or "return", s.deps))
        else:
            if s.nbytes is None or s.src is None or s.dst is None:
                raise InfeasiblePlanError(f"task {task.id}: transfer step {i} needs src, dst, nbytes")
            st = _transfer(sc, tp, s.src, s.dst, s.nbytes * task.samples, s.rate,
                           s.label or "transfer", s.deps, s.dtype)
            out.append(st if s.tile is None else replace(st, tile=s.tile))
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


def stage_location(stage: Stage) -> str | None:
    """The node that executes ``stage``: a compute stage's node, a transfer's (or return's) sender.

    Examples
    --------
    >>> stage_location(Stage("uplink", "transfer", "d->e", None, 0.1, (), src="d", dst="e"))
    'd'
    """
    return stage.node if stage.kind == "compute" else stage.src


def _piece_io(preds: list[set[int]], consumers: dict[int, tuple[int, ...]], outputs: set[int],
              layers: tuple[int, ...]) -> tuple[set[int], set[int]]:
    """Values a set of layers reads from outside, and the values it produces for others."""
    body = set(layers)
    ins = {u for v in body for u in preds[v] if u not in body}
    outs = {v for v in body if v in outputs or any(c not in body for c in consumers[v])}
    return ins, outs


def stage_values(sc: Scenario, task: Task, stages: list[Stage]) -> list[tuple[Any, ...]]:
    """The tensors every stage produces (compute) or carries (transfer, return, delay).

    Values are layer outputs of ``ModelCosts.layers`` (``-1`` is the model input, which starts
    at the task's device). A compute stage produces the outputs of its layers that a layer
    outside it or the result reads; a transfer carries what its sender holds (from the stage's
    ancestors) and a later stage needs: the inputs of the compute stages after it, and the
    model's outputs.

    A stage with a ``tile`` (Li et al. 2022's fused-layer paths) works on a spatial tile, the
    value key ``(value, row0, row1, col0, col1)`` (:mod:`splitinfer.system.tiles`): a tile
    compute stage reads the receptive field of its tile (cut from a whole tensor or sent as
    that crop) and produces the tile; a transfer with a tile carries exactly it; a stage that
    reads a whole tensor gets the tiles at its node stitched, when they cover it.

    Raises
    ------
    InfeasiblePlanError
        The graph cannot run for real: the model has no layers (a paper's cut table), a compute
        stage gives only FLOPs, a compute stage's inputs are not at its node, a transfer carries
        nothing, a tile is not on a fused layer of the model (or the model has no fused-layer
        geometry), or the result never reaches the device.

    Examples
    --------
    >>> from splitinfer.system.load import load_scenario
    >>> sc = load_scenario("demo")
    >>> t = sc.tasks[0]
    >>> stages = build_stages(sc, t, TaskPlan(t.id, (t.device, "edge-wifi"), (3,)))
    >>> [(s.name, len(v)) for s, v in zip(stages, stage_values(sc, t, stages))]
    [('compute', 1), ('uplink', 1), ('compute', 1), ('return', 1)]
    """
    lc = sc.models[task.model].layers
    if lc is None:
        raise InfeasiblePlanError(f"task {task.id}: model {task.model!r} has no layers (a cut "
                                  "table), so no stage of it can run for real")
    consumers = lc.consumers
    preds: list[set[int]] = [set() for _ in range(lc.n)]
    for v, users in consumers.items():
        for u in users:
            preds[u].add(v)
    outputs = set(lc.outputs)
    anc: list[set[int]] = []
    for s in stages:
        a: set[int] = set()
        for d in s.deps:
            a |= anc[d] | {d}
        anc.append(a)
    geom = None
    if any(s.tile is not None for s in stages):
        from splitinfer.system.tiles import scenario_geometry

        geom = scenario_geometry(sc, task.model)
    io: list[tuple[set[Any], set[Any]] | None] = []
    for i, s in enumerate(stages):
        if s.kind != "compute":
            io.append(None)
            continue
        if s.layers is None:
            raise InfeasiblePlanError(f"task {task.id}: compute stage {i} ({s.name!r} on "
                                      f"{s.node!r}) gives only a FLOP count, not the layers it "
                                      "runs, so it cannot run for real")
        if any(not 0 <= v < lc.n for v in s.layers):
            raise InfeasiblePlanError(f"task {task.id}: compute stage {i} names layers outside "
                                      f"0..{lc.n - 1}")
        ins, outs = _piece_io(preds, consumers, outputs, s.layers)
        if s.tile is not None:
            a_cut = lc.cut_positions.index(min(s.layers)) if min(s.layers) in lc.cut_positions \
                else None
            b_cut = s.tile[0]
            if a_cut is None or _segment_layers(sc, task.model, a_cut, b_cut) != s.layers:
                raise InfeasiblePlanError(f"task {task.id}: tile stage {i} ({s.name!r}) does not "
                                          "run a piece between two cuts ending at its tile")
            read, made = tile_io(geom, (a_cut, b_cut), s.tile)
            if ins != {read[0]} or outs != {made[0]}:
                raise InfeasiblePlanError(f"task {task.id}: tile stage {i} ({s.name!r}) reads "
                                          f"{sorted(ins)} and gives {sorted(outs)}, not the "
                                          "fused-layer tensors of its cuts")
            ins, outs = {read}, {made}
        io.append((ins, outs))
    gives: list[tuple[Any, ...]] = []

    def held(k: int, node: str) -> set[Any]:
        have = {-1} if node == task.device else set()
        for a in anc[k]:
            s = stages[a]
            if s.kind == "compute" and s.node == node:
                have |= set(gives[a])
            elif s.kind != "compute" and s.dst == node:
                have |= set(gives[a])
        return have

    for i, s in enumerate(stages):
        if s.kind == "compute":
            ins, outs = io[i]
            have = held(i, s.node)
            missing = [k for k in ins if not covers(have, k, geom)]
            if missing:
                raise InfeasiblePlanError(f"task {task.id}: compute stage {i} ({s.name!r} on "
                                          f"{s.node!r}) reads values "
                                          f"{sorted(missing, key=key_order)} that no "
                                          "earlier stage brings to that node")
            gives.append(tuple(sorted(outs, key=key_order)))
            continue
        have = held(i, s.src)
        if s.tile is not None:  # carries exactly its tile
            key = tile_key(geom, s.tile)
            if not covers(have, key, geom):
                raise InfeasiblePlanError(f"task {task.id}: stage {i} ({s.name!r}, {s.src} -> "
                                          f"{s.dst}) carries tile {key}, which {s.src!r} does "
                                          "not hold")
            gives.append((key,))
            continue
        need = set(outputs)
        for d in range(i + 1, len(stages)):
            if i in anc[d] and io[d] is not None:
                need |= io[d][0]
        carried = have & need
        for k in need - carried:  # a crop needed later travels as its whole tensor; a whole
            if isinstance(k, tuple) and k[0] in have:  # tensor needed later as its tiles here
                carried.add(k[0])
            elif not isinstance(k, tuple):
                carried |= {t for t in have if isinstance(t, tuple) and t[0] == k}
        if not carried:
            raise InfeasiblePlanError(f"task {task.id}: stage {i} ({s.name!r}, {s.src} -> "
                                      f"{s.dst}) carries no tensor that a later stage needs")
        gives.append(tuple(sorted(carried, key=key_order)))
    anc.append(set(range(len(stages))))
    final = held(len(stages), task.device)
    if not all(covers(final, v, geom) for v in outputs):
        raise InfeasiblePlanError(f"task {task.id}: the result never reaches device "
                                  f"{task.device!r}")
    return gives
