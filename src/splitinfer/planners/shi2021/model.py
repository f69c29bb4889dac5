"""The system model of Shi et al. 2021 inside a scenario: which scenarios fit, and each task's options.

Shi et al. 2021 (section 2) has end devices that never wait locally, a
dedicated bandwidth B per task (eq. 3), edge servers that compute one task at a time, and a
constant result-return time t_r. A task m_i^j chooses a partition point p and a server k; its
time is eq. (1):

    t(m) = t_d (eq. 2) + t_t (eq. 3) + t_w (eqs. 7, 8) + t_s (eqs. 4, 5) + t_r.

Every term except t_w is fixed by (k, p), so :class:`Option` stores them, taken from
:func:`splitinfer.system.stages.build_stages` (the simulator's own stage durations; nothing is
re-derived here): ``pre`` = the stages before the server (device head t_d, uplink t_t), ``work``
= the server's piece (t_s = J^k, eq. 5), ``post`` = the result return t_r. The task reaches the
server at AS = j + t_d + t_t (eq. 6).

:func:`check_applicable` raises :class:`~splitinfer.errors.NotApplicableError` for scenarios
outside this model (a server computing several tasks at once, shared uplinks, divisible nodes,
devices that can queue), because there the planners' internal cost would not be the real one.

Examples
--------
>>> from splitinfer.system import scenario_from_dict
>>> sc = scenario_from_dict({"slot": "1ms", "result_return": 0,
...     "nodes": [{"name": "dev", "kind": "device", "compute": {"table": True}, "concurrency": None},
...               {"name": "s1", "kind": "edge", "compute": {"table": True}}],
...     "links": [{"src": "dev", "dst": "s1", "bandwidth": "8Mbps"}],
...     "models": {"m": {"cuts": [{"transfer_bytes": 1000}, {"transfer_bytes": 40}],
...                      "table": {"dev": {"head": ["0ms", "9ms"]}, "s1": {"tail": ["2ms", "0ms"]}}}},
...     "workload": {"tasks": [{"device": "dev", "model": "m", "slot": 0}]}})
>>> check_applicable(sc)
>>> [(o.server, o.cut, o.pre, o.work) for o in task_options(sc, sc.tasks[0])]
[(None, 1, (0.009,), 0.0), ('s1', 0, (0.001,), 0.002)]
"""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

from splitinfer.errors import InfeasiblePlanError, NotApplicableError
from splitinfer.planners.common.options import chain_options
from splitinfer.system.entities import Task
from splitinfer.system.plan import TaskPlan
from splitinfer.system.scenario import Scenario
from splitinfer.system.stages import build_stages

__all__ = ["Option", "ServerGroup", "check_applicable", "task_options", "option_plan",
           "group_options", "OptionCache"]


class Option(NamedTuple):
    """One strategy (k, p) of a task with its fixed delay terms (seconds).

    ``server`` is ``None`` for the all-local point (the paper's P6); ``cut`` is the cut index
    (0 = raw input, the paper's P1); ``order`` breaks exact ties deterministically;
    ``no_wait`` = sum(pre) + work + sum(post).
    """

    server: str | None
    cut: int
    pre: tuple[float, ...]
    work: float
    post: tuple[float, ...]
    order: int
    #: t(m) without waiting: a lower bound of the option's time in any queue state
    no_wait: float = 0.0


def check_applicable(sc: Scenario) -> None:
    """Raise :class:`NotApplicableError` unless ``sc`` fits Shi et al.'s system model.

    Required: every device never waits (``concurrency: null``, or no more tasks than slots);
    every server a device reaches has concurrency 1 (a FIFO queue) or unlimited, and is not
    divisible; links from devices to servers and back are not ``fifo`` (B per task, eq. 3) and
    not ``reserved``.
    """
    counts: dict[str, int] = {}
    for t in sc.tasks:
        counts[t.device] = counts.get(t.device, 0) + 1
    for d in sc.devices:
        c = sc.nodes[d].concurrency
        if c is not None and counts.get(d, 0) > c:
            raise NotApplicableError(
                f"device {d!r} computes {c} task(s) at a time but has {counts[d]}: Shi et al.'s end "
                "devices never wait locally (give it concurrency: null)")
    for d in sc.devices:
        for s in sc.reachable_servers(d):
            node = sc.nodes[s]
            if node.divisible:
                raise NotApplicableError(f"server {s!r} is divisible into shares; Shi et al.'s "
                                         "servers are whole machines")
            if node.concurrency not in (1, None):
                raise NotApplicableError(
                    f"server {s!r} computes {node.concurrency} tasks at once; Shi et al.'s servers "
                    "compute one task at a time (concurrency 1) — or never queue (null)")
            for a, b in ((d, s), (s, d)):
                if sc.has_link(a, b) and sc.link(a, b).sharing != "dedicated":
                    raise NotApplicableError(
                        f"link {a}->{b} is {sc.link(a, b).sharing!r}; Shi et al. 2021 gives every task "
                        "its own bandwidth B (sharing: dedicated)")
    if not any(sc.reachable_servers(d) for d in sc.devices):
        raise NotApplicableError("no device reaches an edge server")


def option_plan(task: Task, opt: Option) -> TaskPlan:
    """The :class:`TaskPlan` of ``task`` under option ``opt``."""
    if opt.server is None:
        return TaskPlan(task.id, (task.device,), ())
    return TaskPlan(task.id, (task.device, opt.server), (opt.cut,))


def _split(sc: Scenario, task: Task, tp: TaskPlan) -> tuple[tuple[float, ...], float, tuple[float, ...]]:
    stages = build_stages(sc, task, tp)
    if any(len(s.deps) > 1 or (i > 0 and s.deps != (i - 1,)) for i, s in enumerate(stages)):
        raise NotApplicableError(f"task {task.id}: its stages are not a chain")
    server = tp.nodes[-1] if len(tp.nodes) > 1 else None
    idx = [i for i, s in enumerate(stages) if s.kind == "compute" and s.node == server]
    if server is None or not idx:
        return tuple(s.duration for s in stages), 0.0, ()
    k = idx[0]
    return (tuple(s.duration for s in stages[:k]), stages[k].duration,
            tuple(s.duration for s in stages[k + 1:]))


def task_options(sc: Scenario, task: Task, cuts: list[int] | None = None) -> list[Option]:
    """Every strategy of ``task``: all-local, then each reachable server at each offloading cut
    (the two-tier options of :func:`~splitinfer.planners.common.options.chain_options`).

    Parameters
    ----------
    cuts : list of int, optional
        The partition points to use (e.g. from :func:`~splitinfer.planners.shi2021.gspi.pps`); the last
        cut means all-local. Default: every cut.
    """
    last = sc.models[task.model].last_cut
    chosen = set(range(last + 1)) if cuts is None else set(cuts)
    out: list[Option] = []
    for tp in chain_options(sc, task, three_tier=False, local=last in chosen):
        if not tp.cuts:
            pre, _, _ = _split(sc, task, tp)
            out.append(Option(None, last, pre, 0.0, (), len(out), sum(pre)))
        elif tp.cuts[0] in chosen:
            try:
                pre, work, post = _split(sc, task, tp)
            except InfeasiblePlanError:
                continue
            out.append(Option(tp.nodes[1], tp.cuts[0], pre, work, post, len(out),
                              sum(pre) + work + sum(post)))
    return out


class ServerGroup(NamedTuple):
    """The options of one server, sorted by no-wait time, with what bounds them all from below:
    ``first`` has the earliest arrival at the server, ``min_rest`` is the least work + return."""

    server: str
    options: tuple[Option, ...]
    first: Option
    min_rest: float


def group_options(options: list[Option]) -> tuple[Option | None, tuple[ServerGroup, ...]]:
    """Split options into the all-local one and per-server groups (fastest server first)."""
    local = next((o for o in options if o.server is None), None)
    groups = []
    for s in dict.fromkeys(o.server for o in options if o.server is not None):
        mine = tuple(o for o in options if o.server == s)
        first = min(mine, key=lambda o: (sum(o.pre), o.order))
        groups.append(ServerGroup(s, mine, first, min(o.work + sum(o.post) for o in mine)))
    groups.sort(key=lambda g: (g.options[0].no_wait, g.options[0].order))
    return local, tuple(groups)


class OptionCache:
    """Options per (device, model, samples): tasks differ only in arrival, so compute once.

    The list is sorted by the options' time without waiting (:attr:`Option.no_wait`), so a
    search for the best option can stop at the first one whose no-wait time already exceeds the
    best time found.

    Examples
    --------
    >>> from splitinfer.system import scenario_from_dict
    >>> sc = scenario_from_dict({"result_return": 0,
    ...     "nodes": [{"name": "d", "kind": "device", "compute": {"flops_per_s": 1e9},
    ...                "concurrency": None},
    ...               {"name": "e", "kind": "edge", "compute": {"flops_per_s": 1e10}}],
    ...     "links": [{"src": "d", "dst": "e", "bandwidth": 8e6}],
    ...     "models": {"m": {"cuts": [{"transfer_bytes": 1e3}, {"transfer_bytes": 1, "head_flops": 1e9}]}},
    ...     "workload": {"tasks": [{"device": "d", "model": "m"}, {"device": "d", "model": "m"}]}})
    >>> cache = OptionCache(sc)
    >>> cache(sc.tasks[0]) is cache(sc.tasks[1])
    True
    """

    def __init__(self, sc: Scenario, cuts_for=None) -> None:
        self.sc = sc
        self.cuts_for = cuts_for
        self._cache: dict[tuple[str, str, int], list[Option]] = {}
        self._grouped: dict[tuple[str, str, int], tuple] = {}

    def __call__(self, task: Task) -> list[Option]:
        key = (task.device, task.model, task.samples)
        got = self._cache.get(key)
        if got is None:
            cuts = self.cuts_for(task.device, task.model) if self.cuts_for else None
            probe = replace(task, arrival=0.0)
            got = sorted(task_options(self.sc, probe, cuts), key=lambda o: (o.no_wait, o.order))
            self._cache[key] = got
            if not got:
                raise NotApplicableError(f"task {task.id}: no strategy left (no partition point "
                                         "kept and no reachable server)")
        return got

    def grouped(self, task: Task) -> tuple[Option | None, tuple[ServerGroup, ...]]:
        """:func:`group_options` of the task's options (cached)."""
        key = (task.device, task.model, task.samples)
        got = self._grouped.get(key)
        if got is None:
            got = self._grouped[key] = group_options(self(task))
        return got
