"""The partitions a Duan & Wu 2021 job can take, with their stage times (f, g, h) from the scenario.

:func:`jps_setting` checks that a scenario is inside Duan & Wu's model (one device, ``n``
identical jobs at one instant, one server reached over a FIFO uplink) and raises
:class:`~splitinfer.errors.NotApplicableError` with the reason otherwise. :func:`partition_options`
lists the candidate partitions of the job: run everything locally (LO), each single-tensor cut
(cut 0 sends the raw input: CO), and, when the model has a layer DAG with multi-path regions, the
general cuts of Alg. 3 (:mod:`splitinfer.planners.duan2021.dag`). Each option's times come from
:func:`splitinfer.system.stages.build_stages` (never re-derived): ``f`` is the device's compute,
``g`` the time on the uplink, and ``h`` what follows and holds no shared resource (cloud compute,
unlimited in parallel, and the result return), which Duan & Wu 2021 section 3.1 takes as negligible.

Examples
--------
>>> from splitinfer.system import scenario_from_dict
>>> sc = scenario_from_dict({"objective": "makespan", "result_return": 0,
...     "nodes": [{"name": "pi", "kind": "device", "compute": {"table": True}},
...               {"name": "cloud", "kind": "cloud", "compute": {"table": True},
...                "concurrency": None}],
...     "links": [{"src": "pi", "dst": "cloud", "bandwidth": 8, "sharing": "fifo"}],
...     "models": {"m": {"cuts": [{"transfer_bytes": 9}, {"transfer_bytes": 6},
...                               {"transfer_bytes": 2}, {"transfer_bytes": 0}],
...                      "table": {"pi": {"head": [0, 4, 7, 12]},
...                                "cloud": {"tail": [0, 0, 0, 0]}}}},
...     "workload": {"generators": [{"kind": "batch", "devices": ["pi"], "model": "m",
...                                  "count": 2}]}})
>>> [(o.label, o.f, o.g) for o in partition_options(sc, jps_setting(sc))]
[('local', 12.0, 0.0), ('c0', 0.0, 9.0), ('c1', 4.0, 6.0), ('c2', 7.0, 2.0)]
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter
from typing import Any

import numpy as np

from splitinfer.errors import InfeasiblePlanError, NotApplicableError
from splitinfer.planners.duan2021.dag import region_cuts, regions
from splitinfer.system.entities import link_name
from splitinfer.system.plan import Step, TaskPlan
from splitinfer.system.scenario import Scenario
from splitinfer.system.stages import build_stages

__all__ = ["Setting", "Option", "jps_setting", "partition_options", "make_taskplan",
           "min_cut_option"]


@dataclass(frozen=True)
class Setting:
    """Duan & Wu's system as found in a scenario: the device, the server, the model, the jobs."""

    device: str
    server: str
    model: str
    n: int


@dataclass(frozen=True)
class Option:
    """One partition of the job: its plan (for any task id) and its stage times.

    ``kind`` is ``"local"``, ``"chain"`` (single-tensor cut ``cut``) or ``"general"`` (Alg. 3
    head ``head``, a set of layer indices). ``dtype``: the wire dtype a chain cut's tensor
    crosses in (``None``: the link's; :mod:`splitinfer.planners.common.wire`).
    """

    label: str
    kind: str
    f: float
    g: float
    h: float
    cut: int | None = None
    head: frozenset[int] | None = None
    steps: tuple[Step, ...] | None = None
    nodes: tuple[str, ...] = ()
    dtype: str | None = None

    @property
    def latency(self) -> float:
        """The job's latency alone: ``f + g + h``."""
        return self.f + self.g + self.h


def jps_setting(sc: Scenario) -> Setting:
    """Check that ``sc`` is inside Duan & Wu's model and return its parts.

    Raises
    ------
    NotApplicableError
        No tasks; tasks on several devices, of several models, with several sample counts, or
        arriving at different times; no server reached from the device over a ``fifo`` link;
        several such servers; or a divisible one (shares).
    """
    tasks = sc.tasks
    if not tasks:
        raise NotApplicableError("Duan & Wu 2021 plans a batch of jobs; the scenario has no tasks")
    devices = set(map(attrgetter("device"), tasks))  # (map: 10^6 jobs in a fraction of a second)
    models = set(map(attrgetter("model"), tasks))
    if len(devices) != 1:
        raise NotApplicableError(f"Duan & Wu 2021 has one mobile device; tasks come from {sorted(devices)}")
    if len(models) != 1:
        raise NotApplicableError(f"Duan & Wu 2021 plans identical jobs; tasks use models {sorted(models)}")
    if len(set(map(attrgetter("arrival"), tasks))) != 1 or \
            len(set(map(attrgetter("samples"), tasks))) != 1:
        raise NotApplicableError("Duan & Wu's jobs are all available at once (a batch); these "
                                 "tasks arrive at different times or have different sizes")
    device = tasks[0].device
    servers = [s for s in sc.reachable_servers(device) if sc.link(device, s).sharing == "fifo"]
    clouds = [s for s in servers if sc.nodes[s].kind == "cloud"]
    chosen = clouds or servers
    if not chosen:
        raise NotApplicableError(f"Duan & Wu 2021 offloads over one shared uplink; device {device!r} "
                                 "has no link with sharing: fifo to a server")
    if len(chosen) > 1:
        raise NotApplicableError(f"Duan & Wu 2021 has one cloud; device {device!r} reaches {chosen}")
    if sc.nodes[chosen[0]].divisible:
        raise NotApplicableError(f"Duan & Wu 2021's cloud is a whole server; {chosen[0]!r} is "
                                 "divisible (shares)")
    return Setting(device, chosen[0], tasks[0].model, len(tasks))


def make_taskplan(option: Option, task_id: str, priority: float = 0.0) -> TaskPlan:
    """The :class:`TaskPlan` of ``option`` for task ``task_id`` at ``priority``."""
    if option.kind == "general":
        return TaskPlan(task_id, option.nodes, (), priority=priority, steps=option.steps)
    if option.kind == "local":
        return TaskPlan(task_id, option.nodes, (), priority=priority)
    return TaskPlan(task_id, option.nodes, (option.cut,), priority=priority,
                    dtype=None if option.dtype is None else (option.dtype,))


def _times(sc: Scenario, st: Setting, option: Option) -> Option:
    task = sc.tasks[0]
    stages = build_stages(sc, task, make_taskplan(option, task.id))
    uplink = link_name(st.device, st.server)
    # every option's stages form a chain (device compute, uplink, cloud compute, return), so
    # the three sums partition the job's no-wait latency
    f = float(sum(s.duration for s in stages if s.resource == st.device))
    g = float(sum(s.duration for s in stages if s.resource == uplink))
    h = float(sum(s.duration for s in stages if s.resource not in (st.device, uplink)))
    return Option(option.label, option.kind, f, g, h, option.cut, option.head, option.steps,
                  option.nodes, option.dtype)


def _cloud_is_free(sc: Scenario, st: Setting) -> bool:
    """Whether the server is a table node whose tail of the whole model is 0 (Duan & Wu's
    negligible cloud written as a table), so that any part of the model costs it nothing."""
    node = sc.nodes[st.server]
    m = sc.models[st.model]
    return node.compute == "table" and st.server in m.table_tail and \
        float(np.max(np.abs(m.table_tail[st.server]))) == 0.0


def _general_options(sc: Scenario, st: Setting) -> list[Option]:
    lc = sc.models[st.model].layers
    if lc is None or sc.result_return not in (None, 0.0):
        return []
    free = _cloud_is_free(sc, st)
    try:
        layer_t = [sc.layers_time(st.device, st.model, [u]) for u in range(lc.n)]
        if not free:
            sc.layers_time(st.server, st.model, [0])
    except InfeasiblePlanError:
        return []  # no per-layer times on this device or server: single-tensor cuts only
    out: list[Option] = []
    seen: set[frozenset[int]] = set()
    for region in regions(lc):
        entry_t = sc.compute_time(st.device, st.model, 0, region.cut)
        heads = region_cuts(lc, region, entry_t, lambda u: layer_t[u],
                            lambda b: sc.transfer_time(st.device, st.server, b))
        for head in heads:
            if head in seen or lc.cut_of_head(head) is not None:
                continue
            seen.add(head)
            label = f"general@{sc.models[st.model].cut_names[region.cut]}+{len(head)}L"
            out.append(_general_option(sc, st, head, label, free))
    return out


def _general_option(sc: Scenario, st: Setting, head: frozenset[int], label: str,
                    free: bool) -> Option:
    """The untimed option that runs the layers ``head`` on the device and the rest on the
    server (nothing there when the cloud is ``free``), the crossing tensors in one transfer."""
    lc = sc.models[st.model].layers
    steps = [Step("compute", node=st.device, layers=tuple(sorted(head)), label="compute"),
             Step("transfer", src=st.device, dst=st.server,
                  nbytes=lc.crossing_bytes(head), deps=(0,), label="uplink")]
    rest = tuple(sorted(set(range(lc.n)) - head))
    if not free:
        steps.append(Step("compute", node=st.server, layers=rest, deps=(1,), label="compute"))
    if sc.result_return is None:
        steps.append(Step("transfer", src=st.server, dst=st.device,
                          nbytes=float(sc.models[st.model].output_bytes),
                          deps=(len(steps) - 1,), label="return"))
    elif not free:  # the scenario's constant return: the result still has to reach the device
        steps.append(Step("return", src=st.server, deps=(len(steps) - 1,), label="return"))
    return Option(label, "general", 0.0, 0.0, 0.0, head=head, steps=tuple(steps),
                  nodes=(st.device, st.server))


def min_cut_option(sc: Scenario, st: Setting, general: bool = True) -> tuple[Option, str]:
    """The partition DADS chooses for one job alone (its light-workload min s-t cut), timed.

    Duan & Wu 2021's PO baseline "implement[s] the state-of-the-art DNN partition algorithm
    [7]", DADS (Hu et al., INFOCOM 2019): the minimum cut of the job's layer DAG
    (:func:`~splitinfer.planners.classic.dads.min_cut_head`), which minimises the job's latency
    alone ``f + g + h``. With ``general`` and a layer DAG with per-layer times on the device,
    the cut is over layers (a negligible table cloud costs nothing, any server with per-layer
    times its own); otherwise over the chain of pieces between consecutive cuts, where the min
    cut is the best single cut. A head that is a cut's head becomes that chain cut (or ``local``).

    Returns
    -------
    option : Option
    mode : {"layers", "cuts"}

    Examples
    --------
    >>> from splitinfer.system import load_scenario
    >>> sc = load_scenario("duan2021-googlenet")
    >>> option, mode = min_cut_option(sc, jps_setting(sc))
    >>> mode, option.kind
    ('layers', 'local')
    """
    from splitinfer.planners.classic.dads import cut_graph, min_cut_head

    task = sc.tasks[0]
    free = _cloud_is_free(sc, st)
    m = sc.models[st.model]
    g = cut_graph(sc, task, st.server, use_layers=general and sc.result_return in (None, 0.0),
                  server_free=free)
    head = min_cut_head(g)
    cut = len(head) if g.mode == "cuts" else m.layers.cut_of_head(head)
    if cut is not None and cut >= m.last_cut:
        option = Option("local", "local", 0.0, 0.0, 0.0, nodes=(st.device,))
    elif cut is not None:
        option = Option(m.cut_names[cut], "chain", 0.0, 0.0, 0.0, cut=cut,
                        nodes=(st.device, st.server))
    else:
        option = _general_option(sc, st, head, f"min-cut+{len(head)}L", free)
    return _times(sc, st, option), g.mode


def partition_options(sc: Scenario, st: Setting, general: bool = True,
                      wire: Any = None) -> list[Option]:
    """Every candidate partition of ``st``'s job with its times (see the module docstring).

    Parameters
    ----------
    sc : Scenario
    st : Setting
        From :func:`jps_setting`.
    general : bool
        Add Alg. 3's general cuts when the model has a layer DAG with multi-path regions.
    wire : WireChoice, optional
        When active, each single-tensor cut's tensor crosses in the dtype it allows
        (:class:`~splitinfer.planners.common.wire.WireChoice`); the option's ``g`` is then timed
        at the real byte count.

    Returns
    -------
    list of Option
        Local first, then the single-tensor cuts in order, then general cuts.
    """
    m = sc.models[st.model]
    opts = [Option("local", "local", 0.0, 0.0, 0.0, nodes=(st.device,))]
    active = wire is not None and wire.active
    opts += [Option(m.cut_names[c], "chain", 0.0, 0.0, 0.0, cut=c, nodes=(st.device, st.server),
                    dtype=wire.at(st.model, c) if active else None)
             for c in range(m.last_cut)]
    if general:
        opts += _general_options(sc, st)
    return [_times(sc, st, o) for o in opts]
