"""Latency predictors (seed 003 section 6.1): linear transfer model and lookup table."""

from __future__ import annotations

import json

import numpy as np
import pytest

from splitinfer.errors import UnknownNameError
from splitinfer.profile import LatencyLookupTable, LinearTransferModel, Profile, ProfileError
from splitinfer.profile.format import example_profile_dict


def _synthetic(w0: float, w1: float, noise: float, n: int = 400, seed: int = 0):
    rng = np.random.default_rng(seed)
    size = rng.uniform(1e3, 5e6, n)                 # bytes
    bw = rng.choice([1e6, 4e6, 10e6, 50e6], n)      # bit/s
    t = w0 + w1 * 8 * size / bw + rng.normal(0, noise, n)
    return size, bw, t


def test_fit_recovers_known_parameters_exactly_without_noise():
    size, bw, t = _synthetic(0.012, 1.07, 0.0)
    m = LinearTransferModel().fit(size, bw, t)
    assert m.w0 == pytest.approx(0.012, rel=1e-9)
    assert m.w1 == pytest.approx(1.07, rel=1e-9)
    assert m.rmse_s == pytest.approx(0.0, abs=1e-9) and m.n_samples == 400


def test_fit_with_noise_is_close_and_predicts():
    size, bw, t = _synthetic(0.02, 1.3, 0.005, seed=1)
    m = LinearTransferModel().fit(size, bw, t)
    assert m.w0 == pytest.approx(0.02, abs=0.002)
    assert m.w1 == pytest.approx(1.3, rel=0.01)
    assert m.rmse_s == pytest.approx(0.005, rel=0.2)
    pred = m.predict([1e6, 2e6], 8e6)
    assert pred.shape == (2,)
    assert pred[1] - pred[0] == pytest.approx(m.w1 * 1.0)


def test_fit_keeps_parameters_physical():
    # data that an unconstrained fit would explain with a negative set-up time
    size = np.array([1e5, 2e5, 3e5, 4e5])
    bw = np.full(4, 8e6)
    t = 8 * size / bw * 2.0 - 0.05
    t = np.maximum(t, 0.0)
    m = LinearTransferModel().fit(size, bw, t)
    assert m.w0 >= 0 and m.w1 >= 0
    unconstrained = np.polyfit(8 * size / bw, t, 1)
    assert unconstrained[1] < 0  # the constraint was active


def test_fit_needs_two_distinct_ratios():
    with pytest.raises(ValueError, match="two samples"):
        LinearTransferModel().fit([1e3, 1e3], [1e6, 1e6], [0.1, 0.2])
    with pytest.raises(ValueError, match="bandwidth"):
        LinearTransferModel().predict(10, 0)


def test_transfer_model_dict_round_trip():
    size, bw, t = _synthetic(0.01, 1.1, 0.001)
    m = LinearTransferModel().fit(size, bw, t)
    again = LinearTransferModel.from_dict(json.loads(json.dumps(m.to_dict())))
    assert again == m
    with pytest.raises(ValueError, match=">= 0"):
        LinearTransferModel.from_dict({"w0": -1, "w1": 1})
    with pytest.raises(ValueError, match="w0 and w1"):
        LinearTransferModel.from_dict({"w0": 1})


def test_lookup_table_reads_repaired_head_curves():
    p = Profile.from_dict(example_profile_dict())
    table = LatencyLookupTable.from_profiles([p])
    assert table.head("toy@cpu-1t", 2) == pytest.approx(p.head_latency[2])
    assert table.segment("toy@cpu-1t", 0, 2) == pytest.approx(p.segment_latency(0, 2))
    with pytest.raises(UnknownNameError, match="toy@cpu-1t"):
        table.head("toy@cpu1t", 0)
    with pytest.raises(IndexError):
        table.segment("toy@cpu-1t", 2, 0)
    again = LatencyLookupTable.from_dict(json.loads(json.dumps(table.to_dict())))
    assert again == table
    with pytest.raises(ProfileError, match="non-decreasing"):
        LatencyLookupTable.from_dict({"entries": {"x@y": [0.0, 2.0, 1.0]}})
