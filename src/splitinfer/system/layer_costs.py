"""Per-layer costs of a model: the layer DAG that general (non-prefix) cuts need (torch-free).

:class:`~splitinfer.system.model_costs.ModelCosts` describes a model by its ordered single-tensor
cut points, which is all a chain plan needs. A planner that cuts a general DAG (DADS, Hu et al.,
INFOCOM 2019) needs the layers themselves: the data edges, the bytes of every layer's output,
and every layer's time on every node. :class:`LayerCosts` carries them; the scenario loader fills
it from the profile when the cut table comes from a profile (a hand-written cut table has no
layers).

Calibration to the cut table
----------------------------
Per-layer quantities are *calibrated* so that the layers of every piece between two consecutive
cuts add up exactly to that piece in the cut table: per-layer FLOPs to ``head_flops`` and
per-layer latencies on hardware ``hw`` to the repaired head curve ``head_latency[hw]``. A profile's
per-layer latencies are measured one node at a time and include per-call overhead (their sum
exceeds the whole model, see ``docs/profile-format.md``); the cut table's difference of measured
prefix times does not. Scaling each layer of a piece by ``piece time / sum of its layer times``
keeps the measured *proportions* inside a piece and makes the two views agree: a head set that
is the head of a cut costs exactly what the chain model says, so a planner gains nothing by
describing the same plan as layers instead of as a cut. A piece whose layers all measured 0 but
whose cut-table time is positive shares it equally.

Examples
--------
Two branches ``a`` and ``b`` read the input and meet in ``c``: only positions 0, 1 and 3 are
single-tensor cuts (position 2 has ``a`` and ``b`` both crossing).

>>> import numpy as np
>>> lc = LayerCosts(names=("a", "b", "c"), flops=np.array([2.0, 2.0, 1.0]),
...                 out_bytes=np.array([10.0, 20.0, 5.0]), edges=((-1, 0), (-1, 1), (0, 2), (1, 2)),
...                 cut_positions=(0, 1, 3), input_bytes=30.0)
>>> lc.crossing({0}), lc.crossing_bytes({0})
([-1, 0], 40.0)
>>> lc.crossing_bytes({0, 1}), lc.cut_of_head({0}), lc.cut_of_head(set()), lc.outputs
(30.0, 1, 0, (2,))
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

__all__ = ["LayerCosts", "calibrate"]


def calibrate(raw: Sequence[float], positions: Sequence[int], cumulative: Sequence[float]
              ) -> np.ndarray:
    """Scale per-layer values so each piece between consecutive cuts sums to the cut table.

    Parameters
    ----------
    raw : sequence of float
        Per-layer values (FLOPs or measured seconds), in topological order.
    positions : sequence of int
        Head size (number of layers) of every cut, strictly increasing, from 0.
    cumulative : sequence of float
        The cut table's cumulative value at every cut (``head_flops`` or a head latency curve).

    Returns
    -------
    ndarray
        Per-layer values; layers after the last cut position (there are none in profiles made
        by :mod:`splitinfer.graph`) get 0.

    Examples
    --------
    >>> calibrate([1.0, 3.0, 0.0, 0.0], positions=[0, 2, 4], cumulative=[0.0, 2.0, 3.0]).tolist()
    [0.5, 1.5, 0.5, 0.5]
    """
    raw = np.asarray(raw, dtype=float)
    out = np.zeros_like(raw)
    for k in range(len(positions) - 1):
        lo, hi = positions[k], positions[k + 1]
        target = max(float(cumulative[k + 1] - cumulative[k]), 0.0)
        if hi <= lo:
            continue
        piece = raw[lo:hi]
        total = float(piece.sum())
        out[lo:hi] = piece * (target / total) if total > 0 else target / (hi - lo)
    return out


@dataclass(frozen=True)
class LayerCosts:
    """The layers of one model, their data edges and calibrated per-layer costs.

    Parameters
    ----------
    names : tuple of str
        Layer names in topological order.
    flops : ndarray
        FLOPs of every layer (calibrated to the cut table's ``head_flops``).
    out_bytes : ndarray
        Bytes of every layer's output for one sample.
    edges : tuple of (int, int)
        ``(i, j)``: layer ``j`` reads the output of layer ``i``; ``i = -1`` is the model input
        (the profile's ``edges``). When no edge names the input, the layers that read nothing
        are taken to read it.
    cut_positions : tuple of int
        The head of cut ``c`` is ``layers[:cut_positions[c]]``.
    input_bytes : float
        Bytes of the model input for one sample.
    latency : dict, optional
        Hardware name -> per-layer seconds (calibrated to that hardware's head curve).
    """

    names: tuple[str, ...]
    flops: np.ndarray
    out_bytes: np.ndarray
    edges: tuple[tuple[int, int], ...]
    cut_positions: tuple[int, ...]
    input_bytes: float
    latency: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "flops", np.asarray(self.flops, dtype=float))
        object.__setattr__(self, "out_bytes", np.asarray(self.out_bytes, dtype=float))
        object.__setattr__(self, "edges", tuple((int(i), int(j)) for i, j in self.edges))
        object.__setattr__(self, "cut_positions", tuple(int(p) for p in self.cut_positions))
        n = len(self.names)
        if self.flops.shape != (n,) or self.out_bytes.shape != (n,):
            raise ValueError(f"flops and out_bytes need {n} entries, one per layer")
        for i, j in self.edges:
            if not (-1 <= i < n and 0 <= j < n and i < j):
                raise ValueError(f"edge ({i}, {j}) is not a forward edge between layers 0..{n - 1}")

    def __hash__(self) -> int:  # arrays are not hashable; identity is enough for caches
        return id(self)

    @property
    def n(self) -> int:
        """Number of layers."""
        return len(self.names)

    @cached_property
    def consumers(self) -> dict[int, tuple[int, ...]]:
        """Value id (``-1`` = input, ``0..n-1`` = layers) -> layers that read it."""
        users: dict[int, list[int]] = {v: [] for v in range(-1, self.n)}
        for i, j in self.edges:
            users[i].append(j)
        if not users[-1]:  # edges without the input: the layers that read nothing read it
            users[-1] = [j for j in range(self.n) if not any(jj == j for _, jj in self.edges)]
        return {v: tuple(sorted(set(u))) for v, u in users.items()}

    @cached_property
    def preds(self) -> tuple[tuple[int, ...], ...]:
        """For every layer, the values it reads (``-1`` for the input)."""
        p: list[list[int]] = [[] for _ in range(self.n)]
        for i, j in self.edges:
            p[j].append(i)
        return tuple(tuple(sorted(x)) for x in p)

    @cached_property
    def outputs(self) -> tuple[int, ...]:
        """Layers whose output nobody reads: the model's outputs."""
        return tuple(v for v in range(self.n) if not self.consumers[v])

    def head_of_cut(self, cut: int) -> frozenset[int]:
        """The layer indices in the head of single-tensor cut ``cut``."""
        return frozenset(range(self.cut_positions[cut]))

    def cut_of_head(self, head: Iterable[int]) -> int | None:
        """The cut whose head is exactly ``head``, or None if ``head`` is no cut's head."""
        h = set(head)
        size = len(h)
        for c, p in enumerate(self.cut_positions):
            if p == size and h == set(range(p)):
                return c
        return None

    def crossing(self, head: Iterable[int]) -> list[int]:
        """Values produced in ``head`` (or the input) that layers outside it read.

        Model outputs computed in the head are not counted: they are the result, returned by
        the caller's own rule. Uses :func:`splitinfer.graph.cuts.crossing_of_head`.
        """
        from splitinfer.graph.cuts import crossing_of_head

        return crossing_of_head(head, self.consumers, outputs=())

    def crossing_bytes(self, head: Iterable[int]) -> float:
        """Bytes (one sample) that a general cut with this head sends from head to tail."""
        return float(sum(self.input_bytes if v < 0 else self.out_bytes[v]
                         for v in self.crossing(head)))

    def is_closed(self, head: Iterable[int]) -> bool:
        """Whether ``head`` contains every predecessor of its layers."""
        from splitinfer.graph.cuts import closure_violation

        return closure_violation(head, self.preds) is None

    @classmethod
    def from_profile(cls, structure, head_flops: Sequence[float],
                     hardware: Mapping[str, tuple[object, Sequence[float]]]) -> LayerCosts:
        """Build from a profile (see the module docstring for the calibration).

        Parameters
        ----------
        structure : splitinfer.profile.Profile
            The profile that gives the layers, edges and cuts.
        head_flops : sequence of float
            The model's cut table ``head_flops``.
        hardware : mapping
            Hardware name -> ``(profile on that hardware, its repaired head curve)``; a profile
            whose layers differ from ``structure`` is left out.
        """
        positions = [c.position for c in structure.cuts]
        flops = calibrate([layer.flops for layer in structure.layers], positions, head_flops)
        names = tuple(layer.name for layer in structure.layers)
        latency = {}
        for hw, (prof, curve) in hardware.items():
            if tuple(layer.name for layer in prof.layers) != names:
                continue
            latency[hw] = calibrate(prof.layer_latency, [c.position for c in prof.cuts], curve)
        return cls(names=names, flops=flops,
                   out_bytes=np.array([layer.out_bytes for layer in structure.layers], dtype=float),
                   edges=tuple(tuple(e) for e in structure.edges), cut_positions=tuple(positions),
                   input_bytes=float(structure.input_bytes), latency=latency)
