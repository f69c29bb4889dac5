"""``neurosurgeon``: each task on its own best single cut and server, blind to other tasks.

Neurosurgeon (Kang et al., ASPLOS 2017; the baseline of Zheng 2021 section 4.2.2 (3), cited by
Shi et al. 2021, Li et al. 2022, Huang et al. 2019 and Duan & Wu 2021) predicts, for one DNN, the latency of running the layers before a cut on the
mobile device, sending the cut's tensor, and running the rest on the server, for every cut
(including "all local" and "raw input to the server"), and picks the cut with the least
predicted latency. Here the prediction is the scenario's own timing rule with no queueing
(:func:`~splitinfer.system.stages.no_wait_latency`), i.e. the profile's measured head/tail times
instead of the paper's per-layer regression models, and the server's load factor taken as 1:
every task is planned as if it were alone ("blind to other tasks"), which is what makes it a
baseline for the multi-task planners.

Energy mode: Kang et al. choose the cut either for latency or for the mobile device's energy.
Here the scenario's objective chooses: with ``energy`` the predicted cost is the device energy
of the task alone (:func:`~splitinfer.system.energy.no_wait_energy`: compute, radio and idle
power), with ``latency+energy`` latency + weight x energy; ``plan.info["predicted_latency"]``
then holds that cost (J, or s).

Readings
--------
* Two-tier, as in the paper: local or device -> one directly reachable server (edge or cloud)
  at one cut. With several servers it also picks the server (the least predicted latency);
  ``three_tier=True`` adds device -> edge -> cloud chains with two cuts, an extension beyond the
  paper, off by default.
* A divisible node (Zheng's cloud) gets equal shares, one per device that has tasks: "this
  scheme does not consider the resource allocation problem of the cloud, so in this experiment,
  the task of each edge node is equally allocated" (Zheng 2021 section 4.2.2 (3); the paper's
  edge nodes are this project's devices).
* ``wire_dtypes`` (an extension, issue 20): each cut's tensor may cross in a smaller dtype
  (float16, bfloat16, int8) where the model's measured top-1 agreement reaches
  ``min_agreement`` (:mod:`splitinfer.planners.common.wire`); the cut is then chosen at the
  real byte count.
* Ties go to the option enumerated first by
  :func:`~splitinfer.planners.common.options.chain_options`: local, then servers in scenario order,
  then cuts in increasing order (least offloading first).

Examples
--------
>>> from splitinfer.system import scenario_from_dict
>>> sc = scenario_from_dict({
...     "nodes": [{"name": "d", "kind": "device", "compute": {"flops_per_s": 1e9}},
...               {"name": "e", "kind": "edge", "compute": {"flops_per_s": 1e10}}],
...     "links": [{"src": "d", "dst": "e", "bandwidth": 8e6}],
...     "models": {"m": {"cuts": [{"transfer_bytes": 1e6}, {"transfer_bytes": 1e4, "head_flops": 1e8},
...                               {"transfer_bytes": 1e3, "head_flops": 2e9}]}},
...     "workload": {"tasks": [{"device": "d", "model": "m"}]}})
>>> tp = NeurosurgeonPlanner().plan(sc)["t0"]
>>> tp.nodes, tp.cuts
(('d', 'e'), (1,))
"""

from __future__ import annotations

from dataclasses import replace

from splitinfer.planners.common.base import BasePlanner
from splitinfer.planners.common.objective import OBJECTIVES, no_wait_cost
from splitinfer.planners.common.options import chain_options
from splitinfer.planners.common.registry import register
from splitinfer.planners.common.wire import WireChoice, check_min_agreement, parse_wire_dtypes
from splitinfer.system.entities import Task
from splitinfer.system.plan import TaskPlan
from splitinfer.system.scenario import Scenario

__all__ = ["NeurosurgeonPlanner", "equal_share", "best_single_cut"]


def equal_share(sc: Scenario, tp: TaskPlan) -> TaskPlan:
    """``tp`` with an equal share (1 / devices with tasks) if it uses a divisible node.

    Examples
    --------
    >>> from splitinfer.system.plan import TaskPlan
    >>> equal_share(None, TaskPlan("t0", ("d",))).share is None
    True
    """
    if tp.is_local or not any(sc.nodes[n].divisible for n in tp.nodes):
        return tp
    devices = {t.device for t in sc.tasks}
    return replace(tp, share=1.0 / max(1, len(devices)))


def best_single_cut(sc: Scenario, task: Task, *, three_tier: bool = False,
                    wire: WireChoice | None = None) -> tuple[TaskPlan, float]:
    """The chain option of ``task`` with the least no-wait cost in the scenario's objective
    (latency; device energy for ``energy``, Kang et al. 2017's energy mode; latency + weight x
    energy for ``latency+energy``: :func:`~splitinfer.planners.common.objective.no_wait_cost`),
    and that cost.

    Ties keep the first option in :func:`~splitinfer.planners.common.options.chain_options` order.
    With an active ``wire`` choice every hop's tensor crosses in the dtype it allows at that cut.
    """
    best, best_value = None, None
    for tp in chain_options(sc, task, three_tier=three_tier):
        tp = equal_share(sc, tp)
        if wire is not None and wire.active and tp.cuts:
            tp = replace(tp, dtype=tuple(wire.at(task.model, c) for c in tp.cuts))
        value = no_wait_cost(sc, task, tp)
        if best_value is None or value < best_value:
            best, best_value = tp, value
    return best, best_value


@register("neurosurgeon", objectives=OBJECTIVES,
          description="Each task on its own best single cut and server (no-wait latency), "
                      "blind to other tasks.",
          source="Kang et al., ASPLOS 2017; Zheng 2021 sec. 4.2.2 (3) (equal cloud shares)")
class NeurosurgeonPlanner(BasePlanner):
    """Neurosurgeon's per-DNN partition (see the module docstring).

    Parameters
    ----------
    three_tier : bool
        Also consider device -> edge -> cloud with two cuts (an extension; default False).
    wire_dtypes : str
        Candidate wire dtypes of the cut's tensor, comma-separated (``"float16,int8"``,
        ``"all"``); empty (default): the link's dtype.
    min_agreement : float
        Least top-1 agreement with the float32 model a compressed dtype must reach at the cut.

    Examples
    --------
    >>> NeurosurgeonPlanner(three_tier=True)
    NeurosurgeonPlanner(three_tier=True, wire_dtypes='', min_agreement=0.99)
    """

    def __init__(self, three_tier: bool = False, wire_dtypes: str = "",
                 min_agreement: float = 0.99):
        self.three_tier = three_tier
        self.wire_dtypes = wire_dtypes
        self.min_agreement = min_agreement
        parse_wire_dtypes(wire_dtypes)
        check_min_agreement(min_agreement)

    def _plan(self, scenario: Scenario) -> tuple[dict[str, TaskPlan], dict]:
        out, predicted = {}, {}
        wire = WireChoice(scenario, self.wire_dtypes, self.min_agreement, self.name)
        for t in scenario.tasks:
            out[t.id], predicted[t.id] = best_single_cut(scenario, t, three_tier=self.three_tier,
                                                         wire=wire)
        info = {"predicted_latency": predicted}
        if wire.active:
            info["wire"] = wire.info()
        return out, info
