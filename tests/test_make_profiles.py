"""``make profiles`` (benchmarks/make_profiles.py) measures each model with the settings its
shipped profile records, so that a re-run reproduces the shipped files (AlexNet's 21 segment
repeats, the 25 of the profiles re-measured after head-curve dips, VGG16's 5). Nothing is
measured here."""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path

import pytest

from splitinfer.profile import list_shipped_profiles

ROOT = Path(__file__).resolve().parents[1]


def _script():
    spec = importlib.util.spec_from_file_location("make_profiles_script",
                                                  ROOT / "benchmarks" / "make_profiles.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _args(**changes) -> argparse.Namespace:
    base = {"repeats": None, "warmup": None, "segment_repeats": None, "segment_warmup": None,
            "repeats_for": [], "segment_repeats_for": [], "defaults": False}
    return argparse.Namespace(**{**base, **changes})


@pytest.mark.parametrize("name", [n for n in list_shipped_profiles() if n.endswith("@cpu-1t")])
def test_the_script_reproduces_every_shipped_profiles_settings(name):
    mp = _script()
    model, hardware = name.split("@")
    assert model in mp.DEFAULT_MODELS
    recorded = json.loads((mp.OUT / f"{name}.json").read_text())["measurement"]
    settings, source = mp.settings_for(model, hardware, _args())
    assert settings == {k: recorded[k] for k in mp.DEFAULTS}
    assert source == f"shipped {name}.json"


def test_alexnet_takes_its_21_segment_repeats_and_flags_override(capsys):
    mp = _script()
    assert mp.settings_for("alexnet", "cpu-1t", _args())[0]["segment_repeats"] == 21
    assert mp.main(["--show-settings", "--models", "alexnet", "lenet5"]) == 0
    out = capsys.readouterr().out
    assert "| alexnet | 40 | 5 | 21 | 1 | shipped alexnet@cpu-1t.json |" in out
    assert "| lenet5 | 40 | 5 | 7 | 1 |" in out
    # a flag for every model, then one for a model, win over the shipped settings
    s, source = mp.settings_for("alexnet", "cpu-1t", _args(segment_repeats=3, repeats=10,
                                                          segment_repeats_for=["alexnet=4"]))
    assert (s["repeats"], s["segment_repeats"], s["warmup"]) == (10, 4, 5)
    assert source.endswith("+ flags")
    # without a shipped file (another hardware) or with --defaults: the built-in settings
    assert mp.settings_for("vgg16", "cpu-4t", _args()) == (
        {"repeats": 40, "warmup": 5, "segment_repeats": 5, "segment_warmup": 1}, "defaults")
    assert mp.settings_for("alexnet", "cpu-1t", _args(defaults=True))[0]["segment_repeats"] == 7
