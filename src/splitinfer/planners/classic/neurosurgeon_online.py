"""``neurosurgeon-online``: Neurosurgeon deciding each task when it arrives, at the rate it sees then.

Kang et al. (ASPLOS 2017) re-run Neurosurgeon's partition whenever the network changes: the
cut is chosen per inference from the current wireless bandwidth. ``neurosurgeon`` in this
project plans every task in advance from the scenario's rates (on a link whose bandwidth
follows a trace, the rate in force at time 0). This planner is the same per-task choice
(:func:`~splitinfer.planners.classic.neurosurgeon.best_single_cut`: the option with the least
no-wait latency) made online, inside the simulator, when each task arrives, on the links'
rates at that moment (``docs/traces.md``):

* ``rate="truth"``: the rate in force at the decision (what the simulator's
  :meth:`~splitinfer.system.scenario.Scenario.at` gives: the trace's step, or for Mahimahi
  traces its mean over the last ``window``);
* ``rate="estimate"``: the harmonic mean of the throughputs measured on the last ``last``
  transfers of finished tasks (:meth:`~splitinfer.system.planner.State.estimate`), falling back
  to the rate known at time 0 before any transfer has been measured: what a real deployment can
  observe.

On a scenario without traces it makes the same decisions as ``neurosurgeon``.

Examples
--------
>>> from splitinfer.system import scenario_from_dict
>>> from splitinfer.traces import BandwidthTrace
>>> from dataclasses import replace
>>> sc = scenario_from_dict({
...     "nodes": [{"name": "d", "kind": "device", "compute": {"flops_per_s": 1e9}},
...               {"name": "e", "kind": "edge", "compute": {"flops_per_s": 1e11}}],
...     "links": [{"src": "d", "dst": "e", "bandwidth": 8e8}],
...     "models": {"m": {"cuts": [{"transfer_bytes": 1e6}, {"transfer_bytes": 1e3,
...                                                            "head_flops": 1e9}]}},
...     "workload": {"tasks": [{"device": "d", "model": "m", "arrival": a} for a in (0, 5)]}})
>>> drop = BandwidthTrace([0, 2], [8e8, 8e5])          # 800 Mbit/s, then 0.8 Mbit/s from 2 s
>>> links = {k: replace(v, trace=drop) for k, v in sc.links.items()}
>>> sc = replace(sc, links=links)
>>> from splitinfer.planners import get_planner
>>> [tp.cuts for tp in get_planner("neurosurgeon").plan(sc).tasks.values()]   # planned at 0
[(0,), (0,)]
>>> [tp.cuts for tp in NeurosurgeonOnlinePlanner().plan(sc).tasks.values()]  # local after the drop
[(0,), ()]
"""

from __future__ import annotations

from typing import ClassVar

from splitinfer.errors import NotApplicableError
from splitinfer.planners.classic.neurosurgeon import best_single_cut
from splitinfer.planners.common.base import BasePlanner
from splitinfer.planners.common.objective import OBJECTIVES
from splitinfer.planners.common.registry import register
from splitinfer.system.plan import TaskPlan
from splitinfer.system.scenario import Scenario

__all__ = ["NeurosurgeonOnlinePlanner"]


@register("neurosurgeon-online", objectives=OBJECTIVES,
          description="Neurosurgeon decided per task at its arrival, on the link rate in force "
                      "then (or an estimate from the last measured transfers).",
          source="Kang et al., ASPLOS 2017 (re-partitioning as the network changes)")
class NeurosurgeonOnlinePlanner(BasePlanner):
    """Neurosurgeon's per-task partition, online (see the module docstring).

    Parameters
    ----------
    rate : {"truth", "estimate"}
        Which rate of a traced link the decision uses.
    last : int
        How many of the last measured transfers the estimate averages (harmonic mean).
    three_tier : bool
        Also consider device -> edge -> cloud chains with two cuts.

    Examples
    --------
    >>> NeurosurgeonOnlinePlanner(rate="estimate", last=3).online
    True
    """

    online: ClassVar[bool] = True

    def __init__(self, rate: str = "truth", last: int = 5, three_tier: bool = False) -> None:
        if rate not in ("truth", "estimate"):
            raise ValueError(f"rate must be 'truth' or 'estimate', got {rate!r}")
        if int(last) < 1:
            raise ValueError(f"last must be >= 1, got {last!r}")
        self.rate = rate
        self.last = last
        self.three_tier = three_tier
        self._start: Scenario | None = None

    def start(self, scenario: Scenario) -> None:
        """Remember the scenario's rates at time 0 (the estimate's fallback).

        Raises
        ------
        NotApplicableError
            A divisible node: ``neurosurgeon`` shares it equally among the devices with tasks,
            which an online planner cannot know in advance.
        """
        divisible = [n for n, node in scenario.nodes.items() if node.divisible]
        if divisible:
            raise NotApplicableError(f"node {divisible[0]!r} is divisible into shares; "
                                     "neurosurgeon-online cannot know the devices with tasks to "
                                     "share it equally (use neurosurgeon)")
        self._start = scenario

    def decide(self, task, state) -> TaskPlan:
        """The chain of ``task`` with the least no-wait cost at the rates seen at ``state.now``
        (latency; device energy or latency + weight x energy under the energy objectives, as
        :func:`~splitinfer.planners.classic.neurosurgeon.best_single_cut`)."""
        if self._start is None:
            raise RuntimeError("call start(scenario) before decide")
        if self.rate == "truth":
            view = state.scenario
        else:
            known = {k: self._start.links[k].rate for k in self._start.traced_links}
            known.update(state.estimate(int(self.last)))
            view = self._start.at(state.now, known)
        tp, _ = best_single_cut(view, task, three_tier=self.three_tier)
        return tp

