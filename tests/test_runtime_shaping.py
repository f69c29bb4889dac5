"""Shaping: token bucket rate, priority service order, FIFO links (correctness, generous bounds)."""

from __future__ import annotations

import threading
import time

import pytest

from splitinfer.runtime.shaping import LinkShaper, PriorityResource, TokenBucket


def test_token_bucket_rate_within_tolerance():
    # 300 kB at 12 Mbit/s is 0.2 s; a shaper that did nothing would take ~0 s.
    bucket = TokenBucket(12e6, burst=16384)
    t0 = time.monotonic()
    for _ in range(30):
        bucket.consume(10_000)
    elapsed = time.monotonic() - t0
    assert 0.19 <= elapsed <= 2.0, elapsed  # lower bound: the shaping; upper: not absurdly slow


def test_token_bucket_saves_at_most_burst():
    bucket = TokenBucket(8e6, burst=1000)
    time.sleep(0.05)  # would be 50 kB of credit without the cap
    assert bucket.try_consume(1000) and not bucket.try_consume(1000)


def test_paced_link_time_matches_scenario_formula():
    link = LinkShaper(rate=16e6, latency=0.02, slowdown=2.0)  # 200 kB -> 0.02 + 2*0.1 s
    with link.transfer() as start:
        n = sum(len(c) for c in link.pace([b"x" * 50_000] * 4))
    elapsed = time.monotonic() - start
    assert n == 200_000 and 0.215 <= elapsed <= 2.0, elapsed


def test_priority_resource_serves_priority_then_ready_time():
    res = PriorityResource(1)
    order = []
    res.acquire()

    def waiter(tag, prio, ready):
        res.acquire(prio, ready)
        order.append(tag)
        res.release()

    threads = [threading.Thread(target=waiter, args=a) for a in
               [("late-ready", 0.0, 5.0), ("low-prio", 1.0, 0.0), ("first", 0.0, 1.0)]]
    for k, th in enumerate(threads, 1):
        th.start()
        deadline = time.monotonic() + 10
        while res.waiting < k and time.monotonic() < deadline:  # each waits before the next
            time.sleep(0.001)
    assert res.waiting == 3
    res.release()
    for th in threads:
        th.join(2)
    assert order == ["first", "late-ready", "low-prio"]


@pytest.mark.parametrize("fifo", [True, False])
def test_fifo_link_serialises_transfers(fifo):
    link = LinkShaper(rate=8e6, latency=0.0, fifo=fifo)  # 100 kB = 0.1 s
    spans = []
    both = threading.Barrier(2)

    def send():
        both.wait(5)  # start the two transfers together
        with link.transfer() as start:
            for _ in link.pace([b"x" * 100_000]):
                pass
            spans.append((start, time.monotonic()))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(5)
    (s1, e1), (s2, e2) = sorted(spans)
    overlap = min(e1, e2) - max(s1, s2)
    assert (overlap <= 0.005) if fifo else (overlap > 0.02)


def test_unshaped_mode_does_not_wait():
    link = LinkShaper(rate=1.0, latency=5.0, mode="none")
    t0 = time.monotonic()
    with link.transfer():
        list(link.pace([b"x" * 1000]))
    link.delay(10_000)
    assert time.monotonic() - t0 < 0.5
