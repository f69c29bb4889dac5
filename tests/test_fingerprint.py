"""``scenario_fingerprint``: the digest of one canonical JSON text of the scenario, written
piece by piece with shared parts written once, equals the digest of ``json.dumps`` of the
nested lists (the definition, below); plans stamped before keep matching."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest

from splitinfer.data import list_shipped_scenarios
from splitinfer.experiments.compare import scenario_fingerprint
from splitinfer.experiments.huang2019 import paper_scenario
from splitinfer.system import load_scenario
from splitinfer.testing.random import random_chain_scenario


def _by_definition(scenario: Any) -> str:
    def enc(x: Any) -> Any:
        if dataclasses.is_dataclass(x) and not isinstance(x, type):
            return {f.name: enc(getattr(x, f.name)) for f in dataclasses.fields(x)}
        if isinstance(x, Mapping):
            return sorted(([str(k), enc(v)] for k, v in x.items()), key=lambda kv: kv[0])
        if isinstance(x, list | tuple):
            return [enc(v) for v in x]
        if isinstance(x, np.ndarray):
            return enc(x.tolist())
        if isinstance(x, np.generic):
            return enc(x.item())
        if isinstance(x, float):
            return repr(x)
        if x is None or isinstance(x, str | int | bool):
            return x
        return repr(x)

    blob = json.dumps(enc(scenario), separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


@pytest.mark.parametrize("name", list_shipped_scenarios())
def test_fingerprint_of_every_shipped_scenario_is_the_definitions(name):
    sc = load_scenario(name)
    assert scenario_fingerprint(sc) == _by_definition(sc)


def test_fingerprint_with_shared_costs_and_random_scenarios_is_the_definitions():
    scs = [paper_scenario(seed, 30, 3, 10.0) for seed in range(2)]  # one model per task
    scs += [random_chain_scenario(seed) for seed in range(8)]
    for sc in scs:
        assert scenario_fingerprint(sc) == _by_definition(sc)
    a, b = paper_scenario(0, 30, 3, 10.0), paper_scenario(1, 30, 3, 10.0)
    assert scenario_fingerprint(a) != scenario_fingerprint(b)


@dataclasses.dataclass
class _Box:
    a: Any
    b: Any = None


def test_fingerprint_of_numpy_scalars_shared_objects_and_odd_values_is_the_definitions():
    arr = np.arange(3.0)
    shared = _Box(arr, {"x": np.float64(1.5), 2: (np.int64(3), True, None, "é\n", 1.25,
                                                  np.bool_(True), float("nan"), -0.0)})
    for value in (_Box(shared, [shared, shared, arr, arr]), _Box(np.float32(0.1), {}),
                  _Box([], (1, [2, {"k": arr[:2]}])), _Box(shared, _Box),
                  _Box(np.ones((2, 3)), [np.arange(4), np.float16([0.1, np.inf, np.nan]),
                                         'q"\\u', np.array([], dtype=float)])):
        assert scenario_fingerprint(value) == _by_definition(value)
    changed = _Box(_Box(np.arange(3.0), shared.b), [shared])
    changed.a.a[1] = 7.0
    assert scenario_fingerprint(changed) != scenario_fingerprint(_Box(shared, [shared]))
