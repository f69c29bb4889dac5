"""The simulator benchmark (small sizes: it must agree with SimPy) and the benchmark runner."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_bench_sim_agrees_with_simpy(tmp_path, capsys):
    pytest.importorskip("simpy")
    bench = _load("bench_sim")
    out = bench.main(["--tasks", "600", "--sizes", "200", "--repeats", "1", "--devices", "4",
                      "--out", str(tmp_path / "sim.json"), "--no-doc"])
    rows = out["rows"]
    assert [r["tasks"] for r in rows] == [200, 600]
    assert all(r["stages"] == 4 * r["tasks"] for r in rows)
    assert all(r["max_finish_diff_s"] <= 1e-9 for r in rows)
    assert json.loads((tmp_path / "sim.json").read_text())["rows"][1]["tasks"] == 600
    assert "| 600 | 2400 |" in capsys.readouterr().out
    assert rows[1]["splitinfer_cpu_best_s"] > 0 and rows[1]["simpy_cpu_best_s"] > 0


def test_bench_sim_detects_a_disagreement(tmp_path, monkeypatch):
    pytest.importorskip("simpy")
    bench = _load("bench_sim")
    real = bench.run_simpy

    def skewed(sc, plan):
        seconds, finish = real(sc, plan)
        return seconds, [f + 1e-6 for f in finish]

    monkeypatch.setattr(bench, "run_simpy", skewed)
    with pytest.raises(SystemExit, match="disagree"):
        bench.main(["--tasks", "50", "--sizes", "", "--repeats", "1", "--devices", "2",
                    "--out", str(tmp_path / "sim.json"), "--no-doc"])


def test_run_all_runs_every_script_and_fails_at_the_end(tmp_path):
    shutil.copy(BENCH / "run_all.py", tmp_path / "run_all.py")
    (tmp_path / "bench_a.py").write_text("raise SystemExit('a broke')\n")
    (tmp_path / "bench_b.py").write_text("print('b ran')\n")
    (tmp_path / "helper.py").write_text("raise RuntimeError('not a benchmark')\n")
    proc = subprocess.run([sys.executable, str(tmp_path / "run_all.py")], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 1
    assert "a broke" in proc.stdout and "b ran" in proc.stdout
    assert "1 of 2 benchmarks passed; failed: bench_a.py" in proc.stdout
    report = (tmp_path / "results" / "run_all.md").read_text()
    assert "bench_a.py: FAILED" in report and "bench_b.py: ok" in report
    ok = subprocess.run([sys.executable, str(tmp_path / "run_all.py"), "b"], capture_output=True,
                        text=True, timeout=60)
    assert ok.returncode == 0 and "1 of 1 benchmarks passed" in ok.stdout


def test_benchmarks_write_what_they_print_into_their_marked_block(tmp_path, capsys):
    """bench_jps and bench_gspi (and others) print their tables and write exactly that into
    docs/benchmarks.md between their markers, so no number there is typed by hand."""
    sys.path.insert(0, str(BENCH))
    try:
        common = _load("_common")
    finally:
        sys.path.remove(str(BENCH))
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# B\n\n<!-- bench_x:begin -->\nold 1.0 s\n<!-- bench_x:end -->\ntail\n")
    with common.printed_into_doc("bench_x", True, doc):
        print("| n | s |")
        print("| 10 | 0.5 |")
    text = doc.read_text()
    assert "old 1.0 s" not in text and "| 10 | 0.5 |" in text and text.endswith("tail\n")
    assert "Written by `benchmarks/bench_x.py`" in text
    assert "| 10 | 0.5 |" in capsys.readouterr().out  # printed as well
    with pytest.raises(RuntimeError), common.printed_into_doc("bench_x", True, doc):
        print("half a table")
        raise RuntimeError("bench failed")
    assert "half a table" not in doc.read_text()  # a failed run writes nothing
    assert not common.write_doc_block("bench_y", "x", doc)  # no markers: nothing written
    page = (BENCH.parent / "docs" / "benchmarks.md").read_text()
    for name in ("bench_sim", "bench_jps", "bench_gspi", "bench_deepar", "bench_gap"):
        assert f"<!-- {name}:begin -->" in page and f"<!-- {name}:end -->" in page
