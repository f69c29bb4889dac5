"""DeePar (seed 002): delay model, W, Alg. 1, the exact assignment (20)-(25), the baselines."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from splitinfer.errors import NotApplicableError
from splitinfer.planners import get_planner
from splitinfer.planners.huang2019.assignment import solve_assignment
from splitinfer.planners.huang2019.deepar import (
    DeeparExactPlanner,
    capacities,
    demands,
    relaxation_bound,
)
from splitinfer.planners.huang2019.delay import (
    Choice,
    TaskCurves,
    brute_force_best,
    deepar_plan,
    option_list,
    toy_three_tier,
)
from splitinfer.planners.huang2019.ledger import Ledger
from splitinfer.sim import simulate, simulate_online
from splitinfer.system.load import scenario_from_dict
from splitinfer.system.stages import no_wait_latency
from splitinfer.testing.family_huang2019 import small_huang2019, small_huang2019_dict


def _toy(tasks=1, samples=1):
    return scenario_from_dict(toy_three_tier(tasks, samples))


# ----------------------------------------------------------------------------- delay model
def test_six_components_of_eqs_1_to_6_by_hand():
    sc = _toy(samples=3)
    curves = TaskCurves(sc, sc.tasks[0])
    hybrid = option_list(sc)[3]
    ch = curves.best(hybrid, 8e6, 4e6)
    assert (ch.c1, ch.c2) == (1, 2)
    n = 3
    t1 = 1e8 / 1e9                    # device: layers before c1 (eq. 1)
    t2 = 1e5 * 8 / 8e6                # G(c1) / b1 (eq. 2)
    t3 = (1e9 - 1e8) / 1e10           # edge: c1..c2 (eq. 3)
    t4 = 1e3 * 8 / 4e6                # G(c2) / b2 (eq. 4)
    t5 = (6e9 - 1e9) / 1e11           # cloud: c2..l (eq. 5)
    t6 = 1e2 * 8 / 4e6 + 1e2 * 8 / 8e6  # result back at b2 then b1 (eq. 6)
    assert ch.delay == pytest.approx(n * (t1 + t2 + t3 + t4 + t5 + t6), rel=1e-12)
    tp = deepar_plan(sc, sc.tasks[0], ch)
    assert no_wait_latency(sc, sc.tasks[0], tp) == pytest.approx(ch.delay, rel=1e-12)


@pytest.mark.parametrize("seed", range(8))
def test_separable_search_equals_literal_exhaustive_search(seed):
    sc = small_huang2019(seed)
    rng = np.random.default_rng(seed)
    for task in sc.tasks:
        curves = TaskCurves(sc, task)
        for o in option_list(sc):
            cap1, cap2 = curves.link_caps(o) if curves.feasible(o) else (None, None)
            b1 = cap1 * float(rng.uniform(0.05, 1.0)) if cap1 else None
            b2 = cap2 * float(rng.uniform(0.05, 1.0)) if cap2 else None
            for first in (None, 0):
                fast = curves.best(o, b1, b2, first_cut=first)
                slow = brute_force_best(curves, o, b1, b2, first_cut=first)
                assert (fast is None) == (slow is None), (seed, task.id, o.label)
                if fast is not None:
                    assert fast.delay == pytest.approx(slow.delay, rel=1e-9, abs=1e-12)
                    tp = deepar_plan(sc, task, fast)
                    assert no_wait_latency(sc, task, tp) == pytest.approx(fast.delay, rel=1e-9)


def test_options_are_the_3m_plus_1_columns_of_W_and_respect_E_i():
    sc = small_huang2019(2)
    m = len(sc.edges)
    opts = option_list(sc)
    assert len(opts) == 3 * m + 1 and [o.j for o in opts] == list(range(3 * m + 1))
    assert [o.kind for o in opts[1:m + 1]] == ["edge"] * m
    assert [(o.x, o.y, o.z) for o in opts[2 * m + 1:]] == [(True, True, True)] * m
    for task in sc.tasks:
        curves = TaskCurves(sc, task)
        for o in opts[1:]:
            assert (curves.best(o) is not None) == (o.edge in sc.reachable_servers(task.device))


def test_backbone_cap_from_extra_limits_b2():
    d = toy_three_tier()
    d["extra"] = {"deepar": {"backbone_cap": {"d0": "2Mbps"}}}
    sc = scenario_from_dict(d)
    curves = TaskCurves(sc, sc.tasks[0])
    assert curves.link_caps(option_list(sc)[3]) == (8e6, 2e6)


def test_input_bytes_overrides_the_raw_input_only():
    d = toy_three_tier()
    d["models"]["m"]["input_bytes"] = "50KB"
    m = scenario_from_dict(d).models["m"]
    assert m.transfer_bytes.tolist() == [5e4, 1e5, 1e3, 1e2]


# ----------------------------------------------------------------------------- ledger
def test_ledger_touching_intervals_do_not_overlap_and_peaks_are_exact():
    book = Ledger({"pool:p": 10.0, "slot:e": 1})
    book.book(0.0, 1.0, {"pool:p": 6.0, "slot:e": 1})
    book.book(1.0, 2.0, {"pool:p": 6.0, "slot:e": 1})
    book.book(0.5, 1.5, {"pool:p": 3.0})
    assert book.peak("pool:p", 0.0, 0.4) == 6.0
    assert book.peak("pool:p", 0.0, 2.0) == 9.0
    assert book.fits({"slot:e": 1}, 2.0, 3.0) and not book.fits({"slot:e": 1}, 1.9, 3.0)
    assert book.residual("slot:other", 0, 1) == math.inf
    book.forget(1.0)
    assert len(book) == 2 and book.times_after(0.0) == [0.5, 1.0, 1.5, 2.0]


# ----------------------------------------------------------------------------- Alg. 1
def _deepar_run(sc, **params):
    planner = get_planner("deepar", **params)
    plan, result = simulate_online(sc, planner)
    return planner, plan, result


@pytest.mark.parametrize("seed", range(6))
def test_alg1_prediction_equals_simulation_and_holdings_fit(seed):
    sc = scenario_from_dict(small_huang2019_dict(seed, max_tasks=20))
    planner, plan, result = _deepar_run(sc)
    sim = {r.id: r for r in result.tasks}
    for tid, d in planner.decisions.items():
        assert sim[tid].latency == pytest.approx(d["latency"], rel=1e-9, abs=1e-9)
        assert d["latency"] == pytest.approx(d["wait"] + d["w"], rel=1e-9)
        # nothing waits inside the simulator: Alg. 1's bookings leave every stage free
        assert sim[tid].stages[0].start == pytest.approx(d["start"], abs=1e-9)
    # an independent sweep over the bookings: pools and r_e never exceeded over time
    cap = capacities(sc)
    spans = []
    for t in sc.tasks:
        d = planner.decisions[t.id]
        option = option_list(sc)[d["j"]]
        spans.append((d["start"], sim[t.id].finish, demands(sc, t, option, d["b1"], d["b2"])))
    for t0 in sorted({s for s, _, _ in spans}):
        used: dict[str, float] = {}
        for s, e, need in spans:
            if s <= t0 + 1e-9 < e:
                for k, v in need.items():
                    used[k] = used.get(k, 0.0) + v
        for k, v in used.items():
            assert v <= cap.get(k, math.inf) * (1 + 1e-9), (seed, t0, k, v)
    for t in sc.tasks:  # bandwidths within the per-task caps (eq. 11)
        d = planner.decisions[t.id]
        curves = TaskCurves(sc, t)
        c1, c2 = curves.link_caps(option_list(sc)[d["j"]])
        assert d["b1"] is None or 0 < d["b1"] <= c1 * (1 + 1e-12)
        assert d["b2"] is None or 0 < d["b2"] <= c2 * (1 + 1e-12)


def test_delayed_scheduling_waits_for_a_freed_resource_and_it_pays():
    sc = _toy(tasks=3)
    planner, _, delayed = _deepar_run(sc)
    assert [round(d["wait"], 4) for d in planner.decisions.values()] == [0.0, 0.0, 0.3412]
    _, _, eager = _deepar_run(sc, delayed=False)
    assert eager.tasks[2].latency == pytest.approx(6.0)  # nothing fits at once but the device
    assert delayed.mean_latency < eager.mean_latency


def test_alg1_takes_the_earliest_best_event_and_the_max_allocable_bandwidth():
    sc = _toy(tasks=2)
    planner, _, _ = _deepar_run(sc)
    d0, d1 = planner.decisions["t0"], planner.decisions["t1"]
    assert (d0["b1"], d0["b2"]) == (8e6, 8e6)
    assert (d1["b1"], d1["b2"]) == (8e6, 2e6)  # what the backbone pool has left
    assert d1["start"] == 0.0


def test_baselines_run_only_their_scheme():
    sc = small_huang2019(1)
    edge = get_planner("deepar-edge-only").plan(sc)
    cloud = get_planner("deepar-cloud-only").plan(sc)
    assert all(len(tp.nodes) == 2 and tp.cuts == (0,) for tp in edge.tasks.values())
    assert all(tp.nodes[-1] == "cloud" and tp.cuts == (0, 0) for tp in cloud.tasks.values())
    local = get_planner("deepar-device-only").plan(sc)
    assert local.planner == "deepar-device-only" and all(tp.is_local for tp in local.tasks.values())
    assert get_planner("deepar-edge-only").get_params() == {"scheme": "edge", "delayed": True,
                                                            "line12": None, "preset": "improved"}


def test_deepar_is_never_worse_than_its_restricted_baselines_on_a_single_task():
    for seed in range(6):
        d = small_huang2019_dict(seed)
        d["workload"]["tasks"] = d["workload"]["tasks"][:1]
        sc = scenario_from_dict(d)
        ours = simulate_online(sc, get_planner("deepar"))[1].mean_latency
        for base in ("deepar-edge-only", "deepar-cloud-only", "deepar-device-only"):
            p = get_planner(base)
            other = (simulate_online(sc, p)[1] if p.online else simulate(sc, p.plan(sc))).mean_latency
            assert ours <= other * (1 + 1e-12)


def test_not_applicable_and_infeasible_cases():
    d = toy_three_tier()
    d["nodes"].append({"name": "cloud2", "kind": "cloud", "compute": {"flops_per_s": 1e11}})
    with pytest.raises(NotApplicableError, match="one cloud"):
        get_planner("deepar").plan(scenario_from_dict(d))
    d = toy_three_tier()
    d["nodes"][-1]["divisible"] = True
    with pytest.raises(NotApplicableError, match="divisible"):
        get_planner("deepar-exact").plan(scenario_from_dict(d))
    d = toy_three_tier()
    d["workload"]["tasks"].append(dict(d["workload"]["tasks"][0]))
    with pytest.raises(NotApplicableError, match="one task per device"):
        get_planner("deepar-exact").plan(scenario_from_dict(d))
    d = toy_three_tier()
    d["nodes"].insert(0, {"name": "lonely", "kind": "device", "compute": {"flops_per_s": 1e9}})
    d["workload"]["tasks"] = [{"device": "lonely", "model": "m"}]
    with pytest.raises(NotApplicableError, match="reaches no edge"):
        get_planner("deepar-edge-only").plan(scenario_from_dict(d))
    with pytest.raises(ValueError, match="scheme"):
        get_planner("deepar", scheme="fog").plan(_toy())


# ----------------------------------------------------------------------------- exact
def _brute_force_assignment(W, demand, cap):
    n = len(W)
    best = math.inf
    cols = [[j for j in range(len(W[i])) if math.isfinite(W[i][j])] for i in range(n)]
    for pick in itertools.product(*cols):
        used: dict[str, float] = {}
        for i, j in enumerate(pick):
            for k, v in demand[(i, j)].items():
                used[k] = used.get(k, 0.0) + v
        if all(v <= cap.get(k, math.inf) * (1 + 1e-9) for k, v in used.items()):
            best = min(best, sum(W[i][j] for i, j in enumerate(pick)))
    return best


@pytest.mark.parametrize("seed", range(6))
def test_exact_assignment_equals_brute_force_and_simulates_to_it(seed):
    d = small_huang2019_dict(seed, max_tasks=4)
    sc = scenario_from_dict(d)
    plan = DeeparExactPlanner().plan(sc)
    assert plan.info["optimal"]
    # rebuild W and the demands exactly as the planner does, then enumerate
    W, demand = [], {}
    for i, task in enumerate(sc.tasks):
        curves = TaskCurves(sc, task)
        row = []
        for o in option_list(sc):
            ch = DeeparExactPlanner._at_caps(sc, curves, o)
            if ch is None:
                row.append(math.inf)
                continue
            row.append(no_wait_latency(sc, task, deepar_plan(sc, task, ch)))
            demand[(i, o.j)] = demands(sc, task, o, ch.b1, ch.b2)
        W.append(row)
    assert plan.info["assignment_total_s"] == pytest.approx(
        _brute_force_assignment(W, demand, capacities(sc)), rel=1e-9)
    result = simulate(sc, plan)  # (21)-(23) hold at every instant, so no task ever waits
    assert result.latencies.sum() == pytest.approx(plan.info["assignment_total_s"], rel=1e-9)
    assert plan.info["bound"] <= result.mean_latency * (1 + 1e-12)


def test_solve_assignment_respects_capacities_and_marks_infeasible_options():
    W = np.array([[5.0, 1.0, math.inf], [5.0, 1.0, 2.0], [5.0, 1.0, 3.0]])
    demand = {(i, j): {"slot:e": 1.0} for i in range(3) for j in (1, 2)}
    demand.update({(i, 2): {"pool:p": 1.0} for i in (1, 2)})
    sol = solve_assignment(W, demand, {"slot:e": 2, "pool:p": 1.0})
    # two tasks take the slots (option 1), the third the pool (option 2): the cheapest such
    assert sol.optimal and sol.choice == [1, 2, 1] and sol.objective == pytest.approx(4.0)
    with pytest.raises(ValueError, match="no feasible option"):
        solve_assignment(np.array([[math.inf]]), {}, {})


def test_relaxation_bound_is_below_every_plan_and_tight_for_one_task():
    sc = _toy(tasks=1)
    assert relaxation_bound(sc) == pytest.approx(0.3412)
    sc3 = _toy(tasks=3)
    for name in ("deepar", "deepar-exact", "deepar-edge-only", "local"):
        p = get_planner(name)
        res = simulate_online(sc3, p)[1] if p.online else simulate(sc3, p.plan(sc3))
        assert res.mean_latency >= relaxation_bound(sc3) - 1e-12


def test_plans_round_trip_and_carry_steps_at_reserved_rates():
    sc = _toy(tasks=2)
    plan = get_planner("deepar").plan(sc)
    from splitinfer.system.plan import Plan

    assert Plan.from_dict(plan.to_dict()).tasks == plan.tasks
    tp = plan.tasks["t1"]
    rates = [s.rate for s in tp.steps if s.kind == "transfer"]
    assert rates == [8e6, 2e6, 2e6, 8e6] and tp.bandwidth == (8e6, 2e6)
    assert isinstance(Choice(option_list(sc)[0], 3, 3, None, None, 1.0).delay, float)


@pytest.mark.parametrize("dtype", ["float16", "int8"])
def test_delay_model_times_compressed_links_in_their_wire_bytes(dtype):
    """A link whose wire dtype is compressed carries fewer bytes (``wire_bytes``); the delay
    model times them as the simulator does, so the best cut pair is the simulator's best and
    Alg. 1's prediction (wait + w) is the simulated latency."""
    d = small_huang2019_dict(3, max_tasks=12)
    for link in d["links"]:
        link["dtype"] = dtype
    sc = scenario_from_dict(d)
    for task in sc.tasks:
        curves = TaskCurves(sc, task)
        for o in option_list(sc):
            fast, slow = curves.best(o), brute_force_best(curves, o)
            assert (fast is None) == (slow is None)
            if fast is not None and o.kind != "device":
                assert fast.delay == pytest.approx(slow.delay, rel=1e-9, abs=1e-12)
                assert no_wait_latency(sc, task, deepar_plan(sc, task, fast)) == \
                    pytest.approx(fast.delay, rel=1e-9)
    planner, _, result = _deepar_run(sc)
    sim = {r.id: r for r in result.tasks}
    for tid, dec in planner.decisions.items():
        assert sim[tid].latency == pytest.approx(dec["wait"] + dec["w"], rel=1e-9)
