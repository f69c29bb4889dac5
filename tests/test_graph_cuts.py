"""The torch-free cut algorithms of splitinfer.graph.cuts, checked against brute force."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from splitinfer.graph.cuts import (
    closure_violation,
    crossing_at_positions,
    crossing_of_head,
    delay_input_free,
    single_tensor_positions,
)


def random_dag(seed: int, n: int) -> tuple[list[tuple[int, ...]], dict[int, list[int]], list[int]]:
    """A random DAG in topological order: preds per node (-1 = input), consumers, outputs."""
    rng = random.Random(seed)
    preds: list[tuple[int, ...]] = []
    for v in range(n):
        choices = list(range(-1, v))
        k = rng.randint(1, min(3, len(choices)))
        preds.append(tuple(sorted(rng.sample(choices, k))))
    consumers: dict[int, list[int]] = {v: [] for v in range(-1, n)}
    for v, ps in enumerate(preds):
        for u in ps:
            consumers[u].append(v)
    outputs = [n - 1] if rng.random() < 0.8 else [n - 1, rng.randrange(n)]
    return preds, consumers, sorted(set(outputs))


def brute_crossing(head: set[int], consumers, outputs) -> list[int]:
    out = []
    for v, users in consumers.items():
        produced_in_head = v < 0 or v in head
        if produced_in_head and (v in outputs or any(u not in head for u in users)):
            out.append(v)
    return sorted(out, key=lambda v: (v >= 0, -v if v < 0 else v))


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 10**6), n=st.integers(1, 14))
def test_crossing_at_positions_matches_brute_force(seed, n):
    _, consumers, outputs = random_dag(seed, n)
    fast = crossing_at_positions(n, consumers, outputs)
    assert len(fast) == n + 1
    for p in range(n + 1):
        assert list(fast[p]) == brute_crossing(set(range(p)), consumers, outputs), p


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 10**6), n=st.integers(1, 14))
def test_crossing_of_head_matches_brute_force_on_closed_sets(seed, n):
    preds, consumers, outputs = random_dag(seed, n)
    rng = random.Random(seed + 1)
    seeds = rng.sample(range(n), rng.randint(0, n))
    head: set[int] = set()
    stack = list(seeds)
    while stack:  # close under predecessors
        v = stack.pop()
        if v >= 0 and v not in head:
            head.add(v)
            stack.extend(preds[v])
    assert closure_violation(head, preds) is None
    got = crossing_of_head(head, consumers, outputs)
    assert got == brute_crossing(head, consumers, outputs)  # inputs first, then nodes


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 10**6), n=st.integers(1, 14))
def test_single_tensor_positions_are_single_distinct_and_bounded(seed, n):
    _, consumers, outputs = random_dag(seed, n)
    cross = crossing_at_positions(n, consumers, outputs)
    positions = single_tensor_positions(cross, is_tensor=lambda v: True)
    assert positions[0] == 0 and positions[-1] == n
    assert positions == sorted(set(positions))
    inner = positions[1:-1]
    for p in inner:
        assert len(cross[p]) == 1
    values = [cross[p] for p in positions]
    assert len(set(values)) == len(values) or n == 0
    # every single-value position not chosen repeats a chosen value
    chosen = set(values)
    for p in range(1, n):
        if len(cross[p]) == 1:
            assert cross[p] in chosen


def test_non_tensor_values_never_make_a_cut():
    # input -> 0 (a shape, not a tensor) -> 1 -> 2
    consumers = {-1: [1], 0: [1], 1: [2], 2: []}
    cross = crossing_at_positions(3, consumers, [2])
    assert cross[1] == (-1, 0)
    assert single_tensor_positions(cross, is_tensor=lambda v: v != 1) == [0, 3]


def test_residual_block_has_no_cut_inside():
    # x -> conv(0) -> relu(1) -> add(2, with x) -> relu(3)
    consumers = {-1: [0, 2], 0: [1], 1: [2], 2: [3], 3: []}
    cross = crossing_at_positions(4, consumers, [3])
    assert single_tensor_positions(cross, lambda v: True) == [0, 3, 4]


def test_closure_violation_names_the_missing_predecessor():
    preds = [(-1,), (0,), (0, 1)]
    assert closure_violation({0, 2}, preds) == (2, 1)
    assert closure_violation({0, 1, 2}, preds) is None
    assert closure_violation(set(), preds) is None


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 10**6), n=st.integers(1, 12))
def test_delay_input_free_is_a_topological_permutation(seed, n):
    rng = random.Random(seed)
    preds: list[tuple[int, ...]] = []
    for v in range(n):
        choices = list(range(-1, v)) if rng.random() < 0.7 else list(range(v))
        k = rng.randint(0, min(2, len(choices)))
        preds.append(tuple(rng.sample(choices, k)))
    depends: list[bool] = []
    for ps in preds:
        depends.append(any(u < 0 or depends[u] for u in ps))
    order = delay_input_free(preds, depends)
    assert sorted(order) == list(range(n))
    pos = {v: i for i, v in enumerate(order)}
    for v, ps in enumerate(preds):
        for u in ps:
            if u >= 0:
                assert pos[u] < pos[v]
    dependent = [v for v in order if depends[v]]
    assert dependent == sorted(dependent)  # input-dependent nodes keep their order


def test_delay_input_free_rescues_the_cuts_a_constant_would_kill():
    # 0: constant, 1..3: chain on the input, 4 = add(3, 0)
    preds = [(), (-1,), (1,), (2,), (3, 0)]
    depends = [False, True, True, True, True]
    order = delay_input_free(preds, depends)
    assert order == [1, 2, 3, 0, 4]

    def cuts(order):
        pos = {v: i for i, v in enumerate(order)}
        consumers = {-1: [pos[1]], **{pos[v]: [] for v in range(5)}}
        for v, ps in enumerate(preds):
            for u in ps:
                consumers[u if u < 0 else pos[u]].append(pos[v])
        return single_tensor_positions(crossing_at_positions(5, consumers, [pos[4]]), lambda v: True)

    assert len(cuts(order)) > len(cuts(list(range(5))))
