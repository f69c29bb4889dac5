"""``dads``: the minimum s-t cut partition of a DNN's layer DAG between device and one server.

DADS (Hu, Bao, Wang, Li, Cheng; *Dynamic Adaptive DNN Surgery for Inference Acceleration on the
Edge*, INFOCOM 2019) observes that a DNN need not be a chain: the layers to run on the device
are any set closed under predecessors, and for one inference (its light-workload case, DSL) the
latency ``device time of the set + transfer of every tensor that leaves it + server time of the
rest`` is the capacity of an s-t cut in a flow network, so a max-flow/min-cut solves it exactly.

The flow network (source = the device side, sink = the server side)
--------------------------------------------------------------------
* layer ``v``: an edge source -> ``v`` with capacity its **server** time (paid when ``v`` is cut
  off to the server side) and ``v`` -> sink with its **device** time (paid when ``v`` stays);
* a value (the model input, or a layer's output) read by one layer: an edge producer -> reader
  with the tensor's transfer time (:meth:`~splitinfer.system.entities.Link.time` less the
  latency); read by several layers: the auxiliary-node trick, producer -> aux with the transfer
  time and aux -> every reader with infinite capacity, so that a tensor is sent (and counted) once
  however many server layers read it; the model input's producer is the source itself;
* for every data edge ``i -> j`` an infinite edge ``j -> i``: a layer on the device never reads
  a value computed on the server (the device set is closed under predecessors; DADS's "no
  data returns to the device" rule, enforced instead of assumed);
* the model output: its source edge also carries the result-return time and the uplink's
  per-transfer latency, paid exactly when the output is computed on the server, i.e. when the
  plan offloads anything (exact for single-output models; several outputs each carry it).

``networkx.minimum_cut`` (preflow-push) runs on integer capacities in picoseconds. The device
side of the cut is the head. For each directly reachable server the cut is computed and the
server with the least latency wins (ties: scenario order); local execution is the cut that keeps
everything. Where the head is the head of a single-tensor cut (always so on chains) the plan is
a chain :class:`~splitinfer.system.plan.TaskPlan`; otherwise it is a ``steps`` plan: device
computes its layers (``Step.layers``), one transfer carries every crossing tensor, the server
computes the rest, and a ``return`` step brings the result back by the scenario's rule (a
constant ``result_return`` delay, else the output bytes over the link back). The simulator
times those steps from the scenario's calibrated per-layer costs
(:mod:`splitinfer.system.layer_costs`), which agree with the cut table on every prefix that is
a cut.

Readings and limits
-------------------
* The layer DAG comes from ``ModelCosts.layers`` (filled from the profile's ``layers`` and
  ``edges``). A model given as a cut table, a node timed by a paper table, or
  ``use_layers=False`` make DADS cut the chain of pieces between consecutive cuts instead; on a
  chain the min cut is the best single cut (Neurosurgeon's choice, for one server). Every
  result-return rule works in both modes: a constant ``result_return`` needs no link back.
* Only the light-workload case, DNN Surgery Light (DSL), is implemented: the latency of one
  inference, every task planned as if alone. DNN Surgery Heavy (DSH, maximising throughput
  under load; NP-hard, a 3-approximation in the paper) is not.
* The paper's two sides are "edge" and "cloud"; here they are the task's device and one
  server it reaches directly.
* A divisible server gets equal shares, as in ``neurosurgeon``.
* A link whose scenario ``dtype`` is smaller than float32 prices every crossing tensor at its
  real bytes (``seconds_per_byte`` of a float32 byte; the int8 header in the uplink latency).
* ``wire_dtypes`` (an extension, issue 20): the min cut is made in float32; then every
  single-tensor cut whose measured top-1 agreement allows a smaller wire dtype
  (:mod:`splitinfer.planners.common.wire`) is timed at its real byte count with the scenario's
  rule (:func:`~splitinfer.system.stages.no_wait_latency`), and the least latency wins. Only
  single-tensor cuts are compressed: agreement is measured per cut, not for general DAG heads.

Examples
--------
>>> from splitinfer.testing.random import random_dag_scenario
>>> sc = random_dag_scenario(0)
>>> plan = DADSPlanner().plan(sc)
>>> sorted(plan.info["mode"].values())[0] in ("layers", "cuts")
True
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from splitinfer.errors import InfeasiblePlanError
from splitinfer.planners.classic.neurosurgeon import equal_share
from splitinfer.planners.common.base import BasePlanner
from splitinfer.planners.common.registry import register
from splitinfer.planners.common.wire import WireChoice, check_min_agreement, parse_wire_dtypes
from splitinfer.system.entities import Task
from splitinfer.system.plan import Step, TaskPlan
from splitinfer.system.scenario import Scenario
from splitinfer.transfer import QUANT_HEADER_BYTES, WIRE_ITEMSIZE

__all__ = ["CutGraph", "cut_graph", "min_cut_head", "head_latency", "DADSPlanner"]

_PICO = 1e12


@dataclass(frozen=True)
class CutGraph:
    """What DADS cuts for one task and one server: per-unit times and the values between units.

    Units are layers (``mode="layers"``) or the pieces between consecutive cuts
    (``mode="cuts"``); value ``-1`` is the model input.
    """

    mode: str
    device: str
    server: str
    device_time: np.ndarray
    server_time: np.ndarray
    consumers: dict[int, tuple[int, ...]]
    value_bytes: dict[int, float]
    outputs: tuple[int, ...]
    seconds_per_byte: float
    uplink_latency: float
    return_time: float
    share: float | None

    @property
    def n(self) -> int:
        """Number of units."""
        return len(self.device_time)

    def crossing(self, head: frozenset[int]) -> list[int]:
        """Values made on the device (or the input) that a server unit reads."""
        return [v for v, users in self.consumers.items()
                if (v < 0 or v in head) and any(u not in head for u in users)]

    def crossing_bytes(self, head: frozenset[int]) -> float:
        """Bytes (all samples) sent from the device for this head."""
        return float(sum(self.value_bytes[v] for v in self.crossing(head)))


def _unit_times(sc: Scenario, task: Task, node: str, mode: str, factor: float) -> np.ndarray:
    m = sc.models[task.model]
    if mode == "layers":
        return np.array([sc.layers_time(node, task.model, (i,), task.samples)
                         for i in range(m.layers.n)]) / factor
    return np.array([sc.compute_time(node, task.model, k, k + 1, task.samples)
                     for k in range(m.last_cut)]) / factor


def _layer_mode_ok(sc: Scenario, task: Task, server: str, server_free: bool = False) -> bool:
    lc = sc.models[task.model].layers
    if lc is None:
        return False
    for node in (task.device,) if server_free else (task.device, server):
        n = sc.nodes[node]
        if not (n.compute == "flops" or (n.compute == "hardware" and n.hardware in lc.latency)):
            return False
    return True


def cut_graph(sc: Scenario, task: Task, server: str, *, use_layers: bool = True,
              server_free: bool = False) -> CutGraph:
    """The costs DADS cuts for ``task`` between its device and ``server``.

    ``server_free=True`` takes the server's compute as costing nothing (Duan & Wu 2021's
    negligible cloud, section 3.1), so a server without per-layer times still lets DADS cut
    the layer DAG.

    Raises
    ------
    InfeasiblePlanError
        If the device has no link to ``server`` or the result cannot come back.
    """
    m = sc.models[task.model]
    dev = task.device
    link = sc.link(dev, server)
    mode = "layers" if use_layers and _layer_mode_ok(sc, task, server, server_free) else "cuts"
    share = equal_share(sc, TaskPlan(task.id, (dev, server), (0,))).share
    factor = share if share is not None else 1.0
    if sc.result_return is not None:
        ret = sc.result_return
    else:
        ret = sc.link(server, dev).time(float(m.output_bytes) * task.samples)
    s = task.samples
    if mode == "layers":
        lc = m.layers
        consumers = {v: users for v, users in lc.consumers.items() if users}
        value_bytes = {v: (lc.input_bytes if v < 0 else float(lc.out_bytes[v])) * s
                       for v in consumers}
        outputs = lc.outputs
    else:
        k = m.last_cut
        consumers = {v: (v + 1,) for v in range(-1, k - 1)}
        value_bytes = {v: float(m.transfer_bytes[v + 1]) * s for v in consumers}
        outputs = (k - 1,)
    device_time = _unit_times(sc, task, dev, mode, 1.0)
    server_time = (np.zeros_like(device_time) if server_free
                   else _unit_times(sc, task, server, mode, factor))
    return CutGraph(mode, dev, server, device_time, server_time, consumers, value_bytes, outputs,
                    replace(link, latency=0.0).time(WIRE_ITEMSIZE[link.dtype] / 4.0),
                    link.latency + _header_time(link), ret, share)


def _header_time(link) -> float:
    """Seconds of the int8 quantisation header on ``link`` (0 for other wire dtypes)."""
    if link.dtype != "int8":
        return 0.0
    return replace(link, latency=0.0).time(float(QUANT_HEADER_BYTES))


def head_latency(g: CutGraph, head: frozenset[int]) -> float:
    """DADS's light-workload latency of a head set (the objective the min cut minimises).

    ``device time of head + [uplink of the crossing bytes + server time of the rest + return]``,
    the bracket only when something runs on the server.
    """
    tail = [v for v in range(g.n) if v not in head]
    value = float(g.device_time[sorted(head)].sum()) if head else 0.0
    if tail:
        value += (g.uplink_latency + g.seconds_per_byte * g.crossing_bytes(head)
                  + float(g.server_time[tail].sum()) + g.return_time)
    return value


def min_cut_head(g: CutGraph) -> frozenset[int]:
    """The device-side layer set of a minimum s-t cut of the DADS flow network.

    Examples
    --------
    A two-piece chain where offloading after the first piece is best:

    >>> g = CutGraph("cuts", "d", "e", np.array([1.0, 5.0]), np.array([0.1, 0.5]),
    ...              {-1: (0,), 0: (1,)}, {-1: 10.0, 0: 1.0}, (1,), 0.1, 0.0, 0.0, None)
    >>> sorted(min_cut_head(g)), head_latency(g, frozenset({0}))
    ([0], 1.6)
    """
    import networkx as nx

    cap: dict[tuple[Any, Any], float] = {}
    inf: set[tuple[Any, Any]] = set()

    def add(u: Any, v: Any, c: float | None) -> None:
        if c is None:
            inf.add((u, v))
        else:
            cap[(u, v)] = cap.get((u, v), 0.0) + c

    src, snk = "source", "sink"
    for v in range(g.n):
        extra = g.return_time + g.uplink_latency if v in g.outputs else 0.0
        add(src, v, float(g.server_time[v]) + extra)
        add(v, snk, float(g.device_time[v]))
    for value, users in sorted(g.consumers.items()):
        producer = src if value < 0 else value
        transfer = g.seconds_per_byte * g.value_bytes[value]
        if len(users) == 1:
            add(producer, users[0], transfer)
        else:
            aux = ("aux", value)
            add(producer, aux, transfer)
            for u in users:
                add(aux, u, None)
        if value >= 0:
            for u in users:
                add(u, value, None)
    graph = nx.DiGraph()
    graph.add_nodes_from([src, snk, *range(g.n)])
    for (u, v), c in sorted(cap.items(), key=str):
        if (u, v) not in inf:
            graph.add_edge(u, v, capacity=int(round(c * _PICO)))
    for u, v in sorted(inf, key=str):
        graph.add_edge(u, v)  # no capacity attribute: infinite
    _, (side, _) = nx.minimum_cut(graph, src, snk)
    return frozenset(v for v in side if isinstance(v, int))


def _plan_for(sc: Scenario, task: Task, g: CutGraph, head: frozenset[int]) -> TaskPlan:
    m = sc.models[task.model]
    dev, srv = g.device, g.server
    if g.mode == "cuts":
        cut = len(head)
    else:
        cut = m.layers.cut_of_head(head)
    if cut is not None:
        if cut >= m.last_cut:
            return TaskPlan(task.id, (dev,), ())
        return TaskPlan(task.id, (dev, srv), (cut,), share=g.share)
    tail = tuple(v for v in range(g.n) if v not in head)
    steps = []
    if head:
        steps.append(Step("compute", node=dev, layers=tuple(sorted(head)), label="head"))
    nbytes = g.crossing_bytes(head) / task.samples
    steps.append(Step("transfer", src=dev, dst=srv, nbytes=nbytes,
                      deps=(len(steps) - 1,) if steps else (), label="uplink"))
    steps.append(Step("compute", node=srv, layers=tail, deps=(len(steps) - 1,), label="tail"))
    steps.append(Step("return", src=srv, deps=(len(steps) - 1,), label="return"))
    return TaskPlan(task.id, (dev, srv), (), share=g.share, steps=tuple(steps))


@register("dads",
          description="Min-cut partition of each task's layer DAG between its device and the "
                      "best server (light workload), blind to other tasks.",
          source="Hu et al., Dynamic Adaptive DNN Surgery, INFOCOM 2019 (min s-t cut)")
class DADSPlanner(BasePlanner):
    """DADS light-workload partition (see the module docstring).

    Parameters
    ----------
    use_layers : bool
        Cut the layer DAG when the scenario has one (default True); False cuts the chain of
        pieces between consecutive cuts.
    wire_dtypes : str
        Candidate wire dtypes of a single-tensor cut, comma-separated (``"float16,int8"``,
        ``"all"``); empty (default): the link's dtype.
    min_agreement : float
        Least top-1 agreement with the float32 model a compressed dtype must reach at the cut.

    Examples
    --------
    >>> DADSPlanner().get_params()
    {'use_layers': True, 'wire_dtypes': '', 'min_agreement': 0.99}
    """

    def __init__(self, use_layers: bool = True, wire_dtypes: str = "",
                 min_agreement: float = 0.99):
        self.use_layers = use_layers
        self.wire_dtypes = wire_dtypes
        self.min_agreement = min_agreement
        parse_wire_dtypes(wire_dtypes)
        check_min_agreement(min_agreement)

    def _plan(self, scenario: Scenario) -> tuple[dict[str, TaskPlan], dict[str, Any]]:
        out: dict[str, TaskPlan] = {}
        predicted: dict[str, float] = {}
        modes: dict[str, str] = {}
        wire = WireChoice(scenario, self.wire_dtypes, self.min_agreement, self.name)
        for t in scenario.tasks:
            m = scenario.models[t.model]
            best = (scenario.compute_time(t.device, t.model, 0, m.last_cut, t.samples),
                    TaskPlan(t.id, (t.device,), ()), "local")
            for server in scenario.reachable_servers(t.device):
                try:
                    g = cut_graph(scenario, t, server, use_layers=self.use_layers)
                except InfeasiblePlanError:
                    continue
                head = min_cut_head(g)
                value = head_latency(g, head)
                if value < best[0]:
                    best = (value, _plan_for(scenario, t, g, head), g.mode)
                if wire.active:
                    best = _compressed(scenario, t, server, g.share, wire, best)
            predicted[t.id], out[t.id], modes[t.id] = best
        info = {"predicted_latency": predicted, "mode": modes}
        if wire.active:
            info["wire"] = wire.info()
        return out, info


def _compressed(sc: Scenario, task: Task, server: str, share: float | None, wire: WireChoice,
                best: tuple[float, TaskPlan, str]) -> tuple[float, TaskPlan, str]:
    """``best``, or a single-tensor cut to ``server`` sent in a smaller dtype if that is faster."""
    from splitinfer.system.stages import no_wait_latency

    for c in range(sc.models[task.model].last_cut):
        d = wire.at(task.model, c)
        if d == "float32":
            continue
        tp = TaskPlan(task.id, (task.device, server), (c,), share=share, dtype=(d,))
        try:
            value = no_wait_latency(sc, task, tp)
        except InfeasiblePlanError:
            continue
        if value < best[0]:
            best = (value, tp, "cuts")
    return best
