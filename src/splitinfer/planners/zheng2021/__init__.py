"""Zheng 2021, DMCJIA: cloud-edge joint inference under M/D/1 queueing.

Registers ``dmcjia`` (Alg. 1: a binary GA over the cuts, an augmented Lagrangian over the cloud
shares), ``dmcjia-exact`` (the optimum of P1, eq. 3-7), ``greedy``, the load-aware
``zheng-neurosurgeon`` and the alias ``cloud-only`` (section 4.2.2's baselines).

* :mod:`~splitinfer.planners.zheng2021.queueing` — the delays of eqs. 3-1 to 3-7 (M/D/1 edge and
  cloud queues, the tandem delay, P1's objective);
* :mod:`~splitinfer.planners.zheng2021.problem` — P1 read off a scenario;
* :mod:`~splitinfer.planners.zheng2021.shares` — the share subproblem P4 (eq. 3-11) by its KKT
  conditions;
* :mod:`~splitinfer.planners.zheng2021.lagrangian` — the inner augmented Lagrangian (eqs. 3-11,
  3-12);
* :mod:`~splitinfer.planners.zheng2021.genetic` — the outer binary GA (section 3.3.2, pymoo);
* :mod:`~splitinfer.planners.zheng2021.branch_and_bound` — the exact optimum of P1;
* :mod:`~splitinfer.planners.zheng2021.dmcjia` — the registered planners.
"""

from splitinfer.planners.zheng2021.dmcjia import DmcjiaExactPlanner, DmcjiaPlanner, GreedyPlanner

__all__ = ["DmcjiaPlanner", "DmcjiaExactPlanner", "GreedyPlanner"]
