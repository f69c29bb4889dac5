"""``exact``: the proven optimum over chain plans (OR-Tools CP-SAT), the conformance yardstick.

Not from one paper: it times plans exactly as the simulator does and proves a lower bound, so
the conformance suite checks every other planner against it on small instances.

* :mod:`~splitinfer.planners.exact.model` — the CP-SAT model: chain options as optional interval
  chains, resources, one objective;
* :mod:`~splitinfer.planners.exact.search` — the registered planner: hint, solve, read back.
"""

from splitinfer.planners.exact.search import ExactPlanner

__all__ = ["ExactPlanner"]
