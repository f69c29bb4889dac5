"""Worker, controller and device over real gRPC on loopback (in-process servers, lenet5)."""

from __future__ import annotations

import time

import grpc
import numpy as np
import pytest
import torch

from splitinfer.runtime.client import ControllerClient, WorkerClient
from splitinfer.runtime.controller import Controller
from splitinfer.runtime.device import Device, DeviceConfig
from splitinfer.runtime.pieces import ModelPieces
from splitinfer.runtime.route import compile_route
from splitinfer.runtime.transport import WORKER_SERVICE, free_ports, stream_call, unary_call
from splitinfer.runtime.wire import KIND_REQUEST, Limits, decode_frame, encode_frame
from splitinfer.runtime.worker import Worker, WorkerConfig
from splitinfer.system.load import scenario_from_dict
from splitinfer.system.plan import TaskPlan

TOKEN = "s3cret-token"
LIMITS = Limits(max_payload_bytes=256 * 1024)


def _scenario(n_tasks=6, gap=0.03):
    return scenario_from_dict({
        "name": "rt-test",
        "nodes": [{"name": "phone", "kind": "device", "compute": {"hardware": "cpu-1t"}},
                  {"name": "edge", "kind": "edge", "compute": {"hardware": "cpu-1t"}},
                  {"name": "cloud", "kind": "cloud", "compute": {"hardware": "cpu-1t"},
                   "concurrency": 2}],
        "links": [{"src": "phone", "dst": "edge", "bandwidth": "50Mbps", "latency": "2ms",
                   "sharing": "fifo"},
                  {"src": "phone", "dst": "cloud", "bandwidth": "50Mbps", "latency": "2ms"},
                  {"src": "edge", "dst": "cloud", "bandwidth": "200Mbps", "latency": "1ms"}],
        "models": {"lenet5": {"profile": "lenet5@cpu-1t", "profiles": {"cpu-1t": "lenet5@cpu-1t"}}},
        "workload": {"tasks": [{"device": "phone", "model": "lenet5", "arrival": gap * i,
                                "samples": 1 + i % 2} for i in range(n_tasks)]}})


@pytest.fixture(scope="module")
def pieces():
    return {"lenet5": ModelPieces("lenet5")}


@pytest.fixture(scope="module")
def system(pieces):
    sc = _scenario()
    cloud = Worker(WorkerConfig("cloud", ("lenet5",), concurrency=2, token=TOKEN, limits=LIMITS,
                                scenario=sc), pieces)
    s_cloud, p_cloud = cloud.serve("127.0.0.1:0")
    edge = Worker(WorkerConfig("edge", ("lenet5",), token=TOKEN, limits=LIMITS, scenario=sc,
                               peers={"cloud": f"127.0.0.1:{p_cloud}"}), pieces)
    s_edge, p_edge = edge.serve("127.0.0.1:0")
    ctl = Controller(sc, "neurosurgeon", token=TOKEN)
    s_ctl, p_ctl = ctl.serve("127.0.0.1:0")
    addrs = {"edge": f"127.0.0.1:{p_edge}", "cloud": f"127.0.0.1:{p_cloud}"}
    yield {"sc": sc, "edge": edge, "addrs": addrs, "ctl": f"127.0.0.1:{p_ctl}", "controller": ctl}
    for s in (s_cloud, s_edge, s_ctl):
        s.stop(None)


def _device(system, pieces, **kw):
    cfg = DeviceConfig("phone", system["sc"], dict(system["addrs"]),
                       controller=kw.pop("controller", system["ctl"]), token=TOKEN, limits=LIMITS,
                       **kw)
    return Device(cfg, pieces)


@pytest.mark.parametrize("nodes, cuts", [
    (("phone",), ()), (("phone", "edge"), (0,)), (("phone", "edge"), (4,)),
    (("phone", "edge"), (12,)), (("phone", "cloud"), (7,)), (("phone", "edge", "cloud"), (2, 9)),
    (("phone", "edge", "cloud"), (0, 0)), (("phone", "edge", "edge"), (3, 6)),
])
def test_split_output_equals_local(system, pieces, nodes, cuts):
    dev = _device(system, pieces)
    mp = pieces["lenet5"]
    for task in system["sc"].tasks[:2]:  # samples 1 and 2
        x = mp.example(task.samples, seed=task.index)
        dev.decide = lambda t, now: (TaskPlan(t.id, nodes, cuts), "test", None)
        out = dev.run_task(task, x, time.monotonic() - task.arrival)
        assert not out.fallback, out.reason
        assert torch.equal(out.output, mp.run(0, mp.last_cut, x))
        names = [s.name for s in out.record.stages]
        assert out.executed_as_planned and out.nodes == list(dict.fromkeys(nodes))
        if len(set(nodes)) > 1:
            assert "uplink" in names and "return" in names
        if len(nodes) == 3 and nodes[1] != nodes[2]:
            assert "hop2" in names
        assert all(s.ready <= s.start + 1e-6 and s.start <= s.end + 1e-6 for s in out.record.stages)
    dev.close()


def test_replay_through_controller_equals_local_and_reports(system, pieces):
    dev = _device(system, pieces)
    outs = dev.replay(list(system["sc"].tasks), time.monotonic() + 0.05)
    mp = pieces["lenet5"]
    assert [o.record.id for o in outs] == [t.id for t in system["sc"].tasks]
    for t, o in zip(system["sc"].tasks, outs, strict=True):
        assert o.decided_by == "controller" and not o.fallback
        assert torch.equal(o.output, mp.run(0, mp.last_cut, mp.example(t.samples, seed=t.index)))
    assert set(system["controller"].finished) >= {t.id for t in system["sc"].tasks}
    dev.close()


def test_a_probe_decide_answers_the_plan_but_decides_and_records_nothing(system, pieces):
    """The device times one admission before the run with a probe ``Decide`` (and compiles its
    answer's route); the controller answers the offline plan's decision without recording it."""
    ctl = system["controller"]
    task = system["sc"].tasks[0]
    before = (dict(ctl.decided), ctl.evicted)
    tp = ControllerClient(system["ctl"], token=TOKEN).decide(task, 0.0, 5.0, probe=True)
    assert tp == ctl.offline_plan.tasks[task.id]
    assert (dict(ctl.decided), ctl.evicted) == before
    dev = _device(system, pieces)
    try:
        cost = dev.controller_rtt(probes=3, timeout=5.0)
        assert cost is not None and 0 < cost < 5.0
        assert (dict(ctl.decided), ctl.evicted) == before
    finally:
        dev.close()
    assert _device(system, pieces, controller=None).controller_rtt() is None


def test_the_cold_admission_probe_waits_idle_before_each_probe_and_stops_at_its_bound(
        system, pieces, monkeypatch):
    """``controller_rtt(gap_s=...)`` sleeps that long before each probe (as a task of a run
    arrives after the device idled) and takes no further probe once ``until`` would pass."""
    import time as _time

    from splitinfer.runtime import device as device_mod

    slept = []
    real_sleep = _time.sleep

    def sleep(s):
        slept.append(s)
        real_sleep(s)

    dev = _device(system, pieces)
    try:
        monkeypatch.setattr(device_mod.time, "sleep", sleep)
        assert dev.controller_rtt(probes=3, timeout=5.0, gap_s=0.01) is not None
        assert slept == [0.01, 0.01, 0.01]
        slept.clear()
        # the bound is already past: one probe is still taken (a time is needed), no more
        assert dev.controller_rtt(probes=3, timeout=5.0, gap_s=0.01,
                                  until=_time.monotonic() - 1.0) is not None
        assert slept == [0.01]
    finally:
        dev.close()


def _call(addr, name, chunks, token=TOKEN, timeout=5):
    chan = grpc.insecure_channel(addr)
    try:
        md = (("x-splitinfer-token", token),) if token else ()
        if name == "Run":
            return unary_call(chan, WORKER_SERVICE, "Run")(chunks, timeout=timeout, metadata=md)
        return stream_call(chan, WORKER_SERVICE, name)(iter(chunks), timeout=timeout, metadata=md)
    finally:
        chan.close()


def _route(system, cut=2):
    sc = system["sc"]
    task = sc.tasks[0]
    return compile_route(sc, task, TaskPlan(task.id, ("phone", "edge"), (cut,)))


def _run_frame(route):
    return encode_frame({"route": route}, kind=KIND_REQUEST)


def _deliver_frame(route, shape, dtype=np.float32, values=None, stage=1):
    flat = np.zeros(shape, dtype).reshape(-1)
    vals = values if values is not None else [[route["stages"][stage]["gives"][0], list(shape)]]
    return encode_frame({"key": route["key"], "stage": stage, "values": vals}, flat, KIND_REQUEST)


def _served(system, pieces):
    """A good route: the tensor delivered first (kept until its Run), then Run answers."""
    route = _route(system)
    shape = pieces["lenet5"].expected_shape(2, 1)
    _call(system["addrs"]["edge"], "Deliver", [_deliver_frame(route, shape)])
    return decode_frame(_call(system["addrs"]["edge"], "Run", _run_frame(route)), LIMITS)


def test_valid_raw_route_is_served(system, pieces):
    reply = _served(system, pieces)
    assert [r[1]["name"] for r in reply.meta["records"]] == ["compute", "return"]
    assert reply.meta["values"] == [[pieces["lenet5"].output_values[0], [1, 10]]]


def _bad_run(system, mutate):
    route = _route(system)
    mutate(route)
    return [_run_frame(route)]


@pytest.mark.parametrize("what, make, code", [
    ("garbage bytes", lambda s: [b"\x00garbage" * 10], grpc.StatusCode.INVALID_ARGUMENT),
    ("unknown model", lambda s: _bad_run(s, lambda r: r.update(model="resnet152")),
     grpc.StatusCode.NOT_FOUND),
    ("layers out of range", lambda s: _bad_run(s, lambda r: r["stages"][2].update(layers=[99])),
     grpc.StatusCode.INVALID_ARGUMENT),
    ("no stage here", lambda s: _bad_run(s, lambda r: r["stages"][2].update(node="cloud")
                                         or r["stages"][3].update(src="cloud")),
     grpc.StatusCode.INVALID_ARGUMENT),
    ("later dependency", lambda s: _bad_run(s, lambda r: r["stages"][1].update(deps=[3])),
     grpc.StatusCode.INVALID_ARGUMENT),
    ("too many samples", lambda s: _bad_run(s, lambda r: r.update(samples=10_000)),
     grpc.StatusCode.INVALID_ARGUMENT),
])
def test_bad_routes_rejected_and_worker_keeps_serving(system, pieces, what, make, code):
    frames = make(system)
    with pytest.raises(grpc.RpcError) as info:
        _call(system["addrs"]["edge"], "Run", frames[0])
    assert info.value.code() == code, (what, info.value.details())
    assert _served(system, pieces).meta["values"][0][1] == [1, 10]


@pytest.mark.parametrize("what, frame, code", [
    ("garbage bytes", lambda r, shape: b"\x00garbage" * 10, grpc.StatusCode.INVALID_ARGUMENT),
    ("wrong shape", lambda r, shape: _deliver_frame(r, (1, 16, 12, 11)),
     grpc.StatusCode.INVALID_ARGUMENT),
    ("wrong value", lambda r, shape: _deliver_frame(r, shape, values=[[0, list(shape)]]),
     grpc.StatusCode.INVALID_ARGUMENT),
    ("wrong stage", lambda r, shape: _deliver_frame(r, shape, stage=0),
     grpc.StatusCode.INVALID_ARGUMENT),
    ("oversized payload", lambda r, shape: _deliver_frame(r, (1, 65, 32, 32)),
     grpc.StatusCode.RESOURCE_EXHAUSTED),
])
def test_bad_deliveries_rejected(system, pieces, what, frame, code):
    import threading

    route = _route(system)
    shape = pieces["lenet5"].expected_shape(2, 1)
    errors = []

    def run():  # the route is running at the worker, waiting for its tensor
        try:
            _call(system["addrs"]["edge"], "Run", _run_frame(route), timeout=1.5)
        except grpc.RpcError as exc:
            errors.append(exc.code())

    th = threading.Thread(target=run)
    th.start()
    deadline = time.monotonic() + 5
    while route["key"] not in system["edge"]._execs and time.monotonic() < deadline:
        time.sleep(0.005)
    with pytest.raises(grpc.RpcError) as info:
        _call(system["addrs"]["edge"], "Deliver", [frame(route, shape)])
    assert info.value.code() == code, (what, info.value.details())
    th.join(10)
    assert errors and errors[0] in (grpc.StatusCode.ABORTED, grpc.StatusCode.DEADLINE_EXCEEDED)
    assert _served(system, pieces).meta["values"][0][1] == [1, 10]


def test_grpc_message_limit_enforced(system):
    # one gRPC message above the limit the server set on purpose: refused by gRPC itself
    big = b"\x00" * (LIMITS.max_payload_bytes + LIMITS.max_meta_bytes + 4096)
    with pytest.raises(grpc.RpcError) as info:
        _call(system["addrs"]["edge"], "Deliver", [big])
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


@pytest.mark.parametrize("token", [None, "wrong-token", TOKEN + "x"])
def test_bad_token_rejected(system, pieces, token):
    with pytest.raises(grpc.RpcError) as info:
        _call(system["addrs"]["edge"], "Run", _run_frame(_route(system)), token=token)
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.RpcError) as info:
        ControllerClient(system["ctl"], token=token).info()
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_controller_unreachable_means_local_decision(system, pieces):
    dead = f"127.0.0.1:{free_ports(1)[0]}"
    dev = _device(system, pieces, controller=dead, decide_timeout_s=0.5)
    out = dev.run_task(system["sc"].tasks[0], pieces["lenet5"].example(1), time.monotonic())
    assert out.decided_by == "local" and out.plan.nodes == ("phone",)
    assert "UNAVAILABLE" in out.reason or "DEADLINE" in out.reason
    dev.close()


def test_controller_unreachable_uses_fallback_planner(system, pieces):
    dead = f"127.0.0.1:{free_ports(1)[0]}"
    dev = _device(system, pieces, controller=dead, fallback_planner="edge", decide_timeout_s=0.5)
    out = dev.run_task(system["sc"].tasks[0], pieces["lenet5"].example(1), time.monotonic())
    assert out.decided_by == "local" and out.plan.nodes[1:] == ("edge",) and not out.fallback
    dev.close()


def test_missed_deadline_falls_back_locally(system, pieces):
    dev = _device(system, pieces, deadline_s=0.001)
    dev.decide = lambda t, now: (TaskPlan(t.id, ("phone", "edge"), (3,)), "test", None)
    x = pieces["lenet5"].example(1)
    out = dev.run_task(system["sc"].tasks[0], x, time.monotonic())
    mp = pieces["lenet5"]
    assert out.fallback and "DEADLINE_EXCEEDED" in out.reason
    assert torch.equal(out.output, mp.run(0, mp.last_cut, x))
    assert [s.name for s in out.record.stages][-1] == "fallback"
    dev.close()


def test_killing_a_worker_mid_run_loses_no_task(pieces):
    sc = _scenario(n_tasks=8, gap=0.04)
    worker = Worker(WorkerConfig("edge", ("lenet5",), scenario=sc), pieces)
    server, port = worker.serve("127.0.0.1:0")
    cfg = DeviceConfig("phone", sc, {"edge": f"127.0.0.1:{port}"}, controller=None,
                       fallback_planner="edge", deadline_s=2.0)
    dev = Device(cfg, pieces)
    epoch = time.monotonic() + 0.05
    import threading

    def kill_after_two_served():  # kill on progress, not on a clock: robust under CPU load
        deadline = time.monotonic() + 30
        while worker.stats["served"] < 2 and time.monotonic() < deadline:
            time.sleep(0.002)
        server.stop(None)

    threading.Thread(target=kill_after_two_served, daemon=True).start()
    outs = dev.replay(list(sc.tasks), epoch)
    mp = pieces["lenet5"]
    assert len(outs) == len(sc.tasks)
    assert any(not o.fallback and o.plan.nodes[-1] == "edge" for o in outs)
    assert any(o.fallback for o in outs)
    for t, o in zip(sc.tasks, outs, strict=True):
        assert torch.equal(o.output, mp.run(0, mp.last_cut, mp.example(t.samples, seed=t.index)))
    dev.close()


def test_parameter_mismatch_detected(pieces):
    other = Worker(WorkerConfig("edge", ("lenet5",), seed=1))
    server, port = other.serve("127.0.0.1:0")
    try:
        dev = Device(DeviceConfig("phone", _scenario(), {"edge": f"127.0.0.1:{port}"}), pieces)
        with pytest.raises(RuntimeError, match="other parameters"):
            dev.check_workers()
    finally:
        server.stop(None)


def test_sink_and_info(system):
    with pytest.raises(grpc.RpcError):  # one rejected call, counted in the stats
        _call(system["addrs"]["edge"], "Run", b"\x00garbage")
    client = WorkerClient(system["addrs"]["edge"], LIMITS, TOKEN)
    receipt, sent = client.sink(encode_frame({}, np.zeros(5000, np.uint8), KIND_REQUEST), None, 5)
    assert receipt["bytes"] > 5000 and receipt["received"] >= sent.start
    info = client.info()
    assert info["name"] == "edge" and info["stats"]["rejected"] >= 1
    client.close()


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_worker_matches_cpu(pieces):
    gpu = ModelPieces("lenet5", "cuda")
    x = pieces["lenet5"].example(2)
    torch.testing.assert_close(gpu.run(3, gpu.last_cut, pieces["lenet5"].run(0, 3, x)),
                               pieces["lenet5"].run(0, 12, x), rtol=1e-4, atol=1e-5)
