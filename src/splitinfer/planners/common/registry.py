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

__all__ = ["PLANNERS", "PlannerInfo", "PlannerParamError", "register", "alias", "get_planner",
           "list_planners", "planner_info"]


class PlannerParamError(SplitInferError, ValueError):
    """A planner parameter with a value the planner refuses (an unknown preset, mode, ...)."""


@dataclass(frozen=True)
class PlannerInfo:
    """A registered planner: name, class, one-line description, source, fixed parameters, and
    the objectives it supports (``objectives``; others it refuses, see
    :mod:`splitinfer.planners.common.objective`)."""

    name: str
    cls: type
    description: str
    source: str
    defaults: tuple[tuple[str, Any], ...] = ()
    alias_of: str | None = None
    exact: bool = False
    objectives: tuple[str, ...] = LATENCY_OBJECTIVES


#: Every planner by name; filled when :mod:`splitinfer.planners` imports its family packages.
PLANNERS: Registry[PlannerInfo] = Registry("planner")


def register(name: str, *, description: str, source: str, exact: bool = False,
             objectives: tuple[str, ...] = LATENCY_OBJECTIVES) -> Callable[[type], type]:
    """Class decorator that registers a planner under ``name``.

    ``exact=True`` marks planners whose plans are proven optimal when they say so
    (``plan.info["optimal"]``); the conformance suite checks every other planner against them.
    ``objectives``: the scenario objectives the planner supports (default: the latency ones;
    ``OBJECTIVES`` adds ``energy`` and ``latency+energy``); it refuses the others.
    """

    def deco(cls: type) -> type:
        PLANNERS.add(name, PlannerInfo(name, cls, description, source, exact=exact,
                                       objectives=tuple(objectives)))
        cls.name = name
        cls.objectives = tuple(objectives)
        return cls

    return deco


def alias(name: str, target: str, *, description: str, source: str, **defaults: Any) -> None:
    """Register ``name`` as another name of planner ``target`` (optionally with fixed params)."""
    info = PLANNERS.get(target)
    PLANNERS.add(name, PlannerInfo(name, info.cls, description, source,
                                   tuple(sorted(defaults.items())), alias_of=target,
                                   objectives=info.objectives))


def list_planners() -> list[str]:
    """Names of every registered planner, sorted."""
    return PLANNERS.names()


def planner_info(name: str) -> PlannerInfo:
    """The registry entry of ``name``."""
    return PLANNERS.get(name)


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
