"""Sweeps: expansion, resuming, the local pool and a real Dask LocalCluster."""

from __future__ import annotations

import csv

import pytest
import yaml

from splitinfer.errors import ScenarioError
from splitinfer.experiments.sweep import SweepSpec, expand, run_sweep, set_path

SCENARIO = {
    "name": "sweep-toy",
    "nodes": [{"name": "d0", "kind": "device", "compute": {"flops_per_s": 1e9}},
              {"name": "e0", "kind": "edge", "compute": {"flops_per_s": 2e10}}],
    "links": [{"src": "d0", "dst": "e0", "bandwidth": "8Mbps", "sharing": "fifo"}],
    "models": {"m": {"cuts": [{"transfer_bytes": 6e5}, {"transfer_bytes": 1e5, "head_flops": 2e8},
                              {"transfer_bytes": 4e3, "head_flops": 1e9}]}},
    "workload": {"generators": [{"kind": "uniform", "devices": ["d0"], "model": "m",
                                 "count": 3, "horizon": "1s"}]},
}


def _write(tmp_path, planners=("local", "edge"), seeds=2):
    (tmp_path / "toy.yaml").write_text(yaml.safe_dump(SCENARIO))
    spec = {"scenario": "toy.yaml", "grid": {"links.*.bandwidth": ["2Mbps", "50Mbps"]},
            "planners": list(planners), "seeds": seeds}
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    return tmp_path / "spec.yaml"


def _read(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_expand_grid_random_and_keys_are_stable():
    spec = SweepSpec.model_validate({
        "scenario": "x", "grid": {"a": [1, 2]}, "planners": ["local", {"name": "edge"}], "seeds": [7],
        "random": {"n": 3, "seed": 1, "params": {"b": {"uniform": [0, 1]}}}})
    points = expand(spec)
    assert len(points) == 2 * 3 * 2
    assert len({p.key for p in points}) == len(points)
    assert [p.key for p in expand(spec)] == [p.key for p in points]  # same spec -> same runs


def test_set_path_errors_name_the_path():
    with pytest.raises(ScenarioError, match="nodez"):
        set_path({"nodes": []}, "nodez.0.name", 1)


def test_local_sweep_resumes_and_rows_are_sensible(tmp_path):
    spec = _write(tmp_path)
    out = tmp_path / "out"
    first = run_sweep(spec, out, executor="local", workers=2)
    assert (first["ran"], first["skipped"]) == (8, 0)
    rows = _read(out / "sweep.csv")
    assert len(rows) == 8 and all(r["status"] == "ok" for r in rows)
    # more bandwidth never hurts the edge planner on the same tasks
    edge = {(r["param:links.*.bandwidth"], r["seed"]): float(r["objective"])
            for r in rows if r["planner"] == "edge"}
    for seed in ("0", "1"):
        assert edge[("50Mbps", seed)] < edge[("2Mbps", seed)]
    again = run_sweep(spec, out, executor="local", workers=2)
    assert (again["ran"], again["skipped"]) == (0, 8)
    assert len(_read(out / "sweep.csv")) == 8


def test_unknown_planner_or_parameter_fails_before_anything_runs(tmp_path):
    from splitinfer.errors import SplitInferError

    spec = _write(tmp_path, planners=("local", "no-such-planner"), seeds=1)
    with pytest.raises(SplitInferError, match="unknown planner 'no-such-planner'"):
        run_sweep(spec, tmp_path / "o", executor="serial")
    spec = _write(tmp_path, planners=("local", {"name": "exact", "params": {"time_limt_s": 1}}),
                  seeds=1)
    with pytest.raises(SplitInferError, match="did you mean 'time_limit_s'"):
        run_sweep(spec, tmp_path / "o", executor="serial")
    assert not (tmp_path / "o" / "sweep.csv").exists()


def test_dask_local_cluster_gives_the_same_rows(tmp_path):
    pytest.importorskip("distributed")
    spec = _write(tmp_path, seeds=1)
    run_sweep(spec, tmp_path / "serial", executor="serial")
    run_sweep(spec, tmp_path / "dask", executor="dask", workers=2)
    key = lambda r: r["key"]  # noqa: E731
    a = sorted(_read(tmp_path / "serial" / "sweep.csv"), key=key)
    b = sorted(_read(tmp_path / "dask" / "sweep.csv"), key=key)
    assert [(r["key"], r["objective"]) for r in a] == [(r["key"], r["objective"]) for r in b]


def test_resuming_over_a_file_that_is_not_a_sweeps_results_is_one_error(tmp_path):
    """``--out`` holding a sweep.csv that is not one (other columns, not UTF-8) is refused in
    one line and left as it is; an empty one (a run stopped before its first row) is started
    afresh with a header."""
    from pathlib import Path

    from splitinfer.errors import ScenarioError
    from splitinfer.experiments.sweep import run_sweep

    spec = Path(__file__).parents[1] / "docs" / "examples" / "sweep-bandwidth.yaml"
    out = tmp_path / "o"
    out.mkdir()
    csv_path = out / "sweep.csv"
    for content, match in ((b"a,b\n1,2\n", "no 'key' column"), (b"\xff\xfe\x00x\n", "UTF-8")):
        csv_path.write_bytes(content)
        with pytest.raises(ScenarioError, match=match):
            run_sweep(spec, out, executor="serial")
        assert csv_path.read_bytes() == content
    csv_path.write_bytes(b"")
    res = run_sweep(spec, out, executor="serial")
    assert res["ran"] > 0 and csv_path.read_text().startswith("key,")
    assert run_sweep(spec, out, executor="serial")["ran"] == 0
