"""Scenario families: named generators of small random scenarios that planners are checked on.

A family is a function ``seed -> Scenario`` registered with :func:`scenario_family`, together
with the planners it is meant for and its *yardstick*: an exact planner (registered with
``exact=True``) whose ``plan.info["bound"]`` is a proven lower bound of the objective. The
conformance suite (``tests/test_conformance.py``) runs, on every family and a few seeds, the
family's own planners plus every *general* planner (``BasePlanner.general``), and checks them
with :mod:`splitinfer.testing.checks`.

Each paper adds its family in its own module ``splitinfer/testing/family_<paper>.py``; every
module of this package whose name starts with ``family_`` is imported by :func:`list_families`,
so a family joins the suite by existing::

    from splitinfer.testing.families import scenario_family

    @scenario_family("gspi", planners=("gspi", "pps"), yardstick="exact")
    def small_gspi(seed: int) -> Scenario: ...

Built-in families: ``random-chain`` (:func:`~splitinfer.testing.random.random_chain_scenario`)
and ``random-dag`` (:func:`~splitinfer.testing.random.random_dag_scenario`), both for the general
planners, with ``exact`` as the yardstick.

Examples
--------
>>> "random-chain" in list_families()
True
>>> fam = get_family("random-chain")
>>> fam.yardstick, len(fam.make(0).tasks) <= 6
('exact', True)
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from splitinfer.registry import Registry
from splitinfer.system.scenario import Scenario
from splitinfer.testing.random import random_chain_scenario, random_dag_scenario

__all__ = ["FAMILIES", "ScenarioFamily", "scenario_family", "list_families", "get_family", "planners_for",
           "YARDSTICK_PARAMS"]

#: Parameters the suite gives a planner unless the family says otherwise: for ``exact`` a
#: small budget of CP-SAT deterministic time (``work_limit``: the same seed gives the same plan
#: on a loaded machine), with a generous wall-clock guard. It proves optimality on every
#: built-in family seed.
YARDSTICK_PARAMS: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {"exact": MappingProxyType({"work_limit": 0.05, "time_limit_s": 60.0})})


@dataclass(frozen=True)
class ScenarioFamily:
    """A registered family of small random scenarios.

    Attributes
    ----------
    name : str
    make : callable
        ``make(seed) -> Scenario``; must be a pure function of ``seed``.
    planners : tuple of str
        Planners (registered names) this family is made for, besides the general ones.
    yardstick : str or None
        An exact planner whose proven bound the others must not beat; None for no bound check.
    params : mapping
        Planner name -> constructor parameters used on this family (e.g. a time limit).
    seeds : tuple of int
        The seeds the conformance suite runs.
    description : str
        First line of the generator's docstring.
    """

    name: str
    make: Callable[[int], Scenario]
    planners: tuple[str, ...] = ()
    yardstick: str | None = "exact"
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    seeds: tuple[int, ...] = (0, 1, 2)
    description: str = ""

    def planner_params(self, planner: str) -> dict[str, Any]:
        """The parameters to build ``planner`` with on this family."""
        out = dict(YARDSTICK_PARAMS.get(planner, {}))
        out.update(self.params.get(planner, {}))
        return out


def _load_family_modules() -> None:
    import splitinfer.testing as pkg

    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        if info.name.startswith("family_"):
            importlib.import_module(f"{pkg.__name__}.{info.name}")


#: Every scenario family by name; the first look-up imports every ``family_*`` module.
FAMILIES: Registry[ScenarioFamily] = Registry("scenario family", _load_family_modules)


def scenario_family(name: str, *, planners: tuple[str, ...] | list[str] = (),
                    yardstick: str | None = "exact",
                    params: Mapping[str, Mapping[str, Any]] | None = None,
                    seeds: tuple[int, ...] | list[int] = (0, 1, 2)
                    ) -> Callable[[Callable[[int], Scenario]], Callable[[int], Scenario]]:
    """Register ``seed -> Scenario`` as the scenario family ``name``.

    Parameters
    ----------
    name : str
        Family name (unique).
    planners : sequence of str
        The family's own planners (typically a paper's, with ``general = False``).
    yardstick : str or None
        An exact planner's registered name (``"exact"`` or a paper's brute force).
    params : mapping, optional
        Planner name -> constructor parameters on this family.
    seeds : sequence of int
        Seeds the conformance suite runs (keep it to a few: the suite must stay fast).

    Examples
    --------
    >>> @scenario_family("doc-example", planners=("local",), yardstick=None, seeds=(0,))
    ... def tiny(seed):
    ...     return random_chain_scenario(seed, max_tasks=2)
    >>> get_family("doc-example").planners
    ('local',)
    >>> _unregister("doc-example")
    """

    def deco(fn: Callable[[int], Scenario]) -> Callable[[int], Scenario]:
        doc = (fn.__doc__ or "").strip().splitlines()
        FAMILIES.add(name, ScenarioFamily(name, fn, tuple(planners), yardstick,
                                          {k: dict(v) for k, v in (params or {}).items()},
                                          tuple(seeds), doc[0] if doc else ""))
        return fn

    return deco


def _unregister(name: str) -> None:
    """Remove a family (for doctests and tests that register temporary families)."""
    FAMILIES.remove(name)


def list_families() -> list[str]:
    """Names of every registered family (importing every ``family_*`` module first), sorted."""
    return FAMILIES.names()


def get_family(name: str) -> ScenarioFamily:
    """The family registered as ``name``."""
    FAMILIES.load()
    return FAMILIES.get(name)


def planners_for(family: ScenarioFamily | str) -> list[str]:
    """Planners the suite runs on a family: its own, then every general registered planner.

    Examples
    --------
    >>> ps = planners_for("random-chain")
    >>> "local" in ps and "neurosurgeon" in ps
    True
    """
    from splitinfer.planners import list_planners, planner_info

    fam = get_family(family) if isinstance(family, str) else family
    out = list(fam.planners)
    for name in list_planners():
        if name not in out and getattr(planner_info(name).cls, "general", True):
            out.append(name)
    return out


@scenario_family("random-chain", yardstick="exact", seeds=(0, 1, 2, 3, 4))
def _random_chain(seed: int) -> Scenario:
    """Random small chain scenarios: 1-3 devices, 1-3 edges, optional cloud, 2-6 tasks."""
    return random_chain_scenario(seed)


@scenario_family("random-dag", planners=("dads",), yardstick="exact", seeds=(1, 4, 5))
def _random_dag(seed: int) -> Scenario:
    """Random small scenarios whose model is a layer DAG (general cuts for DADS)."""
    return random_dag_scenario(seed)
