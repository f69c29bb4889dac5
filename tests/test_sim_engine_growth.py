"""The engine's resource arrays grow amortised (spare rows, rank labels between neighbours) and
time every stage as the reference engine does, whatever the order in which resources are named
(idle resources take work in name order, so the ranks decide who gets a contended pool)."""

from __future__ import annotations

import numpy as np
import pytest

from splitinfer.sim.engine import Engine
from splitinfer.system.stages import Stage
from splitinfer.testing.oracle_engine import Engine as OracleEngine


def _names(kind: str, n: int) -> list[str]:
    if kind == "numbered":
        return [f"dev{i}" for i in range(n)]
    if kind == "decreasing":
        return [f"dev{n - i:05d}" for i in range(n)]
    if kind == "same-gap":  # every name right after the previous one: a gap runs out
        return ["a" + "0" * i for i in range(n)]
    rng = np.random.default_rng(7)
    letters = list("abcdefgh")
    return sorted({"".join(rng.choice(letters, 6)) for _ in range(2 * n)},
                  key=lambda s: rng.random())[:n]


def _online(engine_cls, names: list[str]):
    """Tasks arriving online, each on a device of its own; every group of four arrives at one
    instant and their uplinks contend for a pool that holds one transfer at a time."""
    eng = engine_cls(lambda r: 1, {"air": 1.0})
    for i, dev in enumerate(names):
        def supply(now, dev=dev, i=i):
            return ([Stage("c", "compute", dev, dev, 0.01, ()),
                     Stage("u", "transfer", f"{dev}->edge", dev, 0.002 + 1e-4 * (i % 3), (0,),
                           pool="air", amount=1.0),
                     Stage("t", "compute", "edge", "edge", 0.001, (1,))], now, 0.0)
        eng.add_arrival(i, 0.05 * (i // 4), i, supply)
    eng.run()
    return eng


@pytest.mark.parametrize("kind", ["numbered", "decreasing", "same-gap", "random"])
def test_online_runs_with_new_resources_equal_the_reference(kind):
    names = _names(kind, 160)
    eng, ref = _online(Engine, names), _online(OracleEngine, names)
    assert eng.finish_order == ref.finish_order
    for col in ("ready", "start", "end"):
        got, want = getattr(eng, col), getattr(ref, col)
        assert got.keys() == want.keys()
        for tid in want:
            np.testing.assert_allclose(got[tid], want[tid], rtol=0, atol=1e-9)
    # the rank labels order the resources by name, with spare rows beyond them
    n = len(eng.resource_names)
    ranks = eng._st["r_rank"][:n]
    assert [eng.resource_names[r] for r in np.argsort(ranks)] == sorted(eng.resource_names)
    assert len(set(ranks.tolist())) == n
    assert eng.slots() == dict.fromkeys(eng.resource_names, 1.0)


def test_queue_room_moves_with_its_queued_stages():
    # one resource whose queue outgrows its room while stages wait in it (online arrivals
    # onto a busy server): the heap keeps its order when moved to new room
    def run(engine_cls):
        eng = engine_cls(lambda r: 1, {})
        for i in range(40):
            def supply(now, i=i):
                return [Stage("s", "compute", "server", "server", 0.5 + 0.01 * (i % 5), ())], \
                    now, float(-i)
            eng.add_arrival(i, 0.001 * i, i, supply)
        eng.run()
        return eng

    eng, ref = run(Engine), run(OracleEngine)
    assert eng.finish_order == ref.finish_order
    assert eng.finish == pytest.approx(ref.finish, abs=1e-9)
