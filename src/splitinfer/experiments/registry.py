"""One registry of experiments: reproductions of the papers' figures and tables.

An experiment is a pure function from a config (a dict; ``quick`` and full variants) to result
rows (dicts, one per run, with the seed and the planner's parameters), and a plot function that
draws a PNG from those rows alone (as read back from the CSV). Register with
:func:`experiment`; :mod:`splitinfer.experiments.runner` runs them, writes tidy CSVs with
provenance and calls the plot.

Examples
--------
>>> @experiment("toy-example", title="A toy", source="none", claim="none",
...             quick={"n": 1}, full={"n": 3})
... def _toy(config):
...     return [{"i": i, "seed": 0} for i in range(config["n"])]
>>> get_experiment("toy-example").run(get_experiment("toy-example").quick)
[{'i': 0, 'seed': 0}]
>>> _ = EXPERIMENTS.remove("toy-example")
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from splitinfer.registry import Registry

__all__ = ["EXPERIMENTS", "Experiment", "experiment", "plotter", "summarizer", "get_experiment", "list_experiments"]

Rows = list[dict[str, Any]]


@dataclass
class Experiment:
    """A registered experiment.

    Attributes
    ----------
    id : str
        e.g. ``"shi2021-fig7a"``.
    title : str
    source : str
        Seed file and figure/table number.
    claim : str
        What the paper claims this figure shows, in words and numbers.
    run : callable
        ``run(config) -> rows``; every random choice is seeded from ``config["seeds"]``.
    quick, full : dict
        Configs: ``quick`` finishes in seconds to under a minute (smoke tests, ``--quick``).
    plot : callable or None
        ``plot(rows, path)`` draws a PNG from rows read back from the CSV.
    summary : callable or None
        ``summary(rows) -> str``: our measured figure in one sentence, for the report.
    """

    id: str
    title: str
    source: str
    claim: str
    run: Callable[[dict[str, Any]], Rows]
    quick: dict[str, Any] = field(default_factory=dict)
    full: dict[str, Any] = field(default_factory=dict)
    plot: Callable[[Rows, Path], None] | None = None
    summary: Callable[[Rows], str] | None = None


def _load_all() -> None:
    import importlib
    import pkgutil

    import splitinfer.experiments as pkg

    for info in pkgutil.iter_modules(pkg.__path__):
        if not info.name.startswith("_") and info.name not in ("registry", "runner"):
            importlib.import_module(f"splitinfer.experiments.{info.name}")


#: Every experiment by id; the first look-up imports every experiments module.
EXPERIMENTS: Registry[Experiment] = Registry("experiment", _load_all)


def experiment(id: str, *, title: str, source: str, claim: str, quick: dict[str, Any],
               full: dict[str, Any]) -> Callable:
    """Decorator registering ``run(config) -> rows`` as experiment ``id``."""

    def deco(fn: Callable[[dict[str, Any]], Rows]) -> Callable:
        EXPERIMENTS.add(id, Experiment(id, title, source, claim, fn, dict(quick), dict(full)))
        return fn

    return deco


def plotter(id: str) -> Callable:
    """Decorator attaching ``plot(rows, path)`` to experiment ``id``."""

    def deco(fn: Callable[[Rows, Path], None]) -> Callable:
        get_experiment(id).plot = fn
        return fn

    return deco


def summarizer(id: str) -> Callable:
    """Decorator attaching ``summary(rows) -> str`` to experiment ``id``."""

    def deco(fn: Callable[[Rows], str]) -> Callable:
        get_experiment(id).summary = fn
        return fn

    return deco


def list_experiments() -> list[str]:
    """Ids of every registered experiment, sorted."""
    return EXPERIMENTS.names()


def get_experiment(id: str) -> Experiment:
    """The experiment registered as ``id``."""
    return EXPERIMENTS.get(id)
