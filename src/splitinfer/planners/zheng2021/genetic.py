"""DMCJIA's outer layer (Zheng 2021 section 3.3.2 and Alg. 1, outer part): a binary genetic
algorithm over the cut positions, with pymoo.

Steps of the paper and their pymoo counterparts:

1. *Coding*: each node's cut ``gamma_d`` (``0 .. n_d - 1``) is written with
   ``b_d = ceil(log2 n_d)`` bits, most significant first; a chromosome is the concatenation over
   the nodes. A ``b``-bit value ``v`` decodes to ``floor(v n_d / 2^b)``, so every cut has one or
   two codes (the paper does not say how codes beyond ``n_d - 1`` are read; clipping would give
   the last cut up to half of them).
2. *Initialisation*: ``K`` random chromosomes (``BinaryRandomSampling``).
3. *Selection, crossover, mutation*: binary tournaments on fitness (pymoo's
   ``TournamentSelection``), single-point crossover applied to a mating with probability ``P2``
   (0.1), bit-flip mutation of every bit with probability ``P1`` (0.01); "keep the high fitness
   individuals and discard the low fitness individuals" is pymoo's elitist ``FitnessSurvival``
   (parents and offspring together, the best ``K`` survive). Duplicates are kept, as in a
   textbook GA (the fitness of a chromosome seen before comes from a cache).
4. *Fitness* ``Fit(k) = -T(Gamma, Delta)`` (eq. 3-10), i.e. pymoo minimises ``T``; cuts with no
   stable allocation get a large penalty instead of ``inf``.

The run stops after ``N`` generations after the initial population (``N + 1`` pymoo iterations);
:class:`GAResult.history` records, per generation (0 = initial population), the best and the mean
``T`` of the population, and the number of distinct cut vectors evaluated so far.

Examples
--------
>>> import numpy as np
>>> target = np.array([3, 0, 5])
>>> res = run_ga(lambda g: float(np.abs(np.asarray(g) - target).sum()), (6, 6, 6),
...              pop_size=20, generations=30, mutation=0.05, crossover=0.9, seed=1)
>>> res.gamma, res.value
((3, 0, 5), 0.0)
>>> len(res.history), res.history[0]["generation"]
(31, 0)
>>> decode(np.array([1, 1, 1]), (5,))           # 3 bits, value 7 of 8 codes -> cut 4 of 5
(4,)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["GAResult", "bits_per_node", "decode", "encode", "run_ga"]

#: Fitness given to cut vectors with no stable allocation (seconds; far above any real delay).
PENALTY = 1e12


def bits_per_node(num_cuts: Sequence[int]) -> tuple[int, ...]:
    """``ceil(log2 n_d)`` bits per node (at least 1).

    Examples
    --------
    >>> bits_per_node((21, 2, 1, 40))
    (5, 1, 1, 6)
    """
    return tuple(max(1, math.ceil(math.log2(n))) if n > 1 else 1 for n in num_cuts)


def decode(bits: np.ndarray, num_cuts: Sequence[int]) -> tuple[int, ...]:
    """The cut vector of one chromosome (see the module docstring)."""
    out, pos = [], 0
    for n, b in zip(num_cuts, bits_per_node(num_cuts), strict=True):
        v = 0
        for bit in bits[pos:pos + b]:
            v = 2 * v + int(bool(bit))
        out.append(min(n - 1, (v * n) >> b))
        pos += b
    return tuple(out)


@dataclass
class GAResult:
    """Best cut vector found, its ``T``, and the per-generation history."""

    gamma: tuple[int, ...]
    value: float
    history: list[dict[str, float]] = field(default_factory=list)
    evaluations: int = 0


def encode(gamma: Sequence[int], num_cuts: Sequence[int]) -> np.ndarray:
    """A chromosome that :func:`decode` reads as ``gamma`` (the smallest code of each cut).

    Examples
    --------
    >>> g = (4, 0, 2)
    >>> decode(encode(g, (5, 2, 3)), (5, 2, 3)) == g
    True
    """
    bits: list[int] = []
    for c, n, b in zip(gamma, num_cuts, bits_per_node(num_cuts), strict=True):
        v = -(-int(c) * (1 << b) // int(n))  # ceil(c 2^b / n): floor(v n / 2^b) == c
        bits += [(v >> (b - 1 - i)) & 1 for i in range(b)]
    return np.array(bits, dtype=bool)


def run_ga(evaluate: Callable[[tuple[int, ...]], float], num_cuts: Sequence[int], *,
           pop_size: int = 50, generations: int = 32, mutation: float = 0.01,
           crossover: float = 0.1, seed: int = 0,
           initial: Sequence[Sequence[int]] = (), patience: int | None = None) -> GAResult:
    """Minimise ``evaluate(gamma)`` over cut vectors with pymoo's binary GA.

    Parameters
    ----------
    evaluate : callable
        ``gamma -> T`` (``inf`` for infeasible cut vectors). Called once per distinct vector.
    num_cuts : sequence of int
        ``n_d`` per node.
    pop_size, generations : int
        ``K`` and ``N`` of Zheng 2021 Table 5 (50 and 32).
    mutation, crossover : float
        Per-bit flip probability ``P1`` (0.01) and per-mating crossover probability ``P2`` (0.1).
    seed : int
        Seeds pymoo's generator: the same seed gives the same run.
    initial : sequence of cut vectors
        Put into the initial population (the rest is random): a baseline's cuts, so that the
        result is never worse than that baseline (elitism keeps the best).
    patience : int, optional
        Stop early when the best ``T`` has not improved for this many generations
        (convergence); ``generations`` stays the upper limit.

    Returns
    -------
    GAResult
    """
    from pymoo.algorithms.soo.nonconvex.ga import GA
    from pymoo.core.callback import Callback
    from pymoo.core.problem import Problem
    from pymoo.operators.crossover.pntx import SinglePointCrossover
    from pymoo.operators.mutation.bitflip import BitflipMutation
    from pymoo.operators.sampling.rnd import BinaryRandomSampling
    from pymoo.optimize import minimize

    num_cuts = tuple(int(n) for n in num_cuts)
    n_bits = sum(bits_per_node(num_cuts))
    cache: dict[tuple[int, ...], float] = {}

    def fitness(gamma: tuple[int, ...]) -> float:
        if gamma not in cache:
            value = float(evaluate(gamma))
            cache[gamma] = value if math.isfinite(value) else math.inf
        v = cache[gamma]
        return v if math.isfinite(v) else PENALTY

    class _Cuts(Problem):
        def __init__(self) -> None:
            super().__init__(n_var=n_bits, n_obj=1, xl=0, xu=1, vtype=bool)

        def _evaluate(self, X, out, *args, **kwargs):
            out["F"] = np.array([[fitness(decode(x, num_cuts))] for x in X])

    history: list[dict[str, float]] = []

    class _Record(Callback):
        def notify(self, algorithm):
            f = algorithm.pop.get("F")[:, 0]
            ok = f < PENALTY
            history.append({"generation": len(history),
                            "best": float(f.min()) if ok.any() else math.inf,
                            "mean": float(f[ok].mean()) if ok.any() else math.inf,
                            "feasible_fraction": float(ok.mean()),
                            "evaluations": len(cache)})

    sampling: object = BinaryRandomSampling()
    if initial:
        rng = np.random.default_rng(seed)
        x = rng.random((pop_size, n_bits)) < 0.5
        rows = [encode(g, num_cuts) for g in initial][:pop_size]
        x[:len(rows)] = rows
        sampling = x
    algorithm = GA(pop_size=pop_size, sampling=sampling,
                   crossover=SinglePointCrossover(prob=crossover),
                   mutation=BitflipMutation(prob=1.0, prob_var=mutation),
                   eliminate_duplicates=False)
    if patience is None:
        res = minimize(_Cuts(), algorithm, ("n_gen", generations + 1), seed=seed,
                       callback=_Record(), verbose=False)
        best_x = np.atleast_2d(res.X)[0] if res.X is not None else np.asarray(res.pop.get("X")[0])
    else:
        algorithm.setup(_Cuts(), termination=("n_gen", generations + 1), seed=seed,
                        callback=_Record(), verbose=False)
        while algorithm.has_next():
            algorithm.next()
            bests = [h["best"] for h in history]
            if len(bests) > patience and min(bests[-patience:]) >= min(bests[:-patience]):
                break
        best_x = np.asarray(algorithm.opt.get("X")[0])
    gamma = decode(best_x, num_cuts)
    # the best seen over the whole run (elitism keeps it, but read it from the cache to be sure)
    best_gamma = min(cache, key=lambda g: (cache[g], g))
    if cache[best_gamma] < cache.get(gamma, math.inf):
        gamma = best_gamma
    return GAResult(gamma, cache[gamma], history, len(cache))
