"""The incremental FIFO server of the GSPI family against a from-scratch queue and the simulator."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from splitinfer.planners.shi2021.queue import FifoServer, queue_key
from splitinfer.sim.engine import Engine
from splitinfer.system.stages import Stage


def _from_scratch(tasks: dict[int, tuple[float, float]]) -> dict[int, float]:
    """End time of every task of a one-at-a-time FIFO server, recomputed from nothing."""
    order = sorted(tasks, key=lambda i: (round(tasks[i][0], 12), 0.0, i))
    free, out = -math.inf, {}
    for i in order:
        ready, work = tasks[i]
        free = max(ready, free) + work
        out[i] = free
    return out


def _ends(q: FifoServer) -> dict[int, float]:
    return {k.index: e for k, e in zip(q.keys, q.end, strict=True)}


ops = st.lists(st.tuples(st.booleans(), st.integers(0, 40), st.integers(0, 30)),
               min_size=1, max_size=60)


@settings(max_examples=150, deadline=None)
@given(ops)
def test_incremental_queue_equals_recomputed_queue(seq):
    q, live, nxt = FifoServer(), {}, 0
    for add, a, w in seq:
        if add or not live:
            ready, work = a * 1e-3, w * 1e-3
            before = sum(_ends(q).values())
            key = queue_key(ready, 0.0, nxt)
            dry = q.insert_cost(key, ready, work)
            _, end, pushed = q.insert(key, ready, work)
            assert dry[0] == end and math.isclose(dry[1], pushed, abs_tol=1e-12)
            live[nxt] = (ready, work)
            assert math.isclose(sum(_ends(q).values()) - before, end + pushed, abs_tol=1e-12)
            nxt += 1
        else:
            victim = sorted(live)[a % len(live)]
            before = sum(_ends(q).values()) - _ends(q)[victim]
            moved = q.remove(queue_key(live[victim][0], 0.0, victim))
            del live[victim]
            assert moved <= 1e-12
            assert math.isclose(sum(_ends(q).values()) - before, moved, abs_tol=1e-12)
        assert _ends(q) == _from_scratch(live)
        assert math.isclose(q.busy, sum(w for _, w in live.values()), abs_tol=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 20), st.integers(1, 9)), min_size=1, max_size=25))
def test_queue_equals_the_simulator_engine(jobs):
    """Same-instant arrivals are served first-generated-first, as the engine does."""
    q = FifoServer()
    eng = Engine(lambda r: 1, {})
    for i, (a, w) in enumerate(jobs):
        ready, work = a * 1e-3, w * 1e-3
        q.insert(queue_key(ready, ready, i), ready, work)
        eng.add_task(i, [Stage("c", "compute", "s", "s", work, ())], ready, ready, 0.0, i)
    eng.run()
    ends = _ends(q)
    assert all(abs(ends[i] - eng.finish[i]) < 1e-12 for i in range(len(jobs)))


def test_start_if_inserted_does_not_change_the_queue():
    q = FifoServer()
    q.insert(queue_key(0.0, 0.0, 0), 0.0, 0.005)
    assert q.start_if_inserted(queue_key(0.001, 0.001, 1), 0.001) == 0.005
    assert q.start_if_inserted(queue_key(0.009, 0.009, 1), 0.009) == 0.009
    assert len(q) == 1 and q.end == [0.005]


def test_unlimited_server_never_queues():
    q = FifoServer(unlimited=True)
    q.insert(queue_key(0.0, 0.0, 0), 0.0, 0.005)
    _, end, pushed = q.insert(queue_key(0.0, 0.0, 1), 0.0, 0.005)
    assert end == 0.005 and pushed == 0.0
