"""Workers are calibrated under the run's conditions and held to their calibrated times (issue 14
point 7): the devices' stand-ins (``device_load``) compute with a device's duty cycle, a worker's
timing can take a quantile of its passes, and a route paces a held node's compute stages to its
stage times in the pace scenario (the calibrated one)."""

from __future__ import annotations

import threading
import time

import pytest

from splitinfer.runtime.calibrate import device_load, measure_tails
from splitinfer.runtime.pieces import ModelPieces
from splitinfer.runtime.route import compile_route
from splitinfer.system.load import scenario_from_dict
from splitinfer.system.plan import TaskPlan

LENET = {"lenet5": {"profile": "lenet5@cpu-1t", "profiles": {"cpu-1t": "lenet5@cpu-1t"}}}


def _scenario(edge_flops: float) -> object:
    return scenario_from_dict({
        "name": "held",
        "nodes": [{"name": "phone", "kind": "device", "compute": {"flops_per_s": 1e8}},
                  {"name": "edge", "kind": "edge", "compute": {"flops_per_s": edge_flops}}],
        "links": [{"src": "phone", "dst": "edge", "bandwidth": "100Mbps", "latency": "1ms"}],
        "models": LENET,
        "workload": {"tasks": [{"device": "phone", "model": "lenet5", "arrival": 0.0}]}})


def test_the_device_stand_in_holds_each_pass_for_its_pace_and_stops_on_its_file(tmp_path):
    stop, ready = tmp_path / "stop", tmp_path / "ready"
    got: list[int] = []
    th = threading.Thread(target=lambda: got.append(
        device_load(["lenet5"], {"lenet5": 0.05}, stop, ready, timeout_s=30.0)))
    th.start()
    deadline = time.monotonic() + 60.0
    while not ready.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ready.exists()
    time.sleep(0.5)
    stop.write_text("{}")
    th.join(10.0)
    assert not th.is_alive()
    # about 0.5 s / 0.05 s passes: held for its pace, not back to back (lenet5 takes ~1 ms)
    assert 3 <= got[0] <= 16, got


def test_the_stand_in_stops_at_its_timeout_without_a_stop_file(tmp_path):
    t0 = time.monotonic()
    n = device_load(["lenet5"], {}, tmp_path / "never", None, timeout_s=0.3)
    assert n >= 1 and time.monotonic() - t0 < 30.0


def test_a_worker_timing_takes_the_asked_quantile_of_its_passes():
    mp = ModelPieces("lenet5")
    lo = measure_tails({"lenet5": mp}, repeats=5, quantile=0.0)["lenet5"]
    hi = measure_tails({"lenet5": mp}, repeats=5, quantile=1.0)["lenet5"]
    assert len(lo) == len(hi) == mp.num_cuts and lo[-1] == hi[-1] == 0.0
    assert lo[0] > 0 and hi[0] > 0
    with pytest.raises(ValueError, match="quantile"):
        measure_tails({"lenet5": mp}, repeats=1, quantile=1.5)


def test_a_held_node_is_paced_to_its_stage_time_in_the_pace_scenario():
    run, calibrated = _scenario(1e12), _scenario(2e7)  # the calibration found the edge slower
    task = run.tasks[0]
    tp = TaskPlan(task.id, ("phone", "edge"), (2,))
    plain = compile_route(run, task, tp, ("phone",))
    held = compile_route(run, task, tp, ("phone", "edge"), calibrated)
    edge = [i for i, s in enumerate(held["stages"]) if s["kind"] == "compute" and s["node"] == "edge"]
    assert edge
    for i in edge:
        assert plain["stages"][i]["pace"] == 0.0  # not held: runs as fast as it can
        want = calibrated.compute_time("edge", "lenet5", 2, calibrated.models["lenet5"].last_cut)
        assert held["stages"][i]["pace"] == pytest.approx(want)
        assert held["stages"][i]["pace"] > held["stages"][i]["duration"]
    phone = [s for s in held["stages"] if s["kind"] == "compute" and s["node"] == "phone"]
    assert phone and all(s["pace"] > 0 for s in phone)


def test_a_constant_result_return_is_calibrated_with_the_measured_reply_time():
    """A result returned by the scenario's constant delay comes back in a call's answer: the
    calibrated scenario adds the probes' median reply time to it (links keep their own fit)."""
    from splitinfer.runtime.calibrate import reply_time, scenario_dict

    base = _scenario(1e9)
    d = scenario_dict(base, {"lenet5": "lenet5@cpu-1t"}, reply=0.004)
    assert "result_return" not in d  # this one returns over the link: nothing to add
    const = scenario_from_dict({**{k: v for k, v in scenario_dict(
        base, {"lenet5": "lenet5@cpu-1t"}).items()}, "result_return": 0.01})
    got = scenario_dict(const, {"lenet5": "lenet5@cpu-1t"},
                        reply=reply_time([{"reply_s": 0.003}, {"reply_s": 0.005}]))
    assert got["result_return"] == pytest.approx(0.014)
    again = scenario_from_dict(got)
    tp = TaskPlan(again.tasks[0].id, ("phone", "edge"), (2,))
    (ret,) = [s for s in compile_route(again, again.tasks[0], tp)["stages"] if s["kind"] == "delay"]
    assert ret["duration"] == pytest.approx(0.014)


def test_the_runs_processes_hand_the_gil_over_every_half_millisecond(monkeypatch):
    """Every launched process (``child_main``) sets the switch interval before its command."""
    import sys

    import splitinfer.cli
    from splitinfer.runtime import launch

    seen = []
    monkeypatch.delenv(launch.PARENT_ENV, raising=False)
    monkeypatch.setattr(splitinfer.cli, "main", lambda argv: seen.append(
        (list(argv), sys.getswitchinterval())))
    before = sys.getswitchinterval()
    try:
        sys.setswitchinterval(0.005)
        launch.child_main(["serve", "worker"])
    finally:
        sys.setswitchinterval(before)
    assert seen == [(["serve", "worker"], pytest.approx(launch.SWITCH_INTERVAL_S))]
    assert launch.SWITCH_INTERVAL_S == 5e-4


def test_a_frames_header_and_metadata_cross_the_bucket_unpaced():
    """The simulator times a transfer by its tensor's bytes: the token bucket pays for those
    alone, not for the frame's header and metadata (a route that travels with an early
    delivery is control data)."""
    from splitinfer.runtime.shaping import LinkShaper

    link = LinkShaper(rate=8e5, mode="bucket", chunk_bytes=1000)  # 100 kB/s
    chunks = [b"h" * 3000] + [b"t" * 1000] * 3  # 3 kB of header, then 3 kB of tensor

    def took(free: int) -> float:
        t0 = time.monotonic()
        for _ in link.pace(iter(chunks), free=free):
            pass
        return time.monotonic() - t0

    assert took(3000) == pytest.approx(0.03, abs=0.02)   # 3 kB paid: 30 ms
    assert took(0) == pytest.approx(0.06, abs=0.02)      # all 6 kB paid: 60 ms


def test_a_worker_timing_can_wait_before_each_piece():
    mp = ModelPieces("lenet5")
    t0 = time.monotonic()
    tails = measure_tails({"lenet5": mp}, repeats=1, gap_s=0.01)["lenet5"]
    assert time.monotonic() - t0 >= 0.01 * (mp.num_cuts - 1)
    assert tails[0] > 0 and tails[-1] == 0.0


def test_a_worker_calibration_waits_for_the_load_and_records_it(tmp_path):
    import json

    from splitinfer.runtime.calibrate import calibrate_worker

    go = tmp_path / "go"
    go.write_text("{}")
    got = calibrate_worker({"lenet5": ModelPieces("lenet5")}, "edge", tmp_path / "c.json", 1,
                           0.8, go, 5.0)
    assert json.loads((tmp_path / "c.json").read_text()) == got
    assert got["under_load"] is True and got["quantile"] == 0.8 and got["tails"]["lenet5"][0] > 0
    late = calibrate_worker({"lenet5": ModelPieces("lenet5")}, "edge", tmp_path / "d.json", 1,
                            0.5, tmp_path / "never", 0.1)
    assert late["under_load"] is False  # the load never came: timed anyway, and said so


@pytest.mark.skipif(not __import__("sys").platform.startswith("linux"),
                    reason="threads have their own nice value on Linux only")
def test_computation_runs_below_the_runs_other_threads_and_then_gives_the_step_back(
        monkeypatch):
    """A route's compute stage (and a worker timing its pieces) runs ``COMPUTE_NICE`` steps
    below its process's other threads, so a send or an answer on the same CPU goes first; the
    thread's priority comes back after."""
    import os

    import splitinfer.runtime.calibrate as calibrate
    from splitinfer.runtime.launch import COMPUTE_NICE, background_compute

    tid = threading.get_native_id()
    before = os.getpriority(os.PRIO_PROCESS, tid)
    with background_compute():
        inside = os.getpriority(os.PRIO_PROCESS, tid)
    assert inside == min(19, before + COMPUTE_NICE) and COMPUTE_NICE > 0
    assert os.getpriority(os.PRIO_PROCESS, tid) == before
    seen = []
    monkeypatch.setattr(calibrate, "_time_tails", lambda *a: seen.append(
        os.getpriority(os.PRIO_PROCESS, threading.get_native_id())) or {})
    measure_tails({}, repeats=1)
    assert seen == [inside]


@pytest.mark.parametrize("result_return,divisible", [(0.0, False), (0.004, False),
                                                     (None, False), (0.0, True)])
def test_the_return_probe_times_a_results_way_back_in_a_runs_answer(result_return, divisible):
    """``probe_returns`` runs the last piece on each worker through the route's code path,
    times the dispatch to its first stage and the result's way back beyond the scenario's
    delay (with results over links there is no answer to time); the link probes' samples still
    fit alone."""
    from splitinfer.runtime.calibrate import (
        dispatch_time,
        fit_transfer,
        probe_links,
        probe_returns,
        reply_time,
    )
    from splitinfer.runtime.device import Device, DeviceConfig
    from splitinfer.runtime.transport import free_ports
    from splitinfer.runtime.worker import Worker, WorkerConfig

    spec = {"nodes": [{"name": "phone", "kind": "device", "compute": {"flops_per_s": 1e8}},
                      {"name": "edge", "kind": "edge", "compute": {"flops_per_s": 1e9}}],
            "links": [{"src": "phone", "dst": "edge", "bandwidth": "50Mbps"},
                      {"src": "edge", "dst": "phone", "bandwidth": "50Mbps"}],
            "models": LENET,
            "workload": {"tasks": [{"device": "phone", "model": "lenet5"}]}}
    if result_return is not None:
        spec["result_return"] = result_return
    if divisible:  # Zheng's cloud: every plan names a share (the probe takes its device's lane)
        spec["nodes"][1] |= {"kind": "cloud", "divisible": True}
    sc = scenario_from_dict(spec)
    pieces = {"lenet5": ModelPieces("lenet5")}
    addr = f"127.0.0.1:{free_ports(1)[0]}"
    worker = Worker(WorkerConfig("edge", ("lenet5",), scenario=sc), pieces)
    server = worker.serve(addr)[0]
    dev = Device(DeviceConfig("phone", sc, {"edge": addr}, controller=None, deadline_s=10.0),
                 pieces)
    try:
        dev.wait_for_workers(10.0)
        t0 = time.monotonic()
        got = probe_returns(dev, repeats=3)
        took = time.monotonic() - t0
        links = probe_links(dev, repeats=1)
    finally:
        dev.close()
        server.stop(None)
    assert got, "no probe ran"
    fit_transfer(links + got)  # return samples are not transfers
    back = [g["return_s"] for g in got if "return_s" in g]
    first = [g["dispatch_s"] for g in got if g.get("first") == "compute"]
    sends = [g["dispatch_s"] for g in got if g.get("first") == "transfer"]  # the whole model
    assert len(first) == len(sends) == 3 and {g["worker"] for g in got} == {"edge"}
    assert all(0.0 <= f < took for f in first + sends)
    assert dispatch_time(links + got) == pytest.approx(sorted(first)[1])
    assert dispatch_time(links + got, "transfer") == pytest.approx(sorted(sends)[1])
    if result_return is None:  # results come back over the link: no answer to time
        assert back == []
        return
    assert len(back) == 3
    assert all(0.0 < b < took for b in back)
    assert reply_time(links + got) == pytest.approx(sorted(back)[1])


@pytest.mark.parametrize("held,place,paced", [(True, {"phone": [0], "edge": [1]}, False),
                                              (True, {}, False), (False, {"phone": [0]}, True),
                                              (False, {}, True)])
def test_stand_ins_compute_without_pause_beside_held_workers(tmp_path, held, place, paced):
    """Beside workers that will be held to their times, a paced device's stand-in computes
    without pause, pinned or not, so that the held time is taken under the heaviest mix of the
    run's processes and bounds the pieces' time in the run; beside unheld workers it keeps the
    device's duty cycle (``run._start_loads``)."""
    from splitinfer.runtime.run import _start_loads

    started = []

    class Recorder:
        def start(self, name, argv, prefix=None):
            started.append((name, argv))

    sc = _scenario(1e9)
    names = _start_loads(Recorder(), sc, tmp_path, place, ["phone"], 10.0, held)
    assert names == ["load-phone"] and [n for n, _ in started] == names
    argv = started[0][1]
    assert ("--pace" in argv) == paced
    if paced:
        assert argv[argv.index("--pace") + 1].startswith("lenet5=")
    if place:
        assert "sched_setaffinity(0, [0])" in " ".join(argv)


def test_a_tasks_admission_takes_the_dispatch_time_of_its_first_stage():
    """A task that begins by sending its input is released after the probes' transfer-first
    dispatch time, one that begins by computing after the compute-first one."""
    from splitinfer.runtime.run import admission_plan
    from splitinfer.system.plan import Plan

    sc = scenario_from_dict({
        "nodes": [{"name": "phone", "kind": "device", "compute": {"flops_per_s": 1e8}},
                  {"name": "edge", "kind": "edge", "compute": {"flops_per_s": 1e9}}],
        "links": [{"src": "phone", "dst": "edge", "bandwidth": "100Mbps"}],
        "models": LENET,
        "workload": {"tasks": [{"device": "phone", "model": "lenet5", "arrival": a}
                               for a in (0.0, 1.0)]}})
    plan = Plan("x", {"t0": TaskPlan("t0", ("phone", "edge"), (0,)),    # sends its input first
                      "t1": TaskPlan("t1", ("phone", "edge"), (2,))})   # computes first
    got = admission_plan(sc, plan, {"phone": 0.002}, None, {"compute": 0.001, "transfer": 0.009})
    assert got.tasks["t0"].release == pytest.approx(0.011)
    assert got.tasks["t1"].release == pytest.approx(1.003)


def test_a_groups_first_admission_takes_the_cold_round_trip_and_the_others_the_warm_one():
    """Tasks arriving at one instant are admitted one after another: the first after the
    round trip timed after an idle wait (``cold``), each further one after the back-to-back
    round trip; a device without a cold time charges the warm one to all."""
    from splitinfer.runtime.run import admission_plan
    from splitinfer.system.plan import Plan

    sc = scenario_from_dict({
        "nodes": [{"name": "phone", "kind": "device", "compute": {"flops_per_s": 1e8}}],
        "models": LENET,
        "workload": {"tasks": [{"device": "phone", "model": "lenet5", "arrival": a}
                               for a in (0.0, 0.0, 0.0, 1.0)]}})
    plan = Plan("x", {t.id: TaskPlan(t.id, ("phone",)) for t in sc.tasks})
    got = admission_plan(sc, plan, {"phone": 0.002}, None, 0.0, {"phone": 0.005})
    assert [got.tasks[t].release for t in ("t0", "t1", "t2", "t3")] == pytest.approx(
        [0.009, 0.009, 0.009, 1.005])
    warm = admission_plan(sc, plan, {"phone": 0.002}, None, 0.0, {"phone": None})
    assert [warm.tasks[t].release for t in ("t0", "t3")] == pytest.approx([0.006, 1.002])
