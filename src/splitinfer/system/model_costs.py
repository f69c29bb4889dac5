"""Per-model cut tables as the planning layers see them (torch-free).

A :class:`ModelCosts` holds, for one model, the ordered single-tensor cut points (index 0 sends
the raw input, the last index runs everything on the first node) with the bytes crossing each
cut and the FLOPs before it, and the time curves that give the compute time of any piece of the
model on any hardware:

* ``head_latency[hw][c]``: measured time of the head up to cut ``c`` on hardware ``hw``;
* ``table_head[node][c]`` / ``table_tail[node][c]``: a paper's table row for one node.

The piece between cuts ``a <= b`` takes ``H[b] - H[a]`` on a head curve and ``T[a] - T[b]`` on a
tail curve. Reading a piece as a difference of cumulative curves is exact for chain models and is
the usual additive reading of per-layer profiles (Neurosurgeon; Duan & Wu 2021 section 3); it is why the
profile layer repairs measured head curves to be non-decreasing.

Examples
--------
>>> import numpy as np
>>> m = ModelCosts("toy", transfer_bytes=np.array([600.0, 200.0, 40.0]),
...                head_flops=np.array([0.0, 4e9, 6e9]))
>>> m.num_cuts, m.last_cut, m.output_bytes
(3, 2, 40.0)
>>> m.segment_flops(1, 2)
2000000000.0
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from splitinfer.profile.agreement import Agreement
from splitinfer.system.layer_costs import LayerCosts

__all__ = ["ModelCosts"]


@dataclass(frozen=True)
class ModelCosts:
    """The cut table of one model plus the time curves of every hardware that runs it.

    Parameters
    ----------
    name : str
        Model name as the scenario calls it.
    transfer_bytes : ndarray
        Bytes crossing each cut for one sample.
    head_flops : ndarray
        FLOPs before each cut (2 x MACs for conv/linear/matmul).
    cut_names : tuple of str, optional
        Labels of the cuts (``"input"``, the last head layer, or a paper's ``"P3"``).
    head_latency : dict, optional
        Hardware name -> seconds of the head before each cut (non-decreasing).
    table_head, table_tail : dict, optional
        Node name -> a paper table's per-cut head or tail seconds.
    output_bytes : float, optional
        Size of the result returned to the device; default the last cut's bytes.
    source : str
        Where the numbers came from (profile file or "table").
    layers : LayerCosts, optional
        The layer DAG with calibrated per-layer costs, when the cut table comes from a profile
        (needed by general-DAG cuts such as DADS; see :mod:`splitinfer.system.layer_costs`).
    agreement : Agreement, optional
        Per-cut top-1 agreement of each compressed wire dtype
        (:class:`splitinfer.profile.agreement.Agreement`), read by planners that choose the dtype
        of each cut.
    """

    name: str
    transfer_bytes: np.ndarray
    head_flops: np.ndarray
    cut_names: tuple[str, ...] = ()
    head_latency: dict[str, np.ndarray] = field(default_factory=dict)
    table_head: dict[str, np.ndarray] = field(default_factory=dict)
    table_tail: dict[str, np.ndarray] = field(default_factory=dict)
    output_bytes: float | None = None
    source: str = ""
    layers: LayerCosts | None = None
    agreement: Agreement | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "transfer_bytes", np.asarray(self.transfer_bytes, dtype=float))
        object.__setattr__(self, "head_flops", np.asarray(self.head_flops, dtype=float))
        if not self.cut_names:
            object.__setattr__(self, "cut_names", tuple(f"c{i}" for i in range(self.num_cuts)))
        if self.output_bytes is None:
            object.__setattr__(self, "output_bytes", float(self.transfer_bytes[-1]))

    @property
    def num_cuts(self) -> int:
        """Number of cut points (at least 2: raw input and all-local)."""
        return int(self.transfer_bytes.shape[0])

    @property
    def last_cut(self) -> int:
        """Index of the cut that runs the whole model before it."""
        return self.num_cuts - 1

    @property
    def flops(self) -> float:
        """FLOPs of the whole model."""
        return float(self.head_flops[-1])

    def segment_flops(self, a: int, b: int) -> float:
        """FLOPs of the piece between cut ``a`` and cut ``b`` (``a <= b``)."""
        return float(self.head_flops[b] - self.head_flops[a])

    def segment_latency(self, hardware: str, a: int, b: int) -> float:
        """Seconds of the piece between cuts ``a`` and ``b`` on measured ``hardware``."""
        curve = self.head_latency[hardware]
        return float(curve[b] - curve[a])

    def table_latency(self, node: str, a: int, b: int) -> float:
        """Seconds of the piece between cuts ``a`` and ``b`` from node's row of a paper table."""
        if node in self.table_head:
            curve = self.table_head[node]
            return float(curve[b] - curve[a])
        curve = self.table_tail[node]
        return float(curve[a] - curve[b])
