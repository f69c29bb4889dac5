"""The runtime executes system's stage graphs for real: three tiers with reserved rates and release
times (DeePar), general DAG cuts (a head returning several tensors), shares of a divisible node
(DMCJIA), the service order on every resource, and plans it cannot execute.

Workers and devices run in this process over real gRPC on loopback (as in
``test_runtime_service.py``); every output is compared with the unsplit model.
"""

from __future__ import annotations

import time

import pytest
import torch

from splitinfer.errors import InfeasiblePlanError
from splitinfer.runtime.device import Device, DeviceConfig
from splitinfer.runtime.pieces import ModelPieces
from splitinfer.runtime.route import compile_route
from splitinfer.system.load import scenario_from_dict
from splitinfer.system.plan import Plan, Step, TaskPlan
from splitinfer.testing.inprocess import execute_in_process

LENET = {"lenet5": {"profile": "lenet5@cpu-1t", "profiles": {"cpu-1t": "lenet5@cpu-1t"}}}


@pytest.fixture(scope="module")
def lenet():
    return {"lenet5": ModelPieces("lenet5")}


def _execute(sc, plan: Plan, pieces, paced=()):
    """Serve every server of ``sc`` here, replay every device's tasks under ``plan``."""
    return execute_in_process(sc, plan, pieces, paced=paced, deadline_s=20.0, timeout_s=60.0)


def _equal_to_local(sc, outs, pieces):
    for t, o in zip(sc.tasks, outs, strict=True):
        mp = pieces[t.model]
        ref = mp.run(0, mp.last_cut, mp.example(t.samples, seed=t.index))
        assert torch.allclose(o.output, ref, rtol=1e-5, atol=1e-6), t.id


def _three_tier():
    devices = ["d0", "d1"]
    return scenario_from_dict({
        "name": "three-tier-lenet",
        "nodes": [{"name": d, "kind": "device", "compute": {"flops_per_s": 2e7}} for d in devices]
        + [{"name": "e0", "kind": "edge", "compute": {"flops_per_s": 1e8}, "concurrency": 2},
           {"name": "cloud", "kind": "cloud", "compute": {"flops_per_s": 1e9},
            "concurrency": None}],
        "pools": {"e0.access": 2e7, "e0.backbone": 1e7},
        "links": [{"src": d, "dst": "e0", "bandwidth": 8e6, "sharing": "reserved",
                   "pool": "e0.access"} for d in devices]
        + [{"src": "e0", "dst": "cloud", "bandwidth": 8e6, "sharing": "reserved",
            "pool": "e0.backbone"}],
        "models": LENET,
        "workload": {"tasks": [{"device": d, "model": "lenet5", "samples": 1 + k % 2}
                               for k, d in enumerate(devices)]}})


def test_three_tier_chain_with_reserved_rates_and_release(lenet):
    from splitinfer.planners.huang2019.delay import Choice, deepar_plan, option_list

    sc = _three_tier()
    edge_cloud = next(o for o in option_list(sc) if o.kind == "edge+cloud")
    plan = Plan("deepar-forced", {
        t.id: deepar_plan(sc, t, Choice(edge_cloud, 2, 7, 4e6, 2e6, 0.0), release=0.05 * k)
        for k, t in enumerate(sc.tasks)})
    outs, epoch = _execute(sc, plan, lenet)
    _equal_to_local(sc, outs, lenet)
    for k, (t, o) in enumerate(zip(sc.tasks, outs, strict=True)):
        assert o.executed_as_planned, o.reason
        assert o.nodes == [t.device, "e0", "cloud"]
        names = [s.name for s in o.record.stages]
        assert names == ["decide", "device", "uplink", "edge", "backbone", "cloud", "return",
                         "return"]
        first = o.record.stages[1]
        assert first.start >= 0.05 * k - 1e-3  # the release time is honoured
        # each hop paces at its own reserved rate: never faster than its bytes allow
        up = o.record.stages[2]
        nbytes = lenet["lenet5"].transfer_bytes(2, t.samples)
        assert up.end - up.start >= 8 * nbytes / 4e6 * 0.95


def test_deepar_plans_run_as_planned(lenet):
    from splitinfer.planners import get_planner

    sc = _three_tier()
    plan = get_planner("deepar").plan(sc)
    outs, _ = _execute(sc, plan, lenet)
    _equal_to_local(sc, outs, lenet)
    assert all(o.executed_as_planned for o in outs)
    assert [o.nodes[-1] for o in outs] == [plan.tasks[t.id].nodes[-1] for t in sc.tasks]


def test_general_dag_cut_head_returns_several_tensors():
    pieces = {"resnet18": ModelPieces("resnet18")}
    sc = scenario_from_dict({
        "name": "dag-cut",
        "nodes": [{"name": "phone", "kind": "device", "compute": {"hardware": "cpu-1t"}},
                  {"name": "edge", "kind": "edge", "compute": {"hardware": "cpu-1t"}}],
        "links": [{"src": "phone", "dst": "edge", "bandwidth": "1Gbps"}],
        "models": {"resnet18": {"profile": "resnet18@cpu-1t",
                                "profiles": {"cpu-1t": "resnet18@cpu-1t"}}},
        "workload": {"tasks": [{"device": "phone", "model": "resnet18"}]}})
    lc = sc.models["resnet18"].layers
    head = tuple(range(7))  # ends inside the first residual block: two tensors cross
    assert lc.cut_of_head(set(head)) is None and len(lc.crossing(set(head))) == 2
    tail = tuple(range(7, lc.n))
    tp = TaskPlan("t0", ("phone", "edge"), (), steps=(
        Step("compute", node="phone", layers=head, label="head"),
        Step("transfer", src="phone", dst="edge", nbytes=lc.crossing_bytes(set(head)), deps=(0,),
             label="uplink"),
        Step("compute", node="edge", layers=tail, deps=(1,), label="tail"),
        Step("return", src="edge", deps=(2,), label="return")))
    route = compile_route(sc, sc.tasks[0], tp)
    assert len(route["stages"][1]["gives"]) == 2  # the head sends both tensors
    outs, _ = _execute(sc, Plan("dag", {"t0": tp}), pieces)
    _equal_to_local(sc, outs, pieces)
    assert outs[0].executed_as_planned and outs[0].nodes == ["phone", "edge"]
    assert [s.name for s in outs[0].record.stages] == ["decide", "head", "uplink", "tail", "return"]


def test_shares_of_a_divisible_node_run_in_their_own_lanes(lenet):
    sc = scenario_from_dict({
        "name": "shares",
        "nodes": [{"name": d, "kind": "device", "compute": {"hardware": "cpu-1t"}}
                  for d in ("d0", "d1")]
        + [{"name": "cloud", "kind": "cloud", "compute": {"hardware": "cpu-1t"},
            "divisible": True}],
        "links": [{"src": d, "dst": "cloud", "bandwidth": "100Mbps", "sharing": "dedicated"}
                  for d in ("d0", "d1")],
        "result_return": 0.002,
        "models": LENET,
        "workload": {"tasks": [{"device": d, "model": "lenet5", "arrival": 0.01 * k}
                               for k in range(2) for d in ("d0", "d1")]}})
    share = {"d0": 0.25, "d1": 0.75}
    plan = Plan("shares", {t.id: TaskPlan(t.id, (t.device, "cloud"), (3,), share=share[t.device],
                                          share_group=t.device) for t in sc.tasks})
    outs, _ = _execute(sc, plan, lenet)
    _equal_to_local(sc, outs, lenet)
    for t, o in zip(sc.tasks, outs, strict=True):
        assert o.executed_as_planned, o.reason
        cloud = [s for s in o.record.stages if s.node == "cloud"]
        assert [s.resource for s in cloud] == [f"cloud#{t.device}"]
        ret = o.record.stages[-1]
        assert ret.kind == "delay" and ret.end - ret.start >= 0.002 - 1e-4


def test_start_order_on_every_resource_is_the_predicted_one(lenet):
    from splitinfer.sim import simulate
    from splitinfer.system.result import Result

    sc = scenario_from_dict({
        "name": "order",
        "nodes": [{"name": "phone", "kind": "device", "compute": {"hardware": "cpu-1t"}},
                  {"name": "edge", "kind": "edge", "compute": {"hardware": "cpu-1t"}}],
        "links": [{"src": "phone", "dst": "edge", "bandwidth": "20Mbps", "latency": "1ms",
                   "sharing": "fifo"}],
        "models": LENET,
        "workload": {"tasks": [{"device": "phone", "model": "lenet5"} for _ in range(5)]}})
    # all arrive at 0; the plan orders them by priority against generation order
    plan = Plan("order", {t.id: TaskPlan(t.id, ("phone", "edge"), (4,), priority=float(5 - k))
                          for k, t in enumerate(sc.tasks)})
    outs, _ = _execute(sc, plan, lenet)
    measured = Result(sc.name, "order", [o.record for o in outs], measured=True)
    predicted = simulate(sc, plan)

    def order(result):
        by = {}
        for t in result.tasks:
            for s in t.stages:
                if s.resource is not None and s.kind != "delay":
                    by.setdefault(s.resource, []).append((s.start, t.id))
        return {r: [tid for _, tid in sorted(v)] for r, v in by.items()}

    want = order(predicted)
    assert want["phone"] == ["t4", "t3", "t2", "t1", "t0"]
    got = order(measured)
    for resource in ("phone", "phone->edge", "edge"):
        assert got[resource] == want[resource], resource


def test_a_bursts_tasks_are_dispatched_one_after_another(lenet, monkeypatch):
    """Tasks that arrive together are admitted first, then each one's threads start once the
    previous task's stages are under way, so the first task is not held up by the start-up of
    all the others (``Device.replay``)."""
    from splitinfer.runtime import route as route_mod

    sc = scenario_from_dict({
        "name": "burst",
        "nodes": [{"name": "phone", "kind": "device", "compute": {"hardware": "cpu-1t"}},
                  {"name": "edge", "kind": "edge", "compute": {"hardware": "cpu-1t"}}],
        "links": [{"src": "phone", "dst": "edge", "bandwidth": "50Mbps"}],
        "models": LENET,
        "workload": {"tasks": [{"device": "phone", "model": "lenet5"} for _ in range(5)]}})
    plan = Plan("burst", {t.id: TaskPlan(t.id, ("phone", "edge"), (4,)) for t in sc.tasks})
    run, seen = route_mod.Execution.run, []

    def watched(self, also=(), started=None):
        if self.node != "phone":
            return run(self, also, started)
        entry = {"task": self.route["task"], "enter": time.monotonic()}
        seen.append(entry)

        def mark():
            entry["started"] = time.monotonic()
            if started is not None:
                started()

        return run(self, also, mark)

    monkeypatch.setattr(route_mod.Execution, "run", watched)
    outs, _ = _execute(sc, plan, lenet)
    _equal_to_local(sc, outs, lenet)
    assert [e["task"] for e in seen] == [t.id for t in sc.tasks]
    assert all(b["enter"] >= a["started"] for a, b in zip(seen[:-1], seen[1:], strict=True))


def test_flop_only_steps_cannot_run_and_the_run_fails_first(tmp_path, monkeypatch):
    import splitinfer.planners as planners
    from splitinfer.runtime.run import PlanNotExecutable, RunOptions, run_scenario

    spec = {
        "name": "flops-only",
        "nodes": [{"name": "phone", "kind": "device", "compute": {"flops_per_s": 1e9}},
                  {"name": "edge", "kind": "edge", "compute": {"hardware": "cpu-1t"}}],
        "links": [{"src": "phone", "dst": "edge", "bandwidth": "20Mbps"}],
        "models": LENET,
        "workload": {"tasks": [{"device": "phone", "model": "lenet5"}]}}
    sc = scenario_from_dict(spec)
    tp = TaskPlan("t0", ("phone", "edge"), (), steps=(
        Step("compute", node="phone", flops=1e5, label="tile0"),
        Step("transfer", src="phone", dst="edge", nbytes=1000.0, deps=(0,)),
        Step("compute", node="edge", segment=(3, 12), deps=(1,)),
        Step("return", src="edge", deps=(2,))))
    with pytest.raises(InfeasiblePlanError, match="only a FLOP count"):
        compile_route(sc, sc.tasks[0], tp)

    class FlopsOnly:
        online = False

        def plan(self, scenario):
            return Plan("flops-only", {"t0": tp})

    monkeypatch.setattr(planners, "get_planner", lambda name, **kw: FlopsOnly())
    t0 = time.monotonic()
    with pytest.raises(PlanNotExecutable) as info:
        run_scenario(spec, RunOptions(planner="flops-only", out_dir=tmp_path, compute="shipped"))
    message = str(info.value)
    assert "\n" not in message and "cannot execute" in message and "tile0" in message
    assert time.monotonic() - t0 < 60 and not (tmp_path / "logs").exists()


def test_a_worker_that_never_answers_fails_fast_with_its_name_and_address(lenet):
    import socket

    # a listening socket that never accepts: what a SIGSTOPped worker looks like to a client
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    address = f"127.0.0.1:{silent.getsockname()[1]}"
    try:
        sc = _three_tier()
        dev = Device(DeviceConfig("d0", sc, {"e0": address}, controller=None), lenet)
        t0 = time.monotonic()
        with pytest.raises(TimeoutError) as info:
            dev.wait_for_workers(timeout=3.0)
        assert time.monotonic() - t0 < 15
        assert "'e0'" in str(info.value) and address in str(info.value)
        dev.close()
    finally:
        silent.close()
