"""Online driving: the simulator asks an online planner task by task as tasks arrive and the
planner sees only the past (seed 000 section 3.2)."""

from __future__ import annotations

import pytest

from splitinfer.errors import InfeasiblePlanError
from splitinfer.planners.common.base import BasePlanner
from splitinfer.sim import simulate, simulate_online
from splitinfer.system import TaskPlan, scenario_from_dict


def _scenario(n=12, seed=3):
    return scenario_from_dict({
        "name": "online", "result_return": 0,
        "nodes": [{"name": "d0", "kind": "device", "compute": {"flops_per_s": 1.0}},
                  {"name": "d1", "kind": "device", "compute": {"flops_per_s": 1.0}},
                  {"name": "e", "kind": "edge", "compute": {"flops_per_s": 4.0}}],
        "links": [{"src": "d0", "dst": "e", "bandwidth": 8.0},
                  {"src": "d1", "dst": "e", "bandwidth": 8.0}],
        "models": {"m": {"cuts": [{"transfer_bytes": 1, "head_flops": 0},
                                  {"transfer_bytes": 0.5, "head_flops": 1},
                                  {"transfer_bytes": 0, "head_flops": 4}]}},
        "workload": {"seed": seed, "generators": [
            {"kind": "poisson", "devices": ["d0", "d1"], "model": "m", "rate": 0.8, "count": n // 2},
            {"kind": "batch", "devices": ["d0"], "model": "m", "count": 2}]}})


class Recorder(BasePlanner):
    """A trivial online planner: alternates local and edge, and records everything it is shown."""

    online = True
    name = "recorder"

    def __init__(self, release_after: float = 0.0):
        self.release_after = release_after

    def start(self, scenario):
        self.started_with = scenario
        self.seen = []

    def decide(self, task, state):
        self.seen.append((task.id, task.arrival, state.now, dict(state.decided),
                          dict(state.finished), len(state.scenario.tasks)))
        k = len(self.seen)
        if k % 2:
            return TaskPlan(task.id, (task.device,))
        return TaskPlan(task.id, (task.device, "e"), (1,), release=state.now + self.release_after)


def test_online_planner_never_sees_the_future():
    sc = _scenario()
    rec = Recorder()
    plan, res = simulate_online(sc, rec)
    assert rec.started_with.tasks == ()              # no task list at start
    assert [s[0] for s in rec.seen] == [t.id for t in sc.tasks]   # asked in arrival order
    arrival = {t.id: t.arrival for t in sc.tasks}
    finish = {t.id: t.finish for t in res.tasks}
    for tid, arr, now, decided, finished, visible in rec.seen:
        assert now == arr and visible == 0
        assert all(arrival[d] <= now for d in decided)            # decided: past tasks only
        assert set(decided) == {t.id for t in sc.tasks if t.id in decided} and tid not in decided
        assert all(t <= now and finish[f] == t for f, t in finished.items())
        # ... and every task that had finished by now is reported
        assert set(finished) == {i for i in decided if finish[i] <= now}
    assert plan.info["online"] and len(plan) == len(sc.tasks)


def test_ties_at_one_instant_are_decided_in_generation_order():
    sc = _scenario()
    rec = Recorder()
    simulate_online(sc, rec)
    # the batch generator gives two tasks at t = 0 on d0; the first generated is asked first and
    # the second sees its decision
    first, second = rec.seen[0], rec.seen[1]
    assert first[2] == second[2] == 0.0
    assert first[0] in second[3]


def test_online_result_equals_offline_simulation_of_its_decisions():
    sc = _scenario()
    plan, res = simulate_online(sc, Recorder(release_after=0.25))
    again = simulate(sc, plan)
    assert [t.finish for t in again.tasks] == [t.finish for t in res.tasks]
    assert [[(s.start, s.end) for s in t.stages] for t in again.tasks] == \
           [[(s.start, s.end) for s in t.stages] for t in res.tasks]
    # release shifted the first stage of every offloaded task by 0.25 s
    offloaded = [t for t in res.tasks if t.offloaded]
    assert offloaded and all(t.stages[0].start >= t.arrival + 0.25 for t in offloaded)


def test_base_planner_plan_runs_online_planners_inside_the_simulator():
    sc = _scenario()
    plan = Recorder().plan(sc)
    assert plan.planner == "recorder" and plan.info["online"] and plan.plan_time_s >= 0


def test_online_answer_for_the_wrong_task_is_rejected():
    class Liar(Recorder):
        def decide(self, task, state):
            return TaskPlan("nope", (task.device,))

    with pytest.raises(InfeasiblePlanError, match="answered for task 'nope'"):
        simulate_online(_scenario(), Liar())
