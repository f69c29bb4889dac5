"""The compiled step loop of Minimizing Waiting (``planners/li2022/_kernel.py``) schedules every
path exactly as the NumPy loop it replaced (kept below as the reference), ties included."""

from __future__ import annotations

import numpy as np
import pytest

from splitinfer.planners.li2022.min_waiting import mw_schedule
from splitinfer.planners.li2022.timing import Timing

_RTOL = 1e-12


def _close(values, best):
    return values <= best + _RTOL * max(1.0, abs(best))


def reference(t, local, tx, srv):
    """The NumPy loop of eqs. 7-8 before it was compiled (one class scan per step)."""
    n_paths, m = local.shape
    rows = np.concatenate([local, tx, srv], axis=1)
    _, first, cls = np.unique(rows, axis=0, return_index=True, return_inverse=True)
    cls = cls.reshape(-1)
    by_class = np.argsort(cls, kind="stable")
    members = np.split(by_class, np.cumsum(np.bincount(cls))[:-1])
    head = [0] * first.size
    nxt = np.array([float(mem[0]) for mem in members])
    c_local, c_tx = local[first], tx[first]
    order = np.empty(n_paths, dtype=np.int64)
    off = np.empty(n_paths, dtype=np.int64)
    done_tx = c_local + c_tx
    cand = _close(done_tx, float(done_tx.min()))
    loc = np.where(cand, c_local, np.inf)
    cand &= _close(loc, float(loc.min()))
    key = np.where(cand, nxt[:, None] * m + np.arange(m)[None, :], np.inf)
    c, o = divmod(int(np.argmin(key)), m)
    live = np.arange(first.size)
    live_local = c_local
    dev = tx_end = 0.0
    for k in range(n_paths):
        if k > 0:
            gap = np.abs(live_local - (tx_end - dev))
            best = gap.min()
            cand = gap <= best + _RTOL * max(1.0, abs(tx_end))
            o = int(np.flatnonzero(cand.any(axis=0))[-1])
            tied = live[cand[:, o]]
            c = int(tied[np.argmin(nxt[tied])])
        mem = members[c]
        p = int(mem[head[c]])
        head[c] += 1
        if head[c] < mem.size:
            nxt[c] = mem[head[c]]
        else:
            nxt[c] = np.inf
            live = live[live != c]
            live_local = c_local[live]
        order[k], off[p] = p, o
        dev += local[p, o]
        start = max(dev, tx_end) if t.fifo else dev
        tx_end = start + tx[p, o]
    return order, off


def _instance(rng, n_paths, m, n_kinds, quantum):
    """Paths drawn from ``n_kinds`` distinct cost rows (many identical paths, as the interior
    tiles of a grid), times on a grid of ``quantum`` so that ties happen."""
    kinds_local = np.cumsum(rng.integers(0, 4, size=(n_kinds, m)), axis=1) * quantum
    kinds_tx = rng.integers(1, 6, size=(n_kinds, m)) * quantum
    kinds_srv = rng.integers(0, 3, size=(n_kinds, m)) * quantum
    pick = rng.integers(0, n_kinds, size=n_paths)
    return kinds_local[pick].astype(float), kinds_tx[pick].astype(float), \
        kinds_srv[pick].astype(float)


@pytest.mark.parametrize("seed", range(40))
def test_the_compiled_steps_schedule_every_path_as_the_numpy_loop(seed):
    rng = np.random.default_rng(seed)
    n_paths = int(rng.integers(1, 60))
    m = int(rng.integers(1, 6))
    local, tx, srv = _instance(rng, n_paths, m, int(rng.integers(1, 8)),
                               float(rng.choice([1e-3, 0.1, 0.37])))
    for fifo in (True, False):
        t = Timing(1.0, 4.0, 0.0, 1.0, 8.0, fifo=fifo, serial=True, ret=0.0)
        got = mw_schedule(t, local, tx, srv)
        want = reference(t, local, tx, srv)
        assert got[0].tolist() == want[0].tolist()
        assert got[1].tolist() == want[1].tolist()
        assert sorted(got[0].tolist()) == list(range(n_paths))  # every path once


def test_continuous_times_and_a_large_grid_agree_too():
    rng = np.random.default_rng(7)
    local = np.cumsum(rng.random((400, 4)), axis=1)
    local[:, 0] = 0.0
    tx = rng.random((400, 4))
    srv = rng.random((400, 4))
    local[100:300] = local[100]  # a block of identical interior tiles
    tx[100:300] = tx[100]
    srv[100:300] = srv[100]
    t = Timing(1.0, 4.0, 0.0, 1.0, 8.0, fifo=True, serial=True, ret=0.0)
    got, want = mw_schedule(t, local, tx, srv), reference(t, local, tx, srv)
    assert got[0].tolist() == want[0].tolist() and got[1].tolist() == want[1].tolist()


def test_identical_paths_are_grouped_exactly_even_when_hashes_collide(monkeypatch):
    """Rows grouped by hash are checked equal; a collision falls back to a row-wise grouping."""
    from splitinfer.planners.li2022 import min_waiting

    rows = np.array([[1.0, 2.0], [3.0, 4.0], [1.0, 2.0], [np.nan, 1.0], [np.nan, 1.0]])
    first, cls = min_waiting._classes(rows)
    assert cls[0] == cls[2] and len({cls[0], cls[1], cls[3], cls[4]}) >= 3
    monkeypatch.setattr(min_waiting, "_MIX", np.zeros(256, dtype=np.uint64))  # all collide
    first, cls = min_waiting._classes(rows[:3])
    assert cls[0] == cls[2] != cls[1] and sorted(first.tolist()) == [0, 1]
    rng = np.random.default_rng(3)
    local, tx, srv = _instance(rng, 50, 4, 3, 0.1)
    t = Timing(1.0, 4.0, 0.0, 1.0, 8.0, fifo=True, serial=True, ret=0.0)
    got, want = mw_schedule(t, local, tx, srv), reference(t, local, tx, srv)
    assert got[0].tolist() == want[0].tolist() and got[1].tolist() == want[1].tolist()


def test_an_uncapped_search_too_large_to_finish_does_not_apply_and_says_why(monkeypatch):
    """``mw-paper`` counts its path schedules first; above ``MAX_UNCAPPED_PATHS`` it raises
    ``NotApplicableError`` naming the count and the capped alternatives (Tiny YOLOv2's 416 x 416
    input is 8.5e9 schedules), and the capped ``mw`` is not affected."""
    from splitinfer.errors import NotApplicableError
    from splitinfer.planners import get_planner
    from splitinfer.planners.li2022 import fused_layer
    from splitinfer.system.load import load_scenario

    sc = load_scenario("li2022-alexnet")
    monkeypatch.setattr(fused_layer, "MAX_UNCAPPED_PATHS", 1000)
    with pytest.raises(NotApplicableError, match=r"path schedules .* use 'mw'"):
        get_planner("mw-paper").plan(sc)
    assert get_planner("mw").plan(sc).tasks  # capped: unaffected by the limit
