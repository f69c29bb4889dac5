"""The system model: scenarios, plans, results, the planner protocol and analytic formulas.

Nothing here runs a model or a simulation; everything here is torch-free.
"""

from splitinfer.system.entities import Link, Node, Task, link_name
from splitinfer.system.load import load_scenario, scenario_from_dict
from splitinfer.system.model_costs import ModelCosts
from splitinfer.system.plan import Plan, Step, TaskPlan
from splitinfer.system.planner import OnlinePlanner, Planner, State
from splitinfer.system.result import OBJECTIVES, Result, StageRecord, TaskRecord
from splitinfer.system.scenario import Scenario
from splitinfer.system.stages import Stage, build_stages, no_wait_latency

__all__ = [
    "Link", "Node", "Task", "link_name", "load_scenario", "scenario_from_dict", "ModelCosts",
    "Plan", "Step", "TaskPlan", "OnlinePlanner", "Planner", "State", "OBJECTIVES", "Result",
    "StageRecord", "TaskRecord", "Scenario", "Stage", "build_stages", "no_wait_latency",
]
