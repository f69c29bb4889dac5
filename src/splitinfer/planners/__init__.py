"""Planners: one subpackage per algorithm family, all registered in one registry.

``classic`` (local/edge/cloud, Neurosurgeon, DADS), one package per paper, named by the paper's
key (``shi2021``, ``li2022``, ``huang2019``, ``duan2021``, ``zheng2021``; see
:mod:`splitinfer.papers`), ``exact`` (the CP-SAT yardstick) and ``common`` (registry, base class,
option lists). Importing this package imports every family package (``classic`` first, since
the papers' baselines are aliases of its planners), so a new family joins the registry, the CLI
and the conformance suite by existing.

Examples
--------
>>> from splitinfer.planners import get_planner, list_planners
>>> {"gspi", "jps", "deepar", "dmcjia", "mw", "exact", "dads"} <= set(list_planners())
True
"""

from __future__ import annotations

import importlib
import pkgutil

from splitinfer.planners.common.base import BasePlanner
from splitinfer.planners.common.registry import (
    PlannerInfo,
    alias,
    get_planner,
    list_planners,
    planner_info,
    register,
)

__all__ = ["BasePlanner", "PlannerInfo", "register", "alias", "get_planner", "list_planners",
           "planner_info"]

_SKIP = {"common"}
_families = [i.name for i in pkgutil.iter_modules(__path__) if i.ispkg and i.name not in _SKIP]
for _name in sorted(_families, key=lambda n: (n != "classic", n)):
    importlib.import_module(f"{__name__}.{_name}")
