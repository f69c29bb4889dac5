"""The registry face of :mod:`splitinfer.planners`: the names a caller uses to find planners.

The registry itself lives in :mod:`splitinfer.planners.common.registry`; this module re-exports
it so that ``from splitinfer.planners.registry import get_planner`` keeps working.

Examples
--------
>>> from splitinfer.planners.registry import get_planner
>>> get_planner("local")
LocalPlanner()
"""

from splitinfer.planners.common.registry import (
    PlannerInfo,
    alias,
    get_planner,
    list_planners,
    planner_info,
    register,
)

__all__ = ["PlannerInfo", "register", "alias", "get_planner", "list_planners", "planner_info"]
