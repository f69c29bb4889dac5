"""Bandwidth traces: reading, exact integration, the simulator (compiled and reference), online
planners that see the rate in force, and the shipped traces (issue 20, part 2)."""

from __future__ import annotations

import math
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from splitinfer.errors import InfeasiblePlanError, ScenarioError
from splitinfer.sim import simulate
from splitinfer.sim.engine import Engine
from splitinfer.system import Plan, TaskPlan, scenario_from_dict
from splitinfer.testing.oracle_engine import Engine as Reference
from splitinfer.testing.oracle_engine import random_workload
from splitinfer.traces import BandwidthTrace, TracedTransfer, TraceError, read_trace
from splitinfer.transfer import transfer_time

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------ integration by hand
def test_transfer_across_steps_hand_computed():
    """10 Mbit/s for 1 s, 0 (outage) for 0.5 s, 4 Mbit/s after. 2 MB = 16 Mbit sent from 0.6 s:
    4 Mbit by 1 s, nothing until 1.5 s, 12 Mbit more at 4 Mbit/s = 3 s: ends at 4.5 s."""
    tr = BandwidthTrace([0.0, 1.0, 1.5], [10e6, 0.0, 4e6])
    assert tr.finish(0.6, 16e6) == pytest.approx(4.5, abs=1e-12)
    assert transfer_time(2e6, 1.0, latency=0.01, trace=tr, start=0.6) == pytest.approx(3.91)
    # within one step: the constant-rate formula
    assert tr.finish(0.0, 5e6) == pytest.approx(0.5)
    assert tr.finish(2.0, 4e6) == pytest.approx(3.0)
    # starting inside the outage waits for it to end
    assert tr.finish(1.2, 4e6) == pytest.approx(2.5)
    assert tr.delivered(4.5) - tr.delivered(0.6) == pytest.approx(16e6)


def test_repeating_trace_hand_computed():
    """Period 2 s: 8 Mbit/s for 1 s, 2 Mbit/s for 1 s (10 Mbit per period). 25 Mbit from 1.5 s:
    1 by 2 s, 10 by 4 s, 10 by 6 s, 4 more at 8 Mbit/s: 6.5 s."""
    tr = BandwidthTrace([0.0, 1.0], [8e6, 2e6], period=2.0)
    assert tr.finish(1.5, 25e6) == pytest.approx(6.5)
    assert tr.rate_at(4.2) == 8e6 and tr.rate_at(3.5) == 2e6
    assert tr.mean_rate() == pytest.approx(5e6)
    # a transfer ending exactly on a period boundary
    assert tr.finish(0.0, 10e6) == pytest.approx(2.0)


@pytest.mark.parametrize("seed", range(20))
def test_finish_inverts_delivered(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 8))
    times = np.r_[0.0, np.cumsum(rng.uniform(0.01, 2.0, n - 1))]
    rates = rng.choice([0.0, 1e6, 5e6, 2e7], n)
    rates[-1] = max(rates[-1], 1e5)
    period = float(times[-1] + rng.uniform(0.1, 2.0)) if rng.random() < 0.5 else None
    if period is not None and rates.sum() == 0:
        rates[0] = 1e6
    tr = BandwidthTrace(times, rates, period=period)
    for _ in range(20):
        s, b = float(rng.uniform(0, 20)), float(rng.uniform(0, 5e7))
        end = tr.finish(s, b)
        assert end >= s
        assert tr.delivered(end) - tr.delivered(s) == pytest.approx(b, rel=1e-9, abs=1e-3)


def test_constant_trace_is_the_constant_formula():
    tr = BandwidthTrace([0.0], [8e6])
    for s in (0.0, 1.3, 100.0):
        assert tr.finish(s, 8e6) - s == pytest.approx(1.0)


# ------------------------------------------------------------------ files
def test_mahimahi_packets(tmp_path):
    p = tmp_path / "t.up"
    p.write_text("1\n1\n1\n3\n")  # 3 packets in the first ms, none in the second, 1 in the third
    tr = read_trace(p)
    assert tr.period is None and tr.window == 0.1
    assert tr.finish(0.0, 3 * 12000) == pytest.approx(0.001)
    assert tr.finish(0.0, 4 * 12000) == pytest.approx(0.003)
    rep = read_trace(p, repeat=True)
    assert rep.period == 0.003 and rep.mean_rate() == pytest.approx(4 * 12000 / 0.003)
    assert rep.finish(0.0, 8 * 12000) == pytest.approx(0.006)  # the second loop's last packet


def test_csv_units_and_repeat(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("# a comment\ntime_s,rate_kbps\n0,1000\n2,500\n")
    tr = read_trace(p)
    assert tr.rates.tolist() == [1e6, 5e5]
    with pytest.raises(TraceError, match="needs 'period'"):
        read_trace(p, repeat=True)
    assert read_trace(p, repeat=True, period=3.0, scale=2.0).total == pytest.approx(5e6)


@pytest.mark.parametrize("text,match", [
    ("time,rate\n0,1\n", "header must name"),
    ("time_s,rate_mbps\n0,1\n0,2\n", "strictly increasing"),
    ("time_s,rate_mbps\n1,1\n", "start at time 0"),
    ("time_s,rate_mbps\n0,1\n1,x\n", "not two numbers"),
    ("time_s,rate_mbps\n0,1\n1,0\n", "last rate is 0"),
    ("time_s,rate_mbps\n0,-1\n", ">= 0"),
])
def test_csv_errors_are_one_line(tmp_path, text, match):
    p = tmp_path / "bad.csv"
    p.write_text(text)
    with pytest.raises(TraceError, match=match) as info:
        read_trace(p)
    assert "\n" not in str(info.value) and str(p) in str(info.value)


def test_mahimahi_errors(tmp_path):
    p = tmp_path / "bad"
    p.write_text("1\n3\n2\n")
    with pytest.raises(TraceError, match="non-decreasing"):
        read_trace(p)
    p.write_text("1\nfast\n")
    with pytest.raises(TraceError, match="one integer millisecond"):
        read_trace(p)
    with pytest.raises(TraceError, match="not a regular file"):
        read_trace("/dev/null", fmt="mahimahi")


def test_shipped_traces_are_what_the_script_writes():
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "make_traces.py"), "--check"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


# ------------------------------------------------------------------ scenarios
def _scenario(bandwidth, sharing="dedicated", tasks=((0.0,),), **extra):
    return scenario_from_dict({
        "nodes": [{"name": "d", "kind": "device", "compute": {"flops_per_s": 1e9}},
                  {"name": "e", "kind": "edge", "compute": {"flops_per_s": 1e12},
                   "concurrency": None}],
        "links": [{"src": "d", "dst": "e", "bandwidth": bandwidth, "sharing": sharing, **extra}],
        "models": {"m": {"cuts": [{"transfer_bytes": 2e6}, {"transfer_bytes": 1e3,
                                                              "head_flops": 1e9}]}},
        "result_return": 0,
        "workload": {"tasks": [{"device": "d", "model": "m", "arrival": a} for (a, *_) in tasks]}},
        base_dir=ROOT)


def _with_trace(sc, trace):
    return replace(sc, links={k: replace(v, trace=trace) for k, v in sc.links.items()})


def test_simulated_uplink_matches_the_hand_computed_case():
    tr = BandwidthTrace([0.0, 1.0, 1.5], [10e6, 0.0, 4e6])
    sc = _with_trace(_scenario(10e6, tasks=((0.6,),)), tr)
    plan = Plan("x", {"t0": TaskPlan("t0", ("d", "e"), (0,))})
    res = simulate(sc, plan)
    up = [s for s in res.tasks[0].stages if s.kind == "transfer"][0]
    assert up.start == pytest.approx(0.6) and up.end == pytest.approx(4.5)


def test_fifo_link_times_each_transfer_from_its_own_start():
    """Two uploads of 16 Mbit on one FIFO link, 16 Mbit/s until 1 s then 4 Mbit/s: the first
    ends at 1 s, the second starts then and takes 4 s."""
    tr = BandwidthTrace([0.0, 1.0], [16e6, 4e6])
    sc = _with_trace(_scenario(16e6, sharing="fifo", tasks=((0.0,), (0.0,))), tr)
    plan = Plan("x", {t: TaskPlan(t, ("d", "e"), (0,)) for t in ("t0", "t1")})
    ends = sorted(s.end for t in simulate(sc, plan).tasks for s in t.stages if s.kind == "transfer")
    assert ends == pytest.approx([1.0, 5.0])


def test_scenario_file_trace_and_errors(tmp_path):
    (tmp_path / "t.csv").write_text("time_s,rate_mbps\n0,16\n1,4\n")
    body = ("nodes: [{name: d, kind: device, compute: {flops_per_s: 1GFLOPS}},\n"
            "        {name: e, kind: edge, compute: {flops_per_s: 1TFLOPS}}]\n"
            "links: [{src: d, dst: e, bandwidth: BW}]\n"
            "models: {m: {cuts: [{transfer_bytes: 2MB}, {transfer_bytes: 1KB, head_flops: 1e9}]}}\n"
            "workload: {tasks: [{device: d, model: m}]}\n")
    from splitinfer.system import load_scenario

    f = tmp_path / "s.yaml"
    f.write_text(body.replace("BW", "{trace: t.csv}"))
    sc = load_scenario(f)
    link = sc.link("d", "e")
    assert link.rate == 16e6 and link.trace is not None
    assert sc.link("e", "d").trace is link.trace  # the reverse direction: the same trace
    f.write_text(body.replace("BW", "{trace: step-drop}"))  # a shipped trace by name
    assert load_scenario(f).link("d", "e").trace.rate_at(15.0) == 2e6
    for bw, match in (("{trace: nope.csv}", "no trace file"),
                      ("{trace: t.csv, repeat: true}", "needs 'period'"),
                      ("{trace: t.csv, speed: 2}", "unknown field"),
                      ("{trace: t.csv}, sharing: reserved, pool: p", "cannot be reserved")):
        f.write_text(body.replace("BW", bw) + ("pools: {p: 10Mbps}\n" if "pool" in bw else ""))
        with pytest.raises(ScenarioError, match=match) as info:
            load_scenario(f)
        assert "Traceback" not in str(info.value)


def test_a_plan_cannot_reserve_a_rate_on_a_traced_link():
    sc = _with_trace(_scenario(10e6), BandwidthTrace([0.0], [10e6]))
    plan = Plan("x", {"t0": TaskPlan("t0", ("d", "e"), (0,), bandwidth=(5e6,))})
    with pytest.raises(InfeasiblePlanError, match="bandwidth trace"):
        simulate(sc, plan)


def test_with_link_rate_drops_the_trace():
    sc = _with_trace(_scenario(10e6), BandwidthTrace([0.0, 1.0], [10e6, 1e6]))
    assert sc.traced_links and not sc.with_link_rate(5e6).traced_links
    assert sc.at(2.0).link("d", "e").rate == 1e6 and not sc.at(2.0).traced_links


# ------------------------------------------------------------------ compiled vs reference
def _traced_workload(seed):
    """A random engine workload with some stages turned into transfers on traces."""
    slot_of, pools, tasks = random_workload(seed)
    rng = np.random.default_rng([seed, 20])
    traces = [BandwidthTrace([0.0, 1.0, 2.5], [4.0, 0.0, 1.0]),
              BandwidthTrace([0.0, 0.5], [2.0, 0.5], period=1.5),
              BandwidthTrace([0.0], [3.0])]
    cache = {}
    for task in tasks:
        st = task["stages"]
        if id(st) not in cache:
            cache[id(st)] = [replace(s, traced=TracedTransfer(
                traces[int(rng.integers(3))], float(rng.uniform(0, 5)),
                float(rng.choice([0.0, 0.25])))) if rng.random() < 0.5 else s for s in st]
        task["stages"] = cache[id(st)]
    return slot_of, pools, tasks


@pytest.mark.parametrize("seed", range(25))
def test_compiled_engine_matches_reference_on_traces(seed):
    slot_of, pools, tasks = _traced_workload(seed)
    for online in (False, True):
        engines = []
        for cls in (Engine, Reference):
            eng = cls(slot_of.__getitem__, pools)
            for task in tasks:
                if online and task["online"]:
                    def supply(now, task=task):
                        return task["stages"], max(now, task["release"]), task["priority"]
                    eng.add_arrival(task["id"], task["arrival"], task["index"], supply)
                else:
                    eng.add_task(task["id"], task["stages"], task["arrival"], task["release"],
                                 task["priority"], task["index"])
            eng.run()
            engines.append(eng)
        new, ref = engines
        assert new.finish.keys() == ref.finish.keys()
        for tid in ref.finish:
            assert math.isclose(new.finish[tid], ref.finish[tid], abs_tol=1e-9)
            assert np.allclose(new.end[tid], ref.end[tid], atol=1e-9, equal_nan=True)
        assert new.finish_order == ref.finish_order


# ------------------------------------------------------------------ online planners
def test_neurosurgeon_online_adapts_and_estimates():
    from splitinfer.planners import get_planner

    drop = BandwidthTrace([0.0, 10.0], [80e6, 0.5e6])
    sc = _with_trace(_scenario(80e6, tasks=[(float(a),) for a in range(0, 60, 2)]), drop)
    fixed = get_planner("neurosurgeon").plan(sc)
    truth = get_planner("neurosurgeon-online").plan(sc)
    est = get_planner("neurosurgeon-online", rate="estimate", last=1).plan(sc)
    local = [tp.is_local for tp in fixed.tasks.values()]
    assert not any(local)  # planned once with 80 Mbit/s: always offload
    assert [tp.is_local for tp in truth.tasks.values()] == [False] * 5 + [True] * 25
    # the estimate learns of the drop when the first slow upload (from 10 s, 16 Mbit at
    # 0.5 Mbit/s) has finished, at 42 s: the tasks from 44 s on run locally
    est_local = [tp.is_local for tp in est.tasks.values()]
    assert est_local == [False] * 22 + [True] * 8
    lat = {n: simulate(sc, p).mean_latency for n, p in
           (("fixed", fixed), ("truth", truth))}
    assert lat["truth"] < lat["fixed"]


def test_state_sees_the_rate_in_force():
    from splitinfer.sim import simulate_online
    from splitinfer.system.planner import State

    seen = []

    class Spy:
        name = "spy"

        def start(self, scenario):
            pass

        def decide(self, task, state: State):
            seen.append((state.scenario.link("d", "e").rate, dict(state.throughput)))
            return TaskPlan(task.id, ("d", "e"), (0,))

    drop = BandwidthTrace([0.0, 3.0], [16e6, 4e6])
    sc = _with_trace(_scenario(16e6, tasks=((0.0,), (5.0,))), drop)
    simulate_online(sc, Spy())
    assert [r for r, _ in seen] == [16e6, 4e6]
    assert seen[1][1][("d", "e")] == pytest.approx([16e6])  # the first upload, 1 s at 16 Mbit/s


# ------------------------------------------------------------------ runtime shaping
def test_bucket_mode_follows_the_trace_on_loopback():
    """150 KB over a loopback TCP socket, paced by a traced link: 8 Mbit/s (1 MB/s) for 0.1 s,
    then 0.8 Mbit/s. The first 100 KB leave by 0.1 s, the other 50 KB need 0.5 s more, so the
    receiver cannot have them all before 0.6 s (at the first rate it would be 0.15 s)."""
    import socket
    import threading
    import time

    from splitinfer.runtime.shaping import LinkShaper

    trace = BandwidthTrace([0.0, 0.1], [8e6, 8e5])
    server = socket.create_server(("127.0.0.1", 0))
    got, marks = [0], {}

    def receive():
        conn, _ = server.accept()
        with conn:
            while got[0] < 150_000:
                data = conn.recv(65536)
                if not data:
                    break
                got[0] += len(data)
                if got[0] >= 100_000 and "first" not in marks:
                    marks["first"] = time.monotonic()
            marks["all"] = time.monotonic()

    t = threading.Thread(target=receive)
    t.start()
    client = socket.create_connection(server.getsockname())
    epoch = time.monotonic()
    shaper = LinkShaper(rate=8e6, trace=trace, epoch=epoch, chunk_bytes=10_000)
    with shaper.transfer():
        for chunk in shaper.pace([b"x" * 10_000] * 15):
            client.sendall(chunk)
    client.close()
    t.join(10)
    server.close()
    assert got[0] == 150_000
    assert marks["first"] - epoch >= 0.1 - 0.05 - 1e-3  # at most ``ahead`` early
    assert marks["all"] - epoch >= 0.6 - 1e-3


def test_link_shapers_carry_the_trace_and_kernel_schedule():
    from splitinfer.runtime.netns import TC_MIN_RATE, NetnsTopology
    from splitinfer.runtime.shaping import link_shapers

    tr = BandwidthTrace([0.0, 0.2, 0.3], [10e6, 0.0, 4e6])
    sc = _with_trace(_scenario(10e6), tr)
    assert link_shapers(sc, "d")["e"].trace is tr
    topo = NetnsTopology(sc, prefix="sitest")
    topo._traced = [("ns0", "veth0", "d", "e")]
    sched = topo.rate_schedule(0.5)
    assert [t for t, _ in sched] == pytest.approx([0.2, 0.3])
    assert sched[0][1][:8] == ["ip", "netns", "exec", "ns0", "tc", "qdisc", "change", "dev"]
    assert f"{int(TC_MIN_RATE)}bit" in sched[0][1] and "4000000bit" in sched[1][1]


def test_runtime_scenario_file_keeps_the_trace(tmp_path):
    """The runtime writes the scenario for its processes: a traced link stays traced."""
    from splitinfer.runtime.calibrate import scenario_dict
    from splitinfer.system import load_scenario
    from splitinfer.system.schema import scenario_file_dict

    f = tmp_path / "s.yaml"
    f.write_text("nodes: [{name: d, kind: device, compute: {flops_per_s: 1GFLOPS}},\n"
                 "        {name: e, kind: edge, compute: {flops_per_s: 1TFLOPS}}]\n"
                 "links: [{src: d, dst: e, bandwidth: {trace: noisy-walk-ms, repeat: true}}]\n"
                 "models: {m: {cuts: [{transfer_bytes: 2MB}, {transfer_bytes: 1KB}]}}\n"
                 "workload: {tasks: [{device: d, model: m}]}\n")
    sc = load_scenario(f)
    d = scenario_file_dict(scenario_dict(sc, {"m": "x.json"}))
    assert d["links"][0]["bandwidth"]["trace"].endswith("noisy-walk-ms.mahi")
    d["models"] = {"m": {"cuts": [{"transfer_bytes": "2MB"}, {"transfer_bytes": "1KB"}]}}
    d["nodes"] = [{"name": "d", "kind": "device", "compute": {"flops_per_s": "1GFLOPS"}},
                  {"name": "e", "kind": "edge", "compute": {"flops_per_s": "1TFLOPS"}}]
    back = scenario_from_dict(d, require_units=True)
    tr, tr0 = back.link("d", "e").trace, sc.link("d", "e").trace
    assert tr.period == tr0.period and np.array_equal(tr.rates, tr0.rates)


def test_gspi_online_adapts_on_the_shipped_scenario():
    from splitinfer.planners import get_planner
    from splitinfer.system import load_scenario

    sc = load_scenario("trace-drop")
    fixed = get_planner("gspi").plan(sc)
    online = get_planner("gspi-online").plan(sc)
    during = [t.id for t in sc.tasks if 10.5 <= t.arrival < 19.5]
    assert during and not any(fixed.tasks[t].is_local for t in during)
    assert all(online.tasks[t].is_local for t in during)
    assert not any(online.tasks[t.id].is_local for t in sc.tasks if t.arrival < 9.0)
    assert simulate(sc, online).mean_latency < simulate(sc, fixed).mean_latency
    with pytest.raises(ValueError, match="rate must be"):
        get_planner("gspi-online", rate="guess")


def test_traces_command(tmp_path, capsys):
    from splitinfer.cli import main

    def run(argv):
        try:
            main(argv)
            code = 0
        except SystemExit as exc:
            code = exc.code
        return code, capsys.readouterr()

    code, out = run(["traces", "--json"])
    assert code in (0, None) and '"step-drop"' in out.out
    png = tmp_path / "t.png"
    code, out = run(["traces", "step-drop", "--plot", str(png)])
    assert code in (0, None) and png.stat().st_size > 0
    code, out = run(["traces", "nope"])
    assert code == 2 and "unknown bandwidth trace" in out.err and "Traceback" not in out.err


def test_traces_experiment_quick(tmp_path):
    from splitinfer.experiments import run_experiment
    from splitinfer.experiments.runner import read_rows

    out = run_experiment("traces-adapt", quick=True, out=tmp_path)
    rows = {r["planner"]: r for r in read_rows(out["csv"])}
    assert rows["neurosurgeon-online"]["mean_latency_s"] < rows["neurosurgeon"]["mean_latency_s"]
    assert rows["local"]["local_share"] == 1.0 and rows["neurosurgeon"]["local_share"] == 0.0


def test_exact_refuses_traced_links():
    from splitinfer.errors import NotApplicableError
    from splitinfer.planners import get_planner
    from splitinfer.system import load_scenario

    sc = load_scenario("trace-drop")
    with pytest.raises(NotApplicableError, match="bandwidth traces"):
        get_planner("exact").plan(sc.with_tasks(sc.tasks[:2]))


@pytest.mark.netns
def test_kernel_mode_follows_the_trace_with_tc_change():
    """In namespaces (root): the traced link's tbf starts at the rate at time 0 and is changed
    to the trace's next rates on schedule."""
    from splitinfer.runtime.netns import NetnsTopology, netns_permitted

    if not netns_permitted():
        pytest.skip("ip netns add is not permitted")
    import time

    tr = BandwidthTrace([0.0, 0.3, 0.6], [8e6, 2e6, 4e6])
    sc = _with_trace(_scenario(8e6), tr)
    with NetnsTopology(sc) as topo:
        def rate_now() -> str:
            out = subprocess.run([*topo.exec_prefix("d"), "tc", "qdisc", "show"],
                                 capture_output=True, text=True).stdout
            return out
        assert "8Mbit" in rate_now()
        follower = topo.follow_traces(time.monotonic(), 1.0)
        try:
            time.sleep(0.45)
            assert "2Mbit" in rate_now()
            follower.join(5)
            assert "4Mbit" in rate_now()
            assert follower.applied == 4 and follower.failed == 0  # both directions, 2 changes
        finally:
            follower.stop()


@pytest.mark.parametrize("planner", ["deepar", "deepar-paper", "deepar-edge-only",
                                     "deepar-cloud-only"])
def test_deepar_does_not_apply_where_a_link_follows_a_trace(planner):
    """DeePar reserves a constant share of each link (Huang et al. 2019); a traced link has no
    constant rate to reserve: the planner does not apply, it does not fail in the middle."""
    from splitinfer.errors import NotApplicableError
    from splitinfer.planners import get_planner
    from splitinfer.system import load_scenario

    with pytest.raises(NotApplicableError, match="follow a bandwidth trace"):
        get_planner(planner).plan(load_scenario("trace-drop"))
