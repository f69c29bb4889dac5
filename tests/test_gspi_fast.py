"""Offline GSPI compiled over arrays (issue 16): the same plans as the former Python passes.

The oracle is :mod:`splitinfer.testing.gspi_oracle` (the former ``GSPIPlanner._plan`` over the
Python strategy center). Every task's cut, server, priority and release, and every predicted
latency (``info``), must be equal bit for bit, on random instances of Shi et al.'s model (more
tasks, servers, devices and slots than the conformance family, unlimited servers, a PPS bound)
and on the shipped scenario at the paper's bandwidths, for every setting of the planner.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from splitinfer.experiments.shi2021 import paper_scenario
from splitinfer.planners import get_planner
from splitinfer.planners.shi2021._kernel import round12
from splitinfer.sim import simulate
from splitinfer.system import load_scenario, scenario_from_dict
from splitinfer.system.plan import ChainColumns
from splitinfer.testing.family_shi2021 import shi2021_dict
from splitinfer.testing.gspi_oracle import reference_gspi

SETTINGS = [("gspi", {}), ("gspi-paper", {}), ("gspi", {"polish": "none"}),
            ("gspi", {"polish": "all"}), ("gspi", {"replan": False}),
            ("gspi", {"wait": "paper", "polish": "improvable"}),
            ("gspi", {"replan": False, "polish": "none"})]


def _instance(seed: int):
    """A random instance: up to 60 tasks over a few slots, 1-4 servers (one maybe unlimited), a
    second device with its own head times on some seeds, a PPS bound on others."""
    rng = np.random.default_rng(1000 + seed)
    d = shi2021_dict(seed, max_tasks=60, max_servers=4)
    n = len(d["workload"]["tasks"])
    span = int(rng.integers(1, max(2, n // 2)))
    slots = sorted(int(x) for x in rng.integers(0, span, n))
    d["workload"]["tasks"] = [{"device": "end", "model": "net", "slot": s} for s in slots]
    servers = [x for x in d["nodes"] if x["kind"] == "edge"]
    if len(servers) > 1 and rng.random() < 0.3:
        servers[-1]["concurrency"] = None
    if rng.random() < 0.5:
        table = d["models"]["net"]["table"]
        head = table["end"]["head"]
        factor = float(rng.uniform(0.5, 2.0))
        table["end2"] = {"head": [f"{float(x[:-2]) * factor:.3f}ms" for x in head]}
        d["nodes"].append({"name": "end2", "kind": "device", "compute": {"table": True},
                           "concurrency": None})
        d["links"] += [{**lk, "src": "end2", "bandwidth": f"{rng.uniform(4, 16):.2f}Mbps"}
                       for lk in d["links"] if lk["src"] == "end"]
        for t in d["workload"]["tasks"]:
            if rng.random() < 0.5:
                t["device"] = "end2"
    if rng.random() < 0.3:
        d["result_return"] = 0
    sc = scenario_from_dict(d)
    if rng.random() < 0.3:  # a PPS bound that drops some points (never all: local stays)
        local = max(float(x[:-2]) for x in d["models"]["net"]["table"]["end"]["head"])
        sc.extra["pps_latency"] = 1.5e-3 * local
    return sc


def _same(sc, name, params):
    planner = get_planner(name, **params)
    fast = planner.plan(sc)
    plans, info = reference_gspi(sc, planner)
    assert isinstance(fast.tasks, ChainColumns)
    assert list(fast.tasks) == [t.id for t in sc.tasks if t.id in plans]
    for tid, tp in plans.items():
        got = fast.tasks[tid]
        assert (got.nodes, got.cuts, got.priority, got.release) == (tp.nodes, tp.cuts,
                                                                    tp.priority, tp.release)
        assert got == tp
    assert list(fast.info["predicted_latency"].items()) == list(info["predicted_latency"].items())
    assert fast.info == info  # means, estimates, remade, polish moves, step-2 mean
    return fast


@pytest.mark.parametrize("seed", range(30))
def test_random_instances_match_the_oracle(seed):
    sc = _instance(seed)
    for name, params in SETTINGS:
        _same(sc, name, params)


@pytest.mark.parametrize("bandwidth", [4e6, 8e6, 16e6])
def test_shipped_scenario_matches_the_oracle(bandwidth):
    sc = load_scenario("shi2021").with_link_rate(bandwidth)
    for name, params in SETTINGS:
        _same(sc, name, params)


@pytest.mark.parametrize("tasks,bandwidth,seed", [(600, 16e6, 0), (600, 8e6, 2), (400, 4e6, 1)])
def test_paper_workloads_match_the_oracle(tasks, bandwidth, seed):
    """Busy servers, long overtaking chains, many polish moves."""
    sc = paper_scenario(tasks, bandwidth, seed, slots=round(tasks / 0.75))
    for name, params in [("gspi", {}), ("gspi-paper", {}), ("gspi", {"polish": "all"})]:
        fast = _same(sc, name, params)
    if bandwidth > 4e6:  # at 4 Mbps no task overtakes another
        assert fast.info["polish_moves"] > 0 and fast.info["remade"] > 0


def test_no_tasks_is_an_empty_plan_as_before():
    sc = dataclasses.replace(paper_scenario(5, 16e6, 0), tasks=[])
    plan = get_planner("gspi").plan(sc)
    assert len(plan.tasks) == 0 and plan.info == reference_gspi(sc)[1]


def test_round12_is_pythons_round():
    rng = np.random.default_rng(0)
    xs = (rng.uniform(0, 200, 20000).tolist() + rng.uniform(-1, 1, 5000).tolist()
          + rng.uniform(4096, 8192, 2000).tolist())  # Python floats: NumPy's round differs
    xs += [k / 8192 for k in range(1, 4000, 2)]  # exact ties at the 12th decimal (x * 1e12 = n + 1/2)
    xs += [(k + 0.5) * 1e-12 for k in range(2000)] + [k * 1e-12 for k in range(2000)]
    xs += [0.1 + 0.2, 0.0, -0.0, 4095.9999999999995, 8191.999999999999, 8192.0, 1e5 + 1e-11,
           math.inf, -math.inf, 5e-324]
    got = [round12(x) for x in xs]
    want = [round(x, 12) for x in xs]
    assert got == want
    assert math.copysign(1.0, round12(-1e-15)) == math.copysign(1.0, round(-1e-15, 12))
    assert math.isnan(round12(math.nan))


def test_compressed_link_times_are_the_simulators():
    """GSPI times a task's upload at the link's wire bytes (splitinfer.transfer.wire_bytes, as
    the simulator's stages do), so its predicted latency stays the simulated one on an int8 link,
    and differs from the float32 link's."""
    sc = paper_scenario(120, 16e6, 0, slots=160)
    links = {k: dataclasses.replace(lk, dtype="int8") for k, lk in sc.links.items()}
    small = dataclasses.replace(sc, links=links)
    for name in ("gspi", "gspi-paper", "gspi-online", "server-only"):
        plan = get_planner(name).plan(small)
        sim = {r.id: r.latency for r in simulate(small, plan).tasks}
        pred = plan.info["predicted_latency"]
        assert max(abs(pred[t] - sim[t]) for t in sim) < 1e-9
        assert plan.info["predicted_mean"] != get_planner(name).plan(sc).info["predicted_mean"]
