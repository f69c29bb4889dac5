"""What every planner family shares: the registry, the base class, and the chain option lists.

* :mod:`~splitinfer.planners.common.registry` — ``register``, ``alias``, ``get_planner``,
  ``list_planners``, ``planner_info`` (the one registry of planners);
* :mod:`~splitinfer.planners.common.base` — :class:`BasePlanner`, the interface every planner
  implements;
* :mod:`~splitinfer.planners.common.options` — the chain plans a task can take (local, one cut to
  a server, two cuts device -> edge -> cloud), used by the baselines, DeePar and the exact search.
"""
