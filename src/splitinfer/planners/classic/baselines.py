"""The classic baselines: everything on the device, on an edge server, or in the cloud.

``local`` runs every task on its own device (Shi et al.'s end-only, Huang et al.'s device-only, seed
003's LO); ``edge`` sends the raw input to the edge server where the task alone would finish
first (blind to other tasks; Shi et al.'s server-only, Huang et al.'s edge-only); ``cloud`` sends the
raw input to the cloud (Huang et al.'s cloud-only, Duan & Wu's CO), through an edge server when the
device has no direct cloud link.
"""

from __future__ import annotations

from splitinfer.errors import NotApplicableError
from splitinfer.planners.common.base import BasePlanner
from splitinfer.planners.common.objective import OBJECTIVES
from splitinfer.planners.common.options import cloud_route
from splitinfer.planners.common.registry import register
from splitinfer.system.plan import TaskPlan
from splitinfer.system.scenario import Scenario
from splitinfer.system.stages import no_wait_latency

__all__ = ["LocalPlanner", "EdgePlanner", "CloudPlanner"]


def _share(sc: Scenario, node: str) -> float | None:
    """Equal shares of a divisible node among the devices (Zheng's cloud-only baseline)."""
    if not sc.nodes[node].divisible:
        return None
    return 1.0 / max(1, len({t.device for t in sc.tasks}))


@register("local", objectives=OBJECTIVES, description="Run every task entirely on its own device.",
          source="classic baseline (end-only of Shi et al. 2021, device-only of Huang et al. 2019, LO of Duan & Wu 2021)")
class LocalPlanner(BasePlanner):
    """Every task runs all layers on its device.

    Examples
    --------
    >>> LocalPlanner().get_params()
    {}
    """

    def _plan(self, scenario: Scenario) -> dict[str, TaskPlan]:
        return {t.id: TaskPlan(t.id, (t.device,), ()) for t in scenario.tasks}


@register("edge", objectives=OBJECTIVES, description="Send the raw input to the edge server that alone finishes it first.",
          source="classic baseline (server-only of Shi et al. 2021, edge-only of Huang et al. 2019)")
class EdgePlanner(BasePlanner):
    """Every task's raw input goes to the reachable edge server with the least no-wait latency."""

    def _plan(self, scenario: Scenario) -> dict[str, TaskPlan]:
        out = {}
        for t in scenario.tasks:
            options = [TaskPlan(t.id, (t.device, e), (0,), share=_share(scenario, e))
                       for e in scenario.edges if scenario.has_link(t.device, e)]
            if not options:
                raise NotApplicableError(f"edge: device {t.device!r} of task {t.id} reaches no edge server")
            out[t.id] = min(options, key=lambda tp: no_wait_latency(scenario, t, tp))
        return out


@register("cloud", objectives=OBJECTIVES, description="Send the raw input to the cloud (through an edge server if needed).",
          source="classic baseline (cloud-only of Huang et al. 2019 and Zheng 2021, CO of Duan & Wu 2021)")
class CloudPlanner(BasePlanner):
    """Every task's raw input goes to the cloud with the least no-wait latency."""

    def _plan(self, scenario: Scenario) -> dict[str, TaskPlan]:
        out = {}
        for t in scenario.tasks:
            options = []
            for c in scenario.clouds:
                route = cloud_route(scenario, t.device, c)
                if route is not None:
                    options.append(TaskPlan(t.id, route, (0,) * (len(route) - 1),
                                            share=_share(scenario, c)))
            if not options:
                raise NotApplicableError(f"cloud: device {t.device!r} of task {t.id} reaches no cloud")
            out[t.id] = min(options, key=lambda tp: no_wait_latency(scenario, t, tp))
        return out
