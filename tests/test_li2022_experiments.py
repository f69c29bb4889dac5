"""The seed 001 reproductions run in quick mode and their rows say what the paper compares."""

from __future__ import annotations

import pytest

from splitinfer.experiments.runner import read_rows, run_experiment


def test_fig4_quick(tmp_path):
    out = run_experiment("li2022-fig4", quick=True, out=tmp_path)
    rows = read_rows(out["csv"])
    assert out["png"].is_file() and out["png"].stat().st_size > 0
    assert {r["label"] for r in rows} == {"NFL", "BF(2x2)", "MW(2x2)", "MW(kxk)", "MW(Alg. 1)"}
    for r in rows:
        assert r["latency_ms"] == pytest.approx(r["predicted_ms"], rel=1e-9)
        assert r["seed"] == 0 and isinstance(r["params"], dict)
    by = {(r["rate_MBps"], r["label"]): r["latency_ms"] for r in rows}
    for rate in {r["rate_MBps"] for r in rows}:
        assert by[(rate, "BF(2x2)")] <= by[(rate, "MW(2x2)")] + 1e-9
        assert by[(rate, "MW(kxk)")] <= by[(rate, "MW(2x2)")] + 1e-9
        # Alg. 1 line 3's every grid (same cap on P in quick mode) contains the k x k grids
        assert by[(rate, "MW(Alg. 1)")] <= by[(rate, "MW(kxk)")] + 1e-9
    assert "18.39x" in out["summary"] and "BF(2x2) <= MW(2x2)" in out["summary"]


def test_mw_gap_quick(tmp_path):
    out = run_experiment("li2022-mw-gap", quick=True, out=tmp_path)
    rows = read_rows(out["csv"])
    mw = [r for r in rows if r["label"] == "MW"]
    bf = [r for r in rows if r["label"] == "BF"]
    assert len(mw) == len(bf) == 4
    assert all(r["gap"] >= -1e-9 for r in mw) and all(abs(r["gap"]) < 1e-12 for r in bf)
    assert "median" in out["summary"]
