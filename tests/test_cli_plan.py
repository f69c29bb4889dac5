"""``splitinfer plan``, ``simulate``, ``compare`` and ``demo`` from the command line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from splitinfer.cli import main
from splitinfer.system import Plan

SCENARIO = {
    "name": "cli", "objective": "makespan", "result_return": 0,
    "nodes": [{"name": "pi", "kind": "device", "compute": {"table": True}},
              {"name": "cloud", "kind": "cloud", "compute": {"table": True}, "concurrency": None}],
    "links": [{"src": "pi", "dst": "cloud", "bandwidth": "8bps", "sharing": "fifo"}],
    "models": {"m": {"cuts": [{"transfer_bytes": 100}, {"transfer_bytes": 6},
                              {"transfer_bytes": 2}, {"transfer_bytes": 0}],
                     "table": {"pi": {"head": [0, 4, 7, 100], "unit": "s"},
                               "cloud": {"tail": [0, 0, 0, 0]}}}},
    "workload": {"generators": [{"kind": "batch", "devices": ["pi"], "model": "m", "count": 2}]},
}


@pytest.fixture
def scenario(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(SCENARIO))
    return path


def run(capsys, *args):
    """Run the CLI in-process; return (exit status, stdout, stderr)."""
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_plan_then_simulate_the_plan(capsys, scenario, tmp_path):
    plan_file = tmp_path / "plan.json"
    code, out, _ = run(capsys, "plan", scenario, "--planner", "jps", "-o", plan_file)
    assert code == 0 and "jps: planned 2 task(s) of cli" in out
    plan = Plan.load(plan_file)
    assert plan.planner == "jps" and len(plan) == 2
    result_file, gantt = tmp_path / "r.json", tmp_path / "g.png"
    code, out, _ = run(capsys, "simulate", scenario, "--plan", plan_file, "-o", result_file,
                       "--gantt", gantt)
    assert code == 0, out
    assert "objective (makespan)" in out and "13.000 s" in out and "simulated" in out
    data = json.loads(result_file.read_text())
    assert data["metrics"]["makespan_s"] == 13.0 and data["planner"] == "jps"
    assert gantt.read_bytes()[:4] == b"\x89PNG"


def test_simulate_with_a_planner_and_params(capsys, scenario, tmp_path):
    code, out, _ = run(capsys, "simulate", scenario, "--planner", "exact", "--param",
                       "time_limit_s=5", "-o", tmp_path / "r.json")
    assert code == 0 and "13.000 s" in out
    assert json.loads((tmp_path / "r.json").read_text())["planner"] == "exact"


def test_compare_json_schema(capsys, scenario):
    code, out, _ = run(capsys, "compare", scenario, "--planners", "local,jps,exact", "--json",
                       "--param", "exact.time_limit_s=5")
    assert code == 0
    doc = json.loads(out)
    assert doc["scenario"] == "cli"
    assert [r["planner"] for r in doc["results"]] == ["local", "jps", "exact"]
    for r in doc["results"]:
        assert {"planner", "objective", "mean_latency_s", "p95_latency_s", "makespan_s",
                "plan_time_s"} <= set(r)
        assert isinstance(r["objective"], float) and isinstance(r["plan_time_s"], float)
    jps = doc["results"][1]
    assert jps["objective"] == 13.0 and jps["gap_to_exact"] == 0.0


def test_compare_table_and_plot(capsys, scenario, tmp_path):
    code, out, _ = run(capsys, "compare", scenario, "--planners", "local,jps,edge", "--plot",
                       tmp_path / "c.png")
    assert code == 0
    assert "jps" in out and "13.000 s" in out and "not applicable" in out
    assert "edge: not applicable:" in out            # the reason is printed under the table
    assert (tmp_path / "c.png").stat().st_size > 0


def test_bad_scenario_file_exit_2(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({**SCENARIO, "links": [{"src": "pi", "dst": "clod",
                                                          "bandwidth": "8bps"}]}))
    for cmd in (["plan", bad, "--planner", "local", "-o", tmp_path / "p.json"],
                ["simulate", bad, "--planner", "local"], ["compare", bad]):
        code, out, err = run(capsys, *cmd)
        assert code == 2, cmd
        assert f"{bad}: links.0.dst: unknown node 'clod'" in err
        assert "Traceback" not in err
    assert not (tmp_path / "p.json").exists()


def test_unknown_planner_and_bad_options_exit_2(capsys, scenario, tmp_path):
    code, _, err = run(capsys, "plan", scenario, "--planner", "jsp", "-o", tmp_path / "p.json")
    assert code == 2 and "unknown planner 'jsp'; did you mean: jps" in err
    code, _, err = run(capsys, "compare", scenario, "--planners", "local,nope")
    assert code == 2 and "unknown planner 'nope'" in err
    code, _, err = run(capsys, "simulate", scenario)
    assert code == 2 and "exactly one of --plan FILE or --planner NAME" in err
    code, _, err = run(capsys, "plan", scenario, "--planner", "local", "--param", "depth=2",
                       "-o", tmp_path / "p.json")
    assert code == 2 and "has no parameter" in err
    (tmp_path / "junk.json").write_text("[1, 2")
    code, _, err = run(capsys, "simulate", scenario, "--plan", tmp_path / "junk.json")
    assert code == 2 and "not valid JSON" in err


def test_plan_for_another_scenario_is_rejected(capsys, scenario, tmp_path):
    other = Plan("x", {})
    other.save(tmp_path / "empty.json")
    code, _, err = run(capsys, "simulate", scenario, "--plan", tmp_path / "empty.json")
    assert code == 2 and "decides no path for 2 task(s)" in err


def test_console_script_exit_status(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("nodes: [\n")
    proc = subprocess.run([sys.executable, "-m", "splitinfer.cli", "compare", str(bad)],
                          capture_output=True, text=True, timeout=120)
    if proc.returncode != 0 and "No module named splitinfer.cli.__main__" in proc.stderr:
        proc = subprocess.run([sys.executable, "-c", "from splitinfer.cli import main; main()",
                               "compare", str(bad)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "cannot parse scenario file" in proc.stderr and str(bad) in proc.stderr


def test_demo_command_with_options(capsys, monkeypatch, tmp_path):
    seen = {}

    def fake_run_demo(out, **kw):
        seen.update(out=out, **kw)

    import splitinfer.experiments.demo as demo

    monkeypatch.setattr(demo, "run_demo", fake_run_demo)
    code, _, _ = run(capsys, "demo", "--out", tmp_path / "d", "--model", "lenet5", "--tasks", "3")
    assert code == 0
    assert seen == {"out": tmp_path / "d", "model": "lenet5", "tasks": 3, "repeats": 5,
                    "echo": True, "measure": False}
    code, _, _ = run(capsys, "demo", "--out", tmp_path / "d", "--measure")
    assert code == 0 and seen["measure"] is True
