"""Which objective a planner minimises, and a task's no-wait cost under the scenario's objective.

Latency planners minimise ``mean_latency``, ``makespan`` or ``mean_sojourn``
(:data:`LATENCY_OBJECTIVES`); planners that can also weigh the device's energy
(``energy``, ``latency+energy``; :mod:`splitinfer.system.energy`) register with
``objectives=OBJECTIVES``. A planner asked for an objective it does not support refuses it with
:class:`~splitinfer.errors.NotApplicableError` (:func:`check_objective`), one line.

Examples
--------
>>> from splitinfer.system.load import scenario_from_dict
>>> from splitinfer.system.plan import TaskPlan
>>> sc = scenario_from_dict({"objective": "energy",
...     "nodes": [{"name": "d", "kind": "device", "compute": {"flops_per_s": 1e9},
...                "power": {"compute": 2.0, "idle": 0.5, "transmit": 1.0, "receive": 1.0}}],
...     "models": {"m": {"cuts": [{"transfer_bytes": 1}, {"transfer_bytes": 1, "head_flops": 5e8}]}},
...     "workload": {"tasks": [{"device": "d", "model": "m"}]}})
>>> no_wait_cost(sc, sc.tasks[0], TaskPlan("t0", ("d",)))   # 0.5 s at 2 W
1.0
"""

from __future__ import annotations

from splitinfer.errors import NotApplicableError
from splitinfer.system.energy import no_wait_energy
from splitinfer.system.entities import Task
from splitinfer.system.plan import TaskPlan
from splitinfer.system.result import OBJECTIVES
from splitinfer.system.scenario import Scenario
from splitinfer.system.stages import no_wait_latency

__all__ = ["LATENCY_OBJECTIVES", "OBJECTIVES", "no_wait_cost", "check_objective"]

#: The objectives of the five papers (every planner supports these).
LATENCY_OBJECTIVES = ("mean_latency", "makespan", "mean_sojourn")


def no_wait_cost(sc: Scenario, task: Task, tp: TaskPlan) -> float:
    """``task``'s cost under ``tp`` if it never waited, in the scenario's objective: its latency
    (s) for the latency objectives, its device energy (J) for ``energy``, latency + weight x
    energy (s) for ``latency+energy``."""
    if sc.objective == "energy":
        return no_wait_energy(sc, task, tp)
    if sc.objective == "latency+energy":
        return no_wait_latency(sc, task, tp) + sc.objective_weight * no_wait_energy(sc, task, tp)
    return no_wait_latency(sc, task, tp)


def check_objective(name: str, objectives: tuple[str, ...], sc: Scenario) -> None:
    """Raise :class:`NotApplicableError` if planner ``name`` does not support ``sc.objective``.

    Examples
    --------
    >>> class S:
    ...     objective = "energy"
    >>> try:
    ...     check_objective("gspi", LATENCY_OBJECTIVES, S())
    ... except NotApplicableError as exc:
    ...     print(exc)
    gspi does not support the objective energy (it minimises mean_latency, makespan, mean_sojourn)
    """
    if sc.objective not in objectives:
        raise NotApplicableError(f"{name} does not support the objective {sc.objective} (it "
                                 f"minimises {', '.join(objectives)})")
