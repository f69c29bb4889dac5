"""`splitinfer profile --check`: consistency of layer, segment and whole-model latencies."""

from __future__ import annotations

import json

import numpy as np
import pytest

from splitinfer.cli import main
from splitinfer.profile import Profile, list_shipped_profiles, load_profile
from splitinfer.profile.check import BOUNDS, check_profile
from splitinfer.profile.format import example_profile_dict


def _run(argv, capsys):
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def _consistent() -> dict:
    """The toy profile with latencies that agree: layers 1.0 + 0.01 ms, whole 1.01 ms."""
    d = example_profile_dict()
    d["whole_latency_s"] = 0.00101
    d["cuts"][0]["tail_latency_s"] = 0.00101
    d["cuts"][1]["head_latency_s"], d["cuts"][1]["tail_latency_s"] = 0.001, 0.00001
    d["cuts"][2]["head_latency_s"] = 0.00101
    return d


def test_a_consistent_profile_passes(tmp_path, capsys):
    path = Profile.from_dict(_consistent()).save(tmp_path / "ok.json")
    report = check_profile(Profile.load(path))
    assert report.ok and report.dips == []
    assert report.layer_sum_ratio == pytest.approx(1.0)
    np.testing.assert_allclose(report.split_ratio, 1.0, rtol=1e-12)
    code, out, err = _run(["profile", "--check", str(path)], capsys)
    assert code == 0, err
    assert "(head+tail)/whole" in out and ": ok" in out and "violation" not in err


@pytest.mark.parametrize("edit, needle", [
    (lambda d: d.update(whole_latency_s=0.004), "layer sum / whole = 0.25"),
    (lambda d: d["cuts"][1].update(tail_latency_s=0.0005), "cut 1 (after fc): (head + tail)"),
    (lambda d: d["cuts"][2].update(head_latency_s=0.0009), "cut 2 (after relu): head latency falls"),
])
def test_each_bound_fails_with_one_line_and_exit_1(edit, needle, tmp_path, capsys):
    d = _consistent()
    edit(d)
    path = Profile.from_dict(d).save(tmp_path / "bad.json")
    code, _, err = _run(["profile", "--check", str(path)], capsys)
    lines = [x for x in err.splitlines() if x.startswith("violation: ")]
    assert code == 1 and len(lines) >= 1 and any(needle in x for x in lines), err
    assert "fail the consistency check" in err.splitlines()[-1]


def test_segments_are_checked_against_the_whole_model_of_their_own_pass():
    # The segment pass ran 20 % slower than the layer pass (the machine drifted): against the
    # layer pass's whole model the segments would look inconsistent, against their own pass's
    # whole model they agree; the drift itself is reported when it exceeds the bound.
    d = _consistent()
    for cut in d["cuts"]:
        cut["head_latency_s"] *= 1.1
        cut["tail_latency_s"] *= 1.1
    d["measurement"]["segment_whole_latency_s"] = 0.00101 * 1.1
    report = check_profile(Profile.from_dict(d))
    assert report.ok, report.violations
    np.testing.assert_allclose(report.split_ratio, 1.0, rtol=1e-12)
    d["measurement"]["segment_whole_latency_s"] = 0.00101 * 1.3
    for cut in d["cuts"]:
        cut["head_latency_s"] *= 1.3 / 1.1
        cut["tail_latency_s"] *= 1.3 / 1.1
    lines = check_profile(Profile.from_dict(d)).violations
    assert len(lines) == 1 and "1.30 x as long in the segment pass" in lines[0]


def test_bounds_are_the_documented_ones():
    text = open("docs/profile-format.md", encoding="utf-8").read()
    assert BOUNDS.layer_sum == (0.8, 1.3) and BOUNDS.split == (0.85, 1.2) and BOUNDS.dip == 0.03
    assert BOUNDS.pass_drift == 0.15
    assert "## Consistency check" in text
    for needle in ("[0.8, 1.3]", "[0.85, 1.2]", "3 %", "15 %", "segment_whole_latency_s"):
        assert needle in text


def test_check_and_model_are_exclusive(capsys):
    code, _, err = _run(["profile", "lenet5", "--check", "lenet5@cpu-1t"], capsys)
    assert code == 2 and "not both" in err


def _measured_before_the_low_quantile(name: str) -> bool:
    return "interquartile" in str(load_profile(name).measurement.get("statistic", ""))


@pytest.mark.parametrize("name", list_shipped_profiles())
def test_every_shipped_profile_passes_the_check(name, capsys):
    # Profiles measured under load with the old estimator may fail (xfail); once re-measured on a
    # quiet machine (benchmarks/make_profiles.py) this test holds every one of them to the bounds.
    code, out, err = _run(["profile", "--check", name], capsys)
    if code != 0 and _measured_before_the_low_quantile(name):
        pytest.xfail(f"{name} predates the low-quantile estimator (measured at load "
                     f"{load_profile(name).measurement.get('load', {}).get('before')}); "
                     "re-measure with benchmarks/make_profiles.py")
    assert code == 0, err


def test_check_of_a_fresh_measurement_reports_every_cut(tmp_path, capsys):
    pytest.importorskip("torch")
    path = tmp_path / "lenet5.json"
    code, _, err = _run(["profile", "lenet5", "--threads", "1", "--repeats", "5", "--warmup", "1",
                         "--segment-repeats", "3", "-o", str(path)], capsys)
    assert code == 0, err
    prof = Profile.load(path)
    code, out, err = _run(["profile", "--check", str(path)], capsys)
    # Consistency of timings on a loaded test machine is not asserted (tests never assert speed):
    # only that the report covers every cut and the exit code matches the violations.
    report = check_profile(prof)
    assert code == (0 if report.ok else 1)
    assert f"over {prof.num_cuts} cuts" in out.replace("\n", " ")
    assert len(report.split_ratio) == prof.num_cuts
    assert json.loads(path.read_text())["measurement"]["load"]["before"] is not None
