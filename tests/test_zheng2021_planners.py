"""Seed 004 (DMCJIA): the P1 model, the share subproblem (exact and augmented Lagrangian), the
branch-and-bound yardstick, the GA, the baselines, and P1 against a long Poisson simulation."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.optimize import minimize

from splitinfer.errors import NotApplicableError
from splitinfer.planners import get_planner, planner_info
from splitinfer.planners.zheng2021.branch_and_bound import branch_and_bound
from splitinfer.planners.zheng2021.dmcjia import no_wait_bound, p1_of_plan
from splitinfer.planners.zheng2021.genetic import bits_per_node, decode, run_ga
from splitinfer.planners.zheng2021.lagrangian import augmented_lagrangian_shares
from splitinfer.planners.zheng2021.problem import DmcjiaProblem, arrival_rates
from splitinfer.planners.zheng2021.queueing import edge_cloud_delays, p1_objective, tandem_delay
from splitinfer.planners.zheng2021.shares import cloud_sojourn, optimal_shares
from splitinfer.sim import simulate
from splitinfer.system.load import scenario_from_dict
from splitinfer.system.plan import Plan, TaskPlan
from splitinfer.testing.family_zheng2021 import small_zheng2021, small_zheng2021_dict


# ----------------------------------------------------------------- the P1 model (eqs. 3-1..3-7)
def test_p1_by_hand():
    # node 0: 2 FLOPs at 4 FLOP/s (mu = 2), 1e5 B at 8 Mbit/s, 2 FLOPs on half of 10 FLOP/s
    d = edge_cloud_delays([1.0, 0.5], 4.0, [2.0, 0.0], [1e5, 2e5], 8e6, 10.0, [2.0, 4.0],
                          [0.5, 0.5])
    edge0 = 1.0 / (2 * 2 * (2 - 1)) + 1 / 2          # eq. 3-2
    cloud0 = 1.0 / (2 * 2.5 * 1.5) + 1 / 2.5         # eqs. 3-4, 3-5
    cloud1 = 0.5 / (2 * 1.25 * 0.75) + 1 / 1.25
    assert d.edge.tolist() == pytest.approx([edge0, 0.0])
    assert d.trans.tolist() == pytest.approx([0.1, 0.2])
    assert d.cloud.tolist() == pytest.approx([cloud0, cloud1])
    p1 = p1_objective([1.0, 0.5], 4.0, [2.0, 0.0], [1e5, 2e5], 8e6, 10.0, [2.0, 4.0], [0.5, 0.5])
    assert p1 == pytest.approx((edge0 + 0.1 + cloud0 + 0.2 + cloud1) / 2)


@pytest.mark.parametrize("case", [
    dict(lam=2.0, head=2.0, share=0.5),      # edge: lambda = mu
    dict(lam=1.0, head=2.0, share=0.1),      # cloud share: mu = 0.5 < lambda
    dict(lam=1.0, head=2.0, share=0.0),      # work left and no share
])
def test_unstable_queues_are_infinite_never_finite(case):
    d = edge_cloud_delays(case["lam"], 4.0, case["head"], 0.0, 1.0, 10.0, 2.0, case["share"])
    assert math.isinf(float(d.total)) and float(d.total) > 0
    assert not bool(d.stable)
    assert math.isinf(p1_objective(case["lam"], 4.0, case["head"], 0.0, 1.0, 10.0, 2.0,
                                   case["share"]))


def test_shares_above_capacity_make_p1_infeasible():
    assert math.isinf(p1_objective([1, 1], 4.0, [1, 1], 0, 1, 10.0, [1, 1], [0.6, 0.6]))


def test_paper_p4_form_with_the_missing_x():
    # eq. 3-11 prints (X^2 - 1) / (2 lambda); with X = lambda / mu - 1 it is (X^2 - 1) / (2 lambda X)
    lam, mu = 0.7, 2.3
    X = lam / mu - 1
    assert (X * X - 1) / (2 * lam * X) == pytest.approx(lam / (2 * mu * (mu - lam)) + 1 / mu)
    assert (X * X - 1) / (2 * lam) != pytest.approx(lam / (2 * mu * (mu - lam)) + 1 / mu)


# ----------------------------------------------------------------- the share problem P4
def _random_p4(rng, n):
    lam = rng.choice([0.5, 1.0, 2.0], n)
    work = rng.uniform(1e8, 4e9, n) * (rng.random(n) < 0.8)
    return lam, work, float(rng.uniform(2e10, 8e10))


def test_exact_shares_match_slsqp_and_satisfy_kkt():
    rng = np.random.default_rng(5)
    for _ in range(8):
        lam, work, F = _random_p4(rng, int(rng.integers(1, 7)))
        if (lam * work / F).sum() >= 0.95 or not (work > 0).any():
            continue
        a = optimal_shares(lam, work, F)
        assert a.feasible and a.kkt_residual < 1e-8
        assert a.delta.sum() <= 1 + 1e-12 and (a.delta[work == 0] == 0).all()
        busy = work > 0
        floor = lam[busy] * work[busy] / F * 1.0001
        x0 = floor + (1 - floor.sum()) / busy.sum()
        lb, wb, n = lam[busy], work[busy], len(lam)
        ref = minimize(lambda d, lb=lb, wb=wb, F=F, n=n: cloud_sojourn(lb, wb, F, d).sum() / n, x0,
                       method="SLSQP", bounds=[(f, 1) for f in floor],
                       constraints=[{"type": "ineq", "fun": lambda d: 1 - d.sum()}],
                       options={"ftol": 1e-14, "maxiter": 500})
        assert a.value <= ref.fun * (1 + 1e-9)
        assert a.value == pytest.approx(ref.fun, rel=1e-6)


def test_exact_shares_infeasible_when_the_cloud_is_overloaded():
    a = optimal_shares([1.0, 1.0], [6e9, 5e9], 1e10)
    assert not a.feasible and math.isinf(a.value)


def test_augmented_lagrangian_reaches_the_kkt_optimum():
    rng = np.random.default_rng(11)
    seen = 0
    for _ in range(12):
        lam, work, F = _random_p4(rng, int(rng.integers(1, 9)))
        if (lam * work / F).sum() >= 0.95:
            continue
        al = augmented_lagrangian_shares(lam, work, F)
        ex = optimal_shares(lam, work, F)
        assert al.feasible
        assert al.delta.sum() <= 1 + 1e-12                      # C1 holds in code
        busy = work > 0
        assert (lam[busy] * work[busy] / (al.delta[busy] * F) < 1).all()   # stable
        assert al.value == pytest.approx(ex.value, rel=1e-6)
        assert al.value >= ex.value * (1 - 1e-12)               # never below the optimum
        seen += 1
    assert seen >= 6


def test_augmented_lagrangian_reports_infeasible_and_uses_the_lower_bounds():
    assert not augmented_lagrangian_shares([1.0, 1.0], [6e9, 5e9], 1e10).feasible
    al = augmented_lagrangian_shares([1.0, 1.0], [1e9, 1e9], 1e10, lower=[0.7, 0.0])
    assert al.delta[0] >= 0.7 - 1e-12 and al.delta.sum() <= 1 + 1e-12


# ----------------------------------------------------------------- branch and bound vs brute force
def _brute(E, W, lam, F):
    n = len(E)
    best = math.inf
    for g in itertools.product(*[range(len(e)) for e in E]):
        e = sum(E[d][g[d]] for d in range(n)) / n
        if not math.isfinite(e):
            continue
        a = optimal_shares(lam, [W[d][g[d]] for d in range(n)], F, mean_over=n)
        best = min(best, e + a.value)
    return best


def test_branch_and_bound_equals_brute_force():
    rng = np.random.default_rng(2)
    for _ in range(4):
        sc = small_zheng2021(int(rng.integers(100, 10000)))
        pb = DmcjiaProblem.from_scenario(sc)
        res = branch_and_bound(pb.edge_term, pb.tail_flops, pb.lam, pb.cloud_speed)
        ref = _brute(pb.edge_term, pb.tail_flops, pb.lam, pb.cloud_speed)
        assert res.optimal and res.value == pytest.approx(ref, rel=1e-9)
        assert res.bound <= res.value * (1 + 1e-12)


def test_exact_planner_is_a_registered_yardstick_with_a_valid_simulated_bound():
    assert planner_info("dmcjia-exact").exact
    sc = small_zheng2021(0)
    plan = get_planner("dmcjia-exact").plan(sc)
    assert plan.info["optimal"] is True and plan.info["kkt_residual"] < 1e-8
    assert plan.info["bound"] == pytest.approx(no_wait_bound(sc))
    for name in ("dmcjia-exact", "greedy", "cloud-only", "zheng-neurosurgeon", "local"):
        sim = simulate(sc, get_planner(name).plan(sc)).mean_latency
        assert sim >= plan.info["bound"] * (1 - 1e-9)


# ----------------------------------------------------------------- the GA
def test_binary_coding_reaches_every_cut():
    for n in (1, 2, 3, 5, 20, 21, 40):
        (b,) = bits_per_node((n,))
        cuts = {decode(np.array([int(x) for x in format(v, f"0{b}b")]), (n,))[0]
                for v in range(2 ** b)}
        assert cuts == set(range(n))


def test_ga_is_deterministic_under_its_seed_and_records_history():
    f = lambda g: float(sum((x - 3) ** 2 for x in g))  # noqa: E731
    a = run_ga(f, (7, 7, 7, 7), pop_size=12, generations=6, seed=3)
    b = run_ga(f, (7, 7, 7, 7), pop_size=12, generations=6, seed=3)
    assert a.gamma == b.gamma and a.history == b.history
    best = [h["best"] for h in a.history]
    assert len(best) == 7 and all(x >= y for x, y in zip(best, best[1:], strict=False))


@pytest.mark.parametrize("seed", [0, 1])
def test_dmcjia_within_one_percent_of_the_optimum_on_small_d(seed):
    sc = small_zheng2021(seed)
    opt = get_planner("dmcjia-exact").plan(sc).info["objective_p1"]
    plan = get_planner("dmcjia", seed=seed).plan(sc)   # the paper's K=50, N=32, AL inner
    assert plan.info["objective_p1"] <= opt * 1.01
    assert plan.info["objective_p1"] >= opt * (1 - 1e-9)
    assert p1_of_plan(sc, plan)[0] == pytest.approx(plan.info["objective_p1"])


def test_dmcjia_al_and_kkt_inner_agree_on_the_paper_model():
    from splitinfer.experiments.zheng2021 import paper_scenario

    sc = paper_scenario(nodes=4, edge_gmacs=(5.0, 9.0), bandwidth_mbps=3.0, horizon=3.0, seed=2)
    a = get_planner("dmcjia", pop_size=12, generations=4, seed=1).plan(sc)
    b = get_planner("dmcjia", pop_size=12, generations=4, seed=1, inner="kkt").plan(sc)
    assert a.info["gamma"] == b.info["gamma"]
    assert a.info["objective_p1"] == pytest.approx(b.info["objective_p1"], rel=1e-6)


# ----------------------------------------------------------------- baselines
def test_greedy_least_transfer_and_proportional_shares():
    sc = small_zheng2021(2)
    plan = get_planner("greedy").plan(sc)
    pb = DmcjiaProblem.from_scenario(sc)
    loads = []
    for k, d in enumerate(pb.nodes):
        g = plan.info["gamma"][d]
        model = sc.models[pb.models[k]]
        sent = [float(model.transfer_bytes[c]) for c in range(model.last_cut)]
        assert sent[g] == min(sent)
        loads.append(pb.lam[k] * pb.tail_flops[k][g])
    shares = np.array([plan.info["delta"][d] for d in pb.nodes])
    assert shares == pytest.approx(np.array(loads) / sum(loads))


def test_cloud_only_alias_is_the_common_planner():
    sc = small_zheng2021(1)
    assert get_planner("cloud-only").plan(sc).tasks == get_planner("cloud").plan(sc).tasks
    shares = [tp.share for tp in get_planner("cloud-only").plan(sc).tasks.values()]
    assert shares == pytest.approx([1 / len(sc.devices)] * len(shares))


def test_zheng_neurosurgeon_is_load_aware_with_equal_shares():
    """Per node the cut with the least T_d on a 1/|D| share: never above the queue-blind
    ``neurosurgeon`` in P1, strictly below it where its queues matter (seeds 2 and 3)."""
    strictly = 0
    for seed in range(6):
        sc = small_zheng2021(seed)
        pb = DmcjiaProblem.from_scenario(sc)
        plan = get_planner("zheng-neurosurgeon").plan(sc)
        gamma, delta = pb.read_plan(sc, plan)
        offload = np.array([pb.tail_flops[k][g] > 0 for k, g in enumerate(gamma)])
        assert delta[offload] == pytest.approx(np.full(offload.sum(), 1 / pb.size))
        eq = np.full(pb.size, 1 / pb.size)
        per = pb.per_node(gamma, eq)
        for choice in itertools.product(*(range(n) for n in pb.num_cuts)):  # per node, no better cut
            assert (pb.per_node(choice, eq) >= per * (1 - 1e-12)).all()
        blind = p1_of_plan(sc, get_planner("neurosurgeon").plan(sc))[0]
        assert plan.info["objective_p1"] <= blind * (1 + 1e-12)
        strictly += plan.info["objective_p1"] < blind * (1 - 1e-6)
    assert strictly >= 1


# ----------------------------------------------------------------- applicability
def test_not_applicable_outside_the_model():
    d = small_zheng2021_dict(0)
    d["links"][0]["sharing"] = "fifo"
    with pytest.raises(NotApplicableError, match="dedicated"):
        get_planner("dmcjia").plan(scenario_from_dict(d))
    d = small_zheng2021_dict(0)
    d["nodes"][-1]["divisible"] = False
    with pytest.raises(NotApplicableError, match="divisible"):
        get_planner("dmcjia-exact").plan(scenario_from_dict(d))


def test_overloaded_system_is_reported_infeasible():
    d = small_zheng2021_dict(0)
    for node in d["nodes"]:   # every node and the cloud far too slow for its arrivals
        node["compute"]["flops_per_s"] /= 200.0
    sc = scenario_from_dict(d)
    for name in ("dmcjia", "dmcjia-exact"):
        with pytest.raises(NotApplicableError, match="stable"):
            get_planner(name, **({"pop_size": 8, "generations": 2} if name == "dmcjia" else {})
                        ).plan(sc)
    greedy = get_planner("greedy").plan(sc)
    assert math.isinf(greedy.info["objective_p1"]) and greedy.info["stable"] is False


def test_arrival_rates_given_or_estimated():
    d = small_zheng2021_dict(1, tasks_per_node=3)
    given = d["extra"]["dmcjia"]["arrival_rates"]
    assert arrival_rates(scenario_from_dict(d)) == given
    d.pop("extra")
    sc = scenario_from_dict(d)
    horizon = max(t.arrival for t in sc.tasks)
    assert arrival_rates(sc) == {dev: pytest.approx(3 / horizon) for dev in given}


# ----------------------------------------------------------------- two paths: P1 vs simulation
def _long_scenario(head_fraction, cloud_speed=6e9):
    """3 nodes, 6000 Poisson tasks each; utilisations 0.4-0.6; all cuts given by hand."""
    nodes, links, models, gens, rates = [], [], {}, [], {}
    lams = [0.5, 1.0, 2.0]
    for k, lam in enumerate(lams):
        total = 1e9
        nodes.append({"name": f"e{k}", "kind": "device", "concurrency": 1,
                      "compute": {"flops_per_s": total * lam / (0.4 + 0.1 * k)}})
        links.append({"src": f"e{k}", "dst": "cloud", "bandwidth": 8e6, "sharing": "dedicated"})
        models[f"m{k}"] = {"cuts": [{"transfer_bytes": 2e5, "head_flops": 0.0},
                                    {"transfer_bytes": 5e4, "head_flops": total * head_fraction},
                                    {"transfer_bytes": 100, "head_flops": total}]}
        gens.append({"kind": "poisson", "devices": [f"e{k}"], "model": f"m{k}", "rate": lam,
                     "count": 6000})
        rates[f"e{k}"] = lam
    nodes.append({"name": "cloud", "kind": "cloud", "compute": {"flops_per_s": cloud_speed},
                  "divisible": True})
    return scenario_from_dict({"result_return": 0.0, "nodes": nodes, "links": links,
                               "models": models, "workload": {"seed": 7, "generators": gens},
                               "extra": {"dmcjia": {"arrival_rates": rates}}})


def _plan(sc, cut, shares):
    tasks = {}
    for t in sc.tasks:
        k = int(t.device[1:])
        if cut == 2:
            tasks[t.id] = TaskPlan(t.id, (t.device,), ())
        else:
            tasks[t.id] = TaskPlan(t.id, (t.device, "cloud"), (cut,), share=shares[k])
    return Plan("by-hand", tasks)


def _per_node_sim(sc, plan):
    """Simulated mean latency per node, in the problem's node order."""
    res = simulate(sc, plan)
    out = {}
    for rec in res.tasks:
        out.setdefault(rec.device, []).append(rec.finish - rec.arrival)
    return np.array([np.mean(out[d]) for d in DmcjiaProblem.from_scenario(sc).nodes])


@pytest.mark.parametrize("cut", [0, 2])
def test_p1_agrees_with_a_long_poisson_simulation(cut):
    """Cloud-only (Poisson input to each share) and all-local: eq. 3-6 is exact there."""
    sc = _long_scenario(0.5)
    plan = _plan(sc, cut, [0.2, 0.3, 0.5])
    value, per = p1_of_plan(sc, plan)
    sim = _per_node_sim(sc, plan)
    assert np.all(np.abs(sim / per - 1) < 0.04), (sim, per)
    assert abs(sim.mean() / value - 1) < 0.03


def test_split_plan_tandem_and_p1_against_the_simulation():
    """A split plan with shares faster than the edge: no cloud waiting, as tandem_delay says;
    P1 (eq. 3-5 assumes Poisson input to the cloud) overestimates."""
    sc = _long_scenario(0.5, cloud_speed=1.2e10)
    plan = _plan(sc, 1, [0.2, 0.3, 0.5])
    pb = DmcjiaProblem.from_scenario(sc)
    gamma, delta = pb.read_plan(sc, plan)
    _, w, c = pb.gather(gamma)
    tt = np.array([pb.transfer_time[k][1] for k in range(3)])
    delays = edge_cloud_delays(pb.lam, pb.edge_speed, c, tt, 8.0, pb.cloud_speed, w, delta)
    exact = tandem_delay(delays)
    assert np.isfinite(exact).all()
    sim = _per_node_sim(sc, plan)
    assert np.all(np.abs(sim / exact - 1) < 0.04), (sim, exact)
    assert np.all(delays.total > exact) and np.all(sim < delays.total)
    waits = [s.start - s.ready for rec in simulate(sc, plan).tasks for s in rec.stages
             if s.resource and s.resource.startswith("cloud#")]
    assert max(waits) < 1e-9
