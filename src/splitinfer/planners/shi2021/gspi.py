"""The GSPI family of Shi et al. 2021: joint partition-point choice and task allocation on
heterogeneous edge servers.

Planners registered here:

``gspi`` (Alg. 2, offline)
    Tasks are taken slot by slot (the stack M of Step 1, first generated on top); each task of
    the slot, in generation order, gets ``arg min_{k in S, p in SP} t(m)`` (eq. 1) given the
    tasks already placed, and is put into its server's queue (Step 2). Then Step 3 (Fig. 3):
    every task that a task of this slot now *overtakes* at a server (generated earlier, but
    reaching the server later) has an "improvable" strategy; these tasks are taken out of the
    queues and their strategies remade, in generation order, against the new state.
``gspi-online`` (Alg. 3, the online strategy center)
    Each task is decided when it is generated, from the tasks decided before it only (eq. 11
    ignores tasks generated later), and is never revised.
``server-only``
    The paper's server-only mode: every task uploads its raw input (P1) and runs entirely on the
    server where it would finish first given the tasks already queued (the same queue-aware
    choice as GSPI over servers only). It differs from the core ``edge`` baseline, which picks
    the server that is fastest when idle and so sends every task to Server1.
``end-only``
    Every task runs entirely on its device (P6): an alias of ``local``, which is identical.

The partition points are PPS's (Alg. 1, :func:`pps`) for the bound ``latency`` (or
``scenario.extra["pps_latency"]``; none: every point).

Cost model (what t(m) is inside the planners)
---------------------------------------------
The planners' t(m) is the real one: a FIFO queue per server with first-generation-first-serving
ties, kept incrementally (:mod:`splitinfer.planners.shi2021.queue`). It equals, task by task, the latency the
simulator gives the final plan (``plan.info["predicted_latency"]``; tested). The paper's own
waiting formulas, eq. (7) offline and eq. (11) online, are available with ``wait="paper"``: they
sum the work queued ahead and subtract the elapsed time, which is the real wait only while the
server has been busy since time 0 and underestimates it after the server idled
(docs/algorithms/shi2021.md has a worked example).

Presets (:mod:`splitinfer.planners.common.presets`)
---------------------------------------------------
``preset="improved"`` (default) is described above: the real FIFO queue, and for ``gspi`` the
better of the Alg. 2 and Step-2-only plans, polished. ``preset="paper"`` is the paper's algorithm
as written: ``gspi`` is Alg. 2 with Step 3 and no polish, choosing by eq. (7)
(``wait="paper", replan=True, polish="none"``); ``gspi-online`` is Alg. 3 choosing by eq. (11)
(``wait="paper"``). They are registered as ``gspi-paper`` and ``gspi-online-paper``. With eq. (11)
the online center can beat the improved offline GSPI (e.g. 16 Mbps, 75 tasks: eq. (11) ignores
the idle gaps, so it sends more tasks to the server at inner points), which the reproduction page
of Fig. 7 shows.

Readings of ambiguous passages (each is tested)
-----------------------------------------------
* Same-slot decisions (Alg. 3 lines 2-9): deciding the tasks of a slot one by one against the
  auxiliary queue Q' and then copying Q' to Q is the same as deciding them one by one against
  Q in generation order, which is what the simulator does (it calls ``decide`` for the tasks of
  a slot in generation order); Q' only lets the center answer them together.
* The all-local point P6 has no server part, so it waits in no queue (eq. (7) applied to it
  literally would charge it the queue of the server it is nominally "assigned" to).
* Step 3 checks the tasks overtaken by a task of the current slot (the ones Fig. 3 shades);
  earlier slots were checked when they were planned. Remade strategies are kept, as in the
  paper. Without Step 3 and polish (``replan=False, polish="none"``, real queue) GSPI makes
  exactly the online center's decisions: both place each task against the tasks generated
  before it.
* The paper claims GSPI is always the best. Alg. 2 alone does not guarantee it: remaking
  strategies can lower one slot's times and raise later ones', and on the paper's scenario at
  8-16 Mbps the verbatim Alg. 2 is sometimes a little worse than the online center. By default
  (``polish="improvable"``) GSPI therefore keeps the better of the Alg. 2 plan and the
  Step-2-only plan and then moves improvable tasks one at a time while that lowers the total
  (:mod:`splitinfer.planners.shi2021.offline`); ``polish="none"`` is Alg. 2 verbatim.
* "Arrive at the same time slot" (z^2 of eq. 7) is an exact tie of arrival instants here:
  with the transfer times d_p / B, arrivals are not whole slots. Ties are served first-generated
  first (then by generation index).
* t_r is in t(m) (eq. 1) for offloaded tasks; an all-local task returns nothing.

Examples
--------
>>> from splitinfer.system import load_scenario
>>> from splitinfer.planners import get_planner
>>> from splitinfer.sim import simulate
>>> sc = load_scenario("shi2021")
>>> plan = get_planner("gspi").plan(sc)
>>> res = simulate(sc, plan)
>>> abs(res.mean_latency - plan.info["predicted_mean"]) < 1e-9
True
>>> online = get_planner("gspi-online").plan(sc)
>>> simulate(sc, online).mean_latency >= res.mean_latency
True
"""

from __future__ import annotations

from typing import Any, ClassVar

from splitinfer.errors import NotApplicableError
from splitinfer.papers import cite
from splitinfer.planners.common.base import BasePlanner
from splitinfer.planners.common.presets import resolve_preset
from splitinfer.planners.common.registry import alias, register
from splitinfer.planners.shi2021.model import OptionCache, check_applicable, option_plan
from splitinfer.planners.shi2021.offline import ArrayCenter
from splitinfer.planners.shi2021.partition_points import point_times, pps
from splitinfer.planners.shi2021.state import CenterState
from splitinfer.system.plan import ChainColumns, Plan, TaskPlan
from splitinfer.system.scenario import Scenario

__all__ = ["pps", "point_times", "GSPIPlanner", "GSPIOnlinePlanner", "ServerOnlyPlanner"]

_SOURCE = cite("shi2021")
_POLISH = ("improvable", "all", "none")
#: ``gspi``'s presets: the improved default and Alg. 2 with eq. (7) as written.
GSPI_PRESETS: dict[str, dict[str, Any]] = {
    "improved": {"wait": "fifo", "replan": True, "polish": "improvable"},
    "paper": {"wait": "paper", "replan": True, "polish": "none"},
}
#: ``gspi-online``'s presets: the real queue, or Alg. 3 with eq. (11) as written.
ONLINE_PRESETS: dict[str, dict[str, Any]] = {"improved": {"wait": "fifo"},
                                             "paper": {"wait": "paper"}}


def _bound(scenario: Scenario, latency: float | None) -> float | None:
    if latency is not None:
        return float(latency)
    value = scenario.extra.get("pps_latency")
    if value is None:
        return None
    from splitinfer.units import parse_time

    return parse_time(value) if isinstance(value, str) else float(value)


def _cuts_for(scenario: Scenario, latency: float | None):
    bound = _bound(scenario, latency)
    memo: dict[tuple[str, str], list[int]] = {}

    def cuts(device: str, model: str) -> list[int]:
        key = (device, model)
        if key not in memo:
            memo[key] = pps(scenario, model, device, bound)
            if not memo[key]:
                raise NotApplicableError(f"PPS keeps no partition point of model {model!r} within "
                                         f"latency {bound} s on every server")
        return memo[key]

    return cuts


def _mean(state: CenterState) -> float:
    return state.total() / len(state.placed) if state.placed else 0.0


def _info(state: CenterState, extra: dict[str, Any]) -> dict[str, Any]:
    real = state.latencies()
    info: dict[str, Any] = {
        "predicted_latency": real,
        "predicted_mean": float(sum(real.values()) / len(real)) if real else 0.0,
        "wait_model": state.wait,
    }
    if state.wait == "paper":
        est = {tid: p.estimate for tid, p in state.placed.items()}
        info["estimated_latency"] = est
        info["estimated_mean"] = float(sum(est.values()) / len(est)) if est else 0.0
    info.update(extra)
    return info


@register("gspi", description="GSPI: greedy slot-by-slot partition point and server choice on "
          "real FIFO queues, re-planning of overtaken tasks, then a monotone polish (offline).",
          source=f"{_SOURCE}, Alg. 1 (PPS), Alg. 2, eqs. (1)-(9), Fig. 3")
class GSPIPlanner(BasePlanner):
    """Shi et al.'s offline GSPI (Alg. 2) on the real per-server FIFO queues.

    Parameters
    ----------
    latency : float, optional
        PPS bound *Latency* in seconds (Alg. 1); default ``scenario.extra["pps_latency"]`` or
        no bound.
    wait : {"fifo", "paper"}, optional
        Waiting model used to choose: the real queue, or the paper's eq. (7). ``None``: the
        preset's.
    replan : bool, optional
        Step 3 (Fig. 3): remake the strategies of tasks overtaken by a later-generated task.
    polish : {"improvable", "all", "none"}, optional
        After Alg. 2, start from the better of the Step-3 plan and the Step-2-only plan and move
        tasks (the improvable ones, or all) one at a time to the strategy that lowers the total
        t(m) most, while it does (:func:`~splitinfer.planners.shi2021.offline.polish`). ``"none"``
        with ``replan=True`` is the paper's GSPI verbatim.
    preset : {"improved", "paper"}
        ``"improved"`` (default): ``wait="fifo", replan=True, polish="improvable"``.
        ``"paper"`` (``gspi-paper``): Alg. 2 as written, choosing by eq. (7) --
        ``wait="paper", replan=True, polish="none"``. Parameters given explicitly win.

    Examples
    --------
    >>> GSPIPlanner()
    GSPIPlanner(latency=None, wait=None, replan=None, polish=None, preset='improved')
    >>> GSPIPlanner(preset="paper").settings
    {'wait': 'paper', 'replan': True, 'polish': 'none'}
    """

    general: ClassVar[bool] = False

    def __init__(self, latency: float | None = None, wait: str | None = None,
                 replan: bool | None = None, polish: str | None = None,
                 preset: str = "improved") -> None:
        self.latency = latency
        self.wait = wait
        self.replan = replan
        self.polish = polish
        self.preset = preset
        resolve_preset(type(self).__name__, GSPI_PRESETS, preset)  # an unknown preset fails here

    @property
    def settings(self) -> dict[str, Any]:
        """``wait``, ``replan`` and ``polish`` after the preset is applied."""
        return resolve_preset(type(self).__name__, GSPI_PRESETS, self.preset, wait=self.wait,
                              replan=self.replan, polish=self.polish)

    def _state(self, scenario: Scenario, cuts, wait: str) -> ArrayCenter:
        return ArrayCenter(scenario, OptionCache(scenario, cuts), wait)

    def _plan(self, scenario: Scenario) -> tuple[ChainColumns | dict, dict[str, Any]]:
        cfg = self.settings
        wait, replan, polish_scope = cfg["wait"], cfg["replan"], cfg["polish"]
        if polish_scope not in _POLISH:
            raise ValueError(f"polish must be one of {_POLISH}, got {polish_scope!r}")
        check_applicable(scenario)
        cuts = _cuts_for(scenario, self.latency)
        state = self._state(scenario, cuts, wait)
        stats = state.slot_pass(replan=replan)
        extra: dict[str, Any] = {"remade": stats["remade"], "alg2_mean": state.mean(),
                                 "preset": self.preset, "settings": cfg}
        if polish_scope != "none":
            if replan:  # the Step-2-only plan is the online center's; keep the better one
                greedy = self._state(scenario, cuts, wait)
                greedy.slot_pass(replan=False)
                extra["step2_mean"] = greedy.mean()
                if greedy.total() < state.total():
                    state = greedy
            extra["polish_moves"] = state.polish(scope=polish_scope)
        info = state.info()
        info.update(extra)
        # no tasks: an empty plan (ChainColumns cannot shape zero rows)
        return (state.columns() if scenario.tasks else {}), info


@register("gspi-online", description="Online strategy center of GSPI: each task decided at "
          "generation from the past only, on real FIFO queues.",
          source=f"{_SOURCE}, Alg. 3, eq. (11)")
class GSPIOnlinePlanner(BasePlanner):
    """Shi et al.'s online algorithm (Alg. 3): decide each task when it is generated.

    Parameters
    ----------
    latency : float, optional
        PPS bound (as for ``gspi``).
    wait : {"fifo", "paper"}, optional
        Waiting model: the real queue of the tasks decided so far, or the paper's eq. (11).
        ``None``: the preset's.
    preset : {"improved", "paper"}
        ``"improved"`` (default): ``wait="fifo"``; ``"paper"`` (``gspi-online-paper``): Alg. 3
        as written, choosing by eq. (11) (``wait="paper"``).
    rate : {"truth", "estimate"}
        On links whose bandwidth follows a trace (``docs/traces.md``), the strategies are
        re-timed whenever the rate changes: the rate in force at the decision (``"truth"``),
        or the harmonic mean of the last ``last`` measured transfers (``"estimate"``; the rate
        at time 0 until one has been measured). Without traces both are the scenario's rates.
    last : int
        Transfers the estimate averages.

    Examples
    --------
    >>> GSPIOnlinePlanner().online
    True
    >>> GSPIOnlinePlanner(preset="paper").settings
    {'wait': 'paper'}
    """

    online: ClassVar[bool] = True
    general: ClassVar[bool] = False

    def __init__(self, latency: float | None = None, wait: str | None = None,
                 preset: str = "improved", rate: str = "truth", last: int = 5) -> None:
        self.latency = latency
        self.wait = wait
        self.preset = preset
        resolve_preset(type(self).__name__, ONLINE_PRESETS, preset)  # an unknown preset fails here
        if rate not in ("truth", "estimate"):
            raise ValueError(f"rate must be 'truth' or 'estimate', got {rate!r}")
        if int(last) < 1:
            raise ValueError(f"last must be >= 1, got {last!r}")
        self.rate = rate
        self.last = last
        self._state: CenterState | None = None
        self._start: Scenario | None = None
        self._rates: tuple[float, ...] = ()

    @property
    def settings(self) -> dict[str, Any]:
        """``wait`` after the preset is applied."""
        return resolve_preset(type(self).__name__, ONLINE_PRESETS, self.preset, wait=self.wait)

    def start(self, scenario: Scenario) -> None:
        """Empty the queues; ``scenario`` has no tasks (the simulator hides the future)."""
        check_applicable(scenario)
        self._state = CenterState(scenario, OptionCache(scenario, _cuts_for(scenario, self.latency)),
                                  self.settings["wait"], online=True)
        self._start = scenario
        self._rates = tuple(scenario.links[k].rate for k in scenario.traced_links)

    def decide(self, task, state) -> TaskPlan:
        """Alg. 3 line 6/11: ``arg min t(m)`` over the queues of the tasks decided so far."""
        if self._state is None:
            raise RuntimeError("call start(scenario) before decide")
        self._follow_rates(state)
        opt, _ = self._state.decide(task)
        return option_plan(task, opt)

    def prepare(self, task) -> None:
        """Build the strategy set of tasks like ``task`` now (:class:`OptionCache`, the same
        cache ``decide`` reads); no task is placed. The first decision of a (device, model)
        pair otherwise builds it: 10-20 ms against 0.1 ms for the next ones on the
        fidelity-shi2021 scenario, which made the first task of a real run late.

        Raises
        ------
        RuntimeError
            Before ``start``.
        """
        if self._state is None:
            raise RuntimeError("call start(scenario) before prepare")
        self._state.options.grouped(task)

    def _follow_rates(self, state) -> None:
        """Re-time the strategies when a traced link's rate (seen or estimated) has changed."""
        traced = self._start.traced_links
        if not traced:
            return
        if self.rate == "truth":
            view = state.scenario
        else:
            known = {k: self._start.links[k].rate for k in traced}
            known.update(state.estimate(int(self.last)))
            view = self._start.at(state.now, known)
        rates = tuple(view.links[k].rate for k in traced)
        if rates != self._rates:
            self._rates = rates
            self._state.options = OptionCache(view, _cuts_for(view, self.latency))

    def plan(self, scenario: Scenario) -> Plan:
        """Run the center inside the simulator (tasks decided at generation); add its view."""
        check_applicable(scenario)
        plan = super().plan(scenario)
        assert self._state is not None
        plan.info.update(_info(self._state, {"preset": self.preset, "settings": self.settings}))
        return plan


@register("server-only", description="Shi et al.'s server-only mode: raw input to the server "
          "where the task finishes first given the queues (FIFO).",
          source=f"{_SOURCE}, section 4.2 (server-only mode)")
class ServerOnlyPlanner(BasePlanner):
    """Every task uploads its raw input (P1) to the queue-aware best server (section 4.2).

    Tasks are taken in generation order; each goes to ``arg min_k t(m)`` with p fixed to P1 on
    the real FIFO queues of the tasks placed before it.

    Examples
    --------
    >>> from splitinfer.system import load_scenario
    >>> sc = load_scenario("shi2021")
    >>> plan = ServerOnlyPlanner().plan(sc)
    >>> sorted({tp.cuts for tp in plan.tasks.values()}), len({tp.nodes[1] for tp in plan.tasks.values()})
    ([(0,)], 4)
    """

    general: ClassVar[bool] = False

    def _plan(self, scenario: Scenario) -> tuple[dict[str, TaskPlan], dict[str, Any]]:
        check_applicable(scenario)
        state = CenterState(scenario, OptionCache(scenario, lambda d, m: [0]), "fifo")
        for task in scenario.tasks:
            state.decide(task)
        plans = {tid: option_plan(p.task, p.option) for tid, p in state.placed.items()}
        return plans, _info(state, {})


alias("gspi-paper", "gspi", description="GSPI exactly as Shi et al. 2021 Alg. 2: Step 3 "
      "re-planning, no polish, waits by the paper's eq. (7).",
      source=f"{_SOURCE}, Alg. 2, eq. (7)", preset="paper")
alias("gspi-online-paper", "gspi-online", description="GSPI's online center exactly as Shi et "
      "al. 2021 Alg. 3: waits by the paper's eq. (11).",
      source=f"{_SOURCE}, Alg. 3, eq. (11)", preset="paper")
alias("end-only", "local", description="Shi et al.'s end-only mode: every task runs entirely on "
      "its device (the same as local).", source=f"{_SOURCE}, section 4.2 (end-only mode)")
