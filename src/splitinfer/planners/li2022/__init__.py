"""Li et al. 2022: fused-layer model parallelism with partial offloading.

Registers ``mw`` (Minimizing Waiting, Alg. 1), ``fl-bf`` (the paper's Brute Force baseline) and
the alias ``nfl`` (no fused layers: the best single cut).

* :mod:`~splitinfer.planners.li2022.timing` — the timing model of section II-B (eqs. 1-6);
* :mod:`~splitinfer.planners.li2022.min_waiting` — path order and offload layers by eqs. 7-8
  (Alg. 1 lines 5-14);
* :mod:`~splitinfer.planners.li2022.brute_force` — every path order and offload layer (sec. IV);
* :mod:`~splitinfer.planners.li2022.taskplan` — a schedule written as a plan the simulator runs;
* :mod:`~splitinfer.planners.li2022.scenarios` — Table I and random fused-layer instances;
* :mod:`~splitinfer.planners.li2022.fused_layer` — the registered planners.
"""

from splitinfer.planners.li2022.fused_layer import FLBruteForcePlanner, MWPlanner

__all__ = ["MWPlanner", "FLBruteForcePlanner"]
