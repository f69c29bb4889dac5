"""The planner protocol: what the simulator and the runtime need from an algorithm.

Planners live in :mod:`splitinfer.planners`; this protocol lives here so that the simulator
(which drives online planners task by task) and the runtime's controller depend only on it,
never on the planners package.

An offline planner answers ``plan(scenario) -> Plan``. An online planner also answers
``start(scenario)`` once and then ``decide(task, state) -> TaskPlan`` for each task when it
arrives, seeing only :class:`State`: the clock and what has happened so far (Shi et al. 2021
section 3.2: no knowledge of future tasks).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from splitinfer.system.entities import Task
from splitinfer.system.plan import Plan, TaskPlan
from splitinfer.system.scenario import Scenario

__all__ = ["Planner", "OnlinePlanner", "State"]


@dataclass
class State:
    """What an online planner may see when a task arrives.

    Attributes
    ----------
    now : float
        The current time (the task's arrival).
    scenario : Scenario
        The system (nodes, links, models). Its ``tasks`` must not be read: they lie in the future.
    decided : dict
        Task id -> the :class:`TaskPlan` already decided, in decision order.
    finished : dict
        Task id -> finish time, for tasks finished by ``now``.
    """

    now: float
    scenario: Scenario
    decided: Mapping[str, TaskPlan] = field(default_factory=dict)
    finished: Mapping[str, float] = field(default_factory=dict)


@runtime_checkable
class Planner(Protocol):
    """An algorithm that plans every task of a scenario."""

    name: str

    def plan(self, scenario: Scenario) -> Plan:
        """Plan every task of ``scenario``."""
        ...


@runtime_checkable
class OnlinePlanner(Planner, Protocol):
    """A planner that decides one task at a time as tasks arrive."""

    def start(self, scenario: Scenario) -> None:
        """Reset internal state for a new run on ``scenario``."""
        ...

    def decide(self, task: Task, state: State) -> TaskPlan:
        """Decide ``task`` at ``state.now`` from the past only."""
        ...
