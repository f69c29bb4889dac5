"""Planners: one module per algorithm family, all registered in one registry.

Importing this package imports every planner module in it (modules whose names start with an
underscore are helpers), so a new algorithm joins the registry, the CLI and the conformance
suite by existing.
"""

from __future__ import annotations

import importlib
import pkgutil

from splitinfer.planners.base import BasePlanner
from splitinfer.planners.registry import (
    PlannerInfo,
    alias,
    get_planner,
    list_planners,
    planner_info,
    register,
)

__all__ = ["BasePlanner", "PlannerInfo", "register", "alias", "get_planner", "list_planners",
           "planner_info"]

_SKIP = {"base", "registry"}
for _info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
    if not _info.name.startswith("_") and _info.name not in _SKIP:
        importlib.import_module(f"{__name__}.{_info.name}")
