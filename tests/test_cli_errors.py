"""The CLI's error contract: one clear line on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

import socket

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
