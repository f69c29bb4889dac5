"""The classic planners every paper compares against.

* ``local``, ``edge``, ``cloud`` (:mod:`~splitinfer.planners.classic.baselines`): everything on
  the device, on the edge server that alone finishes first, or in the cloud;
* ``neurosurgeon`` (:mod:`~splitinfer.planners.classic.neurosurgeon`): the best single cut of each
  task alone (Kang et al., ASPLOS 2017); ``neurosurgeon-online``
  (:mod:`~splitinfer.planners.classic.neurosurgeon_online`) makes that choice when each task
  arrives, at the link rate in force then (bandwidth traces, ``docs/traces.md``);
* ``dads`` (:mod:`~splitinfer.planners.classic.dads`): the minimum s-t cut of the layer DAG
  between the device and one server (Hu et al., INFOCOM 2019, the light-workload case).

The papers' own names for these baselines (``end-only``, ``lo``, ``co``, ``nfl``, ...) are
aliases registered by each paper's package.
"""

from splitinfer.planners.classic.baselines import CloudPlanner, EdgePlanner, LocalPlanner
from splitinfer.planners.classic.dads import DADSPlanner
from splitinfer.planners.classic.neurosurgeon import NeurosurgeonPlanner
from splitinfer.planners.classic.neurosurgeon_online import NeurosurgeonOnlinePlanner

__all__ = ["LocalPlanner", "EdgePlanner", "CloudPlanner", "NeurosurgeonPlanner", "DADSPlanner",
           "NeurosurgeonOnlinePlanner"]
