"""The compiled array passes around the event loop (splitinfer.sim._columns) against the NumPy
operations they replace, and the simulator's sort-free branches against their fallbacks."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from splitinfer.sim import _columns as C

simulate_module = importlib.import_module("splitinfer.sim.simulate")


@pytest.mark.parametrize("seed", range(5))
def test_dense_groups_is_np_unique(seed):
    rng = np.random.default_rng(seed)
    size = int(rng.integers(1, 50))
    key = rng.integers(0, size, int(rng.integers(0, 200))).astype(np.int64)
    first, which = C.dense_groups(key, size)
    _, want_first, want_which = np.unique(key, return_index=True, return_inverse=True)
    assert np.array_equal(first, want_first)
    assert np.array_equal(which, want_which.ravel())


def test_is_sorted_is_lexsorted():
    rng = np.random.default_rng(0)
    for _ in range(50):
        time = rng.integers(0, 4, 8).astype(float)
        key = rng.permutation(8).astype(np.int64)
        order = np.lexsort((key, time))
        assert C.is_sorted(time, key) == bool(np.array_equal(order, np.arange(8)))
        assert C.is_sorted(time[order], key[order])


def test_stage_columns_gathers_rows_of_tasks_installed_out_of_order():
    """Tasks whose engine rows are not in task order (online, arrivals out of task order)."""
    tp_off = np.array([0, 2, 5])
    ts_res = np.array([0, -1, 1, 2, -1])
    tlabel = np.array([0, 1, 2, 3, 1])
    tmpl = np.array([1, 0, 1])
    first = np.array([0, 3, 5, 8])
    t_base = np.array([2, 0, 5])  # task 1 was installed first
    stage, resource, label, rows = (np.empty(8, np.int64) for _ in range(4))
    same = C.stage_columns(tmpl, t_base, tp_off, ts_res, tlabel, first, stage, resource, label,
                           rows)
    assert not same
    assert stage.tolist() == [0, 1, 2, 0, 1, 0, 1, 2]
    assert resource.tolist() == [1, 2, -1, 0, -1, 1, 2, -1]
    assert label.tolist() == [2, 3, 1, 0, 1, 2, 3, 1]
    assert rows.tolist() == [2, 3, 4, 0, 1, 5, 6, 7]
    assert C.stage_columns(tmpl, np.array([0, 3, 5]), tp_off, ts_res, tlabel, first, stage,
                           resource, label, np.empty(0, np.int64))


def _bench_like(tasks: int):
    from splitinfer.system import scenario_from_dict
    from splitinfer.system.plan import ChainColumns, Plan

    phones = ["p0", "p1", "p2"]
    sc = scenario_from_dict({
        "nodes": [{"name": p, "kind": "device", "compute": {"flops_per_s": 1e9}}
                  for p in phones] + [{"name": "e", "kind": "edge",
                                        "compute": {"flops_per_s": 1e10}}],
        "links": [{"src": p, "dst": "e", "bandwidth": 8e7, "sharing": "fifo"} for p in phones],
        "models": {"m": {"cuts": [{"transfer_bytes": 1e5, "head_flops": 0},
                                  {"transfer_bytes": 5e4, "head_flops": 1e7},
                                  {"transfer_bytes": 1e3, "head_flops": 1e8}]}},
        "workload": {"seed": 1, "generators": [
            {"kind": "poisson", "devices": phones, "model": "m", "rate": 30.0,
             "count": tasks}]}})
    n = len(sc.tasks)
    dev = np.array([phones.index(t.device) for t in sc.tasks])
    nodes = np.column_stack([dev, np.where(np.arange(n) % 3 == 0, -1, 3)])
    cuts = np.where(nodes[:, 1:] < 0, -1, 1 + np.arange(n)[:, None] % 2)
    cols = ChainColumns([t.id for t in sc.tasks], phones + ["e"], nodes, cuts)
    return sc, Plan.from_columns("mixed", cols)


def test_sort_free_branches_equal_their_fallbacks(monkeypatch):
    """Dense tables instead of np.unique, engine columns handed over instead of gathered, and
    the already-sorted event stream: the same result as the sorting branches."""
    from splitinfer.sim import simulate

    sc, plan = _bench_like(40)
    fast = simulate(sc, plan)
    monkeypatch.setattr(C, "dense_fits", lambda size, rows: False)
    monkeypatch.setattr(C, "is_sorted", lambda time, key: False)
    monkeypatch.setattr(simulate_module.np, "array_equal", lambda a, b: False)
    slow = simulate(sc, plan)
    monkeypatch.undo()
    a, b = fast.timeline, slow.timeline
    assert fast.info["events"] == slow.info["events"]
    for col in ("finish", "offloaded", "first", "stage", "resource", "ready", "start", "end"):
        assert np.array_equal(getattr(a, col), getattr(b, col)), col
    assert [a.labels[x] for x in a.label] == [b.labels[x] for x in b.label]
    assert a.offloaded.any() and not a.offloaded.all()
