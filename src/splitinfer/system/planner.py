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

from collections.abc import Mapping, Sequence
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
        A link whose bandwidth follows a trace has, here, the rate in force at ``now``
        (:meth:`Scenario.at`).
    decided : dict
        Task id -> the :class:`TaskPlan` already decided, in decision order.
    finished : dict
        Task id -> finish time, for tasks finished by ``now``.
    throughput : dict
        For each traced link ``(src, dst)``: the throughputs (bit/s, bits over the time from the
        transfer's start to its last bit) of its transfers in tasks finished by ``now``, oldest
        first — what a planner can measure instead of being told the rate
        (:meth:`estimate`).

    Examples
    --------
    >>> s = State(1.0, None, throughput={("d", "e"): [4e6, 1e6, 2e6]})
    >>> s.estimate(2)          # harmonic mean of the last two: 2 / (1/1e6 + 1/2e6)
    {('d', 'e'): 1333333.3333333333}
    """

    now: float
    scenario: Scenario
    decided: Mapping[str, TaskPlan] = field(default_factory=dict)
    finished: Mapping[str, float] = field(default_factory=dict)
    throughput: Mapping[tuple[str, str], Sequence[float]] = field(default_factory=dict)

    def estimate(self, k: int = 5) -> dict[tuple[str, str], float]:
        """Per traced link with measurements, the harmonic mean of its last ``k`` measured
        throughputs (the estimator of FESTIVE/MPC-style rate adaptation): robust to one fast
        outlier, quick to follow a drop."""
        out = {}
        for link, values in self.throughput.items():
            last = [v for v in list(values)[-k:] if v > 0]
            if last:
                out[link] = len(last) / sum(1.0 / v for v in last)
        return out


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
