"""Energy (issue 20 part 1): power figures, per-task device energy, the energy objectives,
planners that support them and those that refuse them, the Gantt chart by power, the CLI."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from splitinfer.errors import NotApplicableError, ScenarioError
from splitinfer.planners import get_planner, planner_info
from splitinfer.planners.exact.model import task_options
from splitinfer.sim import simulate
from splitinfer.system.energy import no_wait_energy, stages_energy, timeline_energy
from splitinfer.system.load import scenario_from_dict
from splitinfer.system.plan import Plan, TaskPlan
from splitinfer.system.result import Result
from splitinfer.units import parse_power

POWER = {"compute": 2.0, "idle": 0.5, "transmit": 1.0, "receive": 0.8}


def _scenario(objective="energy", tasks=2, sharing="fifo", power=POWER, **extra):
    """d (1 GFLOP/s) -> e (10 GFLOP/s) at 8 Mbit/s; cuts: raw 1 MB, 0.5 MB after 1 GFLOP,
    1 kB output after 3 GFLOP."""
    d = {"objective": objective,
         "nodes": [{"name": "d", "kind": "device", "compute": {"flops_per_s": 1e9},
                    **({"power": dict(power)} if power else {})},
                   {"name": "e", "kind": "edge", "compute": {"flops_per_s": 1e10}}],
         "links": [{"src": "d", "dst": "e", "bandwidth": 8e6, "sharing": sharing}],
         "models": {"m": {"cuts": [{"transfer_bytes": 1e6, "head_flops": 0},
                                   {"transfer_bytes": 5e5, "head_flops": 1e9},
                                   {"transfer_bytes": 1e3, "head_flops": 3e9}]}},
         "workload": {"tasks": [{"device": "d", "model": "m"} for _ in range(tasks)]}, **extra}
    return scenario_from_dict(d)


# ------------------------------------------------------------------ units and the file format
def test_power_units():
    assert parse_power("800mW") == pytest.approx(0.8)
    assert parse_power("1.2kW") == pytest.approx(1200.0)
    with pytest.raises(ValueError, match="unknown unit"):
        parse_power("3Mbps")
    with pytest.raises(ValueError, match="negative"):
        parse_power("-1W")


def test_power_in_a_file_needs_units():
    data = {"nodes": [{"name": "d", "kind": "device", "compute": {"flops_per_s": "1GFLOPS"},
                       "power": {"compute": 2, "idle": "0.3W", "transmit": "1W",
                                 "receive": "1W"}}],
            "models": {"m": {"cuts": [{"transfer_bytes": 1}, {"transfer_bytes": 1}]}},
            "workload": {"tasks": [{"device": "d", "model": "m"}]}}
    with pytest.raises(ScenarioError, match=r"nodes\.0\.power\.compute: 2 has no unit"):
        scenario_from_dict(data, require_units=True)
    data["nodes"][0]["power"]["compute"] = "2.5W"
    sc = scenario_from_dict(data, require_units=True)
    assert sc.nodes["d"].power.compute == 2.5 and sc.nodes["d"].power.idle == pytest.approx(0.3)


def test_energy_objectives_are_checked_at_load():
    with pytest.raises(ScenarioError, match="needs power figures on every device with tasks; d"):
        _scenario("energy", power=None)
    with pytest.raises(ScenarioError, match="latency\\+energy needs a weight"):
        _scenario("latency+energy")
    with pytest.raises(ScenarioError, match="positive 'weight_s_per_j'"):
        _scenario({"kind": "latency+energy", "weight_s_per_j": 0})
    sc = _scenario({"kind": "latency+energy", "weight_s_per_j": 0.25})
    assert (sc.objective, sc.objective_weight) == ("latency+energy", 0.25)


# ------------------------------------------------------------------ the energy model
def test_energy_by_hand_with_waiting():
    """Two tasks at t=0, both cut at 1 on a FIFO uplink.

    t0: compute [0,1], send [1,1.5], edge [1.5,1.7], return [1.7,1.701] -> E = 2*1 + 1*0.5 +
    0.8*0.001 + 0.5*0.2 = 2.6008.
    t1: compute [1,2] (queued behind t0 before: not charged), send [2,2.5], edge, return ->
    s0 = 1, finish 2.701: idle = 1.701 - 1.501 = 0.2 -> the same 2.6008.
    With t1's send delayed behind a long first transfer the wait is charged as idle: see
    test_waiting_for_the_link_is_idle.
    """
    sc = _scenario()
    plan = Plan("x", {t.id: TaskPlan(t.id, ("d", "e"), (1,)) for t in sc.tasks})
    r = simulate(sc, plan)
    assert r.energy == pytest.approx([2.6008, 2.6008])
    assert r.metrics()["total_energy_j"] == pytest.approx(5.2016)
    assert r.objective("energy") == pytest.approx(2.6008)
    assert no_wait_energy(sc, sc.tasks[0], plan.tasks["t0"]) == pytest.approx(2.6008)


def test_waiting_for_the_link_is_idle():
    """Both tasks send the raw input (1 s each on the FIFO link; the edge then computes 0.3 s).
    t1's send waits for t0's until t=1: time before its first device stage is not charged, the
    0.3 s it waits for the edge after sending is idle: E = 1 (send) + 0.8 x 0.001 + 0.5 x 0.3
    for both tasks."""
    sc = _scenario()
    plan = Plan("x", {t.id: TaskPlan(t.id, ("d", "e"), (0,)) for t in sc.tasks})
    r = simulate(sc, plan)
    t1 = r.tasks[1]
    assert [s.name for s in t1.stages] == ["uplink", "compute", "return"]
    assert t1.stages[0].start == pytest.approx(1.0)
    # t1's first device stage (its send) starts at 1: time before it is not charged
    assert r.energy[1] == pytest.approx(1.0 + 0.8 * 0.001 + 0.5 * 0.3)
    assert r.energy[0] == pytest.approx(r.energy[1])


def test_local_task_is_compute_only():
    sc = _scenario(tasks=1)
    r = simulate(sc, Plan("x", {"t0": TaskPlan("t0", ("d",), ())}))
    assert r.energy == pytest.approx([2.0 * 3.0])


def test_no_power_figures_no_energy():
    sc = _scenario("mean_latency", power=None)
    r = simulate(sc, get_planner("local").plan(sc))
    assert r.energy is None and "mean_energy_j" not in r.metrics()
    with pytest.raises(ValueError, match="power figures"):
        r.objective("energy")


def test_energy_survives_save_and_load(tmp_path):
    sc = _scenario({"kind": "latency+energy", "weight_s_per_j": 0.5})
    r = simulate(sc, get_planner("neurosurgeon").plan(sc))
    for name in ("r.json", "r.npz"):
        r.save(tmp_path / name)
        back = Result.load(tmp_path / name)
        assert np.allclose(back.energy, r.energy)
        assert back.objective("latency+energy") == pytest.approx(r.objective("latency+energy"))


def _vectorised_vs_scalar(sc, plan):
    """timeline_energy (arrays) against stages_energy (one task at a time) on the reference
    (pure-Python) engine's schedule."""
    from splitinfer.testing.oracle_engine import reference_run

    result = simulate(sc, plan)
    ref = reference_run(sc, plan)
    scalar = []
    for task in sc.tasks:
        ready, start, end, finish, stages = ref[task.id]
        scalar.append(stages_energy(sc.nodes[task.device].power, task.device, stages, start,
                                    end, finish))
    return result.energy, np.array(scalar)


@pytest.mark.parametrize("fam,seed", [("energy-chain", s) for s in range(4)]
                         + [("latency-energy-chain", s) for s in range(3)])
@pytest.mark.parametrize("planner", ["local", "neurosurgeon", "edge"])
def test_compiled_and_reference_engines_give_the_same_energy(fam, seed, planner):
    from splitinfer.testing.families import get_family

    sc = get_family(fam).make(seed)
    try:
        plan = get_planner(planner).plan(sc)
    except NotApplicableError:
        pytest.skip("not applicable")
    fast, slow = _vectorised_vs_scalar(sc, plan)
    assert np.allclose(fast, slow, rtol=1e-12, atol=1e-12)


def test_timeline_energy_sees_a_changed_power():
    """The comparison above can fail: another device power gives other numbers."""
    from dataclasses import replace

    from splitinfer.system.entities import Power

    sc = _scenario()
    plan = Plan("x", {t.id: TaskPlan(t.id, ("d", "e"), (1,)) for t in sc.tasks})
    r = simulate(sc, plan)
    other = replace(sc, nodes={**sc.nodes, "d": replace(sc.nodes["d"], power=Power(2.0, 0.5,
                                                                                    1.1, 0.8))})
    assert not np.allclose(timeline_energy(other, r.timeline), r.energy)


# ------------------------------------------------------------------ planners
def test_planner_info_says_which_objectives():
    assert "energy" in planner_info("neurosurgeon").objectives
    assert "energy" in planner_info("neurosurgeon-online").objectives
    assert "latency+energy" in planner_info("exact").objectives
    assert "energy" in planner_info("local").objectives
    assert "energy" in planner_info("end-only").objectives  # an alias of local
    assert planner_info("gspi").objectives == ("mean_latency", "makespan", "mean_sojourn")


def test_a_planner_refuses_an_objective_in_one_line():
    sc = _scenario()
    with pytest.raises(NotApplicableError) as info:
        get_planner("gspi").plan(sc)
    assert str(info.value) == ("gspi does not support the objective energy (it minimises "
                               "mean_latency, makespan, mean_sojourn)")


def test_neurosurgeon_energy_mode_picks_another_cut():
    """Latency of a lone task: local 3 s, cut 1 1.701 s, raw input 1.301 s (1 s send + 0.3 s
    edge + 1 ms return) -> raw input. Energy with cheap compute (0.5 W) and a dear radio (4 W):
    local 1.5 J, cut 1 2.524 J, raw input 4.034 J -> local."""
    sc = _scenario("mean_latency", tasks=1,
                   power={"compute": 0.5, "idle": 0.1, "transmit": 4.0, "receive": 4.0})
    lat = get_planner("neurosurgeon").plan(sc).tasks["t0"]
    assert (lat.nodes, lat.cuts) == (("d", "e"), (0,))
    from dataclasses import replace

    en = get_planner("neurosurgeon").plan(replace(sc, objective="energy")).tasks["t0"]
    assert en.nodes == ("d",)  # local: 3 s x 0.5 W = 1.5 J < 4 J of sending the input
    online = get_planner("neurosurgeon-online").plan(replace(sc, objective="energy"))
    assert online.tasks["t0"].nodes == ("d",)  # the same choice, decided at arrival


def _brute_force(sc):
    """The best simulated objective over every combination of chain options (FIFO order)."""
    opts = [task_options(sc, t) for t in sc.tasks]
    best = math.inf
    for combo in itertools.product(*opts):
        plan = Plan("brute", {t.id: o.plan for t, o in zip(sc.tasks, combo, strict=True)})
        best = min(best, simulate(sc, plan).objective(sc.objective))
    return best


@pytest.mark.parametrize("objective", ["energy", {"kind": "latency+energy", "weight_s_per_j": 0.5}])
@pytest.mark.parametrize("idle", [0.3, 0.9])  # 0.9 W idle exceeds the 0.8 W receive power
def test_exact_is_never_worse_than_brute_force(objective, idle):
    sc = _scenario(objective, tasks=3, power={**POWER, "idle": idle})
    plan = get_planner("exact", time_limit_s=30).plan(sc)
    value = simulate(sc, plan).objective(sc.objective)
    brute = _brute_force(sc)
    assert plan.info["bound"] <= brute + 1e-9
    assert plan.info["bound"] <= value + 1e-9
    assert value <= brute + 1e-9
    assert plan.info["optimal"]


def test_neurosurgeon_is_optimal_for_one_task_and_exact_agrees():
    for objective in ("energy", "mean_latency"):
        sc = _scenario(objective, tasks=1)
        ns = simulate(sc, get_planner("neurosurgeon").plan(sc)).objective(objective)
        ex = get_planner("exact", time_limit_s=30).plan(sc)
        assert ex.info["optimal"] and ex.info["objective"] == pytest.approx(ns, rel=1e-6)


# ------------------------------------------------------------------ report and CLI
def test_gantt_by_power(tmp_path):
    from splitinfer.report.gantt import gantt_rows, plot_gantt

    sc = _scenario()
    r = simulate(sc, Plan("x", {t.id: TaskPlan(t.id, ("d", "e"), (1,)) for t in sc.tasks}))
    rows = {row.resource: row for row in gantt_rows(r, sc)}
    assert {b.power for b in rows["d"].bars} == {2.0}
    assert {b.power for b in rows["d->e"].bars} == {1.0}
    assert {b.power for b in rows["e->d"].bars} == {0.8}
    assert {b.power for b in rows["e"].bars} == {None}
    assert plot_gantt(r, tmp_path / "g.png", sc, colour_by="power").stat().st_size > 0
    bare = _scenario("mean_latency", power=None)
    with pytest.raises(ValueError, match="power figures"):
        plot_gantt(simulate(bare, get_planner("local").plan(bare)), tmp_path / "h.png", bare,
                   colour_by="power")


def test_cli_simulate_reports_energy_and_refuses_in_one_line(tmp_path, capsys):
    from pathlib import Path

    from splitinfer.cli import main as cli_main

    def main(argv):
        try:
            cli_main(argv)
        except SystemExit as exc:
            return exc.code
        return 0

    example = str(Path(__file__).parents[1] / "docs" / "examples" / "energy-phone.yaml")
    code = main(["simulate", example, "--planner", "neurosurgeon", "--gantt",
                 str(tmp_path / "g.png"), "--gantt-colour", "power"])
    out = capsys.readouterr().out
    assert code == 0 and "mean_energy_j" in out and " J" in out
    assert (tmp_path / "g.png").is_file()
    code = main(["simulate", example, "--planner", "gspi"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().splitlines()[-1] == ("error: gspi does not support the objective energy "
                                            "(it minimises mean_latency, makespan, mean_sojourn)")


def test_energy_experiment_quick():
    from splitinfer.experiments.energy import energy_cuts
    from splitinfer.experiments.registry import get_experiment

    exp = get_experiment("energy-cuts")
    rows = energy_cuts(exp.quick)
    by = {(r["bandwidth_mbps"], r["optimised_for"]): r for r in rows}
    for (bw, objective), r in by.items():
        other = by[(bw, "energy" if objective == "mean_latency" else "mean_latency")]
        if objective == "energy":  # each choice is best in its own objective
            assert r["energy_j"] <= other["energy_j"] + 1e-12
        else:
            assert r["latency_s"] <= other["latency_s"] + 1e-12
    assert any(by[(bw, "energy")]["cut"] != by[(bw, "mean_latency")]["cut"]
               for bw, _ in by)
    assert "energy" in exp.summary(rows)


def test_the_runtime_scenario_keeps_power_and_the_objective():
    """``splitinfer run`` rebuilds the scenario for this machine: the devices' power figures and
    a weighted objective survive, so a real run reports the measured stages' energy."""
    from splitinfer.runtime.calibrate import scenario_dict
    from splitinfer.system.schema import scenario_file_dict

    sc = _scenario({"kind": "latency+energy", "weight_s_per_j": 0.25})
    d = scenario_file_dict(scenario_dict(sc, {"m": "alexnet@cpu-1t"}))
    assert d["objective"] == {"kind": "latency+energy", "weight_s_per_j": 0.25}
    assert d["nodes"][0]["power"] == {"compute": "2W", "idle": "500mW", "transmit": "1W",
                                      "receive": "800mW"}
    assert "power" not in d["nodes"][1]


def test_a_sweep_records_energy_and_resumes_an_older_file(tmp_path):
    """Sweep rows carry mean_energy_j and objective_kind; resuming a sweep.csv written before
    those columns existed appends rows under the file's own header."""
    import csv
    from pathlib import Path

    from splitinfer.experiments.sweep import run_sweep
    from splitinfer.report.sweep_plot import sweep_series

    example = Path(__file__).parents[1] / "docs" / "examples" / "energy-phone.yaml"
    spec = tmp_path / "sweep.yaml"
    spec.write_text(f"scenario: {example}\ngrid:\n  links.0.bandwidth: [2Mbps, 20Mbps]\n"
                    "planners: [local, neurosurgeon]\nseeds: 1\n")
    run_sweep(spec, tmp_path / "new", executor="serial")
    rows = list(csv.DictReader(open(tmp_path / "new" / "sweep.csv")))
    assert len(rows) == 4 and all(float(r["mean_energy_j"]) > 0 for r in rows)
    assert {r["objective_kind"] for r in rows} == {"energy"}
    assert sweep_series(rows)["links.0.bandwidth"]["objective_kind"] == "energy"
    old = tmp_path / "old"
    old.mkdir()
    header = list(rows[0])[:15] + ["param:links.0.bandwidth"]  # without the energy columns
    with open(old / "sweep.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        writer.writerow(rows[0])
    run_sweep(spec, old, executor="serial")
    back = list(csv.DictReader(open(old / "sweep.csv")))
    assert len(back) == 4 and list(back[0]) == header
    assert {r["param:links.0.bandwidth"] for r in back} == {"2Mbps", "20Mbps"}
