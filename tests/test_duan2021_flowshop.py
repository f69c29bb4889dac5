"""Seed 003's flow-shop arithmetic: Johnson's rule, Proposition 4.1, Alg. 2, virtual blocks."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from splitinfer.planners.duan2021.brute_force import brute_force, count_vectors
from splitinfer.planners.duan2021.flowshop import (
    block_makespans,
    pareto_positions,
    two_type_makespans,
)
from splitinfer.planners.duan2021.jps import (
    flow_shop_makespan,
    johnson_order,
    line_partition,
    prop41_makespan,
)

times = st.floats(min_value=0.0, max_value=10.0, allow_nan=False, width=32)


def _best_over_permutations(f, g, h=None):
    return min(flow_shop_makespan(f, g, p, h) for p in itertools.permutations(range(len(f))))


def _line_profile(rng: np.random.Generator, k: int) -> tuple[np.ndarray, np.ndarray]:
    """f increasing, g non-increasing (with ties) over k cut positions."""
    f = np.cumsum(rng.uniform(0.0, 3.0, k))
    g = np.sort(rng.choice(rng.uniform(0.0, 12.0, k), size=k))[::-1]
    return f, g


# ------------------------------------------------------------------ Johnson (Alg. 1)
@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(times, times), min_size=1, max_size=6))
def test_johnson_order_is_optimal(jobs):
    f = [a for a, _ in jobs]
    g = [b for _, b in jobs]
    order = johnson_order(f, g)
    assert sorted(order) == list(range(len(jobs)))
    assert flow_shop_makespan(f, g, order) == pytest.approx(_best_over_permutations(f, g),
                                                            rel=1e-9, abs=1e-9)


def test_johnson_groups_and_sorts():
    f = [5.0, 1.0, 3.0, 2.0, 2.0]
    g = [1.0, 4.0, 6.0, 2.0, 7.0]
    # S1 (f < g): jobs 1, 4, 2 by ascending f; S2 (f >= g): jobs 3, 0 by descending g
    assert johnson_order(f, g) == [1, 4, 2, 3, 0]


def test_fig2_two_jobs():
    """Seed 003 Fig. 2: (4, 6) and (7, 2); same cut gives 16, different cuts 13."""
    assert flow_shop_makespan([4, 4], [6, 6], [0, 1]) == 16.0
    assert flow_shop_makespan([7, 7], [2, 2], [0, 1]) == 16.0
    assert flow_shop_makespan([4, 7], [6, 2], johnson_order([4, 7], [6, 2])) == 13.0
    # "if we change the offloading time 7 to 5 ... partitioning both DNNs at the first layer
    # becomes the optimal solution": 7 is l_2's computation time; with f(l_2) = 5 a homogeneous
    # cut becomes optimal, but at l_2 (12, tied with the mixed cut), not at l_1 (16): the
    # sentence's "first" does not check out (docs/reproductions/duan2021.md).
    f, g = np.array([4.0, 5.0]), np.array([6.0, 2.0])
    counts = count_vectors(2, 2)
    spans = block_makespans(f, g, counts)
    assert dict(zip(map(tuple, counts.tolist()), spans.tolist(), strict=True)) == {
        (0, 2): 12.0, (1, 1): 12.0, (2, 0): 16.0}


def test_flow_shop_recursion_by_hand():
    # C1: 2, 5, 6 ; C2: max(2,0)+4=6, max(5,6)+1=7, max(6,7)+3=10
    assert flow_shop_makespan([2, 3, 1], [4, 1, 3], [0, 1, 2]) == 10.0
    assert flow_shop_makespan([2, 3, 1], [4, 1, 3], [0, 1, 2], h=[5, 0, 0]) == 11.0
    assert flow_shop_makespan([], [], []) == 0.0


# ------------------------------------------------------------------ Proposition 4.1
@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 12), st.integers(1, 25))
def test_prop41_holds_for_any_cuts_of_a_monotone_line(seed, k, n):
    """Any cut choice of identical line jobs with f increasing, g non-increasing, in Johnson's
    order: the closed form equals the flow-shop makespan."""
    rng = np.random.default_rng(seed)
    f, g = _line_profile(rng, k)
    cuts = rng.integers(0, k, n)
    fj, gj = f[cuts], g[cuts]
    order = johnson_order(fj, gj)
    assert prop41_makespan(fj, gj, order) == pytest.approx(flow_shop_makespan(fj, gj, order),
                                                           rel=1e-12, abs=1e-12)


def test_prop41_counterexample_heterogeneous_jobs():
    f, g = [1.0, 5.0, 3.0], [2.0, 6.0, 1.0]
    order = johnson_order(f, g)
    assert flow_shop_makespan(f, g, order) == 13.0
    assert prop41_makespan(f, g, order) == 10.0


def test_prop41_counterexample_without_virtual_blocks():
    """One line DNN whose g grows between positions 0 and 1 (no virtual block applied)."""
    f = np.array([1.0, 5.0, 5.5])
    g = np.array([2.0, 6.0, 1.0])
    cuts = [0, 1, 2]
    order = johnson_order(f[cuts], g[cuts])
    assert flow_shop_makespan(f[cuts], g[cuts], order) == 13.0
    assert prop41_makespan(f[cuts], g[cuts], order) == 12.5
    # after virtual blocks position 1 is gone, and the closed form is exact again
    kept = pareto_positions(f, g)
    assert kept == [0, 2]


def test_prop41_counterexample_found_by_search():
    """Random heterogeneous jobs break the closed form often (it is a lower bound)."""
    rng = np.random.default_rng(7)
    wrong = 0
    for _ in range(300):
        f, g = rng.uniform(0, 10, 4), rng.uniform(0, 10, 4)
        order = johnson_order(f, g)
        exact = flow_shop_makespan(f, g, order)
        closed = prop41_makespan(f, g, order)
        assert closed <= exact + 1e-12
        wrong += closed < exact - 1e-9
    assert wrong > 10


# ------------------------------------------------------------------ Alg. 2
@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 40))
def test_line_partition_matches_linear_scan(seed, k):
    rng = np.random.default_rng(seed)
    f, g = _line_profile(rng, k)
    left, right, ratio = line_partition(f, g)
    crossing = [i for i in range(k) if f[i] >= g[i]]
    expected = crossing[0] if crossing else k
    assert right == expected and left == expected - 1
    if 0 < right < k:
        assert ratio == int(np.floor((f[right] - g[right]) / (g[right - 1] - f[right - 1])))
        assert f[left] < g[left]
    else:
        assert ratio == 0


def test_line_partition_by_hand():
    assert line_partition([1, 2, 4, 7, 9], [9, 6, 3, 2, 0]) == (1, 2, 0)
    assert line_partition([1, 2, 9, 10], [9, 6, 1, 0]) == (1, 2, 2)  # (9-1)/(6-2) = 2
    assert line_partition([1, 3, 5], [9, 5, 5]) == (1, 2, 0)        # f == g at l*
    with pytest.raises(ValueError):
        line_partition([], [])


# ------------------------------------------------------------------ virtual blocks
@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(times, times), min_size=1, max_size=12))
def test_pareto_positions_are_the_undominated_ones(points):
    f = np.array([a for a, _ in points])
    g = np.array([b for _, b in points])
    kept = pareto_positions(f, g)
    for i in range(len(points)):
        dominated = any((f[j] <= f[i] and g[j] <= g[i]) and (f[j] < f[i] or g[j] < g[i])
                        for j in range(len(points)))
        duplicate_of_kept = any(f[j] == f[i] and g[j] == g[i] for j in kept if j != i)
        assert (i in kept) == (not dominated and not duplicate_of_kept)
    fk, gk = f[sorted(kept, key=lambda i: f[i])], g[sorted(kept, key=lambda i: f[i])]
    assert np.all(np.diff(fk) > 0) and np.all(np.diff(gk) < 0)


# ------------------------------------------------------------------ blocks and brute force
@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 4), st.integers(1, 6))
def test_block_makespans_equal_the_recursion(seed, types, n):
    rng = np.random.default_rng(seed)
    f, g, h = rng.uniform(0, 5, types), rng.uniform(0, 5, types), rng.uniform(0, 2, types)
    h[rng.random(types) < 0.5] = 0.0
    counts = count_vectors(n, types)
    spans = block_makespans(f, g, counts, h)
    for row, span in zip(counts, spans, strict=True):
        seq = [t for t in range(types) for _ in range(row[t])]
        assert span == pytest.approx(flow_shop_makespan(f[seq], g[seq], range(n), h[seq]))


def test_two_type_makespans_put_the_comm_heavy_type_first():
    spans = two_type_makespans(7.0, 2.0, 4.0, 6.0, 2)  # A is computation-heavy here
    assert spans.tolist() == [16.0, 13.0, 16.0]


def test_count_vectors_enumerate_every_multiset():
    counts = count_vectors(4, 3)
    assert len(counts) == 15 and np.all(counts.sum(axis=1) == 4)
    assert len({tuple(r) for r in counts.tolist()}) == 15


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 4), st.integers(1, 5))
def test_brute_force_johnson_equals_all_orders_without_tails(seed, types, n):
    rng = np.random.default_rng(seed)
    f, g = rng.uniform(0, 5, types), rng.uniform(0, 5, types)
    h = np.zeros(types)
    keep = pareto_positions(f, g)
    johnson = brute_force(f[keep], g[keep], h[keep], n)
    every = brute_force(f, g, h, n, orders="all")
    assert johnson[1] == pytest.approx(every[1])
    seq = [keep[t] for t in johnson[0]]
    assert flow_shop_makespan(f[seq], g[seq], range(n)) == pytest.approx(johnson[1])


def test_brute_force_refuses_huge_enumerations():
    assert brute_force([1.0] * 10, [1.0] * 10, [0.0] * 10, 30, max_evaluations=1000) is None
    assert brute_force([1.0] * 5, [1.0] * 5, [0.0] * 5, 9, orders="all",
                       max_evaluations=1000) is None
