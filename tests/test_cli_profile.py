"""The `splitinfer profile` and `splitinfer inspect` commands."""

from __future__ import annotations

import json

import pytest

from splitinfer.cli import main
from splitinfer.profile import Profile
from splitinfer.profile.format import example_profile_dict


@pytest.fixture
def toy_file(tmp_path):
    return Profile.from_dict(example_profile_dict()).save(tmp_path / "toy@cpu-1t.json")


def _run(argv, capsys):
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_inspect_with_a_profile_file_and_plot(toy_file, tmp_path, capsys):
    png = tmp_path / "cuts.png"
    code, out, err = _run(["inspect", "toy", "--profile", str(toy_file), "--plot", str(png)], capsys)
    assert code == 0, err
    assert "toy@cpu-1t: 2 layers" in out and "toy@cpu-1t: 3 cut points" in out
    assert "head time" in out and "1.50 ms" in out and "3.07 kB" in out
    assert png.exists() and png.stat().st_size > 0


def test_inspect_user_errors_exit_2(toy_file, tmp_path, capsys):
    code, _, err = _run(["inspect", "other", "--profile", str(toy_file)], capsys)
    assert code == 2 and "is for model 'toy', not 'other'" in err
    code, _, err = _run(["inspect", "toy", "--profile", "toy@nowhere"], capsys)
    assert code == 2 and "unknown profile 'toy@nowhere'" in err
    code, _, err = _run(["inspect", "toy", "--profile", str(tmp_path / "missing.json")], capsys)
    assert code == 2 and "missing.json" in err
    bad = tmp_path / "bad.json"
    data = example_profile_dict()
    data["cuts"][0]["transfer_bytes"] = "big"
    bad.write_text(json.dumps(data))
    code, _, err = _run(["inspect", "toy", "--profile", str(bad)], capsys)
    assert code == 2 and "bad.json: cuts[0].transfer_bytes" in err
    code, _, err = _run(["inspect", "lenet5", "--plot", str(tmp_path / "x.png")], capsys)
    assert code == 2 and "--plot needs --profile" in err


def test_profile_rejects_unknown_device(tmp_path, capsys):
    code, _, err = _run(["profile", "lenet5", "--device", "tpu", "-o", str(tmp_path / "p.json")],
                        capsys)
    assert code == 2 and "--device must be one of cpu, cuda" in err


def test_profile_then_inspect_a_real_model(tmp_path, capsys):
    pytest.importorskip("torch")
    out_file = tmp_path / "lenet5.json"
    code, out, err = _run(["profile", "lenet5", "--threads", "1", "--repeats", "3", "--warmup", "1",
                           "--segment-repeats", "2", "-o", str(out_file)], capsys)
    assert code == 0, err
    assert "lenet5@cpu-1t" in out and out_file.exists()
    prof = Profile.load(out_file)
    assert prof.model == "lenet5" and prof.measurement["repeats"] == 3
    code, out, err = _run(["inspect", "lenet5", "--profile", str(out_file), "--no-layers"], capsys)
    assert code == 0, err
    assert f"{prof.num_cuts} cut points" in out and "layers" not in out.split("cut points")[0]
    code, out, err = _run(["inspect", "lenet5"], capsys)  # traced, no latency columns
    assert code == 0, err
    assert f"lenet5: {prof.num_cuts} cut points" in out and "head time" not in out
    assert "Conv2d" in out
