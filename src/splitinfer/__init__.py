"""splitinfer: collaborative DNN inference across devices, edge servers and the cloud.

The package is layered (see ``docs/architecture.md``)::

    graph, models -> profile -> system -> sim -> planners -> runtime -> experiments, report -> cli

Heavy dependencies (torch) are imported only by ``graph``, ``models``, ``profile.measure`` and
the runtime's workers and devices, and only when used; the top-level names below load lazily.

Examples
--------
>>> import splitinfer
>>> isinstance(splitinfer.__version__, str)
True
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("splitinfer")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+src"

_LAZY = {
    "trace": ("splitinfer.graph", "trace"),
    "LayerGraph": ("splitinfer.graph", "LayerGraph"),
    "load_profile": ("splitinfer.profile", "load_profile"),
    "Profile": ("splitinfer.profile", "Profile"),
    "load_scenario": ("splitinfer.system", "load_scenario"),
    "Scenario": ("splitinfer.system", "Scenario"),
    "Plan": ("splitinfer.system", "Plan"),
    "Result": ("splitinfer.system", "Result"),
    "simulate": ("splitinfer.sim", "simulate"),
    "get_planner": ("splitinfer.planners", "get_planner"),
    "list_planners": ("splitinfer.planners", "list_planners"),
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        module, attr = _LAZY[name]
        return getattr(import_module(module), attr)
    raise AttributeError(f"module 'splitinfer' has no attribute {name!r}")
