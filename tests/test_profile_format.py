"""Profile file format splitinfer.profile/1: round trip, validation messages, repaired curves."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import numpy as np
import pytest

from splitinfer.profile import Profile, ProfileError
from splitinfer.profile.format import example_profile_dict, repair_monotone


@pytest.fixture
def data() -> dict:
    return example_profile_dict()


def test_round_trip_through_file(tmp_path, data):
    p = Profile.from_dict(data)
    path = p.save(tmp_path / "sub" / "toy@cpu-1t.json")
    q = Profile.load(path)
    assert q == p
    assert q.to_dict() == json.loads(path.read_text())
    assert json.loads(path.read_text())["format"] == "splitinfer.profile/1"
    assert isinstance(q.layers[0].latency_s, float) and q.cuts[1].after == "fc"


def test_edges_may_start_at_the_model_input(data):
    data["edges"].insert(0, [-1, 0])
    assert Profile.from_dict(data).edges[0] == (-1, 0)


def test_extra_measurement_fields_survive(tmp_path, data):
    data["measurement"]["load"] = {"before": [1.5, 1.0, 0.5]}
    q = Profile.load(Profile.from_dict(data).save(tmp_path / "p.json"))
    assert q.measurement["load"]["before"] == [1.5, 1.0, 0.5]


@pytest.mark.parametrize(
    ("edit", "field", "needle"),
    [
        (lambda d: d.update(format="splitinfer.profile/0"), "format", "expected 'splitinfer.profile/1'"),
        (lambda d: d.pop("model"), "model", "missing field"),
        (lambda d: d.update(batch=0), "batch", "integer >= 1"),
        (lambda d: d["input_shape"].append(-3), "input_shape[3]", "integer >= 1"),
        (lambda d: d["hardware"].pop("name"), "hardware.name", "missing field"),
        (lambda d: d["measurement"].update(repeats="many"), "measurement.repeats", "integer"),
        (lambda d: d["layers"][1].update(latency_s=float("nan")), "layers[1].latency_s", "finite"),
        (lambda d: d["layers"][0].update(flops=1.5), "layers[0].flops", "integer"),
        (lambda d: d["layers"][0].update(name=""), "layers[0].name", "non-empty string"),
        (lambda d: d["edges"].append([0, 7]), "edges[1]", "out of range"),
        (lambda d: d["edges"].append([0]), "edges[1]", "pair"),
        (lambda d: d["edges"].append([-2, 1]), "edges[1]", "integer >= 0"),
        (lambda d: d["cuts"][2].update(index=5), "cuts[2].index", "expected 2"),
        (lambda d: d["cuts"][1].update(transfer_bytes=-5), "cuts[1].transfer_bytes", ">= 0"),
        (lambda d: d["cuts"][1].update(after="relu"), "cuts[1].after", "'fc'"),
        (lambda d: d["cuts"][2].update(position=9), "cuts[2].position", "at most 2"),
        (lambda d: d["cuts"][2].update(position=1, after="fc"), "cuts[2].position", "increase"),
        (lambda d: d["cuts"][0].update(head_latency_s=-1e-3), "cuts[0].head_latency_s", ">= 0"),
        (lambda d: d.update(cuts=[]), "cuts", "at least one"),
        (lambda d: d.update(whole_latency_std_s=None), "whole_latency_std_s", "finite"),
    ],
)
def test_validation_names_file_and_field(data, edit, field, needle):
    edit(data)
    with pytest.raises(ProfileError) as info:
        Profile.from_dict(data, "bad.json")
    message = str(info.value)
    assert message.startswith(f"bad.json: {field}: "), message
    assert needle in message


def test_load_reports_bad_json_with_file_name(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    with pytest.raises(ProfileError, match="broken.json: not valid JSON"):
        Profile.load(path)


def test_top_level_must_be_an_object():
    with pytest.raises(ProfileError, match=r"x: \(top level\): expected an object"):
        Profile.from_dict([1, 2], "x")


def test_accessors_are_read_only_arrays(data):
    p = Profile.from_dict(data)
    assert p.num_cuts == 3
    for arr in (p.transfer_bytes, p.head_flops, p.head_latency, p.tail_latency, p.layer_latency):
        assert isinstance(arr, np.ndarray) and not arr.flags.writeable
    assert p.raw_head_latency.tolist() == [0.0, 0.0016, 0.0014]
    with pytest.raises(IndexError):
        p.segment_latency(2, 1)
    with pytest.raises(IndexError):
        p.segment_flops(0, 3)


def test_segments_telescope_to_the_whole_head(data):
    rng = np.random.default_rng(3)
    raw = np.concatenate([[0.0], np.cumsum(rng.uniform(0, 1e-3, 9)) + rng.normal(0, 2e-4, 9)])
    raw = np.abs(raw)
    d = copy.deepcopy(data)
    d["layers"] = [dict(data["layers"][1], name=f"l{i}") for i in range(9)]
    d["edges"] = [[i, i + 1] for i in range(8)]
    d["cuts"] = [{"index": k, "after": None if k == 0 else f"l{k - 1}", "position": k,
                  "transfer_bytes": 10, "head_flops": 100 * k, "head_latency_s": float(raw[k]),
                  "tail_latency_s": 0.0} for k in range(10)]
    p = Profile.from_dict(d)
    h = p.head_latency
    assert h[0] == 0.0 and np.all(np.diff(h) >= 0)
    for a, b in [(0, 3), (3, 7), (7, 9)]:
        assert p.segment_latency(a, b) >= 0
    total = p.segment_latency(0, 3) + p.segment_latency(3, 7) + p.segment_latency(7, 9)
    assert total == pytest.approx(h[-1])
    assert np.allclose(p.tail_latency, h[-1] - h)
    assert p.segment_flops(3, 7) == 400.0


def test_repair_is_least_squares_not_running_max():
    raw = np.array([0.0, 1.0, 9.0, 2.0, 3.0, 10.0])
    fixed = repair_monotone(raw)
    assert np.all(np.diff(fixed) >= 0)
    # a running maximum would keep 9 for cuts 3 and 4; isotonic regression pools them
    assert fixed[2] == pytest.approx((9 + 2 + 3) / 3)
    assert fixed[-1] == 10.0
    # an already monotone curve is unchanged
    mono = np.array([0.0, 0.5, 0.5, 2.0])
    assert np.array_equal(repair_monotone(mono), mono)


def test_profile_package_does_not_import_torch():
    code = ("import sys, splitinfer.profile as p, splitinfer.report.cutplot; "
            "p.Profile; p.LinearTransferModel; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
