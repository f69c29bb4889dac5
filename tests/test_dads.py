"""DADS: min-cut partitions against brute force over closed head sets; chains; profiles."""

from __future__ import annotations

import dataclasses
import itertools
import json

import numpy as np
import pytest

from splitinfer.planners import get_planner
from splitinfer.planners.classic.dads import CutGraph, cut_graph, head_latency, min_cut_head
from splitinfer.planners.common.options import chain_options
from splitinfer.profile.format import example_profile_dict
from splitinfer.sim import simulate
from splitinfer.system import Plan, scenario_from_dict
from splitinfer.system.stages import no_wait_latency
from splitinfer.testing.random import random_chain_scenario, random_dag_scenario, random_layer_dag


def _closed_sets(n, consumers):
    preds = {j: [i for i, users in consumers.items() if j in users and i >= 0] for j in range(n)}
    for r in range(n + 1):
        for head in itertools.combinations(range(n), r):
            h = set(head)
            if all(p in h for j in h for p in preds[j]):
                yield frozenset(h)


def _random_graph(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 10))
    consumers: dict[int, list[int]] = {}
    for i, j in random_layer_dag(rng, n):
        consumers.setdefault(i, []).append(j)
    return CutGraph("layers", "d", "s", rng.uniform(0.0, 1.0, n), rng.uniform(0.0, 0.3, n),
                    {v: tuple(u) for v, u in consumers.items()},
                    {v: float(rng.uniform(0, 2e5)) for v in consumers}, (n - 1,),
                    float(rng.uniform(1e-7, 1e-5)), float(rng.uniform(0, 0.05)),
                    float(rng.uniform(0, 0.1)), None)


@pytest.mark.parametrize("seed", range(25))
def test_min_cut_is_the_best_closed_head_set(seed):
    g = _random_graph(seed)
    head = min_cut_head(g)
    best = min(head_latency(g, h) for h in _closed_sets(g.n, g.consumers))
    assert head in set(_closed_sets(g.n, g.consumers))
    assert head_latency(g, head) == pytest.approx(best, rel=1e-9, abs=1e-12)


def test_multi_consumer_tensor_is_counted_once():
    # the input is read by both layers; device is slow. Sending the input once (10 s) and
    # running both on the server (0.2 s) beats keeping either layer (12 s each) — but only if
    # the input is counted once: twice would make 20.2 s > 12 + 10 + 0.1.
    g = CutGraph("layers", "d", "s", np.array([12.0, 12.0]), np.array([0.1, 0.1]),
                 {-1: (0, 1)}, {-1: 10.0}, (0, 1), 1.0, 0.0, 0.0, None)
    assert min_cut_head(g) == frozenset()
    assert head_latency(g, frozenset()) == pytest.approx(10.2)


def test_head_is_closed_even_when_an_open_set_would_be_cheaper():
    # 0 -> 1 with 1 very cheap on the device and 0 very cheap on the server: {1} alone would
    # cost 0 + nothing sent back, but the device cannot run 1 without 0's output.
    g = CutGraph("layers", "d", "s", np.array([5.0, 0.0]), np.array([0.0, 5.0]),
                 {-1: (0,), 0: (1,)}, {-1: 1.0, 0: 1.0}, (1,), 0.1, 0.0, 0.0, None)
    head = min_cut_head(g)
    assert head in ({0, 1}, frozenset())
    assert head_latency(g, head) == pytest.approx(min(5.0, 0.1 + 5.0))


@pytest.mark.parametrize("seed", range(6))
def test_on_chains_dads_is_the_best_single_cut(seed):
    sc = random_chain_scenario(seed)
    plan = get_planner("dads").plan(sc)
    for t in sc.tasks:
        best = min(no_wait_latency(sc, t, tp) for tp in chain_options(sc, t, three_tier=False))
        got = no_wait_latency(sc, t, plan[t.id])
        assert got == pytest.approx(best, rel=1e-9)
        assert plan[t.id].steps is None
        assert plan.info["predicted_latency"][t.id] == pytest.approx(got, rel=1e-9)


@pytest.mark.parametrize("result_return", [None, 0.02])
@pytest.mark.parametrize("seed", range(8))
def test_dag_plans_are_timed_by_the_simulator_as_dads_predicts(seed, result_return):
    sc = dataclasses.replace(random_dag_scenario(seed), result_return=result_return)
    plan = get_planner("dads").plan(sc)
    for t in sc.tasks:
        assert no_wait_latency(sc, t, plan[t.id]) == pytest.approx(
            plan.info["predicted_latency"][t.id], rel=1e-9)
        for server in sc.reachable_servers(t.device):
            g = cut_graph(sc, t, server)
            assert g.mode == "layers"
            best = min(head_latency(g, h) for h in _closed_sets(g.n, g.consumers))
            assert plan.info["predicted_latency"][t.id] <= best * (1 + 1e-9)
    simulate(sc, plan)  # steps plans execute


def test_dads_is_never_worse_than_neurosurgeon_alone():
    for seed in range(8):
        sc = random_dag_scenario(seed)
        dads = get_planner("dads").plan(sc).info["predicted_latency"]
        ns = get_planner("neurosurgeon").plan(sc).info["predicted_latency"]
        assert all(dads[t] <= ns[t] * (1 + 1e-9) for t in dads)


# --------------------------------------------------------------- through a profile file
def _diamond_profile():
    """a -> (b, c) -> d -> e: a's output is big, b's and c's are tiny, d is heavy."""
    d = example_profile_dict()
    lat = {"a": 0.001, "b": 0.001, "c": 0.001, "d": 0.05, "e": 0.001}
    out = {"a": 400_000, "b": 1_000, "c": 1_000, "d": 1_000, "e": 40}
    flops = {"a": 1e6, "b": 1e6, "c": 1e6, "d": 1e9, "e": 1e6}
    d["layers"] = [{"name": n, "op": "Linear", "flops": int(flops[n]), "macs": int(flops[n] / 2),
                    "out_bytes": out[n], "param_bytes": 0, "latency_s": lat[n],
                    "latency_median_s": lat[n], "latency_std_s": 0.0} for n in "abcde"]
    d["edges"] = [[-1, 0], [0, 1], [0, 2], [1, 3], [2, 3], [3, 4]]
    heads = {0: 0.0, 1: 0.0009, 4: 0.05, 5: 0.0531}   # measured prefix times (not layer sums)
    names = {0: None, 1: "a", 4: "d", 5: "e"}
    hflops = {0: 0, 1: 1_000_000, 4: 1_003_000_000, 5: 1_004_000_000}
    tbytes = {0: 600_000, 1: 400_000, 4: 1_000, 5: 40}
    d["cuts"] = [{"index": k, "after": names[p], "position": p, "transfer_bytes": tbytes[p],
                  "head_flops": hflops[p], "head_latency_s": heads[p], "tail_latency_s": 0.0}
                 for k, p in enumerate((0, 1, 4, 5))]
    d.update(model="diamond", flops=1_004_000_000, macs=502_000_000, input_bytes=600_000,
             output_bytes=40)
    return d


def _diamond_scenario(tmp_path, **changes):
    path = tmp_path / "diamond@cpu-1t.json"
    path.write_text(json.dumps(_diamond_profile()))
    return scenario_from_dict({
        "nodes": [{"name": "phone", "kind": "device", "compute": {"hardware": "cpu-1t"}},
                  {"name": "edge", "kind": "edge", "compute": {"flops_per_s": 1e11}}],
        "links": [{"src": "phone", "dst": "edge", "bandwidth": 8e6}],
        "models": {"diamond": {"profiles": {"cpu-1t": str(path)}}},
        "workload": {"tasks": [{"device": "phone", "model": "diamond"}]}, **changes})


@pytest.fixture
def diamond(tmp_path):
    return _diamond_scenario(tmp_path)


def test_profile_layers_are_calibrated_to_the_cut_table(diamond):
    m = diamond.models["diamond"]
    lc = m.layers
    assert lc is not None and lc.n == 5 and lc.cut_positions == (0, 1, 4, 5)
    lat = lc.latency["cpu-1t"]
    for c, p in enumerate(lc.cut_positions):
        assert lat[:p].sum() == pytest.approx(m.head_latency["cpu-1t"][c], abs=1e-15)
        assert lc.flops[:p].sum() == pytest.approx(m.head_flops[c])
    # inside the piece b, c, d the measured proportions 1 : 1 : 50 are kept
    assert lat[1] / lat[3] == pytest.approx(1 / 50)


def test_dads_cuts_the_diamond_between_its_branches_and_the_merge(diamond):
    plan = get_planner("dads").plan(diamond)
    tp = plan["t0"]
    assert tp.steps is not None                       # no single-tensor cut can do this
    assert tp.steps[0].layers == (0, 1, 2)            # a, b, c on the phone
    assert tp.steps[1].nbytes == 2_000                # b's and c's outputs, once each
    assert tp.steps[2].layers == (3, 4)               # d, e on the edge
    assert tp.steps[3].kind == "return" and tp.steps[3].src == "edge"
    r = simulate(diamond, plan)
    assert r.mean_latency == pytest.approx(plan.info["predicted_latency"]["t0"], rel=1e-12)
    # beats the best single cut (Neurosurgeon): raw input 0.6 s or 'a' output 0.4 s over 8 Mbit/s
    ns = simulate(diamond, get_planner("neurosurgeon").plan(diamond)).mean_latency
    assert r.mean_latency < ns
    round_trip = Plan.from_dict(json.loads(json.dumps(plan.to_dict())))
    assert simulate(diamond, round_trip).mean_latency == r.mean_latency


def test_use_layers_false_falls_back_to_the_cut_chain(diamond):
    plan = get_planner("dads", use_layers=False).plan(diamond)
    assert plan["t0"].steps is None and plan.info["mode"]["t0"] in ("cuts", "local")


def test_constant_result_return_keeps_the_layer_cut(tmp_path, diamond):
    # a constant return time (and no link back at all): still the general cut, timed exactly
    sc = _diamond_scenario(tmp_path, result_return=0.003,
                           links=[{"src": "phone", "dst": "edge", "bandwidth": 8e6,
                                   "symmetric": False}])
    assert not sc.has_link("edge", "phone")
    plan = get_planner("dads").plan(sc)
    tp = plan["t0"]
    assert plan.info["mode"]["t0"] == "layers" and tp.steps is not None
    assert tp.steps[0].layers == (0, 1, 2) and tp.steps[-1].kind == "return"
    r = simulate(sc, plan)
    assert r.tasks[0].stages[-1].end - r.tasks[0].stages[-1].start == pytest.approx(0.003)
    assert r.mean_latency == pytest.approx(plan.info["predicted_latency"]["t0"], rel=1e-12)
    # the same head as with the output sent back, which costs 40 B over 8 Mbit/s = 4e-5 s
    ref = get_planner("dads").plan(diamond)
    assert ref["t0"].steps[:3] == tp.steps[:3]
    assert plan.info["predicted_latency"]["t0"] == pytest.approx(
        ref.info["predicted_latency"]["t0"] - 4e-5 + 0.003, rel=1e-12)
