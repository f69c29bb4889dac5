"""The fidelity table of docs/runtime.md: generated from the committed run files, never typed."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest

from splitinfer.report.fidelity_table import (
    BEGIN,
    END,
    LOAD_LIMIT,
    load_runs,
    render_table,
    table_row,
    trim_run,
    update_doc,
)

ROOT = Path(__file__).resolve().parents[1]


def _script():
    spec = importlib.util.spec_from_file_location("fidelity_table_script",
                                                  ROOT / "benchmarks" / "fidelity_table.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_docs_table_is_the_one_the_committed_runs_give():
    text = (ROOT / "docs" / "runtime.md").read_text()
    assert text.count(BEGIN) == 1 and text.count(END) == 1
    runs = load_runs(ROOT / "docs" / "data" / "fidelity")
    assert update_doc(text, render_table(runs)) == text
    assert _script().main(["--check"]) == 0


def _run(scenario: str, planner: str, rel: list[float], load: tuple[float, float]) -> dict:
    """A run.json as RunReport.to_dict writes it (the parts the table reads, plus bulk)."""
    rows = [{"task": f"t{i}", "device": "d", "model": "m", "nodes": ["d", "e"] if i else ["d"],
             "cuts": [3] if i else [], "decided_by": "controller", "fallback": False,
             "reason": None, "executed_as_planned": True, "measured_s": 1.0,
             "predicted_s": 1.0 + r, "error": r, "rel_error": r} for i, r in enumerate(rel)]
    a = sorted(abs(r) for r in rel)
    return {"format": "splitinfer.run/1",
            "summary": {"scenario": scenario, "planner": planner,
                        "median_abs_rel_error": a[len(a) // 2], "p90_abs_rel_error": a[-1],
                        "verified": {"equal": len(rel), "differ": []}},
            "calibration": {"load_before": [load[0], 0.0, 0.0], "load_after": [load[1], 0.0, 0.0],
                            "cpu": "AMD EPYC", "cores": 2, "view": "original",
                            "compute": {"source": "shipped", "profiles": {}}},
            "tasks": rows, "plan": {"tasks": ["x" * 1000] * 50},
            "measured": {"tasks": ["y" * 1000] * 50}, "predicted": {"tasks": []}}


def test_trimmed_run_is_small_and_gives_the_same_row():
    full = _run("fidelity-li2022", "mw", [0.02, -0.05, 0.08], (0.3, 0.7))
    small = trim_run(full, [0.5, 0.7, 0.9])
    assert len(json.dumps(small)) < len(json.dumps(full)) / 10
    assert small["load"]["during"] == pytest.approx(0.7) and small["load"]["samples"] == 3
    row = table_row(small)
    assert row["paper"] == "Li et al., Fused-layer offloading (IEEE GLOBECOM 2022)"
    assert (row["tasks"], row["offloaded"], row["as_planned"], row["equal"]) == (3, 2, 3, 3)
    assert row["load"] == "0.30 / 0.70"
    # without samples the load during the run is the mean of before and after
    assert trim_run(full)["load"]["during"] == pytest.approx(0.5)


def test_table_orders_by_scenario_and_planner_and_flags_load():
    runs = [_run("fidelity-duan2021", "co", [0.1, 0.2], (0.2, 0.4)),
            _run("fidelity-duan2021", "jps", [0.01, 0.03], (0.2, 0.4)),
            _run("fidelity-demo", "neurosurgeon", [0.05, 0.06], (1.0, 3.0))]
    runs = [trim_run(r) for r in runs]
    lines = render_table(runs).splitlines()
    assert lines[2].startswith("| fidelity-demo | neurosurgeon |")     # the demo cites no paper
    assert "(under load)" in lines[2] and LOAD_LIMIT < 2.0
    assert lines[3].startswith("| Duan & Wu, JPS (ICPP 2021) | jps | 2 | 1 | 2 | 2 | 3.0 % |")
    assert lines[4].split(" | ")[1] == "co"
    assert "1 of 3 runs ran under load" in lines[-1]
    assert "Runs on compute shipped, cores 2, cpu AMD EPYC, view original." in lines
    assert render_table([]).startswith("No fidelity runs are recorded yet")


def test_other_processes_cpu_flags_load_and_the_runs_own_load_average_does_not():
    from splitinfer.report.fidelity_table import OTHERS_LIMIT, other_cpus

    # the run's own processes raise the load average to 1.8; others used 0.05 CPUs: not flagged
    own = trim_run(_run("fidelity-duan2021", "jps", [0.01, 0.03], (1.2, 1.9)), [1.8, 1.8],
                   others_cpus=other_cpus(busy_s=63.0, own_s=60.0, wall_s=60.0))
    assert own["load"]["others_cpus"] == pytest.approx(0.05)
    row = table_row(own)
    assert "under load" not in row["load"] and row["others"] == "0.05"
    # a quiet load average but others kept half a CPU busy: flagged
    busy = trim_run(_run("fidelity-duan2021", "co", [0.01, 0.03], (0.2, 0.3)), [0.3],
                    others_cpus=OTHERS_LIMIT + 0.25)
    assert "under load" in table_row(busy)["load"]
    lines = render_table([own, busy]).splitlines()
    assert lines[0].endswith("| others' CPUs |") and lines[2].endswith("| 0.05 |")
    assert "1 of 2 runs ran under load (other processes kept more than" in lines[-1]
    # what the machine reads: the busy time of the CPUs, and this process and its children's
    from splitinfer.machine import busy_cpu_seconds, children_cpu_seconds

    a, b = busy_cpu_seconds(), children_cpu_seconds()
    sum(i * i for i in range(2_000_000))  # about 0.1 s: several clock ticks
    assert children_cpu_seconds() > b
    if a is not None:
        assert busy_cpu_seconds() > a


def test_update_doc_needs_both_markers():
    with pytest.raises(ValueError, match="markers"):
        update_doc("no markers here", "table")
    with pytest.raises(ValueError, match="markers"):
        update_doc(f"{END}\n{BEGIN}", "table")


def test_script_writes_the_table_from_a_data_folder(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    run = trim_run(_run("fidelity-zheng2021", "dmcjia", [0.04, 0.06], (0.1, 0.2)))
    (data / "fidelity-zheng2021.dmcjia.run.json").write_text(json.dumps(run))
    doc = tmp_path / "doc.md"
    doc.write_text(f"# t\n\n{BEGIN}\n{END}\n\nafter\n")
    mod = _script()
    assert mod.main(["--data", str(data), "--doc", str(doc), "--check"]) == 1   # stale
    assert mod.main(["--data", str(data), "--doc", str(doc)]) == 0
    text = doc.read_text()
    assert "| Zheng, DMCJIA (Journal of Computers 2021) | dmcjia | 2 | 1 |" in text
    assert text.endswith("\n\nafter\n")
    assert mod.main(["--data", str(data), "--doc", str(doc), "--check"]) == 0
    assert not math.isnan(run["load"]["during"])


def test_the_table_says_where_the_error_of_each_run_above_5_percent_comes_from():
    from splitinfer.report.fidelity_table import error_sources

    run = trim_run(_run("fidelity-duan2021", "po", [0.16, 0.17], (1.0, 1.1)), [1.1])
    run["stages"] = [
        {"stage": "compute@pi", "n": 2, "measured_s": 0.0353, "predicted_s": 0.0351,
         "measured_wait_s": 0.196, "predicted_wait_s": 0.158, "first": 1.0},
        {"stage": "compute@cloud", "n": 2, "measured_s": 0.0672, "predicted_s": 0.0546,
         "measured_wait_s": 0.1374, "predicted_wait_s": 0.0664, "first": 0.0},
        {"stage": "admission", "n": 2, "measured_s": 0.196, "predicted_s": 0.2036,
         "measured_wait_s": 0.0, "predicted_wait_s": 0.0}]
    # the first stage's wait holds the admission: judged by its duration (0.2 ms: left out)
    assert [g["stage"] for g in error_sources(run)] == ["compute@cloud", "admission"]
    good = trim_run(_run("fidelity-duan2021", "jps", [0.01, 0.02], (1.0, 1.1)), [1.1])
    good["stages"] = run["stages"]
    text = render_table([run, good])
    assert "Where the error comes from in the runs at or above 5 %" in text
    line = next(x for x in text.splitlines() if x.startswith("- fidelity-duan2021 po"))
    assert line == ("- fidelity-duan2021 po (17.0 %): compute@cloud wait 137.4 / 66.4, takes "
                    "67.2 / 54.6; admission 196.0 / 203.6")
    assert not any(x.startswith("- fidelity-duan2021 jps") for x in text.splitlines())
