"""DeePar (Huang et al. 2019): two cuts per task over device, edge and cloud, scheduled online.

Huang, Wang, Wang, Liu, *DeePar: A Hybrid Device-Edge-Cloud Execution Framework for Mobile Deep
Learning Applications* (IEEE INFOCOM Workshops 2019).

* ``deepar`` — Alg. 1, online scheduling: when a task arrives, for every *known event* not
  before now (the start or end of a task already scheduled, section IV-B) and every option j of
  the delay matrix W (3m+1 columns, section IV-A), if the option fits the resources left, give
  it the maximum allocable bandwidths (line 11: ``min(B_i, B_e - sum of the reservations)``) and
  its best cut pair for them; choose the (event, option) with the least ``w_ij + delta t``
  (lines 12-15). Delaying the start to a later event (the *delayed scheduling strategy*) wins
  when the resources freed then lower the delay by more than the wait.
* ``deepar-exact`` — the assignment problem (20)-(25), every task at once and none delayed,
  solved to optimality with HiGHS (:mod:`splitinfer.planners.huang2019.assignment`).
* ``deepar-edge-only``, ``deepar-cloud-only`` — the paper's baselines (section V-B): the raw
  input to an edge server, or through an edge server to the cloud, scheduled by the same Alg. 1
  under the same reservations, so only the execution scheme differs. ``deepar-device-only`` is an
  alias of ``local`` (identical: a task uses nothing but its device).

Readings of the paper (see ``docs/algorithms/huang2019.md`` for the reasoning):

1. *What a task holds, and for how long.* Its reserved bandwidths b1, b2 and (if the edge
   computes) one of the edge's r_e slots, from its start to its end (section III: "once the
   connection is established, the reserved bandwidth will not be allowed to change"; Alg. 1 adds
   a task to I at its start and removes it at its end). The core simulator holds a pool only
   while a transfer runs and a slot only while a compute stage runs, which is less. The planner
   therefore books whole-task holdings itself (a :class:`~splitinfer.planners.huang2019.ledger.Ledger`); a plan that
   respects them never waits in the simulator, so the simulated latency of every task equals
   Alg. 1's ``w_ij + delta t`` (tested). The result return uses the same reservations (eq. 6).
2. *Feasibility of a delayed start.* Line 10 checks "the current resource restriction"; a start
   at a future event must also stay clear of tasks already booked to start later, so the check
   covers the whole interval the task would run, and the allocable bandwidth is the least that
   is left over that interval (found by a fixed point: less bandwidth, longer task, longer
   interval).
3. *The delay compared in line 12* is recomputed for the bandwidth actually allocated (the best
   cut pair depends on it), not the W entry at the caps. The paper preset (``deepar-paper``,
   ``preset="paper"``, i.e. ``line12="w"``) compares ``w_ij + delta t`` literally, with ``w_ij``
   the entry of W (section IV-A: the option's optimal delay at the full bandwidths); the chosen
   option then runs with the maximum allocable bandwidth and its best cut pair for it, as in
   the default.
4. *Events.* The candidate start times are now and every known start or end after now; the first
   best (earliest event, then lowest j) wins ties, as with the strict ``<`` of line 12.
5. *A device that has several tasks* (beyond the paper, which gives each device one task) holds
   its own slot for the whole task, so its tasks run one after another.

Examples
--------
>>> from splitinfer.planners import get_planner
>>> from splitinfer.planners.huang2019.delay import toy_three_tier
>>> from splitinfer.system.load import scenario_from_dict
>>> from splitinfer.sim import simulate
>>> sc = scenario_from_dict(toy_three_tier(tasks=3))
>>> planner = get_planner("deepar")
>>> plan = planner.plan(sc)
>>> [(d["option"], d["b2"], round(d["wait"], 4)) for d in planner.decisions.values()]
[('edge+cloud:e0', 8000000.0, 0.0), ('edge+cloud:e0', 2000000.0, 0.0), ('edge+cloud:e0', 8000000.0, 0.3412)]
>>> [round(d["latency"], 4) for d in planner.decisions.values()]
[0.3412, 0.3445, 0.6824]
>>> [round(r.latency, 4) for r in simulate(sc, plan).tasks]
[0.3412, 0.3445, 0.6824]

The second task gets the backbone bandwidth left (2 of 10 Mbit/s); the third waits for the first
to end (delayed scheduling), which beats every option open at its arrival.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from splitinfer.errors import InfeasiblePlanError, NotApplicableError
from splitinfer.papers import cite
from splitinfer.planners.common.base import BasePlanner
from splitinfer.planners.common.options import chain_options, chain_routes
from splitinfer.planners.common.presets import resolve_preset
from splitinfer.planners.common.registry import alias, register
from splitinfer.planners.huang2019.assignment import solve_assignment
from splitinfer.planners.huang2019.delay import (
    Choice,
    Option,
    TaskCurves,
    deepar_plan,
    option_list,
    stage_durations,
    the_cloud,
)
from splitinfer.planners.huang2019.ledger import TOL, Ledger, warm_kernel
from splitinfer.system.entities import Task
from splitinfer.system.plan import TaskPlan
from splitinfer.system.planner import State
from splitinfer.system.scenario import Scenario
from splitinfer.system.stages import build_stages, no_wait_latency

__all__ = ["DeeparPlanner", "DeeparExactPlanner", "capacities", "demands", "hop_pools",
           "relaxation_bound", "fastest_alone"]

_SOURCE = cite("huang2019")

SCHEMES = ("hybrid", "edge", "cloud")
#: ``deepar``'s presets: line 12 compares the delay at the allocated bandwidth, or W's entry.
DEEPAR_PRESETS: dict[str, dict[str, Any]] = {"improved": {"line12": "allocated"},
                                             "paper": {"line12": "w"}}


def _check(sc: Scenario) -> None:
    the_cloud(sc)
    divisible = [n for n, node in sc.nodes.items() if node.divisible]
    if divisible:
        raise NotApplicableError(f"DeePar gives whole nodes, not shares; nodes {divisible} are "
                                 "divisible")
    if sc.traced_links:  # section III: a reserved bandwidth "will not be allowed to change"
        raise NotApplicableError("DeePar reserves a share of each link's bandwidth; links "
                                 f"{', '.join(f'{a}->{b}' for a, b in sc.traced_links)} follow "
                                 "a bandwidth trace, whose rate cannot be reserved")


def capacities(sc: Scenario) -> dict[str, float]:
    """Every resource a DeePar task can hold, with its capacity: node slots (r_e for edges),
    reserved-bandwidth pools (B_e^1, B_e^2) and one-at-a-time links.

    Examples
    --------
    >>> from splitinfer.planners.huang2019.delay import toy_three_tier
    >>> from splitinfer.system.load import scenario_from_dict
    >>> capacities(scenario_from_dict(toy_three_tier()))
    {'slot:d0': 1, 'slot:e0': 2, 'pool:e0.access': 20000000.0, 'pool:e0.backbone': 10000000.0}
    """
    cap: dict[str, float] = {}
    for name, node in sc.nodes.items():
        if node.concurrency is not None:
            cap[f"slot:{name}"] = node.concurrency
    for pool, value in sc.pools.items():
        cap[f"pool:{pool}"] = value
    for link in sc.links.values():
        if link.sharing == "fifo":
            cap[f"fifo:{link.name}"] = 1
    return cap


def hop_pools(sc: Scenario, src: str, dst: str) -> tuple[set[str], set[str]]:
    """Pools and one-at-a-time links that a reservation on hop ``src -> dst`` holds (both
    directions: the result comes back over the reverse link, eq. 6)."""
    pools, fifo = set(), set()
    for a, b in ((src, dst), (dst, src)):
        if not sc.has_link(a, b):
            continue
        link = sc.link(a, b)
        if link.sharing == "reserved" and link.pool is not None:
            pools.add(link.pool)
        elif link.sharing == "fifo":
            fifo.add(link.name)
    return pools, fifo


def demands(sc: Scenario, task: Task, option: Option, b1: float | None, b2: float | None,
            cloud: str | None = None, hops_seen: dict | None = None) -> dict[str, float]:
    """What ``task`` holds for its whole duration under ``option`` with rates ``b1``, ``b2``:
    its device's slot, the edge slot if the edge computes (eq. 8), b1 on the access pool (eq. 9),
    b2 on the backbone pool (eq. 10), a cloud slot if the cloud has a finite concurrency.
    ``cloud`` is ``the_cloud(sc)`` when the caller has it; ``hops_seen``, a dict the caller
    keeps, remembers :func:`hop_pools` per hop (an online planner asks many times per task).

    Examples
    --------
    >>> from splitinfer.planners.huang2019.delay import toy_three_tier
    >>> from splitinfer.system.load import scenario_from_dict
    >>> sc = scenario_from_dict(toy_three_tier())
    >>> demands(sc, sc.tasks[0], option_list(sc)[3], 8e6, 4e6)
    {'slot:d0': 1.0, 'slot:e0': 1.0, 'slot:cloud': 1.0, 'pool:e0.access': 8000000.0, 'pool:e0.backbone': 4000000.0}
    """
    d: dict[str, float] = {f"slot:{task.device}": 1.0}
    hops = []
    if option.y and cloud is None:
        cloud = the_cloud(sc)
    if option.z:
        d[f"slot:{option.edge}"] = 1.0
    if option.y:
        d[f"slot:{cloud}"] = 1.0
    if option.x:
        hops.append((task.device, option.edge, b1))
    if option.y:
        hops.append((option.edge, cloud, b2))
    for src, dst, rate in hops:
        if hops_seen is None:
            pools, fifo = hop_pools(sc, src, dst)
        else:
            got = hops_seen.get((src, dst))
            if got is None:
                got = hops_seen[(src, dst)] = hop_pools(sc, src, dst)
            pools, fifo = got
        for p in sorted(pools):
            d[f"pool:{p}"] = d.get(f"pool:{p}", 0.0) + float(rate)
        for f in sorted(fifo):
            d[f"fifo:{f}"] = 1.0
    return d


def _finish(sc: Scenario, task: Task, tp: TaskPlan, start: float) -> float:
    """The finish time of a chain of stages started at ``start``, summed the way the simulator
    sums them (so that a plan that never waits is predicted to the last bit)."""
    end = start
    for stage in build_stages(sc, task, tp):
        end = end + stage.duration
    return end


@register("deepar", description="DeePar Alg. 1: online two-cut device/edge/cloud scheduling with "
          "maximum reserved bandwidth and delayed starts.",
          source=f"{_SOURCE}, Alg. 1, eqs. (1)-(19), delay matrix W of section IV-A")
class DeeparPlanner(BasePlanner):
    """DeePar's online event-driven scheduler (Huang et al. 2019 Alg. 1; see the module docstring).

    Parameters
    ----------
    scheme : {"hybrid", "edge", "cloud"}
        ``"hybrid"``: all 3m+1 options of W (DeePar). ``"edge"``/``"cloud"``: only the
        edge-only or cloud-only execution (raw input, ``c1 = 0``), the paper's baselines.
    delayed : bool
        Use the delayed scheduling strategy (lines 6-8 over every known event). ``False`` starts
        every task at its arrival when any option fits then (otherwise at the first event when
        one does).
    line12 : {"allocated", "w"}, optional
        What line 12 compares: ``w_ij + delta t`` with the delay recomputed for the bandwidth
        actually allocated (``"allocated"``, reading 3 of the module docstring) or with W's
        entry at the full bandwidths, as written (``"w"``). ``None``: the preset's.
    preset : {"improved", "paper"}
        ``"improved"`` (default): ``line12="allocated"``; ``"paper"`` (``deepar-paper``):
        ``line12="w"``.

    Attributes
    ----------
    decisions : dict
        After a run: task id -> the chosen option, cuts, bandwidths, start and the predicted
        latency ``w_ij + delta t``.
    """

    online = True
    general = False
    #: Known events after which ``decide`` visits only those near a change of the task's own
    #: resources (below it a plain scan of every event is cheaper; the plans are the same).
    near_after = 256

    def __init__(self, scheme: str = "hybrid", delayed: bool = True, line12: str | None = None,
                 preset: str = "improved") -> None:
        self.scheme = scheme
        self.delayed = delayed
        self.line12 = line12
        self.preset = preset
        if self.settings["line12"] not in ("allocated", "w"):
            raise ValueError(f"line12 must be 'allocated' or 'w', got {line12!r}")

    @property
    def settings(self) -> dict[str, Any]:
        """``line12`` after the preset is applied."""
        return resolve_preset(type(self).__name__, DEEPAR_PRESETS, self.preset, line12=self.line12)

    def start(self, scenario: Scenario) -> None:
        """Reset the resource book for a new run."""
        if self.scheme not in SCHEMES:
            raise ValueError(f"scheme must be one of {SCHEMES}, got {self.scheme!r}")
        _check(scenario)
        if self.scheme == "cloud" and the_cloud(scenario) is None:
            raise NotApplicableError(f"scenario {scenario.name!r} has no cloud for cloud-only")
        warm_kernel()  # the compiled ledger query loads now, not in the first decision
        from splitinfer.planners.huang2019._curves import warm

        warm()  # and so do the per-task searches of TaskCurves
        self._sc = scenario
        self._book = Ledger(capacities(scenario))
        kinds = {"hybrid": ("device", "edge", "cloud", "edge+cloud"), "edge": ("edge",),
                 "cloud": ("cloud",)}[self.scheme]
        self._options = [o for o in option_list(scenario) if o.kind in kinds]
        self._first = None if self.scheme == "hybrid" else 0
        self._edges = scenario.edges
        self._cloud = the_cloud(scenario)
        self._hops: dict[tuple[str, str], tuple[tuple[str, ...], list[str], list[str]]] = {}
        self._slots: dict[str, str | None] = {}  # _slot
        self._hopsets: dict[tuple[str, str], tuple[set[str], set[str]]] = {}  # hop_pools
        self._bounded: dict[str, bool] = {}  # _finite
        self._units: dict = {}  # head curves of one sample (TaskCurves)
        # where stage times follow the delay model (no bandwidth traces), decide may leave
        # out the events no resource of the task changes near (see decide)
        self._plain = all(link.trace is None for link in scenario.links.values())
        self._literal = self.settings["line12"] == "w"  # line 12 compares W's entry
        self._misfit = False
        self.decisions: dict[str, dict[str, Any]] = {}

    def _pools(self, src: str, dst: str) -> tuple[str, ...]:
        """The ledger names of the pools a reservation on hop ``src -> dst`` holds (cached)."""
        return self._hop(src, dst)[0]

    def _hop(self, src: str, dst: str) -> tuple[tuple[str, ...], list[str], list[str]]:
        """Hop ``src -> dst`` in the ledger's names (:func:`hop_pools`, cached for the run):
        its pools, those of finite capacity, and its one-at-a-time links of finite capacity."""
        got = self._hops.get((src, dst))
        if got is None:
            pools, fifo = hop_pools(self._sc, src, dst)
            names = tuple(f"pool:{p}" for p in pools)
            got = self._hops[(src, dst)] = (
                names, [p for p in names if self._finite(p)],
                [f for f in (f"fifo:{f}" for f in sorted(fifo)) if self._finite(f)])
        return got

    def _rates(self, curves: TaskCurves, option: Option, t0: float, t1: float
               ) -> tuple[float | None, float | None] | None:
        """Maximum allocable (b1, b2) over ``[t0, t1)`` (Alg. 1 line 11), ``None`` if none is left."""
        cap1, cap2 = curves.link_caps(option)
        left: dict[str, float] = {}

        def allocable(pools: tuple[str, ...], cap: float) -> float:
            rate = cap
            for p in pools:
                if p not in left:
                    left[p] = self._book.residual(p, t0, t1)
                rate = min(rate, left[p])
            for p in pools:
                left[p] -= rate
            return rate

        b1 = b2 = None
        if option.x:
            b1 = allocable(self._pools(curves.task.device, option.edge), cap1)
            if b1 <= cap1 * 1e-9:
                return None
        if option.y:
            b2 = allocable(self._pools(option.edge, curves.cloud), cap2)
            if b2 <= cap2 * 1e-9:
                return None
        return b1, b2

    def _try(self, curves: TaskCurves, option: Option, tau: float
             ) -> tuple[Choice, float, dict[str, float]] | None:
        """Option ``option`` started at ``tau``: its choice, finish time and holdings, if it fits."""
        window = 0.0
        for _ in range(1000):  # fixed point: less bandwidth -> longer task -> longer interval
            rates = self._rates(curves, option, tau, tau + window)
            if rates is None:
                return None
            choice = curves.best(option, *rates, first_cut=self._first)
            if choice is None:
                return None
            if choice.delay <= window + TOL:
                break
            window = choice.delay
        else:  # pragma: no cover - bounded by the number of booked events
            return None
        got = self._memo.get(choice)
        if got is None:  # the choice's stage durations and holdings, once per decision
            task = curves.task  # (the durations build_stages gives deepar_plan's plan)
            got = self._memo[choice] = (
                stage_durations(self._sc, task, choice, cloud=self._cloud),
                demands(self._sc, task, option, choice.b1, choice.b2, cloud=self._cloud,
                        hops_seen=self._hopsets))
        durations, need = got
        end = tau  # summed the way the simulator sums the stages (see _finish)
        for d in durations:
            end = end + d
        if not self._book.fits(need, tau, end):
            self._misfit = True
            return None
        return choice, end, need

    def _held(self, curves: TaskCurves, option: Option
              ) -> tuple[list[str], list[tuple[list[str], float]], bool]:
        """The resources of finite capacity that ``option`` holds (the keys of
        :func:`demands`): the slots and one-at-a-time links, and per hop (device -> edge,
        edge -> cloud) its pools and per-task cap; and whether its two hops draw on one pool
        (cached for the task being decided)."""
        got = self._heldmemo.get(option.j)
        if got is not None:
            return got
        device = curves.task.device
        units = [name for name in (self._slot(device),
                                   self._slot(option.edge) if option.z else None,
                                   self._slot(self._cloud) if option.y else None) if name]
        cap1, cap2 = curves.link_caps(option)
        hops = []
        shared = False
        if option.x:
            first, pools, fifo = self._hop(device, option.edge)
            units += fifo
            hops.append((pools, cap1))
        if option.y:
            second, pools, fifo = self._hop(option.edge, self._cloud)
            units += fifo
            hops.append((pools, cap2))
            shared = bool(option.x and set(first) & set(second))
        got = self._heldmemo[option.j] = (units, hops, shared)
        return got

    def _slot(self, node: str) -> str | None:
        """The ledger's name of ``node``'s slots if their number is finite (cached)."""
        got = self._slots.get(node, False)
        if got is False:
            name = f"slot:{node}"
            got = self._slots[node] = name if self._finite(name) else None
        return got  # type: ignore[return-value]

    def _finite(self, resource: str) -> bool:
        """Whether the ledger bounds ``resource`` (a capacity that is not infinite; cached)."""
        got = self._bounded.get(resource)
        if got is None:
            got = self._bounded[resource] = math.isfinite(
                self._book.capacity.get(resource, math.inf))
        return got

    def decide(self, task: Task, state: State) -> TaskPlan:
        """Alg. 1 for one arriving task (lines 4-18).

        The known events are visited in order, and at each the options in order of their
        delay at the caps, exactly as lines 6-15 say; a pair is not tried when an option is
        ruled out by a resource already full at that instant (the gates of
        :meth:`_scan_args`), which changes nothing but the time taken.
        """
        now = state.now
        self._book.forget(now)
        # choice -> its stage durations and holdings, found once per decision
        self._memo: dict[Choice, tuple[tuple[float, ...], dict[str, float]]] = {}
        self._heldmemo: dict[int, tuple[list[str], list[tuple[list[str], float]], bool]] = {}
        self._args: tuple | None = None  # of the compiled scan (_scan_args)
        curves = TaskCurves(self._sc, task, self._edges, self._cloud, compiled=True,
                            units=self._units)
        # (w at the caps, j, option): a lower bound of the option's delay at any start
        base = curves.w_row(self._options, self._first)
        if not base:
            raise NotApplicableError(f"task {task.id}: device {task.device!r} can take none of "
                                      f"the {self.scheme} options (it reaches no edge server?)")
        base.sort(key=lambda x: (x[0], x[1]))
        # with few known events a plain scan is cheaper than finding the ones near a change;
        # an event left out there is dominated under either line 12 (see _near)
        near = self._near(curves, base, now) if now >= task.arrival and self.delayed and \
            self._book.count_after(now) > self.near_after else None
        best = self._scan(task, now, curves, base, near)
        if best is False:  # a try failed on its holdings: visit every event after all
            best = self._scan(task, now, curves, base, None)
        if best is None:  # pragma: no cover - every holding ends, so the last event fits
            raise InfeasiblePlanError(f"task {task.id}: no option ever fits")
        _, tau, _, choice, end, need = best
        latency = end - task.arrival
        self._book.book(tau, end, need)
        self._memo = {}
        self.decisions[task.id] = {
            "option": choice.option.label, "j": choice.option.j, "c1": choice.c1,
            "c2": choice.c2, "b1": choice.b1, "b2": choice.b2, "start": tau,
            "wait": tau - task.arrival, "w": choice.delay, "latency": latency}
        return deepar_plan(self._sc, task, choice, release=tau if tau > now else None,
                           cloud=self._cloud)

    def _near(self, curves: TaskCurves, base: list[tuple[float, int, Option]], now: float
              ) -> Iterator[np.ndarray] | None:
        """The events :meth:`_scan` may limit itself to (:meth:`Ledger.events_near` of the
        resources the task can hold), or ``None`` where the argument for leaving the others
        out does not hold here.

        An event ``t`` left out has a visited event ``p < t`` with none of these resources
        changing in ``(p, t + TOL]``, so what is held over ``[t, t + d)`` is what is held over
        ``[p, p + (t - p) + d)``: from ``t`` an option gets no more bandwidth than from ``p``
        and ends no earlier, and an option refused at ``p`` for want of bandwidth is refused
        at ``t``. So ``(t, j)`` never beats ``(p, j)``: not on the allocated delay (line 12 as
        improved, ``end - arrival``), and not on W's entry (``deepar-paper``, ``p - now +
        w_cap < t - now + w_cap``). The ledger's final fit check is not carried over: a try
        that fails it makes :meth:`decide` visit every event. The argument needs stage times
        that follow the delay model (no bandwidth traces), and hops on different pools."""
        if not self._plain or not now < 1e5:
            return None
        resources: set[str] = set()
        for _, _, option in base:
            units, finite_hops, shared = self._held(curves, option)
            if shared:
                return None  # both hops draw on one pool: less on one leaves more to the other
            resources.update(units)
            for pools, _ in finite_hops:
                resources.update(pools)
        return self._book.events_near(now, resources, 1e-6 * (1.0 + now))

    def _scan_args(self, curves: TaskCurves, base: list[tuple[float, int, Option]]) -> tuple:
        """The arguments of the compiled scan
        (:func:`~splitinfer.planners.huang2019._kernel.next_pair`) that do not change during
        one decision: the gates of every option, the resources they name (floors, capacities,
        the shortest window of any option holding each), each option's hops (their pools and
        caps) and its row of the cut searches' data (:meth:`TaskCurves.pack`).

        *Gates* rule an option out at a start ``tau`` before it is tried, one per resource of
        finite capacity it holds (:meth:`_held`). Every run of the option from ``tau`` lasts at
        least ``w_cap`` (its delay at the caps; less bandwidth only lengthens it), so the
        fixed point of :meth:`_try` always asks for the bandwidth left over ``[tau, tau + d)``
        with ``d >= w_cap``, and :meth:`Ledger.fits` checks the holdings over at least that
        long. With ``held`` a lower bound of every peak over such an interval (the floor of
        :meth:`Ledger.held_floor` with a window a little under ``w_cap``), a unit demand (a
        slot, a one-at-a-time link) cannot fit when ``1 > (capacity - held) (1 + 1e-9) +
        1e-12`` (the test of :meth:`Ledger.fits`) and a pool leaves no bandwidth when
        ``capacity - held <= cap * 1e-9`` (the test of :meth:`_rates`): each gate only rules
        out what :meth:`_try` would reject. An option shorter than 1 us, whose intervals could
        be within rounding of ``TOL``, has no gates.
        """
        cap = self._book.capacity
        index: dict[str, int] = {}  # resource -> its row
        wmin: list[float] = []  # the shortest window of the gates on it
        n = len(base)
        gate_off = np.zeros(n + 1, dtype=np.int64)
        gate_res: list[int] = []
        gate_limit: list[float] = []
        gate_unit: list[bool] = []
        has_gates = np.zeros(n, dtype=np.bool_)
        hop_n = np.zeros(n, dtype=np.int64)
        hop_cap = np.zeros((n, 2))
        hp_off = np.zeros(2 * n + 1, dtype=np.int64)
        hp_res: list[int] = []

        def gate(res: str, limit: float, unit: bool, window: float) -> None:
            r = index.get(res)
            if r is None:
                r = index[res] = len(wmin)
                wmin.append(window)
            elif window < wmin[r]:
                wmin[r] = window
            gate_res.append(r)
            gate_limit.append(limit)
            gate_unit.append(unit)

        for k, (w_cap, _, option) in enumerate(base):
            units, hops, _ = self._held(curves, option)
            hop_n[k] = len(hops)
            gated = w_cap > 1e-6
            window = w_cap * (1 - 1e-9) - 1e-7  # under every duration, by far more than rounding
            window = window if window > 4 * TOL else 0.0
            for res in units if gated else ():
                gate(res, 1.0, True, window)
            for h in range(2):
                if h < len(hops):
                    pools, hop_cap[k, h] = hops[h]
                    if gated:
                        for p in pools:
                            gate(p, hop_cap[k, h] * 1e-9, False, window)
                        hp_res.extend(index[p] for p in pools)
                hp_off[2 * k + h + 1] = len(hp_res)
            gate_off[k + 1] = len(gate_res)
            has_gates[k] = gate_off[k + 1] > gate_off[k]
        # the cut searches' data of the options (TaskCurves.pack, built for base already):
        # one row per option that allows a cut pair (-1: none, an infinite delay)
        ints, curv, lnk, ret, rows = curves.pack(self._options, self._first)
        opt_rows = np.array([rows.get(option.j, -1) for _, _, option in base], dtype=np.int64)
        slab, res_meta = self._book.packed(index)
        res_cap = np.array([cap[res] for res in index], dtype=float)
        res_wmin = np.array(wmin, dtype=float)
        res_pool = np.array([res.startswith("pool:") for res in index], dtype=np.bool_)
        return (slab, res_meta, res_cap, res_wmin, res_pool, gate_off,
                np.array(gate_res, dtype=np.int64), np.array(gate_limit, dtype=float),
                np.array(gate_unit, dtype=np.bool_), has_gates, hop_n, hop_cap, hp_off,
                np.array(hp_res, dtype=np.int64), opt_rows, ints, curv, lnk, float(ret), TOL)

    def _scan(self, task: Task, now: float, curves: TaskCurves,
              base: list[tuple[float, int, Option]],
              near: Iterator[np.ndarray] | None) -> tuple | None | bool:
        """Lines 6-15 over the known events (all, or ``near``'s chunks): the best (compared
        delay, start, j, choice, end, holdings), ``None`` if nothing fits, or ``False`` when
        ``near`` was given and a try failed on :meth:`Ledger.fits` (the events left out are
        then not known to be dominated).

        The compiled :func:`~splitinfer.planners.huang2019._kernel.next_pair` walks the
        (event, option) pairs in the order of lines 6-15 and stops at each pair that might
        win (its gates open, its bounds not above the best); :meth:`_try` tries it here. A
        pair passed over could not have fitted or could not have won, so the best is the one
        the literal scan finds (``splitinfer.testing.deepar_oracle`` checks it)."""
        from splitinfer.planners.huang2019._kernel import CANDIDATE, STOP, next_pair

        literal = self._literal  # compare W's entry, not the allocated delay
        w_min = base[0][0]
        w_caps = np.array([w for w, _, _ in base])
        if self._args is None:
            self._args = self._scan_args(curves, base)
        args = self._args
        # a candidate is tried only if it might win: a lower bound of its latency (the wait
        # plus its delay at the bandwidth left at most) above the best found by more than any
        # rounding, or with line12="w" an option that already fitted earlier, cannot
        prune = not literal and now >= task.arrival
        fitted = np.zeros(len(base), dtype=np.bool_)
        out = np.zeros(2, dtype=np.int64)
        best = None  # (compared delay, start, j, choice, end, holdings)
        self._misfit = False
        for taus in self._book.events(now) if near is None else near:
            i = k = 0
            while True:
                status = next_pair(taus, i, k, now, math.inf if best is None else best[0],
                                   best is not None, self.delayed, literal, prune, fitted,
                                   w_caps, w_min, *args, out)
                if status != CANDIDATE:
                    break
                i, k = int(out[0]), int(out[1])
                w_cap, j, o = base[k]
                tau = float(taus[i])
                k += 1  # the scan goes on after this pair
                got = self._try(curves, o, tau)
                if got is None:
                    continue
                fitted[k - 1] = True
                choice, end, need = got
                key = (tau - now + w_cap if literal else end - task.arrival, tau, j)
                if best is None or key < best[:3]:
                    best = (*key, choice, end, need)
            if status == STOP:
                break
        if near is not None and self._misfit:
            return False
        return best


alias("deepar-paper", "deepar", description="DeePar Alg. 1 as written: line 12 compares W's "
      "entry (the option's delay at full bandwidth) plus the wait, not the delay at the bandwidth "
      "allocated.", source=f"{_SOURCE}, Alg. 1 (line 12), section IV-A (W)", preset="paper")
alias("deepar-edge-only", "deepar", description="DeePar's edge-only baseline: raw input to an edge "
      "server, scheduled by Alg. 1 under the same reservations.",
      source=f"{_SOURCE}, section V-B (edge-only execution)", scheme="edge")
alias("deepar-cloud-only", "deepar", description="DeePar's cloud-only baseline: raw input through "
      "an edge server to the cloud, scheduled by Alg. 1 under the same reservations.",
      source=f"{_SOURCE}, section V-B (cloud-only execution)", scheme="cloud")
alias("deepar-device-only", "local", description="DeePar's device-only baseline (every task on "
      "its own device; identical to local).", source=f"{_SOURCE}, section V-B (device-only execution)")


def fastest_alone(sc: Scenario, task: Task) -> float:
    """The least no-wait latency of ``task`` over its chain plans
    (:func:`~splitinfer.planners.common.options.chain_options`): the same number as
    ``min(no_wait_latency(sc, task, tp) for tp in chain_options(sc, task))``, found without
    timing every cut pair.

    A chain's no-wait latency is the sum of its stages' durations, added one after another:
    the head on the device, the uplink, the edge piece, the hop to the cloud, the cloud piece
    and the return. Each duration depends on one cut (or, the edge piece, on both), so every
    one-cut duration is timed once per route, by the simulator's own stage builder
    (:func:`~splitinfer.system.stages.build_stages`' compute times and transfers), and the
    sums are taken in the same order as :func:`~splitinfer.system.stages.no_wait_latency`'s,
    elementwise (the same floats). The edge piece is timed only for the cut pairs whose sum
    without it (a lower bound of theirs: float addition of a non-negative term never lowers a
    sum) does not exceed the best found, in increasing order of that bound. Where a route
    passes a divisible node (it needs a share a chain option does not give), the definition
    runs instead.

    Examples
    --------
    >>> from splitinfer.planners.huang2019.delay import toy_three_tier
    >>> from splitinfer.system.load import scenario_from_dict
    >>> sc = scenario_from_dict(toy_three_tier(tasks=2))
    >>> [round(fastest_alone(sc, t), 4) for t in sc.tasks]
    [0.3412, 0.3412]
    """
    from splitinfer.system.stages import _transfer  # the one definition of a transfer's time

    dev, model = task.device, sc.models[task.model]
    last, n = model.last_cut, task.samples
    if any(sc.nodes[x].divisible for x in (dev, *sc.servers)):
        return min(no_wait_latency(sc, task, tp) for tp in chain_options(sc, task))
    probe = TaskPlan(task.id, (dev,), ())  # names the task in a transfer's errors

    def compute(node: str, a: int, b: int) -> float:
        return sc.compute_time(node, task.model, a, b, n)  # as _chain, whose factor is 1 here

    def transfers(src: str, dst: str) -> np.ndarray:  # the cut's tensor, for each cut
        return np.array([_transfer(sc, probe, src, dst, float(model.transfer_bytes[c]) * n,
                                   None, "hop", (), None).duration for c in range(last)])

    def back(route: tuple[str, ...]) -> list[float]:  # the return stages, in order
        if sc.result_return is not None:
            return [sc.result_return]
        out = float(model.output_bytes) * n
        if sc.has_link(route[-1], dev):
            return [_transfer(sc, probe, route[-1], dev, out, None, "return", ()).duration]
        hops = route[::-1]
        return [_transfer(sc, probe, a, b, out, None, "return", ()).duration
                for a, b in zip(hops, hops[1:], strict=False)]

    head = np.array([compute(dev, 0, c) for c in range(last)])  # the device's piece, 0..c
    best = 0.0 + compute(dev, 0, last)  # local
    ups: dict[str, np.ndarray] = {}  # (0 + head) + uplink, at every cut, per first server
    for route in chain_routes(sc, dev):
        srv, rets = route[1], back(route)
        if srv not in ups:
            ups[srv] = 0.0 + head + transfers(dev, srv)
        up = ups[srv]
        if len(route) == 2:  # device -> server at each cut
            total = up + np.array([compute(srv, c, last) for c in range(last)])
            for r in rets:
                total = total + r
            best = min(best, float(total.min()))
            continue
        cl = route[2]  # device -> edge -> cloud at each cut pair
        hop = transfers(srv, cl)
        cloud = np.array([compute(cl, c, last) for c in range(last)])
        c1, c2 = np.triu_indices(last)  # every pair c1 <= c2 < last
        low = up[c1] + hop[c2] + cloud[c2]  # the sum without the edge piece
        for r in rets:
            low = low + r
        for k in np.argsort(low, kind="stable"):
            if low[k] > best:
                break
            a, b = int(c1[k]), int(c2[k])
            got = up[a] + compute(srv, a, b) + hop[b] + cloud[b]
            for r in rets:
                got = got + r
            best = min(best, float(got))
    return best


def relaxation_bound(sc: Scenario) -> float:
    """A proven lower bound of the scenario's objective for *any* chain plan.

    Every task alone, never waiting, on its best chain plan at the links' full rates
    (:func:`~splitinfer.planners.common.options.chain_options`, timed by the simulator's stage
    builder): a task's latency can only be longer (waiting, less bandwidth, a worse option).
    ``mean_latency``/``mean_sojourn``: the mean of these; ``makespan``: the latest
    ``arrival + bound`` minus the first arrival.

    Examples
    --------
    >>> from splitinfer.planners.huang2019.delay import toy_three_tier
    >>> from splitinfer.system.load import scenario_from_dict
    >>> round(relaxation_bound(scenario_from_dict(toy_three_tier(tasks=2))), 4)
    0.3412
    """
    lows = [fastest_alone(sc, task) for task in sc.tasks]
    if not lows:
        return 0.0
    if sc.objective == "makespan":
        return max(t.arrival + lo for t, lo in zip(sc.tasks, lows, strict=True)) - \
            min(t.arrival for t in sc.tasks)
    return sum(lows) / len(lows)


@register("deepar-exact", description="DeePar's assignment problem (20)-(25) solved exactly "
          "(0-1 program, HiGHS): every task at once, none delayed.",
          source=f"{_SOURCE}, section IV-A, eqs. (20)-(25)", exact=True)
class DeeparExactPlanner(BasePlanner):
    """The optimum of DeePar's assignment problem (20)-(25) (see
    :mod:`splitinfer.planners.huang2019.assignment`).

    W is filled with each option's best cut pair at the task's bandwidth caps ``b = min(B_i,
    B_e)``, the same rates the constraints (22)-(23) charge. Every task starts at its arrival.
    Because (21)-(23) treat all tasks as running at once, the plan is feasible whatever the
    arrival times, and when all tasks arrive together its simulated total delay equals the
    optimum of (20).

    ``plan.info``: ``optimal`` (HiGHS proved the optimum of (20)-(25)), ``assignment_total_s``
    (the optimum of (20)), ``bound`` (a proven lower bound of the scenario's objective for any
    plan, :func:`relaxation_bound`: the static problem is not a relaxation of the online one,
    where a task may wait for a resource, so its optimum is not a bound) and ``problem``.

    Its range: on the paper's setting (10 edges, 31 options per task) HiGHS proves the optimum
    within the default 30 s up to 1000 tasks (4 s in all); at 4000 tasks it stops at the
    limit with ``info["optimal"]`` false and returns its best assignment
    (``benchmarks/bench_deepar.py``, docs/benchmarks.md). The time limit bounds the solver;
    filling W and the bound take time linear in the tasks (about 17 s together at 4000).

    Parameters
    ----------
    time_limit_s : float
        HiGHS time limit (seconds).

    Examples
    --------
    >>> from splitinfer.planners.huang2019.delay import toy_three_tier
    >>> from splitinfer.system.load import scenario_from_dict
    >>> plan = DeeparExactPlanner().plan(scenario_from_dict(toy_three_tier(tasks=3)))
    >>> plan.info["optimal"], round(plan.info["assignment_total_s"], 4)
    (True, 7.1313)
    >>> plan.info["options"]
    {'t0': 'edge:e0', 't1': 'device', 't2': 'edge+cloud:e0'}
    """

    general = False

    def __init__(self, time_limit_s: float = 30.0) -> None:
        self.time_limit_s = time_limit_s

    def _plan(self, scenario: Scenario) -> tuple[dict[str, TaskPlan], dict[str, Any]]:
        _check(scenario)
        devices = [t.device for t in scenario.tasks]
        if len(set(devices)) != len(devices):
            raise NotApplicableError("the assignment problem (20)-(25) has one task per device "
                                     "(Huang et al. 2019 section III); a device here has several")
        options = option_list(scenario)
        W, demand, choices = [], {}, {}
        for i, task in enumerate(scenario.tasks):
            curves = TaskCurves(scenario, task)
            row = []
            for o in options:
                ch = self._at_caps(scenario, curves, o)
                if ch is None:
                    row.append(math.inf)
                    continue
                tp = deepar_plan(scenario, task, ch)
                row.append(_finish(scenario, task, tp, 0.0))
                demand[(i, o.j)] = demands(scenario, task, o, ch.b1, ch.b2)
                choices[(i, o.j)] = ch
            W.append(row)
        sol = solve_assignment(W, demand, capacities(scenario), self.time_limit_s)
        plans = {t.id: deepar_plan(scenario, t, choices[(i, sol.choice[i])])
                 for i, t in enumerate(scenario.tasks)}
        info = {"optimal": sol.optimal, "assignment_total_s": sol.objective,
                "assignment_dual_bound_s": sol.dual_bound, "status": sol.status,
                "bound": relaxation_bound(scenario),
                "problem": "Huang et al. 2019 (20)-(25): one option per task, all tasks at once",
                "options": {t.id: options[sol.choice[i]].label
                            for i, t in enumerate(scenario.tasks)}}
        return plans, info

    @staticmethod
    def _at_caps(sc: Scenario, curves: TaskCurves, option: Option) -> Choice | None:
        """The option's best cut pair at ``b = min(B_i, B_e)`` on each hop (eq. 11)."""
        if not curves.feasible(option):
            return None
        cap1, cap2 = curves.link_caps(option)
        rates = []
        for hop, cap in (((curves.task.device, option.edge), cap1),
                         ((option.edge, curves.cloud), cap2)):
            if cap is None:
                rates.append(None)
                continue
            pools, _ = hop_pools(sc, *hop)
            rates.append(min([cap] + [sc.pools[p] for p in pools]))
        return curves.best(option, *rates)
