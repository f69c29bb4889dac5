"""The CLI's error contract: one clear line on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from splitinfer.cli import main


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return exc.value.code, capsys.readouterr().err


def test_unreachable_worker_is_a_clear_error(capsys):
    pytest.importorskip("torch")
    pytest.importorskip("grpc")
    port = _free_port()  # nothing listens there
    code, err = _run(["device", "infer", "--model", "lenet5", "--worker",
                      f"edge=127.0.0.1:{port}", "--cut", "3", "--deadline", "2"], capsys)
    assert code == 3
    assert err.startswith("error: remote call failed: ") and "UNAVAILABLE" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_unknown_model_and_bad_scenario_exit_2(tmp_path, capsys):
    code, err = _run(["inspect", "resnt18"], capsys)
    assert code == 2 and "unknown model 'resnt18'" in err and "resnet18" in err
    bad = tmp_path / "bad.yaml"
    bad.write_text("nodes: 3\n")
    code, err = _run(["simulate", str(bad), "--planner", "local"], capsys)
    assert code == 2 and f"{bad}: nodes:" in err


def test_run_options_naming_nodes_it_cannot_have_fail_before_calibrating(capsys):
    """``--cuda-node``/``--pause``/``--kill`` of a node that is not a worker, or a CUDA node
    without CUDA, is one line before any measuring (``runtime.run.check_nodes``)."""
    pytest.importorskip("torch")
    for argv, want in (
            (["--pause", "pi"], "--pause 'pi': not a worker of this run (workers: cloud)"),
            (["--kill", "nosuch=1"], "--kill 'nosuch': not a worker of this run"),
            (["--cuda-node", "nosuch"], "--cuda-node 'nosuch': not a worker of this run")):
        code, err = _run(["run", "fidelity-duan2021", "--planner", "jps", *argv], capsys)
        lines = [x for x in err.splitlines() if x.startswith(("error", "warning", "  "))]
        assert code == 2 and lines == [f"error: {want}" + ("" if "workers:" in want else
                                                         " (workers: cloud)")], err
    import torch

    if not torch.cuda.is_available():
        code, err = _run(["run", "fidelity-duan2021", "--planner", "jps", "--cuda-node",
                          "cloud"], capsys)
        assert code == 2 and "no CUDA device" in err and "Traceback" not in err


def test_a_warning_is_one_line(monkeypatch):
    import warnings

    monkeypatch.setattr(warnings, "formatwarning", warnings.formatwarning)  # restored after
    try:
        main(["--version"])
    except SystemExit:
        pass
    got = warnings.formatwarning("measured on a busy machine:\n  re-measure", UserWarning,
                                 "x.py", 1, "prof = measure_profile(m)")
    assert got == "warning: measured on a busy machine: re-measure\n"


@pytest.mark.parametrize("argv,want", [
    (["--shaping", "nosuch"], "'nosuch' is not one of bucket, kernel, none"),
    (["--deadline", "-1"], "Invalid value for '--deadline'"),
    (["--deadline", "nan"], "Invalid value for '--deadline'"),
    (["--compute", "gpu"], "compute must be 'measure' or 'shipped'"),
    (["--view", "mine"], "view must be 'calibrated' or 'original'"),
    (["--profile-repeats", "0"], "profile_repeats must be a positive integer"),
    (["--kill", "cloud=-2"], "--kill cloud=-2.0: the time must be >= 0 seconds")])
def test_bad_run_options_are_one_line_before_anything_starts(capsys, argv, want):
    code, err = _run(["run", "fidelity-duan2021", "--planner", "jps", *argv], capsys)
    assert code == 2 and want in err and "Traceback" not in err and "File " not in err, err


def test_a_worker_with_an_unknown_shaping_mode_is_a_usage_error(capsys):
    code, err = _run(["serve", "worker", "--node", "edge", "--models", "lenet5", "--shaping",
                      "nosuch"], capsys)
    assert code == 2 and "'nosuch' is not one of bucket, kernel, none" in err, err


@pytest.mark.parametrize("argv", [
    ["serve", "worker", "--node", "edge", "--models", "lenet5", "--port", "99999"],
    ["serve", "controller", "--scenario", "demo", "--planner", "jps", "--port", "-1"],
    ["device", "infer", "--model", "lenet5", "--worker", "edge=127.0.0.1:1", "--cut", "3",
     "--deadline", "-1"],
    ["device", "infer", "--model", "lenet5", "--worker", "edge=127.0.0.1:1", "--cut", "-2"]])
def test_out_of_range_ports_deadlines_and_cuts_are_usage_errors(capsys, argv):
    code, err = _run(argv, capsys)
    assert code == 2 and err.lower().startswith("error: invalid value for '--"), err


def test_run_options_refuse_a_nan_deadline_in_the_library_too():
    from splitinfer.errors import SplitInferError
    from splitinfer.runtime.run import RunOptions

    with pytest.raises(SplitInferError, match="deadline_s must be a positive number"):
        RunOptions(planner="jps", deadline_s=float("nan"))
    with pytest.raises(SplitInferError, match="shaping must be one of bucket, kernel, none"):
        RunOptions(planner="jps", shaping="tc")


@pytest.mark.parametrize("argv", [
    ["serve", "worker", "--node", "edge", "--models", "lenet5", "--port", "0", "--threads", "0"],
    ["serve", "worker", "--node", "edge", "--models", "lenet5", "--port", "0", "--max-payload",
     "-5"],
    ["sweep", str(Path(__file__).parents[1] / "docs/examples/sweep-bandwidth.yaml"),
     "--workers", "0"],
    ["simulate", "demo", "--planner", "jps", "--gantt-tasks", "0"]])
def test_counts_below_one_are_usage_errors(capsys, argv):
    code, err = _run(argv, capsys)
    assert code == 2 and err.lower().startswith("error: invalid value for '--"), err


def test_a_sweep_with_no_workers_is_one_error_in_the_library_too(tmp_path):
    from splitinfer.errors import SplitInferError
    from splitinfer.experiments.sweep import run_sweep

    with pytest.raises(SplitInferError, match="workers must be a positive integer"):
        run_sweep(Path(__file__).parents[1] / "docs/examples/sweep-bandwidth.yaml", tmp_path,
                  workers=0)


def test_a_run_of_more_tasks_than_it_replays_is_one_line(tmp_path, capsys):
    pytest.importorskip("torch")
    spec = tmp_path / "many.yaml"
    spec.write_text("""
nodes:
  - {name: phone, kind: device, compute: {hardware: cpu-1t}}
  - {name: edge, kind: edge, compute: {hardware: cpu-1t}}
links: [{src: phone, dst: edge, bandwidth: 50Mbps}]
models: {lenet5: {profile: lenet5@cpu-1t, profiles: {cpu-1t: lenet5@cpu-1t}}}
workload: {tasks: [""" + ", ".join(f"{{device: phone, model: lenet5, arrival: {k}ms}}"
                                 for k in range(2001)) + "]}\n")
    code, err = _run(["run", str(spec), "--planner", "local", "--out", str(tmp_path / "o")],
                     capsys)
    assert code == 2 and "2001 tasks; a real run replays at most 2000" in err, err


def test_bad_tokens_cuda_workers_and_sweep_specs_are_one_line(tmp_path, capsys):
    pytest.importorskip("torch")
    empty = tmp_path / "token"
    empty.write_text("\n")
    for token, want in ((empty, "token file"), (tmp_path, "cannot read token file")):
        code, err = _run(["serve", "worker", "--node", "edge", "--models", "lenet5", "--port",
                          "0", "--token-file", str(token)], capsys)
        assert code == 2 and err.startswith("error: ") and want in err, err
        assert len(err.strip().splitlines()) == 1
    import torch

    if not torch.cuda.is_available():
        code, err = _run(["serve", "worker", "--node", "edge", "--models", "lenet5", "--port",
                          "0", "--device", "cuda"], capsys)
        assert code == 2 and "torch sees no CUDA device" in err and "Traceback" not in err
    spec = tmp_path / "sweep.yaml"
    spec.write_text("scenario: demo\nplanners: [local]\nparams: {a: 1}\nseeds: 1\n")
    code, err = _run(["sweep", str(spec), "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and err.strip().endswith("params: unknown field (see docs/sweeps.md)"), err
    assert len([x for x in err.splitlines() if x.startswith("error")]) == 1
