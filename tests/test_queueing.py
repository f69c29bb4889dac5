"""Queueing formulas (system/queueing.py) and the M/D/1 check of the simulator against them.

The simulator check: Poisson arrivals at rate lambda to one FIFO server whose service time is a
fixed 1/mu (seed 004's M/D/1 model, eqs. 3-2 and 3-5), many tasks, seeded; the simulated mean
sojourn must be within 3 % of lambda / (2 mu (mu - lambda)) + 1 / mu.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from splitinfer.sim import simulate
from splitinfer.system import Plan, TaskPlan, scenario_from_dict
from splitinfer.system.queueing import (
    UnstableQueueError,
    is_stable,
    md1_queue_length,
    md1_sojourn,
    md1_wait,
    mm1_queue_length,
    mm1_sojourn,
    mm1_wait,
    service_rate,
    utilisation,
)


def test_md1_formula_values():
    # rho = 0.6, mu = 10/s: wait = 0.6 / (2 * 10 * 0.4) = 0.075 s
    assert md1_wait(6.0, 10.0) == pytest.approx(0.075)
    assert md1_sojourn(6.0, 10.0) == pytest.approx(0.175)
    assert md1_queue_length(6.0, 10.0) == pytest.approx(0.6**2 / (2 * 0.4))


def test_mm1_formula_values_and_relation_to_md1():
    lam = np.array([0.1, 0.5, 0.9])
    assert np.allclose(mm1_wait(lam, 1.0), 2 * md1_wait(lam, 1.0))  # P-K: Var(S) = 0 halves it
    assert np.allclose(mm1_sojourn(lam, 1.0), 1 / (1 - lam))
    assert np.allclose(mm1_queue_length(lam, 1.0), lam**2 / (1 - lam))


def test_littles_law_links_queue_length_and_wait():
    for lam, mu in [(0.3, 1.0), (4.0, 5.0), (1e-3, 2.0)]:
        assert md1_queue_length(lam, mu) == pytest.approx(lam * md1_wait(lam, mu))
        assert mm1_queue_length(lam, mu) == pytest.approx(lam * mm1_wait(lam, mu))


def test_no_arrivals_and_no_work():
    assert md1_wait(0.0, 2.0) == 0.0 and md1_sojourn(0.0, 2.0) == 0.5
    assert md1_sojourn(5.0, math.inf) == 0.0 and mm1_sojourn(5.0, math.inf) == 0.0
    assert utilisation(5.0, math.inf) == 0.0


@pytest.mark.parametrize("fn", [md1_wait, md1_sojourn, mm1_wait, mm1_sojourn, md1_queue_length,
                                mm1_queue_length])
@pytest.mark.parametrize("lam", [1.0, 1.5, 100.0])
def test_unstable_is_infinite_never_negative(fn, lam):
    assert fn(lam, 1.0) == math.inf
    with pytest.raises(UnstableQueueError, match="unstable"):
        fn(lam, 1.0, strict=True)


def test_delay_grows_without_bound_near_saturation():
    lam = 1.0 - np.logspace(-1, -9, 9)
    w = md1_sojourn(lam, 1.0)
    assert np.all(np.diff(w) > 0) and w[-1] > 1e8 and np.all(np.isfinite(w))


def test_arrays_broadcast_and_mix_stable_unstable():
    out = md1_sojourn([[0.5], [2.0]], [1.0, 4.0])
    assert out.shape == (2, 2)
    assert out[0, 0] == pytest.approx(1.5) and out[1, 0] == math.inf
    assert out[1, 1] == pytest.approx(2 / (2 * 4 * 2) + 0.25)
    assert is_stable([0.5, 1.0], 1.0).tolist() == [True, False]
    with pytest.raises(UnstableQueueError, match="2/s"):
        md1_sojourn([0.5, 2.0], 1.0, strict=True)


@pytest.mark.parametrize("lam, mu", [(-1.0, 1.0), (1.0, 0.0), (1.0, -2.0), (math.nan, 1.0)])
def test_bad_rates_raise(lam, mu):
    with pytest.raises(ValueError):
        md1_sojourn(lam, mu)


def test_service_rate_eq_3_1_and_3_4():
    assert service_rate(4.32e9, 2.16e9) == pytest.approx(2.0)
    assert service_rate(1e10, 1e9, share=0.3) == pytest.approx(3.0)
    assert service_rate([1e9, 2e9], [0.0, 1e9]).tolist() == [math.inf, 2.0]
    for bad in [dict(flops_per_s=0, flops=1), dict(flops_per_s=1, flops=-1),
                dict(flops_per_s=1, flops=1, share=0), dict(flops_per_s=1, flops=1, share=1.5)]:
        with pytest.raises(ValueError):
            service_rate(**bad)


def _md1_scenario(lam: float, mu: float, n: int, seed: int):
    """One device offloads every task's raw input to one edge server (FIFO, 1 slot).

    Transfers carry 0 bytes with no latency and results return in 0 s, so the server is the only
    queue; its service time is FLOPs / speed = 1 / mu for every task.
    """
    return scenario_from_dict({
        "name": "md1", "result_return": 0,
        "nodes": [{"name": "dev", "kind": "device", "compute": {"flops_per_s": 1.0}},
                  {"name": "srv", "kind": "edge", "compute": {"flops_per_s": mu}}],
        "links": [{"src": "dev", "dst": "srv", "bandwidth": 1e9}],
        "models": {"m": {"cuts": [{"transfer_bytes": 0, "head_flops": 0},
                                  {"transfer_bytes": 0, "head_flops": 1.0}]}},
        "workload": {"seed": seed, "generators": [
            {"kind": "poisson", "devices": ["dev"], "model": "m", "rate": lam, "count": n}]}})


@pytest.mark.parametrize("lam, mu, seed", [(5.0, 10.0, 11), (6.0, 10.0, 12)])
def test_simulated_md1_mean_sojourn_matches_formula(lam, mu, seed):
    sc = _md1_scenario(lam, mu, 40000, seed)
    plan = Plan("srv", {t.id: TaskPlan(t.id, ("dev", "srv"), (0,)) for t in sc.tasks})
    res = simulate(sc, plan)
    service = [s for s in res.tasks[0].stages if s.resource == "srv"][0]
    assert service.end - service.start == pytest.approx(1 / mu)
    expected = md1_sojourn(lam, mu)
    assert res.mean_latency == pytest.approx(expected, rel=0.03)
    # and the measured arrival rate is the configured one (the generator is Poisson at lam)
    span = sc.tasks[-1].arrival - sc.tasks[0].arrival
    assert (len(sc.tasks) - 1) / span == pytest.approx(lam, rel=0.03)
    # utilisation of the server approaches rho
    assert res.utilisation()["srv"] == pytest.approx(lam / mu, rel=0.03)
