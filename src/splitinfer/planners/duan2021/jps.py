"""JPS: joint partition and scheduling of many identical DNN jobs (Duan & Wu, ICPP 2021).

A mobile device has ``n`` identical inference jobs at time 0. Each job is cut once: the device
computes the head (``f``, the computation stage), then sends the cut tensor over the one shared
uplink (``g``, the communication stage, ``t = w0 + w1 s / b`` of section 6.1: the link's
``latency`` and ``slowdown``); the cloud's work is negligible (section 3.1). The makespan is a
two-stage flow shop, so for fixed partitions Johnson's rule is optimal (Alg. 1); the question is
how to cut the jobs. Registered planners:

``jps``
    Candidate partitions: run locally, every single-tensor cut, and for general DAGs the cuts of
    Alg. 3 (:mod:`splitinfer.planners.duan2021.dag`). Virtual blocks (section 3.2,
    :func:`~splitinfer.planners.duan2021.flowshop.pareto_positions`) drop every candidate that another one
    beats in both ``f`` and ``g``; the survivors, sorted by ``f``, have ``f`` increasing and ``g``
    decreasing as Alg. 2 requires. Alg. 2 (:func:`line_partition`) finds ``l*``; the jobs are cut
    at ``l* - 1`` and ``l*`` and run in Johnson's order (``TaskPlan.priority``).
``po``
    Partition only (section 6.2): one homogeneous partition for every job, DADS [7]'s minimum
    s-t cut of the job's layer DAG in its light-load mode (the least single-job latency, any
    head closed under predecessors); ``criterion="makespan"`` picks the homogeneous cut among
    JPS's candidates with the least batch makespan instead.
``lo``, ``co``
    Local only and cloud only: aliases of ``local`` and ``cloud``.
``jps-bf``
    Brute force (section 6.2): the optimal makespan over every assignment of candidate cuts to
    the jobs (:mod:`splitinfer.planners.duan2021.brute_force`); the yardstick of the ``duan2021`` family.

Readings of ambiguous passages
------------------------------
* **How many jobs of each type.** Section 5.1 gives the ratio ``floor((f(l*) - g(l*)) /
  (g(l*-1) - f(l*-1)))`` of jobs cut at ``l* - 1`` per job cut at ``l*``. Before the floor this
  is the count ratio that balances the accumulated differences, i.e. the ``n -> inf`` optimum of
  ``max{sum f, sum g}``; the floor makes it 0 (no job at ``l* - 1``) whenever the surplus of ``l*``
  is below the deficit of ``l* - 1``, which loses the benefit the paper is after. ``mix="best"``
  (default) therefore picks the number of jobs at ``l* - 1`` (0..n) that minimises the exact
  makespan of the two types in Johnson's order (:func:`~splitinfer.planners.duan2021.flowshop.
  two_type_makespans`, O(n) vectorised); ``mix="paper"`` uses the floored ratio literally:
  ``ratio`` jobs at ``l* - 1`` per job at ``l*``, i.e. ``ceil(n / (ratio + 1))`` jobs at ``l*``.
* **Proposition 4.1** is never used to evaluate a plan: the exact block formula is. The
  proposition holds for any cuts of one line DNN in Johnson's order once virtual blocks make
  ``f`` increasing and ``g`` non-increasing (proof in :mod:`splitinfer.planners.duan2021.flowshop`), but
  not for heterogeneous jobs or general-DAG cuts.
* **The cloud.** The paper neglects cloud compute (section 3.1, Fig. 4(a)) and its prototype
  folds what there is into the measured communication time ``t_d`` (section 6.1). The shipped
  ``duan2021*`` scenarios write the negligible cloud as a table with a zero tail; when a scenario
  gives the cloud real compute, it is a tail ``h`` after the uplink (unlimited in parallel), and
  the planners include it in the makespan they predict.
* **MobileNetV2 and ResNet18** are lines of single-tensor cuts: no single tensor crosses inside a
  residual module (the bypass crosses too), so every residual module is already one block, and
  virtual blocks merge the rest (the expanding 1x1 convolutions of the bottleneck modules,
  section 6.1). **GoogLeNet** is a general DAG (section 6.1): its Inception modules give Alg. 3
  candidates.

Examples
--------
Duan & Wu 2021 Fig. 2: two jobs; cutting one after ``l_1`` (f=4, g=6) and one after ``l_2`` (f=7, g=2)
gives 13 instead of 16.

>>> from splitinfer.system import scenario_from_dict
>>> from splitinfer.sim import simulate
>>> sc = scenario_from_dict({"objective": "makespan", "result_return": 0,
...     "nodes": [{"name": "pi", "kind": "device", "compute": {"table": True}},
...               {"name": "cloud", "kind": "cloud", "compute": {"table": True},
...                "concurrency": None}],
...     "links": [{"src": "pi", "dst": "cloud", "bandwidth": 8, "sharing": "fifo"}],
...     "models": {"m": {"cuts": [{"transfer_bytes": 99}, {"transfer_bytes": 6},
...                               {"transfer_bytes": 2}, {"transfer_bytes": 0}],
...                      "table": {"pi": {"head": [0, 4, 7, 99]},
...                                "cloud": {"tail": [0, 0, 0, 0]}}}},
...     "workload": {"generators": [{"kind": "batch", "devices": ["pi"], "model": "m",
...                                  "count": 2}]}})
>>> plan = JPSPlanner().plan(sc)
>>> sorted(tp.cuts for tp in plan.tasks.values()), plan.info["predicted_makespan"]
([(1,), (2,)], 13.0)
>>> simulate(sc, plan).makespan
13.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

import numpy as np

from splitinfer.errors import NotApplicableError
from splitinfer.papers import cite
from splitinfer.planners.common.base import BasePlanner
from splitinfer.planners.common.presets import resolve_preset
from splitinfer.planners.common.registry import alias, register
from splitinfer.planners.common.wire import WireChoice, check_min_agreement, parse_wire_dtypes
from splitinfer.planners.duan2021.brute_force import brute_force
from splitinfer.planners.duan2021.flowshop import (
    block_makespans,
    flow_shop_makespan,
    johnson_order,
    line_partition,
    pareto_positions,
    prop41_makespan,
    two_type_makespans,
)
from splitinfer.planners.duan2021.partitions import (
    Option,
    jps_setting,
    make_taskplan,
    min_cut_option,
    partition_options,
)
from splitinfer.system.plan import ChainColumns, TaskPlan
from splitinfer.system.scenario import Scenario

__all__ = ["johnson_order", "flow_shop_makespan", "line_partition", "prop41_makespan",
           "JPSPlanner", "POPlanner", "JPSBruteForce", "JPSSchedule", "virtual_blocks",
           "choose_mix", "schedule_types"]

_SOURCE = cite("duan2021")

#: ``jps``'s presets: the exact best mix of Alg. 2's two cut types, or section 5.1's floored ratio.
JPS_PRESETS: dict[str, dict[str, Any]] = {"improved": {"mix": "best"}, "paper": {"mix": "paper"}}


def virtual_blocks(options: list[Option]) -> list[Option]:
    """The options that survive virtual blocks (Duan & Wu 2021 section 3.2), sorted by ``f``.

    Examples
    --------
    >>> opts = [Option(str(i), "chain", f, g, 0.0) for i, (f, g) in
    ...         enumerate([(0, 6), (1, 8), (2, 4), (3, 4), (5, 0)])]
    >>> [o.label for o in virtual_blocks(opts)]
    ['0', '2', '4']
    """
    keep = pareto_positions([o.f for o in options], [o.g for o in options])
    return sorted((options[i] for i in keep), key=lambda o: (o.f, -o.g))


def choose_mix(a: Option, b: Option, n: int, mix: str, ratio: int) -> int:
    """Number of jobs (0..n) to cut at ``a`` (= ``l* - 1``); the rest are cut at ``b``.

    ``mix="best"``: the count with the least exact makespan (ties: the fewest at ``a``);
    ``mix="paper"``: ``ratio`` jobs at ``a`` per job at ``b`` (section 5.1).

    Examples
    --------
    >>> a, b = Option("a", "chain", 4.0, 6.0, 0.0), Option("b", "chain", 7.0, 2.0, 0.0)
    >>> choose_mix(a, b, 2, "best", 0), choose_mix(a, b, 2, "paper", 0)
    (1, 0)
    """
    if mix == "paper":
        if b.f == b.g or ratio <= 0:
            return 0
        return n - math.ceil(n / (ratio + 1))
    spans = two_type_makespans(a.f, a.g, b.f, b.g, n, a.h, b.h)
    return int(np.argmin(spans))


def schedule_types(types: list[Option], counts: list[int]) -> tuple[list[int], float]:
    """Johnson's order of the job types (Alg. 1) and the exact makespan of the blocks.

    Returns
    -------
    (list of int, float)
        Type indices in Johnson's order, and the makespan with ``counts[t]`` jobs of type ``t``.

    Examples
    --------
    >>> t = [Option("b", "chain", 7.0, 2.0, 0.0), Option("a", "chain", 4.0, 6.0, 0.0)]
    >>> schedule_types(t, [1, 1])
    ([1, 0], 13.0)
    """
    order = johnson_order([t.f for t in types], [t.g for t in types])
    span = block_makespans([types[i].f for i in order], [types[i].g for i in order],
                           np.array([[counts[i] for i in order]]),
                           [types[i].h for i in order])[0]
    return order, float(span)


def _assign(sc: Scenario, types: list[Option], counts: list[int], order: list[int]
            ) -> dict[str, TaskPlan]:
    """Task plans: blocks of each type in Johnson's order, tasks taken in generation order."""
    out: dict[str, TaskPlan] = {}
    tasks = sc.tasks
    pos = 0
    for t in order:
        opt = types[t]
        for _ in range(counts[t]):
            tid = tasks[pos].id
            out[tid] = make_taskplan(opt, tid, float(pos))
            pos += 1
    return out


def _assign_columns(sc: Scenario, types: list[Option], counts: list[int], order: list[int]
                    ) -> ChainColumns | None:
    """:func:`_assign` as arrays (:class:`ChainColumns`, one row per task, no TaskPlan objects);
    None when a type is a general-DAG cut (those need explicit steps)."""
    if any(types[t].kind == "general" or types[t].dtype is not None for t in order):
        return None
    names: dict[str, int] = {}
    width = max(len(types[t].nodes) for t in order)
    n = sum(counts[t] for t in order)
    nodes = np.full((n, width), -1, np.int64)
    cuts = np.full((n, max(width - 1, 0)), -1, np.int64)
    pos = 0
    for t in order:
        opt, c = types[t], counts[t]
        nodes[pos:pos + c, :len(opt.nodes)] = [names.setdefault(x, len(names)) for x in opt.nodes]
        if opt.kind != "local":
            cuts[pos:pos + c, 0] = opt.cut
        pos += c
    return ChainColumns(list(map(attrgetter("id"), sc.tasks[:n])), list(names), nodes, cuts,
                        priority=np.arange(n, dtype=float))


@dataclass(frozen=True)
class JPSSchedule:
    """JPS's decision in compact form: job ``types``, how many jobs get each (``counts``), the
    types' Johnson order, and the exact predicted makespan."""

    types: list[Option]
    counts: list[int]
    order: list[int]
    makespan: float
    info: dict[str, Any]


def _type_info(types: list[Option], counts: list[int]) -> list[dict[str, Any]]:
    return [{"label": t.label, "kind": t.kind, "cut": t.cut, "count": c, "f": t.f, "g": t.g,
             "h": t.h} for t, c in zip(types, counts, strict=True)]


@register("jps", description="Joint partition and scheduling: Alg. 2's two cut types in the "
          "best ratio, Johnson's order (Alg. 1); Alg. 3 for general DAGs.",
          source=f"{_SOURCE}, Alg. 1-3, sections 3.2, 5.1")
class JPSPlanner(BasePlanner):
    """Duan & Wu's JPS (see the module docstring).

    Parameters
    ----------
    mix : {"best", "paper"}, optional
        How many jobs get each of Alg. 2's two cut types (module docstring). ``None``: the
        preset's.
    dag : bool
        Add Alg. 3's general-DAG cuts when the model has multi-path regions.
    preset : {"improved", "paper"}
        ``"improved"`` (default): ``mix="best"``, the count of jobs at ``l* - 1`` with the least
        exact makespan. ``"paper"`` (``jps-paper``): section 5.1's floored ratio
        ``floor((f(l*) - g(l*)) / (g(l*-1) - f(l*-1)))`` as written (``mix="paper"``). Virtual
        blocks (section 3.2), Alg. 1-3 are the same in both.
    wire_dtypes : str
        Candidate wire dtypes of each single-tensor cut's tensor, comma-separated
        (``"float16,int8"``, ``"all"``; an extension, issue 20); empty (default): the link's.
        A cut crosses in the smallest dtype whose measured top-1 agreement reaches
        ``min_agreement`` (:mod:`splitinfer.planners.common.wire`), which lowers its ``g``
        and leaves ``f`` as it is; Alg. 1-3 then run unchanged.
    min_agreement : float
        Least top-1 agreement with the float32 model a compressed dtype must reach at the cut.

    Examples
    --------
    >>> JPSPlanner(preset="paper").settings
    {'mix': 'paper'}
    """

    general = False  # Duan & Wu's model only (BasePlanner.general: not run on every family)

    def __init__(self, mix: str | None = None, dag: bool = True, preset: str = "improved",
                 wire_dtypes: str = "", min_agreement: float = 0.99):
        if mix not in (None, "best", "paper"):
            raise ValueError(f"mix must be 'best' or 'paper', got {mix!r}")
        self.mix = mix
        self.dag = dag
        self.preset = preset
        self.wire_dtypes = wire_dtypes
        self.min_agreement = min_agreement
        parse_wire_dtypes(wire_dtypes)
        check_min_agreement(min_agreement)
        resolve_preset(type(self).__name__, JPS_PRESETS, preset)  # an unknown preset fails here

    @property
    def settings(self) -> dict[str, Any]:
        """``mix`` after the preset is applied."""
        return resolve_preset(type(self).__name__, JPS_PRESETS, self.preset, mix=self.mix)

    def schedule(self, scenario: Scenario) -> JPSSchedule:
        """The compact plan: at most two job types, their counts and Johnson's order.

        For ``n`` identical jobs this is all JPS decides; :meth:`plan` expands it into one
        :class:`TaskPlan` per task (``benchmarks/bench_jps.py`` times both).
        """
        st = jps_setting(scenario)
        wire = WireChoice(scenario, self.wire_dtypes, self.min_agreement, self.name)
        options = partition_options(scenario, st, general=self.dag, wire=wire)
        line = virtual_blocks(options)
        left, right, ratio = line_partition([o.f for o in line], [o.g for o in line])
        if left < 0 or right >= len(line):  # one type only
            only = line[max(left, 0)] if right >= len(line) else line[right]
            types, counts = [only], [st.n]
        else:
            a, b = line[left], line[right]
            m = choose_mix(a, b, st.n, self.settings["mix"], ratio)
            types, counts = [a, b], [m, st.n - m]
        order, span = schedule_types(types, counts)
        info = {"predicted_makespan": span, "l_star": line[min(right, len(line) - 1)].label,
                "ratio": ratio, "types": _type_info(types, counts), "preset": self.preset,
                "candidates": len(options), "after_virtual_blocks": [o.label for o in line]}
        if wire.active:
            info["wire"] = wire.info()
        return JPSSchedule(types, counts, order, span, info)

    def _plan(self, scenario: Scenario):
        sched = self.schedule(scenario)
        cols = _assign_columns(scenario, sched.types, sched.counts, sched.order)
        if cols is not None:  # a plan kept as arrays: 10^6 jobs in well under a second
            return cols, sched.info
        return _assign(scenario, sched.types, sched.counts, sched.order), sched.info


@register("po", description="Partition only: DADS's min s-t cut of one job's layer DAG (least "
          "single-job latency, light load), the same for every job, no joint scheduling.",
          source=f"{_SOURCE}, section 6.2 (PO, after DADS [7])")
class POPlanner(BasePlanner):
    """Duan & Wu's PO baseline: every job cut at the same place.

    Parameters
    ----------
    criterion : {"latency", "makespan"}
        ``"latency"`` (the paper's PO): DADS [7]'s minimum s-t cut of the job's layer DAG, the
        partition with the least latency of one job alone
        (:func:`~splitinfer.planners.duan2021.partitions.min_cut_option`; any head closed under
        predecessors, not only JPS's candidates); ``"makespan"``: the homogeneous cut among
        JPS's candidates with the least makespan of the whole batch (an extension).
    dag : bool
        Cut the layer DAG (``"latency"``) or include Alg. 3's general-DAG cuts among the
        candidates (``"makespan"``); False: single-tensor cuts only.
    """

    general = False

    def __init__(self, criterion: str = "latency", dag: bool = True):
        if criterion not in ("latency", "makespan"):
            raise ValueError(f"criterion must be 'latency' or 'makespan', got {criterion!r}")
        self.criterion = criterion
        self.dag = dag

    def _plan(self, scenario: Scenario):
        st = jps_setting(scenario)
        mode = None
        if self.criterion == "latency":  # DADS's min cut of one job alone
            opt, mode = min_cut_option(scenario, st, general=self.dag)
            span = schedule_types([opt], [st.n])[1]
        else:
            options = partition_options(scenario, st, general=self.dag)
            spans = [schedule_types([o], [st.n])[1] for o in options]
            best = min(range(len(options)), key=lambda i: (spans[i], options[i].latency, i))
            opt, span = options[best], spans[best]
        plans = {t.id: make_taskplan(opt, t.id) for t in scenario.tasks}
        return plans, {"predicted_makespan": span, "cut": opt.label, "min_cut_mode": mode,
                       "types": _type_info([opt], [st.n])}


@register("jps-bf", description="Brute force over per-job cuts (Johnson's order for each "
          "assignment, or every order): the optimal makespan for small batches.",
          source=f"{_SOURCE}, section 6.2 (BF)", exact=True)
class JPSBruteForce(BasePlanner):
    """Duan & Wu's BF: the optimum over all per-job cut assignments (and orders).

    Parameters
    ----------
    orders : {"johnson", "all"}
        ``"johnson"``: every multiset of cuts (among the candidates that survive virtual blocks)
        in Johnson's order, optimal by Johnson's theorem and dominance; ``"all"``: every sequence
        of cuts over all candidates, i.e. every assignment and every order (tiny batches only).
    max_evaluations : int
        Refuse (:class:`NotApplicableError`) when more schedules would be evaluated.
    dag : bool
        Include Alg. 3's general-DAG cuts among the candidates.
    """

    general = False

    def __init__(self, orders: str = "johnson", max_evaluations: int = 5_000_000,
                 dag: bool = True):
        if orders not in ("johnson", "all"):
            raise ValueError(f"orders must be 'johnson' or 'all', got {orders!r}")
        self.orders = orders
        self.max_evaluations = max_evaluations
        self.dag = dag

    def _plan(self, scenario: Scenario):
        st = jps_setting(scenario)
        options = partition_options(scenario, st, general=self.dag)
        pool = options if self.orders == "all" else virtual_blocks(options)
        result = brute_force([o.f for o in pool], [o.g for o in pool], [o.h for o in pool], st.n,
                             orders=self.orders, max_evaluations=self.max_evaluations)
        if result is None:
            raise NotApplicableError(f"jps-bf would evaluate more than {self.max_evaluations} "
                                     f"schedules for {st.n} jobs over {len(pool)} cuts")
        sequence, span, evaluated = result
        lc = scenario.models[st.model].layers
        exhaustive = lc is None or _all_chains(lc)
        tails_free = all(o.h == 0.0 for o in pool)
        optimal = exhaustive and (self.orders == "all" or tails_free)
        plans = {}
        for pos, (task, t) in enumerate(zip(scenario.tasks, sequence, strict=True)):
            plans[task.id] = make_taskplan(pool[t], task.id, float(pos))
        counts = [int(np.sum(np.asarray(sequence) == i)) for i in range(len(pool))]
        used = [i for i, c in enumerate(counts) if c]
        info = {"predicted_makespan": span, "optimal": optimal, "evaluated": evaluated,
                "types": _type_info([pool[i] for i in used], [counts[i] for i in used])}
        if optimal:
            info["bound"] = span
        return plans, info


def _all_chains(lc) -> bool:
    from splitinfer.planners.duan2021.dag import regions

    return all(r.is_chain for r in regions(lc))


alias("jps-paper", "jps", description="JPS exactly as Duan & Wu 2021: the floored ratio of "
      "section 5.1 between Alg. 2's two cut types.",
      source=f"{_SOURCE}, Alg. 1-3, section 5.1", preset="paper")
alias("lo", "local", description="Local only: every job runs entirely on the device.",
      source=f"{_SOURCE}, section 6.2 (LO)")
alias("co", "cloud", description="Cloud only: every job uploads its raw input to the cloud.",
      source=f"{_SOURCE}, section 6.2 (CO)")
