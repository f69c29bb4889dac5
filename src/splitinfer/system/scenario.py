"""The in-memory scenario: nodes, links, model costs and tasks, with the timing rules.

A :class:`Scenario` is what every layer above ``system`` works on. It is built (and
cross-checked) by :func:`splitinfer.system.load.load_scenario` from a file or a dict, or directly
from its parts. It answers the two timing questions of every paper's model:

* :meth:`Scenario.compute_time` — the time of a piece of a model on a node (profile, FLOP/s or
  paper table; multiplied by the task's samples, i.e. N_i of Huang et al. 2019 eq. 1 processed one after
  another);
* :meth:`Scenario.transfer_time` — ``latency + slowdown * 8 s / rate`` on a link.

Examples
--------
>>> from splitinfer.system.load import scenario_from_dict
>>> sc = scenario_from_dict({
...     "nodes": [{"name": "phone", "kind": "device", "compute": {"flops_per_s": 1e9}},
...               {"name": "edge", "kind": "edge", "compute": {"flops_per_s": 1e10}}],
...     "links": [{"src": "phone", "dst": "edge", "bandwidth": "8Mbps"}],
...     "models": {"m": {"cuts": [{"transfer_bytes": 1e6, "head_flops": 0},
...                               {"transfer_bytes": 1e3, "head_flops": 2e9}]}},
...     "workload": {"tasks": [{"device": "phone", "model": "m"}]}})
>>> sc.compute_time("phone", "m", 0, 1), sc.compute_time("edge", "m", 0, 1)
(2.0, 0.2)
>>> sc.transfer_time("phone", "edge", 1e6)
1.0
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from splitinfer.errors import InfeasiblePlanError
from splitinfer.system.entities import Link, Node, Task
from splitinfer.system.model_costs import ModelCosts

__all__ = ["Scenario"]


@dataclass(frozen=True)
class Scenario:
    """A validated scenario.

    Parameters
    ----------
    nodes : dict
        Node name -> :class:`~splitinfer.system.entities.Node`.
    links : dict
        ``(src, dst)`` -> :class:`~splitinfer.system.entities.Link`.
    models : dict
        Model name -> :class:`~splitinfer.system.model_costs.ModelCosts`.
    tasks : tuple of Task
        Ordered by arrival then generation.
    objective : str
        ``"mean_latency"``, ``"makespan"``, ``"mean_sojourn"``, ``"energy"`` (mean device
        energy per task) or ``"latency+energy"`` (mean latency + ``objective_weight`` x mean
        device energy; ``docs/energy.md``).
    pools : dict
        Pool name -> capacity in bit/s for reserved links.
    slot : float or None
        Slot length in seconds (slot-based workloads, Shi et al. 2021).
    result_return : float or None
        Constant result-return time (Shi et al.'s t_r); ``None`` sends the output bytes back.
    name, description : str
    extra : dict
        Planner-specific settings carried by the file (e.g. a latency bound for PPS).
    objective_weight : float
        Seconds per joule of the ``"latency+energy"`` objective (0 otherwise).
    """

    nodes: dict[str, Node]
    links: dict[tuple[str, str], Link]
    models: dict[str, ModelCosts]
    tasks: tuple[Task, ...]
    objective: str = "mean_latency"
    pools: dict[str, float] = field(default_factory=dict)
    slot: float | None = None
    result_return: float | None = None
    name: str = "scenario"
    description: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)
    objective_weight: float = 0.0

    # ----------------------------------------------------------------- views
    @property
    def devices(self) -> list[str]:
        """Names of the end devices, in file order."""
        return [n.name for n in self.nodes.values() if n.kind == "device"]

    @property
    def edges(self) -> list[str]:
        """Names of the edge servers, in file order."""
        return [n.name for n in self.nodes.values() if n.kind == "edge"]

    @property
    def clouds(self) -> list[str]:
        """Names of the cloud nodes, in file order."""
        return [n.name for n in self.nodes.values() if n.kind == "cloud"]

    @property
    def servers(self) -> list[str]:
        """Edge servers then clouds."""
        return self.edges + self.clouds

    def task(self, task_id: str) -> Task:
        """The task with this id."""
        index = self._task_index.get(task_id)
        if index is None:
            raise InfeasiblePlanError(f"unknown task {task_id!r}")
        return self.tasks[index]

    @property
    def _task_index(self) -> dict[str, int]:
        cache = self.__dict__.get("_task_index_cache")
        if cache is None:
            cache = {t.id: i for i, t in enumerate(self.tasks)}
            object.__setattr__(self, "_task_index_cache", cache)
        return cache

    def has_link(self, src: str, dst: str) -> bool:
        """Whether a link goes from ``src`` to ``dst``."""
        return (src, dst) in self.links

    def link(self, src: str, dst: str) -> Link:
        """The link from ``src`` to ``dst``; :class:`InfeasiblePlanError` if there is none."""
        try:
            return self.links[(src, dst)]
        except KeyError:
            raise InfeasiblePlanError(f"no link from {src!r} to {dst!r} in scenario {self.name!r}") from None

    def resource_slots(self, resource: str) -> int | None:
        """Parallel slots of a simulator resource (``None`` = unlimited).

        ``"src->dst"`` links: 1 when shared FIFO, else unlimited; ``"node#group"`` (the dedicated
        share of a divisible node): 1; a node: its ``concurrency``.
        """
        if "->" in resource:
            src, dst = resource.split("->", 1)
            return 1 if self.link(src, dst).sharing == "fifo" else None
        if "#" in resource:
            return 1
        return self.nodes[resource].concurrency

    def reachable_servers(self, device: str) -> list[str]:
        """Servers that a device reaches directly (Huang et al.'s E_i)."""
        return [s for s in self.servers if (device, s) in self.links]

    # ----------------------------------------------------------------- timing
    def compute_time(self, node: str, model: str, a: int, b: int, samples: int = 1) -> float:
        """Seconds for ``node`` to run ``model`` from cut ``a`` to cut ``b`` on ``samples`` inputs.

        Parameters
        ----------
        node, model : str
        a, b : int
            Cut indices, ``0 <= a <= b <= last``.
        samples : int
            Number of inputs processed one after another (Huang et al.'s N_i).
        """
        if a == b:
            return 0.0
        n = self.nodes[node]
        m = self.models[model]
        if not 0 <= a <= b < m.num_cuts:
            raise InfeasiblePlanError(f"cuts ({a}, {b}) out of range for model {model!r} "
                                      f"with {m.num_cuts} cuts")
        if n.compute == "flops":
            t = m.segment_flops(a, b) / n.speed
        elif n.compute == "hardware":
            if n.hardware not in m.head_latency:
                raise InfeasiblePlanError(f"model {model!r} has no profile for hardware "
                                          f"{n.hardware!r} of node {node!r}")
            t = m.segment_latency(n.hardware, a, b)
        else:
            if node not in m.table_head and node not in m.table_tail:
                raise InfeasiblePlanError(f"model {model!r} has no table row for node {node!r}")
            t = m.table_latency(node, a, b)
        return samples * max(t, 0.0)

    def layers_time(self, node: str, model: str, layers, samples: int = 1) -> float:
        """Seconds for ``node`` to run a set of layers of ``model`` (a general DAG cut's side).

        Uses the calibrated per-layer costs of ``ModelCosts.layers``
        (:mod:`splitinfer.system.layer_costs`): FLOPs / speed on FLOP/s nodes, the profile's
        per-layer latency on hardware nodes. Table nodes have no per-layer times.
        """
        lc = self.models[model].layers
        if lc is None:
            raise InfeasiblePlanError(f"model {model!r} has no layer graph (its cut table does not "
                                      "come from a profile), so layer steps cannot be timed")
        idx = list(layers)
        if any(not 0 <= i < lc.n for i in idx):
            raise InfeasiblePlanError(f"layer index out of range 0..{lc.n - 1} for model {model!r}")
        n = self.nodes[node]
        if n.compute == "flops":
            t = float(lc.flops[idx].sum()) / n.speed
        elif n.compute == "hardware" and n.hardware in lc.latency:
            t = float(lc.latency[n.hardware][idx].sum())
        else:
            raise InfeasiblePlanError(f"node {node!r} has no per-layer times for model {model!r} "
                                      "(needs compute flops_per_s or a profile of its hardware)")
        return samples * t

    def flops_time(self, node: str, flops: float) -> float:
        """Seconds for a FLOP/s node to compute ``flops`` (fused-layer tiles, Li et al. 2022 eqs. 1, 3)."""
        n = self.nodes[node]
        if n.compute != "flops":
            raise InfeasiblePlanError(f"node {node!r} has no FLOP/s speed; a FLOP-count stage "
                                      "needs compute: {flops_per_s: ...}")
        return flops / n.speed

    def transfer_time(self, src: str, dst: str, nbytes: float, rate: float | None = None) -> float:
        """Seconds to send ``nbytes`` from ``src`` to ``dst`` (at ``rate`` bit/s if reserved)."""
        if src == dst or nbytes <= 0 and self.link(src, dst).latency == 0:
            return 0.0
        return self.link(src, dst).time(nbytes, rate)

    # ----------------------------------------------------------------- edits
    def with_tasks(self, tasks: Iterable[Task]) -> Scenario:
        """A copy with another task list (re-indexed in arrival order)."""
        ordered = sorted(tasks, key=lambda t: (t.arrival, t.index))
        fixed = tuple(replace(t, index=i) for i, t in enumerate(ordered))
        return replace(self, tasks=fixed)

    def with_link_rate(self, rate: float, *, links: Iterable[tuple[str, str]] | None = None) -> Scenario:
        """A copy where the given links (all by default) have the constant rate ``rate`` bit/s
        (a bandwidth trace on them is dropped)."""
        chosen = set(self.links) if links is None else set(links)
        new = {k: (replace(v, rate=rate, trace=None) if k in chosen else v)
               for k, v in self.links.items()}
        return replace(self, links=new)

    @property
    def traced_links(self) -> list[tuple[str, str]]:
        """The links whose bandwidth follows a trace (``docs/traces.md``)."""
        return [k for k, v in self.links.items() if v.trace is not None]

    def at(self, now: float, rates: Mapping[tuple[str, str], float] | None = None) -> Scenario:
        """The scenario as a planner deciding at ``now`` sees it: each traced link at a constant
        rate, its rate in force at ``now`` (``BandwidthTrace.rate_in_force``) or the one given
        in ``rates`` (e.g. an estimate from measured transfers); ``self`` without traces.

        A rate of 0 (an outage) is seen as 1 bit/s, so that every transfer time stays finite.
        """
        traced = self.traced_links
        if not traced:
            return self
        rates = rates or {}
        new = dict(self.links)
        for k in traced:
            link = new[k]
            rate = rates.get(k)
            rate = link.trace.rate_in_force(now) if rate is None else rate
            new[k] = replace(link, rate=max(float(rate), 1.0), trace=None)
        return replace(self, links=new)

    def summary(self) -> str:
        """One line describing the scenario.

        Examples
        --------
        >>> from splitinfer.system.load import scenario_from_dict
        >>> scenario_from_dict({"name": "s",
        ...     "nodes": [{"name": "d", "kind": "device", "compute": {"flops_per_s": 1e9}}],
        ...     "models": {"m": {"cuts": [{"transfer_bytes": 1}, {"transfer_bytes": 1}]}},
        ...     "workload": {"tasks": [{"device": "d", "model": "m"}]}}).summary()
        's: 1 devices, 0 edge, 0 cloud, 0 links, 1 models, 1 tasks, objective mean_latency'
        """
        return (f"{self.name}: {len(self.devices)} devices, {len(self.edges)} edge, "
                f"{len(self.clouds)} cloud, {len(self.links)} links, {len(self.models)} models, "
                f"{len(self.tasks)} tasks, objective {self.objective}")
