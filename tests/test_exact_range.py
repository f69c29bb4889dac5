"""``exact`` states its proven-optimal range (issue 16 item 4): in the registry, and as one note
from ``splitinfer plan`` when a plan outside that range is not proven optimal."""

from __future__ import annotations

import json

import yaml
from typer.testing import CliRunner

from splitinfer.cli import _load_commands
from splitinfer.cli._app import app
from splitinfer.planners import planner_info
from splitinfer.planners.exact.search import PROVEN_RANGE
from splitinfer.testing.family_shi2021 import shi2021_dict

_load_commands()


def _scenario_file(tmp_path, n: int):
    """The shi2021 family grown to exactly ``n`` tasks (as ``benchmarks/bench_gap.py`` does)."""
    d, k = shi2021_dict(0, max_tasks=n), 0
    while len(d["workload"]["tasks"]) < n:
        k += 1
        d = shi2021_dict(k, max_tasks=n)
    d["workload"]["tasks"] = d["workload"]["tasks"][:n]
    path = tmp_path / f"s{n}.yaml"
    path.write_text(yaml.safe_dump(d))
    return path


def _plan(tmp_path, scenario, *params):
    out = tmp_path / "plan.json"
    args = ["plan", str(scenario), "--planner", "exact", "-o", str(out)]
    for p in params:
        args += ["--param", p]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return result, json.loads(out.read_text())["info"]


def test_the_range_is_in_the_registry_and_the_planner_table():
    rng = planner_info("exact").proven_range
    assert rng is PROVEN_RANGE and (rng.tasks, rng.options, rng.nodes) == (4, 164, 7)
    assert "time_limit_s = 10 s" in rng.limit and "bench_gap" in rng.evidence
    assert planner_info("local").proven_range is None
    result = CliRunner().invoke(app, ["planners", "--json"])
    assert result.exit_code == 0
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert rows["exact"]["proven_range"]["tasks"] == 4 and rows["local"]["proven_range"] is None


def test_outside_the_range_an_unproven_plan_gets_one_note(tmp_path):
    sc = _scenario_file(tmp_path, 8)  # 8 tasks: outside; a tiny work limit proves nothing
    result, info = _plan(tmp_path, sc, "work_limit=0.0001")
    assert not info["optimal"]
    notes = [line for line in result.stderr.splitlines() if line.startswith("note:")]
    assert len(notes) == 1, result.output
    assert "did not prove this plan optimal" in notes[0] and "outside the range" in notes[0]
    assert "8 tasks" in notes[0] and f"{info['options']} chain options" in notes[0]
    assert "Traceback" not in result.output and "error" not in result.output.lower()


def test_inside_the_range_a_proven_plan_gets_no_note(tmp_path):
    sc = _scenario_file(tmp_path, 2)
    result, info = _plan(tmp_path, sc, "work_limit=0.2", "time_limit_s=300")
    assert info["optimal"] and info["options"] <= PROVEN_RANGE.options
    assert "note:" not in result.output


def test_inside_the_range_an_unproven_plan_says_the_limit_stopped_it(tmp_path):
    sc = _scenario_file(tmp_path, 4)  # deterministic: the work limit stops it unproven
    result, info = _plan(tmp_path, sc, "work_limit=0.0001")
    assert not info["optimal"]
    assert "inside its measured range" in result.stderr and "work_limit" in result.stderr


def test_the_stated_range_is_what_the_committed_benchmarks_measured():
    """``PROVEN_RANGE`` is derived from the committed results, not typed: every ``exact`` run of
    bench_baselines with at most ``tasks`` tasks proved optimality, the largest of them had
    ``options`` chain options, and bench_gap's exact-yardstick families (DeePar's, GSPI's) were
    proven on every seed up to ``tasks`` tasks but not on every seed of the next size measured
    (re-run the benchmarks, then update ``PROVEN_RANGE`` if this fails)."""
    from pathlib import Path

    results = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
    runs = json.loads((results / "baselines.json").read_text())["exact"]
    rows = [r for r in json.loads((results / "gap.json").read_text())["rows"]
            if r["family"] in ("huang2019", "shi2021")]
    proven_sizes = sorted({r["tasks"] for r in runs} | {r["size"] for r in rows})

    def all_proven(n: int) -> bool:
        return (all(r["optimal"] for r in runs if r["tasks"] == n)
                and all(r["proven"] == r["seeds"] for r in rows if r["size"] == n))

    tasks = 0
    for n in proven_sizes:
        if not all_proven(n):
            break
        tasks = n
    assert PROVEN_RANGE.tasks == tasks
    assert PROVEN_RANGE.options == max(r["options"] for r in runs if r["tasks"] <= tasks)
