"""Huang et al. 2019, DeePar: two cuts per task over device, edge and cloud, scheduled online.

Registers ``deepar`` (Alg. 1, online with delayed scheduling), ``deepar-exact`` (the assignment
problem (20)-(25) solved exactly) and the aliases ``deepar-edge-only``, ``deepar-cloud-only`` and
``deepar-device-only`` (section V's baselines).

* :mod:`~splitinfer.planners.huang2019.delay` — the six delay components, eqs. (1)-(6), the best
  cut pair and the delay matrix W (section IV-A);
* :mod:`~splitinfer.planners.huang2019.ledger` — the resources each scheduled task holds, and when
  (section III);
* :mod:`~splitinfer.planners.huang2019.assignment` — (20)-(25) as a 0-1 integer program (HiGHS);
* :mod:`~splitinfer.planners.huang2019.deepar` — the registered planners.
"""

from splitinfer.planners.huang2019.deepar import DeeparExactPlanner, DeeparPlanner

__all__ = ["DeeparPlanner", "DeeparExactPlanner"]
