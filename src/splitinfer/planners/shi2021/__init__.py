"""Shi et al. 2021, GSPI: partition points and task allocation on heterogeneous edge servers.

Registers ``gspi`` (Alg. 2, offline, slot by slot), ``gspi-online`` (Alg. 3, the online strategy
center), ``server-only`` and the alias ``end-only`` (section 5's baselines).

* :mod:`~splitinfer.planners.shi2021.model` — which scenarios fit the paper's system model
  (section 2) and each task's options;
* :mod:`~splitinfer.planners.shi2021.partition_points` — Partition-Points-Selection (Alg. 1);
* :mod:`~splitinfer.planners.shi2021.queue` — the FIFO queue of one edge server (section 2.1);
* :mod:`~splitinfer.planners.shi2021.state` — the strategy center's view: assignments, queues and
  t(m) of every task (eq. 1);
* :mod:`~splitinfer.planners.shi2021.offline` — the passes of Alg. 2 (Steps 2 and 3);
* :mod:`~splitinfer.planners.shi2021.gspi` — the registered planners.
"""

from splitinfer.planners.shi2021.gspi import GSPIOnlinePlanner, GSPIPlanner, ServerOnlyPlanner

__all__ = ["GSPIPlanner", "GSPIOnlinePlanner", "ServerOnlyPlanner"]
