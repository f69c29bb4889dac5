"""The shipped cpu-1t profiles: present, valid, consistent with the model zoo (no torch needed)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from splitinfer.errors import UnknownNameError
from splitinfer.models import input_shape
from splitinfer.profile import list_shipped_profiles, load_profile

EXPECTED = ["alexnet", "vgg16", "vgg16-cifar", "resnet18", "resnet34", "mobilenet_v2",
            "googlenet", "squeezenet1_0", "lenet5", "tiny-yolov2", "deepface"]


def test_every_expected_model_is_shipped_for_cpu_1t():
    names = list_shipped_profiles()
    missing = [m for m in EXPECTED if f"{m}@cpu-1t" not in names]
    assert not missing, missing


@pytest.mark.parametrize("model", EXPECTED)
def test_shipped_profile_is_consistent(model):
    p = load_profile(f"{model}@cpu-1t")
    assert p.model == model and p.name == f"{model}@cpu-1t"
    assert p.hardware["device"] == "cpu" and p.hardware["threads"] == 1
    assert p.batch == 1 and p.dtype == "float32"
    assert p.input_shape == tuple(input_shape(model))
    assert p.input_bytes == 4 * math.prod(p.input_shape)
    assert p.transfer_bytes[0] == p.input_bytes and p.transfer_bytes[-1] == p.output_bytes
    assert p.cuts[-1].position == len(p.layers) and p.head_flops[-1] == p.flops > 0
    assert p.flops == sum(layer.flops for layer in p.layers)
    assert p.flops == 2 * p.macs
    assert np.all(np.diff(p.head_flops) >= 0)
    assert np.all(np.diff(p.head_latency) >= 0) and p.head_latency[0] == 0
    assert p.whole_latency_s > 0 and p.head_latency[-1] > 0
    assert p.measurement["repeats"] >= 10 and p.measurement["segment_repeats"] >= 1
    assert "load" in p.measurement


def test_load_by_path_and_unknown_name(tmp_path):
    p = load_profile("lenet5@cpu-1t")
    assert load_profile(p.save(tmp_path / "copy.json")) == p
    assert load_profile(str(tmp_path / "copy.json")) == p
    with pytest.raises(UnknownNameError) as info:
        load_profile("lenet5@cpu1t")
    message = str(info.value)
    assert "did you mean: lenet5@cpu-1t" in message and "resnet18@cpu-1t" in message
    with pytest.raises(FileNotFoundError):
        load_profile(tmp_path / "nope.json")
