"""The base class of every planner: parameters as constructor arguments (scikit-learn style).

A planner's constructor arguments are its whole configuration: :meth:`BasePlanner.get_params`
reads them back, ``repr`` shows them, and two planners built with the same arguments (seed
included) plan the same scenario identically. Subclasses implement ``_plan(scenario)`` (offline)
or ``start``/``decide`` (online; ``plan`` then runs them inside the simulator, seeing only the
past).
"""

from __future__ import annotations

import inspect
import time
from typing import Any, ClassVar

from splitinfer.planners.common.objective import LATENCY_OBJECTIVES, check_objective
from splitinfer.system.plan import ChainColumns, Plan, TaskPlan
from splitinfer.system.scenario import Scenario

__all__ = ["BasePlanner"]


class BasePlanner:
    """Common behaviour of planners (see the module docstring).

    Examples
    --------
    >>> class Demo(BasePlanner):
    ...     name = "demo"
    ...     def __init__(self, depth=2, seed=0):
    ...         self.depth, self.seed = depth, seed
    >>> Demo(depth=3)
    Demo(depth=3, seed=0)
    >>> Demo(depth=3).get_params()
    {'depth': 3, 'seed': 0}
    """

    name: ClassVar[str] = ""
    online: ClassVar[bool] = False
    #: True for planners meant for any chain scenario (run on every conformance family);
    #: paper-specific planners set False and run on the families that name them.
    general: ClassVar[bool] = True
    #: The scenario objectives this planner supports (set by ``register``); others are refused.
    objectives: ClassVar[tuple[str, ...]] = LATENCY_OBJECTIVES

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values()
                if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]

    def get_params(self) -> dict[str, Any]:
        """The constructor arguments, read back from the attributes of the same names."""
        return {k: getattr(self, k) for k in self._param_names()}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # ---------------------------------------------------------------- planning
    def plan(self, scenario: Scenario) -> Plan:
        """Plan every task of ``scenario``.

        Returns
        -------
        Plan
            With the planner's name, parameters and wall-clock planning time.

        Raises
        ------
        NotApplicableError
            When the scenario's objective is not one the planner supports.
        """
        check_objective(self.name or type(self).__name__, self.objectives, scenario)
        if self.online:
            from splitinfer.sim import simulate_online

            plan, _ = simulate_online(scenario, self, name=self.name)
            return plan
        t0 = time.perf_counter()
        out = self._plan(scenario)
        info: dict[str, Any] = {}
        if isinstance(out, tuple):
            out, info = out
        elapsed = time.perf_counter() - t0
        if isinstance(out, ChainColumns):  # decisions kept as arrays (e.g. JPS on 10^6 jobs)
            return Plan.from_columns(self.name, out, self.get_params(), elapsed, info)
        tasks = {t.id: out[t.id] for t in scenario.tasks if t.id in out}
        return Plan(self.name, tasks, self.get_params(), elapsed, info)

    def _plan(self, scenario: Scenario) -> dict[str, TaskPlan] | ChainColumns | tuple[Any, dict]:
        raise NotImplementedError(f"{type(self).__name__} implements neither _plan nor decide")

    # online planners override these two
    def start(self, scenario: Scenario) -> None:
        """Reset state before an online run (online planners override)."""

    def decide(self, task, state) -> TaskPlan:  # pragma: no cover - online planners override
        """Decide one task (online planners override)."""
        raise NotImplementedError

    def prepare(self, task) -> None:
        """Compute now what the first ``decide`` of a task like ``task`` (its device, model and
        samples) would otherwise compute lazily, changing no decision: the controller of a real
        run calls it after ``start`` for the tasks it expects, so that the first task's
        decision is not slower than the next ones' (online planners with lazy caches override;
        the default does nothing).

        Examples
        --------
        >>> BasePlanner().prepare(None) is None
        True
        """
