"""Fused-layer tile plans (Li et al. 2022) run for real.

A tile step names its piece and tile (``Step.tile``); the crop it reads is the tile's receptive
field (halo rows and columns from the neighbours, the model's padding only at the image border);
the runtime cuts the crops on the device, sends each to the node the plan names, computes the
tiles there, stitches them and runs the rest of the model. Outputs equal the unsplit model.
Workers and devices run in this process over real gRPC on loopback (as in
``test_runtime_graphs.py``); the model is LeNet-5 so the test stays small.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch
from torch import nn

from splitinfer.errors import InfeasiblePlanError
from splitinfer.graph.fused import extract_geometry, reference_output, run_tile
from splitinfer.graph.receptive import load_geometry, path_costs, path_regions, tile_regions
from splitinfer.runtime.pieces import ModelPieces
from splitinfer.runtime.route import compile_route
from splitinfer.system.load import scenario_from_dict
from splitinfer.system.plan import Plan, Step, TaskPlan


def test_tile_regions_are_the_grid_paths_crops():
    g = load_geometry("alexnet")
    for tau in (1, 3, 5):
        end = g.unit_ends[tau - 1]
        for grid in ((2, 2), (3, 2)):
            costs = path_costs(g, tau, grid)
            for p, tile in enumerate(costs.tiles):
                regions = path_regions(g, tau, grid, p)
                assert tile_regions(g, 0, tau, tile) == (regions[:end], regions[end])
                for u0 in range(1, tau):  # from a later FL layer: the same crops
                    start = g.unit_ends[u0 - 1]
                    got, crop = tile_regions(g, u0, tau, tile)
                    assert got == regions[start:end]
                    assert crop == regions[g.unit_outputs[u0 - 1]]


def _strided() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.ReLU(),
        nn.MaxPool2d(3, stride=2, padding=1),
        nn.Conv2d(4, 6, 3, padding=2, dilation=2), nn.ReLU(),
        nn.AvgPool2d(2),
        nn.Conv2d(6, 5, 3, padding=1), nn.Flatten(), nn.LazyLinear(3)).eval()


@pytest.mark.parametrize("name", ["strided", "alexnet"])
def test_every_tile_equals_the_unsplit_model(name):
    from splitinfer.graph.fused import shipped_model

    if name == "strided":
        net, x = _strided(), torch.randn(1, 3, 37, 41)
        net(x)  # materialise the lazy layer
        geom = extract_geometry(net, x, name=name)
        pairs = [(0, 1), (0, 3), (1, 3), (2, 4), (0, geom.num_units)]
    else:
        torch.manual_seed(0)
        net, x = shipped_model("alexnet").eval(), torch.randn(1, 3, 224, 224)
        geom = load_geometry("alexnet")
        pairs = [(0, 3), (2, 5)]
    for u0, u1 in pairs:
        src = x if u0 == 0 else reference_output(net, geom, u0, x)
        ref = reference_output(net, geom, u1, x)
        h, w = ref.shape[2:]
        rows = np.array_split(np.arange(h), min(3, h))
        cols = np.array_split(np.arange(w), min(3, w))
        for r in rows:  # border tiles keep the model's padding, inner ones read a halo
            for c in cols:
                tile = (int(r[0]), int(r[-1]) + 1, int(c[0]), int(c[-1]) + 1)
                _, crop = tile_regions(geom, u0, u1, tile)
                got = run_tile(net, geom, u0, u1, tile,
                               src[:, :, crop[0]:crop[1], crop[2]:crop[3]], crop)
                want = ref[:, :, tile[0]:tile[1], tile[2]:tile[3]]
                assert torch.allclose(got, want, rtol=1e-5, atol=1e-5), (name, u0, u1, tile)


# ----------------------------------------------------------------- the runtime
@pytest.fixture(scope="module")
def lenet():
    return {"lenet5": ModelPieces("lenet5")}


@pytest.fixture(scope="module")
def scenario(lenet):
    mp = lenet["lenet5"]
    geom = mp.fused_geometry()
    return scenario_from_dict({
        "name": "tiles-lenet",
        "nodes": [{"name": "phone", "kind": "device", "compute": {"flops_per_s": 2e7}},
                  {"name": "es", "kind": "edge", "compute": {"flops_per_s": 1e8},
                   "concurrency": 1}],
        "links": [{"src": "phone", "dst": "es", "bandwidth": "8Mbps", "sharing": "fifo"},
                  {"src": "es", "dst": "phone", "bandwidth": "8Mbps"}],
        "models": {"lenet5": {"profile": "lenet5@cpu-1t",
                              "profiles": {"cpu-1t": "lenet5@cpu-1t"}}},
        "workload": {"tasks": [{"device": "phone", "model": "lenet5", "arrival": 0.02 * k,
                                "samples": 1 + k % 2} for k in range(3)]},
        "extra": {"fused": {"lenet5": geom.to_dict()}}})


def _execute(sc, plan: Plan, pieces, hook=None):
    """Serve the ES here, replay the phone's tasks under ``plan`` (no pacing); ``hook(dev)``
    may wrap the device's clients before the replay."""
    from splitinfer.runtime.device import Device, DeviceConfig
    from splitinfer.runtime.transport import free_ports
    from splitinfer.runtime.worker import Worker, WorkerConfig

    addr = f"127.0.0.1:{free_ports(1)[0]}"
    worker = Worker(WorkerConfig("es", ("lenet5",), concurrency=1, scenario=sc), pieces)
    worker.warm()
    server = worker.serve(addr)[0]
    dev = Device(DeviceConfig("phone", sc, {"es": addr}, controller=None, deadline_s=20.0),
                 pieces)
    dev.decide = lambda t, now: (plan.tasks[t.id], "test", None)
    if hook is not None:
        hook(dev)
    outs, errors = {}, []

    def go():
        try:
            for o in dev.replay(list(sc.tasks), time.monotonic() + 0.2, timeout=60):
                outs[o.record.id] = o
        except BaseException as exc:
            errors.append(exc)

    th = threading.Thread(target=go)
    th.start()
    th.join(120)
    dev.close()
    server.stop(None)
    assert not errors, errors
    return [outs[t.id] for t in sc.tasks]


def _check(sc, plan, outs, pieces):
    for t, o in zip(sc.tasks, outs, strict=True):
        mp = pieces[t.model]
        ref = mp.run(0, mp.last_cut, mp.example(t.samples, seed=t.index))
        assert torch.allclose(o.output, ref, rtol=1e-5, atol=1e-6), t.id
        assert o.executed_as_planned and not o.fallback, (o.refused, o.reason)
        assert o.nodes == ["phone", "es"]
        labels = [s.label or s.kind for s in plan.tasks[t.id].steps]
        assert [s.name for s in o.record.stages][1:] == labels  # after "decide"


def _mixed(sc, task, tau=2, grid=(2, 2), off=(0, 1, 2, 0), order=(3, 1, 0, 2)):
    """Every kind of path: raw crop sent (o = 1), first layer on the device (o = 2), the
    whole path on the device and its fused tile sent (o = tau + 1)."""
    from splitinfer.planners.li2022.taskplan import fl_taskplan
    from splitinfer.planners.li2022.timing import geometry_for, timing_for

    geom = geometry_for(sc, task.model)
    costs = path_costs(geom, tau, grid)
    return fl_taskplan(task.id, timing_for(sc, task, "es"), costs, np.array(order),
                       np.array(off), geom)


def test_a_tile_plan_of_every_path_kind_runs_as_planned(scenario, lenet):
    sc = scenario
    plan = Plan("tiles", {t.id: _mixed(sc, t) for t in sc.tasks})
    route = compile_route(sc, sc.tasks[0], plan.tasks["t0"])
    tiles = [s for s in route["stages"] if s["tile"] is not None]
    assert {s["node"] or s["src"] for s in tiles} == {"phone", "es"}
    # the raw crops sent carry their halo: more than a quarter of the 28 x 28 input each
    sent = [s["gives"][0] for s in route["stages"] if s["kind"] == "transfer" and s["tile"]]
    raw = [k for k in sent if k[0] == -1]
    assert raw and all((k[2] - k[1]) * (k[4] - k[3]) > 14 * 14 for k in raw)
    outs = _execute(sc, plan, lenet)
    _check(sc, plan, outs, lenet)


def test_queued_transfers_go_at_the_links_hand_over_and_send_the_route_once(scenario, lenet,
                                                                          monkeypatch):
    """A transfer queued behind another on the FIFO link (a dependency in Li et al.'s schedule)
    goes when that one hands the link over, not when its receipt is back; a task's route
    travels in its first frame to the receiver only; and tiles compute below the priority of
    the threads that send (``launch.background_compute``)."""
    import os
    import sys

    from splitinfer.runtime.launch import COMPUTE_NICE
    from splitinfer.runtime.wire import decode_frame

    mp = lenet["lenet5"]
    run_tile, nice = mp.run_tile, []

    def watched(*a, **kw):
        nice.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        return run_tile(*a, **kw)

    monkeypatch.setattr(mp, "run_tile", watched)
    base = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    sc = scenario
    plan = Plan("tiles", {t.id: _mixed(sc, t) for t in sc.tasks})
    slow = 0.5  # each receipt comes back this late; the link was handed over before it
    calls = []

    def hook(dev):
        client = dev.clients["es"]
        deliver = client.deliver

        def slow_deliver(frame, *args, released=None, **kw):
            meta = decode_frame(frame, client.limits).meta
            call = {"key": meta["key"], "stage": meta["stage"], "route": "route" in meta,
                    "ready": args[3]}  # (shaper, timeout, priority, ready, ...)
            calls.append(call)

            def freed():
                call["freed"] = time.monotonic()
                released()

            out = deliver(frame, *args, released=freed, **kw)
            time.sleep(slow)
            call["back"] = time.monotonic()
            return out

        client.deliver = slow_deliver

    outs = _execute(sc, plan, lenet, hook)
    _check(sc, plan, outs, lenet)
    by_task: dict[str, list[dict]] = {}
    for c in calls:
        by_task.setdefault(c["key"], []).append(c)
    for key, cs in by_task.items():
        cs.sort(key=lambda c: c["freed"])
        assert len(cs) == 4, key  # one transfer per path
        assert [c["route"] for c in cs] == [True, False, False, False], key
        for a, b in zip(cs[:-1], cs[1:], strict=True):
            # each was queued behind the previous one's hand-over and went after it...
            assert a["freed"] <= b["ready"] and b["freed"] > a["freed"], cs
            # ...not after its receipt: ``ready`` is the later of the data and the link, so a
            # runtime that waited for the receipt gives ready >= back (a CPU slow enough to
            # compute a LeNet tile in more than ``slow`` could not tell them apart)
            assert b["ready"] < a["back"], cs
    if sys.platform.startswith("linux"):
        assert nice and set(nice) == {min(19, base + COMPUTE_NICE)}


@pytest.mark.parametrize("planner,params", [("mw", {"grids": "2x2"}),
                                            ("fl-bf", {"grids": "2x2", "with_chain": False})])
def test_li2022_planners_run_for_real_with_their_timing_unchanged(scenario, lenet, planner,
                                                                   params):
    from splitinfer.planners import get_planner
    from splitinfer.sim import simulate

    sc = scenario
    plan = get_planner(planner, **params).plan(sc)
    assert all(s["kind"] == "fl" for s in plan.info["strategies"].values())
    alone = sc.with_tasks([sc.tasks[0]])
    assert simulate(alone, Plan(planner, {"t0": plan.tasks["t0"]})).mean_latency == \
        pytest.approx(plan.info["predicted_latency"]["t0"], rel=1e-12)
    outs = _execute(sc, plan, lenet)
    _check(sc, plan, outs, lenet)


def test_tile_plans_whose_data_cannot_flow_are_refused(scenario):
    sc = scenario
    task = sc.tasks[0]
    tp = _mixed(sc, task)
    steps = list(tp.steps)
    k = next(i for i, s in enumerate(steps) if s.kind == "transfer" and s.tile[0] == 0)
    cut, r0, r1, c0, c1 = steps[k].tile
    steps[k] = Step("transfer", src="phone", dst="es", nbytes=steps[k].nbytes,
                    deps=steps[k].deps, label=steps[k].label, tile=(cut, r0, r1 - 1, c0, c1))
    with pytest.raises(InfeasiblePlanError, match="reads values"):  # the halo is missing
        compile_route(sc, task, TaskPlan(task.id, tp.nodes, (), steps=tuple(steps)))
    last = next(i for i, s in enumerate(tp.steps) if s.label == "fused+tail")
    dropped = [s for i, s in enumerate(tp.steps) if i != last - 1]  # one tile fewer
    fixed = [Step(**{**{f: getattr(s, f) for f in s.__dataclass_fields__},
                     "deps": tuple(d - (d >= last - 1) for d in s.deps if d != last - 1)})
             for s in dropped]
    with pytest.raises(InfeasiblePlanError, match="reads values"):  # tiles do not cover it
        compile_route(sc, task, TaskPlan(task.id, tp.nodes, (), steps=tuple(fixed)))
    wrong = [Step(**{**{f: getattr(s, f) for f in s.__dataclass_fields__},
                     "tile": (1, 0, 2, 0, 2)}) if s.kind == "compute" and s.tile else s
             for s in tp.steps]
    with pytest.raises(InfeasiblePlanError, match="tile"):  # not on the piece's end cut
        compile_route(sc, task, TaskPlan(task.id, tp.nodes, (), steps=tuple(wrong)))


def test_a_tile_that_comes_before_its_route_is_kept_until_the_route_comes(scenario, lenet):
    """Only a task's first frame to a worker carries the route; a later frame that the worker
    happens to read first is kept, and accepted as soon as a delivery brings the route."""
    import grpc

    from splitinfer.runtime.transport import WORKER_SERVICE, free_ports, stream_call
    from splitinfer.runtime.wire import KIND_REQUEST, encode_frame
    from splitinfer.runtime.worker import Worker, WorkerConfig

    sc = scenario
    task = sc.tasks[0]
    mp = lenet["lenet5"]
    route = compile_route(sc, task, _mixed(sc, task))
    sends = [k for k, s in enumerate(route["stages"]) if s["kind"] == "transfer"
             and s["dst"] == "es"]
    assert len(sends) == 4

    def frame(k, with_route):
        vals = [[list(v) if isinstance(v, tuple) else v, list(mp.value_shape(
            tuple(v) if isinstance(v, list) else v, task.samples))]
            for v in route["stages"][k]["gives"]]
        n = sum(int(np.prod(shape)) for _, shape in vals)
        meta = {"key": route["key"], "stage": k, "values": vals}
        if with_route:
            meta["route"] = route
        return encode_frame(meta, np.zeros(n, np.float32), KIND_REQUEST)

    addr = f"127.0.0.1:{free_ports(1)[0]}"
    worker = Worker(WorkerConfig("es", ("lenet5",), concurrency=1, scenario=sc), lenet)
    server = worker.serve(addr)[0]
    chan = grpc.insecure_channel(addr)
    try:
        call = stream_call(chan, WORKER_SERVICE, "Deliver")
        call(iter([frame(sends[1], False)]), timeout=5)  # a later tile, no route yet
        assert route["key"] not in worker._execs and route["key"] in worker._early
        call(iter([frame(sends[0], True)]), timeout=5)  # the first, with the route
        ex = worker._execs[route["key"]]
        assert route["key"] not in worker._early
        assert ex.done[sends[0]].is_set() and ex.done[sends[1]].is_set()
        assert not ex.done[sends[2]].is_set()
    finally:
        chan.close()
        server.stop(None)
