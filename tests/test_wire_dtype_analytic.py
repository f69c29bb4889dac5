"""Analytic planners estimate a cut's transfer at the bytes its link really sends: a link whose
wire dtype is compressed sends ``wire_bytes`` of the float32 bytes, and the simulator times it
so (DMCJIA of Zheng 2021, fused-layer MW / BF of Li et al. 2022)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from splitinfer.experiments.zheng2021 import paper_scenario
from splitinfer.planners import get_planner
from splitinfer.planners.li2022.scenarios import li2022_scenario
from splitinfer.planners.zheng2021.problem import DmcjiaProblem
from splitinfer.sim import simulate
from splitinfer.system.plan import TaskPlan
from splitinfer.system.stages import build_stages


def _with_dtype(sc, dtype: str):
    return replace(sc, links={k: replace(v, dtype=dtype) for k, v in sc.links.items()})


@pytest.mark.parametrize("dtype", ["float16", "int8"])
def test_dmcjia_times_each_cut_at_the_links_wire_bytes(dtype):
    base = paper_scenario(nodes=3, horizon=30.0, seed=1)
    sc = _with_dtype(base, dtype)
    pb, pb32 = DmcjiaProblem.from_scenario(sc), DmcjiaProblem.from_scenario(base)
    checked = 0
    for k, d in enumerate(pb.nodes):
        task = next(t for t in sc.tasks if t.device == d)
        for c in range(pb.num_cuts[k]):
            if pb.tail_flops[k][c] <= 0:
                continue  # all local: nothing sent
            tp = TaskPlan(task.id, (d, pb.cloud), (c,), share=1.0)
            up = next(s for s in build_stages(sc, task, tp) if s.kind == "transfer")
            assert up.dtype == dtype
            assert pb.transfer_time[k][c] == pytest.approx(up.duration, rel=1e-12)
            checked += 1
    assert checked >= 3
    # the compressed link sends fewer bytes than float32, and the estimate says so
    offload = [c for c in range(pb.num_cuts[0]) if pb.tail_flops[0][c] > 0]
    assert (pb.transfer_time[0][offload] < pb32.transfer_time[0][offload]).all()


@pytest.mark.parametrize("planner", ["dmcjia", "dmcjia-exact"])
def test_dmcjia_offloads_over_a_compressed_link_what_float32_keeps_local(planner):
    # at 0.5 Mbit/s float32 tensors keep every node local; int8 sends a quarter of the bytes
    base = paper_scenario(nodes=3, horizon=30.0, seed=1, bandwidth_mbps=0.5)
    offloaded = {}
    for dtype in ("float32", "int8"):
        plan = get_planner(planner).plan(_with_dtype(base, dtype))
        offloaded[dtype] = {tp.nodes[0] for tp in plan.tasks.values() if len(tp.nodes) > 1}
    assert not offloaded["float32"] and offloaded["int8"]


@pytest.mark.parametrize("dtype", ["float16", "int8"])
@pytest.mark.parametrize("planner, params", [("mw", {"grids": "2x2"}),
                                             ("fl-bf", {"grids": "2x2", "with_chain": False})])
def test_fused_layer_planners_predict_what_the_simulator_measures(planner, params, dtype):
    sc = _with_dtype(li2022_scenario("alexnet", rate="1.5MB/s"), dtype)
    plan = get_planner(planner, **params).plan(sc)
    assert plan.info["strategies"]["t0"]["kind"] == "fl"
    assert any(s.kind == "transfer" and s.dtype is None for s in plan.tasks["t0"].steps)
    measured = simulate(sc, plan).mean_latency
    assert measured == pytest.approx(plan.info["predicted_latency"]["t0"], rel=1e-12)
    # float32 bytes would have predicted a slower plan than the one simulated
    plain = get_planner(planner, **params).plan(li2022_scenario("alexnet", rate="1.5MB/s"))
    assert plain.info["predicted_latency"]["t0"] > measured
