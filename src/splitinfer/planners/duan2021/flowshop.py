"""Two-stage flow-shop arithmetic of JPS (Duan & Wu, ICPP 2021): plain NumPy functions.

A partitioned job ``j`` is a two-stage flow-shop job: ``f_j`` seconds of computation on the mobile
device, then ``g_j`` seconds on the shared uplink (Duan & Wu 2021 section 3.1). Everything here works on
plain sequences (0-based indices into the arrays given) and knows nothing about scenarios:

* :func:`johnson_order` — Alg. 1 (Johnson's rule, optimal for F2||Cmax);
* :func:`flow_shop_makespan` — the makespan of a given order (the exact recursion), optionally
  with a *tail* ``h_j`` after the second stage that occupies no shared resource (cloud compute and
  result return, both negligible in the paper's model);
* :func:`prop41_makespan` — Proposition 4.1's closed form
  ``f(x_1) + max{sum_{i>=2} f(x_i), sum_{i<=n-1} g(x_i)} + g(x_n)``;
* :func:`line_partition` — Alg. 2 (binary search for the leftmost ``l*`` with ``f[l*] >= g[l*]``)
  and the ratio of section 5.1;
* :func:`pareto_positions` — the virtual blocks of section 3.2 (cut positions that survive);
* :func:`block_makespans` — the exact makespan of many jobs that come in a few *types*, run in
  blocks (all jobs of one type one after another), vectorised over many count vectors at once.

When does Proposition 4.1 hold?
-------------------------------
Write ``H(k) = sum_{i<=k} f_i + sum_{i>=k} g_i`` for the order ``1..n``; the flow-shop makespan is
``max_k H(k)`` and Proposition 4.1 keeps only ``k = 1`` and ``k = n``. ``H(k+1) - H(k) = f_{k+1} - g_k``.
If every job is a cut of the *same* line-structure DNN with ``f`` non-decreasing and ``g``
non-increasing over the cut positions, Johnson's order puts the communication-heavy jobs (positions
before ``l*``) first by ascending position, then the computation-heavy ones by ascending position,
so ``f_{k+1} - g_k < 0`` inside the first group (``f_{k+1} < g_{k+1} <= g_k``) and ``>= 0`` inside the
second (``f_{k+1} >= f_k >= g_k``): ``H`` falls, then rises, and its maximum is at an end. The closed
form is then exact for *any* cut choice (tested over random profiles in ``tests/test_duan2021_flowshop.py``).
Outside these conditions it can be wrong; e.g. heterogeneous jobs ``(1, 2), (5, 6), (3, 1)`` in
Johnson's order have makespan 13 while the closed form gives 10. The planners never use the closed
form; they use the exact recursion or :func:`block_makespans`.

Examples
--------
The two jobs of Duan & Wu 2021 Fig. 2: cutting them differently, Johnson's order gives 13.

>>> f, g = [4.0, 7.0], [6.0, 2.0]
>>> order = johnson_order(f, g)
>>> order, flow_shop_makespan(f, g, order), prop41_makespan(f, g, order)
([0, 1], 13.0, 13.0)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["johnson_order", "flow_shop_makespan", "prop41_makespan", "line_partition",
           "pareto_positions", "block_makespans", "two_type_makespans"]


def johnson_order(f: Sequence[float], g: Sequence[float]) -> list[int]:
    """Johnson's rule: job indices in an optimal order for the two-stage flow shop (Duan & Wu 2021 Alg. 1).

    Communication-heavy jobs (``f < g``, set S1) come first by ascending ``f``, then
    computation-heavy jobs (``f >= g``, S2) by descending ``g``. Ties keep the index order, so the
    order is deterministic.

    Parameters
    ----------
    f, g : sequence of float
        Stage-1 (device compute) and stage-2 (uplink) times of every job.

    Returns
    -------
    list of int
        A permutation of ``range(len(f))``.

    Examples
    --------
    >>> johnson_order([3, 1, 5, 2], [1, 4, 6, 2])
    [1, 2, 3, 0]
    """
    f = np.asarray(f, dtype=float)
    g = np.asarray(g, dtype=float)
    if f.shape != g.shape or f.ndim != 1:
        raise ValueError(f"f and g must be 1-d of the same length, got {f.shape} and {g.shape}")
    idx = np.arange(f.size)
    s1 = idx[f < g]
    s2 = idx[f >= g]
    s1 = s1[np.argsort(f[s1], kind="stable")]
    s2 = s2[np.argsort(-g[s2], kind="stable")]
    return [int(i) for i in np.concatenate([s1, s2])]


def flow_shop_makespan(f: Sequence[float], g: Sequence[float], order: Sequence[int],
                       h: Sequence[float] | None = None) -> float:
    """Makespan of the two-stage flow shop when the jobs run in ``order`` on both stages.

    ``C1_j = C1_prev + f_j``, ``C2_j = max(C1_j, C2_prev) + g_j``; the job finishes at
    ``C2_j + h_j`` (``h`` is a tail that uses no shared resource: cloud compute with unlimited
    parallelism and the result return; 0 in Duan & Wu's model). Jobs not in ``order`` are ignored.

    Parameters
    ----------
    f, g : sequence of float
        Stage times of every job.
    order : sequence of int
        Job indices in processing order.
    h : sequence of float, optional
        Per-job tails (default 0).

    Returns
    -------
    float
        The completion time of the last job (0 for an empty order).

    Examples
    --------
    >>> flow_shop_makespan([4, 7], [6, 2], [1, 0])
    17.0
    >>> flow_shop_makespan([4, 7], [6, 2], [0, 1], h=[5, 0])
    15.0
    """
    c1 = c2 = 0.0
    end = 0.0
    for j in order:
        c1 += float(f[j])
        c2 = max(c1, c2) + float(g[j])
        end = max(end, c2 + (float(h[j]) if h is not None else 0.0))
    return end


def prop41_makespan(f: Sequence[float], g: Sequence[float], order: Sequence[int]) -> float:
    """Proposition 4.1's closed form for jobs in ``order``:
    ``f(x_1) + max{sum_{i=2..n} f(x_i), sum_{i=1..n-1} g(x_i)} + g(x_n)``.

    Exact only under the conditions of the module docstring (cuts of one line-structure DNN,
    ``f`` non-decreasing and ``g`` non-increasing, Johnson's order); a lower bound of the true
    makespan otherwise.

    Examples
    --------
    >>> f, g = [1.0, 5.0, 3.0], [2.0, 6.0, 1.0]   # heterogeneous jobs: the closed form is wrong
    >>> o = johnson_order(f, g)
    >>> prop41_makespan(f, g, o), flow_shop_makespan(f, g, o)
    (10.0, 13.0)
    """
    if len(order) == 0:
        return 0.0
    fo = np.asarray(f, dtype=float)[list(order)]
    go = np.asarray(g, dtype=float)[list(order)]
    return float(fo[0] + max(fo[1:].sum(), go[:-1].sum()) + go[-1])


def line_partition(f: Sequence[float], g: Sequence[float]) -> tuple[int, int, int]:
    """Alg. 2 of Duan & Wu 2021: binary search for the leftmost ``l*`` with ``f[l*] >= g[l*]``.

    Parameters
    ----------
    f : sequence of float
        Device time of every cut position, increasing (after virtual blocks).
    g : sequence of float
        Uplink time of every cut position, non-increasing.

    Returns
    -------
    (int, int, int)
        ``(l* - 1, l*, ratio)`` with 0-based positions and the ratio of section 5.1,
        ``floor((f[l*] - g[l*]) / (g[l*-1] - f[l*-1]))``: the number of jobs to cut at ``l* - 1``
        per job cut at ``l*``. ``l* = 0`` (every position is computation-heavy) gives
        ``(-1, 0, 0)``; no position with ``f >= g`` gives ``(k - 1, k, 0)`` with ``k = len(f)``
        (the crossing lies past the last position). ``f[l*] == g[l*]`` gives ratio 0 (cut every
        job at ``l*``, as the paper says).

    Notes
    -----
    The loop keeps the invariant ``f[l-1] < g[l-1]`` and ``f[r] >= g[r]`` (section 5.2), so it
    takes O(log k) comparisons. The floor of the ratio is the paper's; it is 0 whenever the
    computation-heavy type's surplus is smaller than the communication-heavy type's deficit,
    which is why the ``jps`` planner by default picks the counts of the two types exactly
    (``mix="best"``) and offers the literal ratio as ``mix="paper"``.

    Examples
    --------
    >>> line_partition([1, 2, 4, 7, 9], [9, 6, 3, 2, 0])
    (1, 2, 0)
    >>> line_partition([1, 2, 6, 7, 9], [9, 5, 3, 2, 0])
    (1, 2, 1)
    >>> line_partition([0, 1], [0, 0]), line_partition([1, 2], [5, 4])
    ((-1, 0, 0), (1, 2, 0))
    """
    f = np.asarray(f, dtype=float)
    g = np.asarray(g, dtype=float)
    k = f.size
    if k == 0 or g.size != k:
        raise ValueError(f"f and g must be non-empty and of the same length, got {k} and {g.size}")
    lo, hi = 0, k - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if f[mid] < g[mid]:
            lo = mid + 1
        else:
            hi = mid
    if f[lo] < g[lo]:  # no crossing: every position is communication-heavy
        return k - 1, k, 0
    if lo == 0:
        return -1, 0, 0
    deficit = g[lo - 1] - f[lo - 1]
    ratio = int(np.floor((f[lo] - g[lo]) / deficit)) if deficit > 0 else 0
    return lo - 1, lo, ratio


def pareto_positions(f: Sequence[float], g: Sequence[float]) -> list[int]:
    """The cut positions that survive virtual blocks (Duan & Wu 2021 section 3.2), in position order.

    A position is dropped when another one has no more device time and no more uplink time and is
    better in one of them (the paper's virtual block: cutting after a layer that enlarges the
    offload volume costs more of both). The survivors have ``f`` strictly increasing and ``g``
    strictly decreasing, as Alg. 2 needs. Dropping dominated cuts never loses the optimum: the
    flow-shop makespan of any order does not decrease when a stage time grows. Ties in both keep
    the earliest position.

    Examples
    --------
    >>> pareto_positions([0, 1, 2, 3, 4, 5], [6, 8, 4, 4, 1, 0])
    [0, 2, 4, 5]
    """
    f = np.asarray(f, dtype=float)
    g = np.asarray(g, dtype=float)
    order = np.lexsort((np.arange(f.size), g, f))  # by f, then g, then position
    kept: list[int] = []
    best_g = np.inf
    for i in order:
        if g[i] < best_g:
            kept.append(int(i))
            best_g = g[i]
    return sorted(kept)


def block_makespans(f: Sequence[float], g: Sequence[float], counts: np.ndarray,
                    h: Sequence[float] | None = None) -> np.ndarray:
    """Exact makespans of jobs run in blocks: ``counts[r, t]`` jobs of type ``t``, types in the
    given order (type 0's block first), one row per count vector.

    Inside a block of identical jobs ``H(k)`` is linear in ``k``, so the flow-shop makespan is the
    largest ``H`` at the first and last job of a block. The tail of type ``t`` adds to the
    completion of its block's last job, which is the makespan of the prefix ending there.

    Parameters
    ----------
    f, g : sequence of float
        Stage times of each type (length ``T``), in block order.
    counts : ndarray of int, shape (R, T)
        Jobs of each type, per row.
    h : sequence of float, optional
        Tail of each type.

    Returns
    -------
    ndarray, shape (R,)
        Makespan of each row (0 for a row with no job).

    Examples
    --------
    >>> block_makespans([4, 7], [6, 2], np.array([[2, 0], [1, 1], [0, 2]])).tolist()
    [16.0, 13.0, 16.0]
    """
    f = np.asarray(f, dtype=float)
    g = np.asarray(g, dtype=float)
    n = np.atleast_2d(np.asarray(counts, dtype=float))
    rows, types = n.shape
    tails = np.zeros(types) if h is None else np.asarray(h, dtype=float)
    sf_before = np.cumsum(n * f, axis=1) - n * f  # sum of f over earlier blocks
    out = np.zeros(rows)
    prefix_best = np.full(rows, -np.inf)  # max H over earlier blocks, measured on the prefix
    for t in range(types):
        has = n[:, t] > 0
        # H at the first and last job of block t, counting g only up to the end of block t
        start = sf_before[:, t] + f[t] + n[:, t] * g[t]
        end = sf_before[:, t] + n[:, t] * f[t] + g[t]
        here = np.where(has, np.maximum(start, end), -np.inf)
        # earlier blocks' H grows by this block's g on the prefix that includes it
        prefix_best = np.maximum(prefix_best + n[:, t] * g[t], here)
        out = np.where(has, np.maximum(out, prefix_best + tails[t]), out)
    return out


def two_type_makespans(fa: float, ga: float, fb: float, gb: float, n: int,
                       ha: float = 0.0, hb: float = 0.0) -> np.ndarray:
    """Makespans of ``n`` jobs, ``m`` of type A and ``n - m`` of type B, for every ``m = 0..n``,
    in Johnson's order of the two types.

    Examples
    --------
    >>> two_type_makespans(4, 6, 7, 2, 2).tolist()
    [16.0, 13.0, 16.0]
    """
    m = np.arange(n + 1)
    counts = np.stack([m, n - m], axis=1)
    if johnson_order([fa, fb], [ga, gb]) == [0, 1]:
        return block_makespans([fa, fb], [ga, gb], counts, [ha, hb])
    return block_makespans([fb, fa], [gb, ga], counts[:, ::-1], [hb, ha])
