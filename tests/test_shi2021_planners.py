"""The GSPI family (seed 000): PPS, gspi, gspi-online, server-only, end-only."""

from __future__ import annotations

import itertools

import pytest

from splitinfer.errors import NotApplicableError
from splitinfer.experiments.shi2021 import paper_scenario
from splitinfer.planners import get_planner
from splitinfer.planners.shi2021.gspi import pps
from splitinfer.planners.shi2021.model import OptionCache, option_plan, task_options
from splitinfer.planners.shi2021.state import CenterState
from splitinfer.sim import simulate
from splitinfer.system import Plan, load_scenario, scenario_from_dict
from splitinfer.testing.family_shi2021 import shi2021_dict, small_shi2021

FIFO_PLANNERS = [("gspi", {}), ("gspi", {"polish": "none"}), ("gspi", {"polish": "all"}),
                 ("gspi", {"replan": False, "polish": "none"}), ("gspi-online", {}),
                 ("server-only", {})]


def _sim_latency(sc, plan):
    return {r.id: r.latency for r in simulate(sc, plan).tasks}


# ---------------------------------------------------------------- internal cost = simulator
@pytest.mark.parametrize("name,params", FIFO_PLANNERS, ids=[f"{n}{p}" for n, p in FIFO_PLANNERS])
@pytest.mark.parametrize("tasks,bandwidth,seed", [(75, 4e6, 0), (150, 16e6, 1), (50, 8e6, 3)])
def test_internal_t_equals_simulated_latency(name, params, tasks, bandwidth, seed):
    sc = paper_scenario(tasks, bandwidth, seed)
    plan = get_planner(name, **params).plan(sc)
    sim = _sim_latency(sc, plan)
    pred = plan.info["predicted_latency"]
    assert set(pred) == set(sim)
    assert max(abs(pred[t] - sim[t]) for t in sim) < 1e-9


def test_internal_t_equals_simulated_latency_on_a_large_overtaking_workload():
    sc = paper_scenario(1500, 16e6, seed=5, slots=1000)
    plan = get_planner("gspi").plan(sc)
    assert plan.info["remade"] > 0  # overtaking really happened
    sim = _sim_latency(sc, plan)
    assert max(abs(plan.info["predicted_latency"][t] - sim[t]) for t in sim) < 1e-9


# ---------------------------------------------------------------- GSPI against the online center
@pytest.mark.parametrize("bandwidth", [2e6, 4e6, 8e6, 16e6])
def test_gspi_never_worse_than_online_in_the_papers_regime(bandwidth):
    for tasks, seed in itertools.product((25, 75, 150), range(3)):
        sc = paper_scenario(tasks, bandwidth, seed)
        g = simulate(sc, get_planner("gspi").plan(sc)).mean_latency
        o = simulate(sc, get_planner("gspi-online").plan(sc)).mean_latency
        assert g <= o + 1e-12, (bandwidth, tasks, seed, g, o)


def test_gspi_beats_online_where_tasks_overtake():
    sc = paper_scenario(100, 16e6, seed=0)
    g = simulate(sc, get_planner("gspi").plan(sc)).mean_latency
    o = simulate(sc, get_planner("gspi-online").plan(sc)).mean_latency
    assert g < o


def test_verbatim_alg2_can_be_worse_than_online():
    """Why GSPI polishes by default: Alg. 2's Step 3 alone loses here (docs/algorithms/shi2021.md)."""
    sc = paper_scenario(50, 8e6, seed=3)
    verbatim = simulate(sc, get_planner("gspi", polish="none").plan(sc)).mean_latency
    online = simulate(sc, get_planner("gspi-online").plan(sc)).mean_latency
    default = simulate(sc, get_planner("gspi").plan(sc)).mean_latency
    assert verbatim > online >= default


def test_step2_alone_is_the_online_center():
    sc = paper_scenario(120, 16e6, seed=2)
    off = get_planner("gspi", replan=False, polish="none").plan(sc)
    on = get_planner("gspi-online").plan(sc)
    assert {t: tp.to_dict() for t, tp in off.tasks.items()} == \
        {t: tp.to_dict() for t, tp in on.tasks.items()}


def test_online_center_does_not_look_ahead():
    """Decisions for the first k tasks do not depend on the tasks generated after them."""
    sc = paper_scenario(90, 16e6, seed=4)
    full = get_planner("gspi-online").plan(sc)
    k = 40
    first = sc.with_tasks(sc.tasks[:k])
    part = get_planner("gspi-online").plan(first)
    assert all(part.tasks[t.id] == full.tasks[t.id] for t in first.tasks)


def test_slot_decided_together_equals_one_by_one():
    """Alg. 3 lines 2-9 (auxiliary queue Q') give the same strategies as deciding in order."""
    sc = paper_scenario(80, 16e6, seed=6)
    state = CenterState(sc, OptionCache(sc), online=True)
    q_prime = {}
    for slot in sorted({t.arrival for t in sc.tasks}):
        frame = [t for t in sc.tasks if t.arrival == slot]
        for t in frame:  # Q' <- Q, decide every task of the slot against Q', then Q <- Q'
            q_prime[t.id] = option_plan(t, state.decide(t)[0])
    on = get_planner("gspi-online").plan(sc)
    assert q_prime == on.tasks


# ---------------------------------------------------------------- small instances vs the optimum
def _brute_force(sc):
    """The best FIFO plan by enumeration, timed by the simulator (tiny instances only)."""
    options = [[option_plan(t, o) for o in task_options(sc, t)] for t in sc.tasks]
    best = None
    for combo in itertools.product(*options):
        v = simulate(sc, Plan("bf", {tp.task: tp for tp in combo})).mean_latency
        best = v if best is None or v < best else best
    return best


@pytest.mark.parametrize("seed", range(6))
def test_not_below_the_optimum_on_small_instances(seed):
    sc = scenario_from_dict(shi2021_dict(seed, max_tasks=3, max_servers=2))
    opt = _brute_force(sc)
    for name in ("gspi", "gspi-online", "server-only"):
        v = simulate(sc, get_planner(name).plan(sc)).mean_latency
        assert v >= opt - 1e-12, name
    local_search = get_planner("gspi", polish="all").plan(sc)
    assert simulate(sc, local_search).mean_latency >= opt - 1e-12


@pytest.mark.parametrize("seed", [0, 1])
def test_not_below_the_exact_planners_bound(seed):
    sc = small_shi2021(seed)
    exact = get_planner("exact", time_limit_s=2.0).plan(sc)
    for name in ("gspi", "gspi-online"):
        assert simulate(sc, get_planner(name).plan(sc)).mean_latency >= \
            exact.info["bound"] * (1 - 1e-9)


# ---------------------------------------------------------------- PPS (Alg. 1)
def test_pps_on_table2():
    sc = load_scenario("shi2021")
    assert pps(sc) == [0, 1, 2, 3, 4, 5]
    assert pps(sc, latency=0.0626) == [0]  # P1 on Server4 takes 24.576 + 38 ms
    assert pps(sc, latency=0.088) == [0, 5]  # the device alone takes 88 ms
    # at 16 Mbps: P2 84.8, P3 76.4, P4 79.2, P5 81.1 ms on Server4; P1 44.1; local 88
    assert pps(sc.with_link_rate(16e6), latency=0.080) == [0, 2, 3]


def test_pps_intersects_over_servers():
    sc = load_scenario("shi2021").with_link_rate(16e6)
    # P5 (index 4) takes 71 + 4.096 + tail: 76.1 ms on Server1 but 81.1 ms on Server4
    assert 4 not in pps(sc, latency=0.080)
    assert 4 in pps(sc, latency=0.0811)


def test_planner_uses_pps_bound_from_the_scenario():
    sc = paper_scenario(60, 4e6, seed=0)
    bounded = load_scenario("shi2021", extra={"pps_latency": "88ms"},
                            workload={"seed": 0, "generators": [
                                {"kind": "uniform", "devices": ["end"], "model": "vgg16",
                                 "count": 60, "slots": 100}]})
    assert bounded.tasks == sc.tasks
    plan = get_planner("gspi").plan(bounded)
    assert {tp.cuts for tp in plan.tasks.values()} <= {(), (0,)}
    with pytest.raises(NotApplicableError, match="PPS keeps no partition point"):
        get_planner("gspi", latency=0.01).plan(sc)


# ---------------------------------------------------------------- baselines
def test_server_only_is_queue_aware_and_beats_the_blind_edge_baseline():
    sc = paper_scenario(75, 4e6, seed=0)
    plan = get_planner("server-only").plan(sc)
    assert {tp.cuts for tp in plan.tasks.values()} == {(0,)}
    assert len({tp.nodes[1] for tp in plan.tasks.values()}) == 4
    blind = get_planner("edge").plan(sc)
    assert {tp.nodes[1] for tp in blind.tasks.values()} == {"server1"}
    assert simulate(sc, plan).mean_latency < simulate(sc, blind).mean_latency


def test_end_only_is_local():
    sc = paper_scenario(20, 4e6, seed=0)
    plan = get_planner("end-only").plan(sc)
    assert plan.planner == "end-only"
    assert plan.tasks == get_planner("local").plan(sc).tasks
    assert simulate(sc, plan).mean_latency == pytest.approx(0.088)


# ---------------------------------------------------------------- eq. (7): the paper's waiting
def _one_server(slots, transfer=0.0):
    return scenario_from_dict({
        "slot": "1ms", "result_return": 0,
        "nodes": [{"name": "end", "kind": "device", "compute": {"table": True}, "concurrency": None},
                  {"name": "s", "kind": "edge", "compute": {"table": True}}],
        "links": [{"src": "end", "dst": "s", "bandwidth": "8Mbps"}],
        "models": {"m": {"cuts": [{"transfer_bytes": transfer}, {"transfer_bytes": 40}],
                         "table": {"end": {"head": ["0ms", "100ms"]}, "s": {"tail": ["5ms", "0ms"]}}}},
        "workload": {"tasks": [{"device": "end", "model": "m", "slot": s} for s in slots]}})


def test_eq7_equals_the_queue_while_the_server_has_been_busy():
    sc = _one_server([0, 1])
    fifo, paper = CenterState(sc, OptionCache(sc)), CenterState(sc, OptionCache(sc), wait="paper")
    a, b = sc.tasks
    for st in (fifo, paper):
        st.place(a, st.best(a)[0])
    opt = task_options(sc, b)[1]
    assert fifo.estimate(b, opt)[0] == pytest.approx(0.009)  # waits 4 ms, then 5 ms
    assert paper.estimate(b, opt)[0] == pytest.approx(0.009)


def test_eq7_underestimates_the_wait_after_the_server_idled():
    """The worked example of docs/algorithms/shi2021.md: the server idles until 10 ms."""
    sc = _one_server([10, 12])
    fifo, paper = CenterState(sc, OptionCache(sc)), CenterState(sc, OptionCache(sc), wait="paper")
    a, b = sc.tasks
    for st in (fifo, paper):
        st.place(a, st.best(a)[0])
    opt = task_options(sc, b)[1]
    assert fifo.estimate(b, opt)[0] == pytest.approx(0.008)  # real: waits 3 ms
    assert paper.estimate(b, opt)[0] == pytest.approx(0.005)  # eq. (7): 5 - 12 < 0 -> no wait
    assert simulate(sc, Plan("x", {t.id: option_plan(t, opt) for t in sc.tasks})
                    ).tasks[1].latency == pytest.approx(0.008)


@pytest.mark.parametrize("name", ["gspi", "gspi-online"])
def test_paper_variant_plans_run_and_never_overestimate(name):
    sc = paper_scenario(100, 16e6, seed=1)
    plan = get_planner(name, wait="paper").plan(sc)
    sim = _sim_latency(sc, plan)
    est = plan.info["estimated_latency"]
    assert all(est[t] <= sim[t] + 1e-9 for t in sim)
    assert plan.info["estimated_mean"] < plan.info["predicted_mean"]


def test_eq11_counts_every_placed_task():
    sc = _one_server([0, 0, 0], transfer=1000)  # 1 ms upload
    a, b, c = sc.tasks
    opt = task_options(sc, a)[1]
    eq11 = CenterState(sc, OptionCache(sc), wait="paper", online=True)
    fifo = CenterState(sc, OptionCache(sc))
    for st in (eq11, fifo):
        st.place(b, opt)
        st.place(c, opt)
    # FGFS serves a (generated first) before b and c: 1 + 5 ms; eq. (11) charges it their
    # 10 ms of work minus the 1 ms elapsed: 1 + 9 + 5 ms
    assert fifo.estimate(a, opt)[0] == pytest.approx(0.006)
    assert eq11.estimate(a, opt)[0] == pytest.approx(0.015)


# ---------------------------------------------------------------- outside the model
@pytest.mark.parametrize("change,match", [
    (lambda d: d["nodes"][1].update(concurrency=2), "one task at a time"),
    (lambda d: d["links"][0].update(sharing="fifo"), "own bandwidth"),
    (lambda d: d["nodes"][0].update(concurrency=1), "never wait locally"),
])
def test_not_applicable_outside_seed_000s_model(change, match):
    d = shi2021_dict(0)
    change(d)
    sc = scenario_from_dict(d)
    for name in ("gspi", "gspi-online", "server-only"):
        with pytest.raises(NotApplicableError, match=match):
            get_planner(name).plan(sc)


def test_bad_parameters_are_refused():
    sc = paper_scenario(5)
    with pytest.raises(ValueError, match="polish"):
        get_planner("gspi", polish="sometimes").plan(sc)
    with pytest.raises(ValueError, match="wait"):
        get_planner("gspi", wait="guess").plan(sc)


def test_a_real_runs_controller_prepares_gspi_online_and_decides_the_same():
    """The controller asks an online planner to ``prepare`` each kind of task it expects
    (GSPI-online builds its strategy sets), so that the first ``Decide`` does not build them;
    preparing changes no decision."""
    from splitinfer.planners.shi2021.gspi import GSPIOnlinePlanner
    from splitinfer.runtime.controller import Controller
    from splitinfer.runtime.fidelity import fidelity_scenario
    from splitinfer.system.load import scenario_from_dict

    sc = scenario_from_dict(fidelity_scenario("fidelity-shi2021"))
    ctl = Controller(sc, "gspi-online")
    kinds = {(t.device, t.model, t.samples) for t in sc.tasks}
    assert set(ctl.planner._state.options._grouped) == kinds
    plain = Controller(sc, "gspi-online")
    plain.planner = GSPIOnlinePlanner()
    plain.planner.start(plain.view)  # started, not prepared
    assert not plain.planner._state.options._grouped
    for t in sc.tasks:
        assert ctl.decide(t, t.arrival) == plain.decide(t, t.arrival)
    with pytest.raises(RuntimeError, match="before prepare"):
        GSPIOnlinePlanner().prepare(sc.tasks[0])
