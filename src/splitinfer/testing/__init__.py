"""Conformance testing of planners: scenario families, random scenarios and checks.

* :mod:`~splitinfer.testing.families` — the :func:`scenario_family` decorator and registry;
  every ``family_*.py`` module of this package is imported by :func:`list_families`.
* :mod:`~splitinfer.testing.random` — seeded random small scenarios (``random-chain``,
  ``random-dag``).
* :mod:`~splitinfer.testing.checks` — :func:`check_planner` and the single checks it runs.

``tests/test_conformance.py`` runs every registered planner on every family it belongs to.

Examples
--------
>>> from splitinfer.testing import list_families
>>> {"random-chain", "random-dag"} <= set(list_families())
True
"""

from __future__ import annotations

from splitinfer.testing.checks import CheckOutcome, Yardstick, check_planner, yardstick_bound
from splitinfer.testing.families import (
    ScenarioFamily,
    get_family,
    list_families,
    planners_for,
    scenario_family,
)
from splitinfer.testing.random import random_chain_scenario, random_dag_scenario

__all__ = ["scenario_family", "ScenarioFamily", "list_families", "get_family", "planners_for",
           "check_planner", "yardstick_bound", "CheckOutcome", "Yardstick",
           "random_chain_scenario", "random_dag_scenario"]
