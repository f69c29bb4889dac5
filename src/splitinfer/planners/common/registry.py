"""The one registry of planners: ``register``, ``get_planner``, ``list_planners`` (torchvision's
``models/_api.py`` pattern).

Every algorithm module decorates its planner class with :func:`register`, giving a one-line
description and its source (seed file and algorithm number, or the classic reference).
:func:`alias` adds a second name for the same class (e.g. Shi et al.'s ``end-only`` for ``local``).

Examples
--------
>>> from splitinfer.planners import get_planner, list_planners
>>> "local" in list_planners()
True
>>> get_planner("local")
LocalPlanner()
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from splitinfer.errors import SplitInferError
from splitinfer.planners.common.objective import LATENCY_OBJECTIVES
from splitinfer.registry import Registry

__all__ = ["PLANNERS", "PlannerInfo", "PlannerParamError", "ProvenRange", "register", "alias",
           "get_planner", "list_planners", "planner_info", "proof_note"]


class PlannerParamError(SplitInferError, ValueError):
    """A planner parameter with a value the planner refuses (an unknown preset, mode, ...)."""


@dataclass(frozen=True)
class ProvenRange:
    """The instance sizes on which an exact planner was measured to prove optimality.

    An exact planner whose search has a limit (``exact``'s CP-SAT) proves optimality only on
    small instances; this records the largest sizes at which *every* measured instance was
    proven within the stated limit, and where the measurements are. Outside the range the plan
    may still be optimal, but the planner's ``info["optimal"]`` often says it is not proven.

    Parameters
    ----------
    tasks, options, nodes : int
        The largest number of tasks, of chain options in the model (over all tasks) and of
        scenario nodes in the range.
    limit : str
        The search limit the range holds for, in words (e.g. ``"time_limit_s = 10 s"``).
    evidence : str
        Where the measurements are (benchmark and document).

    Examples
    --------
    >>> r = ProvenRange(tasks=4, options=164, nodes=7, limit="time_limit_s = 10 s",
    ...                 evidence="benchmarks/bench_baselines.py")
    >>> r.covers(tasks=4, options=100, nodes=5), r.covers(tasks=8, options=40, nodes=3)
    (True, False)
    >>> r.describe()
    'up to 4 tasks, 164 chain options and 7 nodes, with time_limit_s = 10 s'
    """

    tasks: int
    options: int
    nodes: int
    limit: str
    evidence: str

    def covers(self, *, tasks: int, options: int, nodes: int) -> bool:
        """Whether an instance of these sizes lies inside the range."""
        return tasks <= self.tasks and options <= self.options and nodes <= self.nodes

    def describe(self) -> str:
        """The range in words (one line)."""
        return (f"up to {self.tasks} tasks, {self.options} chain options and {self.nodes} nodes, "
                f"with {self.limit}")


@dataclass(frozen=True)
class PlannerInfo:
    """A registered planner: name, class, one-line description, source, fixed parameters, and
    the objectives it supports (``objectives``; others it refuses, see
    :mod:`splitinfer.planners.common.objective`), and for an exact planner whose proofs depend
    on the instance's size the range where they were measured to hold (``proven_range``)."""

    name: str
    cls: type
    description: str
    source: str
    defaults: tuple[tuple[str, Any], ...] = ()
    alias_of: str | None = None
    exact: bool = False
    objectives: tuple[str, ...] = LATENCY_OBJECTIVES
    proven_range: ProvenRange | None = None


#: Every planner by name; filled when :mod:`splitinfer.planners` imports its family packages.
PLANNERS: Registry[PlannerInfo] = Registry("planner")


def register(name: str, *, description: str, source: str, exact: bool = False,
             objectives: tuple[str, ...] = LATENCY_OBJECTIVES,
             proven_range: ProvenRange | None = None) -> Callable[[type], type]:
    """Class decorator that registers a planner under ``name``.

    ``exact=True`` marks planners whose plans are proven optimal when they say so
    (``plan.info["optimal"]``); the conformance suite checks every other planner against them.
    ``objectives``: the scenario objectives the planner supports (default: the latency ones;
    ``OBJECTIVES`` adds ``energy`` and ``latency+energy``); it refuses the others.
    ``proven_range``: for an exact planner with a search limit, the instance sizes on which it
    was measured to prove optimality (:class:`ProvenRange`).
    """

    def deco(cls: type) -> type:
        PLANNERS.add(name, PlannerInfo(name, cls, description, source, exact=exact,
                                       objectives=tuple(objectives),
                                       proven_range=proven_range))
        cls.name = name
        cls.objectives = tuple(objectives)
        return cls

    return deco


def alias(name: str, target: str, *, description: str, source: str, **defaults: Any) -> None:
    """Register ``name`` as another name of planner ``target`` (optionally with fixed params)."""
    info = PLANNERS.get(target)
    PLANNERS.add(name, PlannerInfo(name, info.cls, description, source,
                                   tuple(sorted(defaults.items())), alias_of=target,
                                   objectives=info.objectives, proven_range=info.proven_range))


def list_planners() -> list[str]:
    """Names of every registered planner, sorted."""
    return PLANNERS.names()


def planner_info(name: str) -> PlannerInfo:
    """The registry entry of ``name``."""
    return PLANNERS.get(name)


def proof_note(name: str, scenario, plan) -> str | None:
    """One line for the user when an exact planner with a :class:`ProvenRange` returned a plan
    it did not prove optimal (``plan.info["optimal"]`` false), else ``None``.

    The line says how far the plan may be from the optimum (``info["gap"]``) and whether the
    instance (tasks, chain options ``info["options"]``, nodes) lies outside the measured range.

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> sc = NS(tasks=[0] * 8, nodes=dict.fromkeys("abc"))
    >>> plan = NS(info={"optimal": False, "status": "FEASIBLE", "gap": 0.25, "options": 40})
    >>> print(proof_note("exact", sc, plan))  # doctest: +NORMALIZE_WHITESPACE
    note: exact did not prove this plan optimal (status FEASIBLE; gap to its proven lower bound
    25 %): 8 tasks, 40 chain options and 3 nodes lie outside the range where exact was measured
    to prove optimality (up to 4 tasks, 164 chain options and 7 nodes, with the default
    time_limit_s = 10 s or work_limit = 1); a larger --param time_limit_s may prove it
    (docs/planners.md).
    >>> proof_note("exact", sc, NS(info={"optimal": True})) is None
    True
    """
    info = planner_info(name)
    rng = info.proven_range
    if rng is None or plan.info.get("optimal", True):
        return None
    shown = info.alias_of or name
    tasks, nodes = len(scenario.tasks), len(scenario.nodes)
    options = int(plan.info.get("options", 0))
    head = (f"note: {shown} did not prove this plan optimal (status "
            f"{plan.info.get('status', '?')}; gap to its proven lower bound "
            f"{100 * float(plan.info.get('gap', float('nan'))):.3g} %)")
    if rng.covers(tasks=tasks, options=options, nodes=nodes):
        return (f"{head}, although {tasks} tasks, {options} chain options and {nodes} nodes lie "
                f"inside its measured range ({rng.describe()}); a larger --param time_limit_s "
                "or work_limit may prove it (docs/planners.md).")
    return (f"{head}: {tasks} tasks, {options} chain options and {nodes} nodes lie outside the "
            f"range where {shown} was measured to prove optimality ({rng.describe()}); a larger "
            "--param time_limit_s may prove it (docs/planners.md).")


def get_planner(name: str, **params: Any):
    """Build the planner registered as ``name`` with constructor ``params``.

    Raises
    ------
    UnknownNameError
        For an unknown name (the message lists close matches).
    SplitInferError
        For a parameter the planner does not take.
    PlannerParamError
        For a value the planner's constructor refuses (its ``ValueError``, one line naming the
        planner).

    Examples
    --------
    >>> get_planner("jps", preset="verbatim")
    Traceback (most recent call last):
    ...
    splitinfer.planners.common.registry.PlannerParamError: planner 'jps': JPSPlanner: preset must be one of ['improved', 'paper'], got 'verbatim'
    """
    info = planner_info(name)
    allowed = info.cls._param_names()
    bad = sorted(set(params) - set(allowed))
    if bad:
        raise SplitInferError(f"planner {name!r} has no parameter(s) {bad}; it takes {allowed}")
    try:
        obj = info.cls(**{**dict(info.defaults), **params})
    except SplitInferError:
        raise
    except ValueError as exc:
        raise PlannerParamError(f"planner {name!r}: {exc}") from None
    if info.alias_of is not None:
        obj.name = name  # plans carry the name they were asked for
    return obj
