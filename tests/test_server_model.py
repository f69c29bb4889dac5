"""The GPU server model: calibrated on measured H100 whole-model latencies, scaled by stated ratios."""

from __future__ import annotations

import json

import numpy as np
import pytest

from splitinfer.data import data_path
from splitinfer.errors import UnknownNameError
from splitinfer.profile import load_profile
from splitinfer.profile.check import check_profile
from splitinfer.profile.server_model import (
    GPU_CLASSES,
    REFERENCE_FILE,
    fit_server_model,
    fitted_server_model,
    parse_hardware,
)
from splitinfer.system import scenario_from_dict


def test_reference_data_is_the_measured_file_with_its_provenance():
    ref = json.loads(data_path(*REFERENCE_FILE).read_text())
    assert ref["gpu"] == "NVIDIA H100 80GB HBM3" and ref["torch"].startswith("2.11")
    assert len(ref["models"]) == 12
    readme = data_path("reference", "README.md").read_text()
    assert "median of 100" in readme and "measure_gpu_whole_model.py.txt" in readme
    assert data_path("reference", "measure_gpu_whole_model.py.txt").is_file()


def test_every_calibration_model_matches_its_measurement():
    m = fitted_server_model()
    ref = json.loads(data_path(*REFERENCE_FILE).read_text())["models"]
    assert len(m.per_model) == 7
    for name, entry in m.per_model.items():
        measured = ref[name]["cuda_ms_median"] * 1e-3
        assert m.whole_latency(name) == pytest.approx(measured, rel=1e-9)
        assert load_profile(f"{name}@h100-fitted").whole_latency_s == pytest.approx(measured,
                                                                                    rel=1e-9)
        assert entry["rate_flops"] == m.rate_flops  # the scaled part is the common fit


def test_fit_recovers_a_synthetic_model():
    rng = np.random.default_rng(0)
    flops = {f"m{i}": rng.uniform(1e6, 5e9, size=rng.integers(10, 80)) for i in range(6)}
    true = {k: float(np.maximum(2e-5, v / 5e13).sum()) for k, v in flops.items()}
    m = fit_server_model(true, flops)
    assert m.floor_s == pytest.approx(2e-5, rel=1e-6) and m.rate_flops == pytest.approx(5e13, rel=1e-4)


@pytest.mark.parametrize("gpu", sorted(set(GPU_CLASSES) - {"h100"}))
def test_scaled_classes_scale_the_rate_by_the_stated_ratio_and_keep_the_floor(gpu):
    m = fitted_server_model()
    cls = GPU_CLASSES[gpu]
    assert cls.source and 0 < cls.ratio < 1
    for model in ("alexnet", "lenet5"):
        floor, rate = m.params(model, gpu)
        h_floor, h_rate = m.params(model, "h100")
        assert floor == h_floor and rate == pytest.approx(h_rate * cls.ratio)
        slow, fast = load_profile(f"{model}@{gpu}-fitted"), load_profile(f"{model}@h100-fitted")
        assert np.all(slow.layer_latency >= fast.layer_latency)
        assert slow.hardware["ratio_source"] == cls.source and slow.hardware["device"] == "model"


def test_fitted_profiles_are_consistent_and_scale():
    p = load_profile("vgg16@k80-fitted")
    assert check_profile(p).ok
    assert p.segment_latency(0, p.num_cuts - 1) == pytest.approx(p.whole_latency_s)
    half = load_profile("vgg16@k80-fitted-x0.5")
    assert half.whole_latency_s > p.whole_latency_s and half.hardware["scale"] == 0.5
    assert parse_hardware("cpu-1t") is None and parse_hardware("t4-fitted") == ("t4", 1.0)


def test_unknown_class_and_model_are_user_errors():
    with pytest.raises(UnknownNameError, match="unknown GPU class 'a100'"):
        load_profile("alexnet@a100-fitted")
    with pytest.raises(UnknownNameError, match="needs the layers of a shipped profile"):
        load_profile("nosuchmodel@k80-fitted")


def test_a_scenario_uses_a_fitted_server_like_a_measured_profile():
    sc = scenario_from_dict({
        "nodes": [{"name": "phone", "kind": "device", "compute": {"hardware": "cpu-1t"}},
                  {"name": "cloud", "kind": "cloud", "compute": {"hardware": "k80-fitted"}}],
        "links": [{"src": "phone", "dst": "cloud", "bandwidth": "10Mbps"}],
        "models": {"alexnet": {"profiles": {"cpu-1t": "alexnet@cpu-1t",
                                            "k80-fitted": "alexnet@k80-fitted"}}},
        "workload": {"tasks": [{"id": "t0", "device": "phone", "model": "alexnet"}]},
    })
    last = sc.models["alexnet"].last_cut
    expect = load_profile("alexnet@k80-fitted").whole_latency_s
    assert sc.compute_time("cloud", "alexnet", 0, last) == pytest.approx(expect)
