"""The discrete-event simulator (one engine for every paper's model).

It imports only ``system``: online planners are driven through the protocol in
:mod:`splitinfer.system.planner`, never by importing ``planners``.
"""

from splitinfer.sim.engine import Engine
from splitinfer.sim.simulate import check_shares, simulate, simulate_online

__all__ = ["Engine", "simulate", "simulate_online", "check_shares"]
