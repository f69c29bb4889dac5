"""Pictures and tables of results: Gantt charts, planner comparisons, cut profiles, HTML report.

Every module draws from results it is given and computes nothing new. matplotlib is imported
only when a figure is drawn, so importing this package is cheap.

* :mod:`~splitinfer.report.gantt` — :func:`plot_gantt` (a row per resource in hop order, a bar
  per stage), :func:`plot_run_gantt` (a real run above its prediction, one time axis),
  :func:`gantt_rows` (the same as data);
* :mod:`~splitinfer.report.compare_plot` — :func:`plot_comparison` (planners side by side);
* :mod:`~splitinfer.report.cutplot` — the cut profile of a model;
* :mod:`~splitinfer.report.html` — the static HTML report of reproductions;
* :mod:`~splitinfer.report.fidelity_table` — the fidelity table of ``docs/runtime.md`` from the
  runs' ``run.json`` files.

Examples
--------
>>> from splitinfer.report import gantt_rows
>>> callable(gantt_rows)
True
"""

from __future__ import annotations

from typing import Any

__all__ = ["plot_gantt", "plot_run_gantt", "gantt_rows", "plot_comparison"]

_LAZY = {"plot_gantt": "gantt", "plot_run_gantt": "gantt", "gantt_rows": "gantt",
         "plot_comparison": "compare_plot"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f"splitinfer.report.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'splitinfer.report' has no attribute {name!r}")
