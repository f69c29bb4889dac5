"""Duan & Wu 2021, JPS: joint partition and scheduling of many identical DNN jobs.

Registers ``jps`` (Alg. 2 with Johnson's order, Alg. 1; Alg. 3 for general DAGs), ``po``
(partition only), ``jps-bf`` (the brute-force baseline) and the aliases ``lo`` and ``co``
(section 6's local-only and cloud-only).

* :mod:`~splitinfer.planners.duan2021.flowshop` — two-stage flow-shop arithmetic: Johnson's rule,
  block makespans, virtual blocks (sections 3-4);
* :mod:`~splitinfer.planners.duan2021.dag` — general DAGs: path conversion and a cut per path
  (section 5.3, Alg. 3);
* :mod:`~splitinfer.planners.duan2021.partitions` — the partitions a job can take, with stage
  times (f, g) from the scenario;
* :mod:`~splitinfer.planners.duan2021.brute_force` — the best assignment of cut types by
  enumeration;
* :mod:`~splitinfer.planners.duan2021.jps` — the registered planners.
"""

from splitinfer.planners.duan2021.jps import JPSBruteForce, JPSPlanner, POPlanner

__all__ = ["JPSPlanner", "POPlanner", "JPSBruteForce"]
