"""Receptive fields and fused-layer (FL) tiling costs, without torch (Li et al. 2022 section II-A).

The fused-layer technique (Li et al. 2022, section II-A, Fig. 1, after Alwani et
al. [16]) splits the output of the first ``tau`` spatial layers -- the *fused layer* of size
``S_tau = (S_tau^L, S_tau^W)`` -- into ``P`` tiles (the intercepted sizes ``U``) and computes each
tile from its own crop of the input through its own chain of small layers, the *FL path*
(Definition 1). Each output value of a convolution or pooling depends only on a window of its
input, so a tile needs exactly the receptive field of that tile, traced back layer by layer
through kernel, stride, padding and dilation; neighbouring receptive fields overlap, which is the
redundant computation the paper warns about.

This module holds the geometry of a model's spatial prefix (:class:`FLGeometry`, extracted from a
real PyTorch model by :mod:`splitinfer.graph.fused` and shipped as JSON under
``splitinfer/data/fused/``) and computes, with NumPy only, every path's crop at every layer and
from those the per-path FLOPs ``d_v`` and transfer sizes ``c_v`` of Li et al. 2022 eqs. 1-3
(:func:`path_costs`). Planners read these tables without importing torch.

Conventions (the physically sound readings of the paper, written down):

* A *layer* ``v`` of an FL path is one :attr:`FLGeometry.units` entry: a convolution or pooling
  together with the point-wise operations after it (ReLU, BatchNorm, concatenation of branches),
  ending at a single-tensor cut of the model. A multi-branch block (SqueezeNet's Fire expand)
  is one layer, its receptive field the hull of its branches'.
* The FL run is the first ``tau`` layers from the model input (Alg. 1 line 2 enumerates
  ``tau = 1 .. l``); it stops before the first operation that is not spatially local (flatten,
  linear, adaptive pooling that is not a plain pooling).
* Tiles are a ``gh x gw`` grid over the fused layer; "``S_tau`` divided into ``P`` layers of the
  same size" (Alg. 1 line 4) is read as the balanced split of ``numpy.array_split`` (sizes differ
  by at most one when ``P`` does not divide ``S_tau``).
* A crop is the receptive field clipped to the image; zero (or ``-inf`` for max pooling) padding
  is applied only where the crop touches a true image border, so every tile equals the
  corresponding region of the original output exactly.
* FLOPs follow :mod:`torch.utils.flop_counter` (2 x MACs for convolutions, nothing for pooling and
  point-wise operations), the convention of the project's profiles; transfer sizes are the
  cropped tensors in the model's element type (4 bytes for float32).

Examples
--------
A 3x3 convolution (stride 1, padding 1) on an 8x8 image, tiled 2x2: every tile needs a 5x5
crop, so 4 x 25 input pixels are read where 64 exist.

>>> geom = FLGeometry.from_layers("toy", (1, 8, 8), [("conv", 3, 1, 1, 4)])
>>> costs = path_costs(geom, tau=1, grid=(2, 2))
>>> costs.bytes_in[:, 0].tolist()          # input crops: 5 x 5 x 1 channel x 4 bytes
[100.0, 100.0, 100.0, 100.0]
>>> float(costs.flops.sum()) == geom.unit_flops(1)   # no redundancy in a single layer
True
>>> geom2 = FLGeometry.from_layers("toy", (1, 8, 8), [("conv", 3, 1, 1, 4), ("conv", 3, 1, 1, 4)])
>>> c2 = path_costs(geom2, tau=2, grid=(2, 2))
>>> c2.redundant_flops > 0                 # the first layer's overlap is computed twice
True
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["AxisMap", "SpatialNode", "ChainCut", "FLGeometry", "PathCosts", "tile_bounds",
           "axis_regions", "path_costs", "path_regions", "tile_regions", "unit_of_cut",
           "load_geometry", "list_geometries"]

_KINDS = ("conv", "maxpool", "avgpool", "pad", "reppad", "pointwise")
#: Largest channel count, height or width a geometry file may give (tile coverage masks are
#: height x width booleans).
MAX_SIDE = 1 << 16


@dataclass(frozen=True)
class AxisMap:
    """How one spatial axis of a layer maps input positions to output positions.

    Output ``o`` reads inputs ``o * stride - pad_before + dilation * j`` for ``j < kernel``;
    out-of-range inputs are padding. A point-wise operation is the identity map (the default).

    Examples
    --------
    >>> m = AxisMap(kernel=3, stride=2, pad_before=1, pad_after=1)
    >>> m.out_size(224)
    112
    >>> m.span(0, 4)           # outputs 0..3 read inputs -1..7 (input -1 is padding)
    (-1, 8)
    >>> AxisMap(3, 2, 0, 0, ceil_mode=True).out_size(55)   # SqueezeNet's pooling
    27
    """

    kernel: int = 1
    stride: int = 1
    pad_before: int = 0
    pad_after: int = 0
    dilation: int = 1
    ceil_mode: bool = False

    @property
    def extent(self) -> int:
        """Input positions one output reads: ``dilation * (kernel - 1) + 1``."""
        return self.dilation * (self.kernel - 1) + 1

    def out_size(self, n: int) -> int:
        """Output length for input length ``n`` (PyTorch's conv/pool formula, ceil mode too)."""
        span = n + self.pad_before + self.pad_after - self.extent
        if span < 0:
            raise ValueError(f"input of length {n} is shorter than the window {self.extent}")
        if not self.ceil_mode:
            return span // self.stride + 1
        out = -(-span // self.stride) + 1
        if (out - 1) * self.stride >= n + self.pad_before:  # last window must start inside
            out -= 1
        return out

    def span(self, lo, hi):
        """Unclipped input interval ``[a, b)`` that outputs ``[lo, hi)`` read (arrays allowed)."""
        return lo * self.stride - self.pad_before, (hi - 1) * self.stride - self.pad_before + self.extent

    def to_list(self) -> list[int]:
        """``[kernel, stride, pad_before, pad_after, dilation, ceil_mode]``."""
        return [self.kernel, self.stride, self.pad_before, self.pad_after, self.dilation,
                int(self.ceil_mode)]

    @classmethod
    def from_list(cls, v: list[int]) -> AxisMap:
        """Inverse of :meth:`to_list`."""
        return cls(int(v[0]), int(v[1]), int(v[2]), int(v[3]), int(v[4]), bool(v[5]))


@dataclass(frozen=True)
class SpatialNode:
    """One operation of the spatial prefix.

    Parameters
    ----------
    name : str
        The node name in the traced model (``torch.fx`` name).
    op : str
        ``"conv"``, ``"maxpool"``, ``"avgpool"``, ``"pad"`` (zero padding), ``"reppad"``
        (replication padding: a padded cell copies the nearest border cell) -- window
        operations with ``axes`` -- or ``"pointwise"`` (identity map; several ``preds`` for
        concatenation or addition).
    preds : tuple of int
        Indices of the input nodes in :attr:`FLGeometry.nodes`; ``-1`` is the model input.
    channels : int
        Output channels.
    size : tuple of int
        Output height and width.
    axes : tuple of AxisMap or None
        Height and width maps of a window operation; ``None`` for point-wise ones.
    flops_per_pos : float
        FLOPs per output position (all channels): ``2 C_out C_in/groups k_h k_w`` for a
        convolution, 0 for the rest (torch's counter).
    """

    name: str
    op: str
    preds: tuple[int, ...]
    channels: int
    size: tuple[int, int]
    axes: tuple[AxisMap, AxisMap] | None = None
    flops_per_pos: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        d: dict[str, Any] = {"name": self.name, "op": self.op, "preds": list(self.preds),
                             "channels": self.channels, "size": list(self.size)}
        if self.axes is not None:
            d["axes"] = [a.to_list() for a in self.axes]
        if self.flops_per_pos:
            d["flops_per_pos"] = self.flops_per_pos
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SpatialNode:
        """Inverse of :meth:`to_dict`."""
        axes = d.get("axes")
        return cls(str(d["name"]), str(d["op"]), tuple(int(p) for p in d["preds"]),
                   int(d["channels"]), (int(d["size"][0]), int(d["size"][1])),
                   tuple(AxisMap.from_list(a) for a in axes) if axes else None,
                   float(d.get("flops_per_pos", 0.0)))


@dataclass(frozen=True)
class ChainCut:
    """A single-tensor cut of the whole model: its name, the bytes crossing it, FLOPs before it."""

    name: str
    transfer_bytes: float
    head_flops: float


@dataclass(frozen=True)
class FLGeometry:
    """The spatial prefix of a model, its FL layers and its whole-model cut table.

    Parameters
    ----------
    model : str
        Model name.
    input_shape : tuple of int
        ``(C, H, W)`` of one input sample.
    elem_bytes : int
        Bytes per tensor element (4 for float32).
    nodes : tuple of SpatialNode
        The tileable prefix in topological order.
    unit_ends : tuple of int
        FL layer ``k`` (1-based) is ``nodes[unit_ends[k-2]:unit_ends[k-1]]`` (from 0 for k = 1).
    unit_outputs : tuple of int
        Node whose output is the one tensor crossing the cut after each FL layer.
    chain : tuple of ChainCut
        Every single-tensor cut of the whole model (``chain[0]`` = raw input, ``chain[-1]`` =
        output), as in a profile's cut table.
    unit_cuts : tuple of int
        Index in ``chain`` of the cut after each FL layer.
    output_bytes : float
        Bytes of the model's output (the result returned to the device).
    source : str
        How the geometry was made (model constructor, torch version, or "synthetic").
    """

    model: str
    input_shape: tuple[int, int, int]
    elem_bytes: int
    nodes: tuple[SpatialNode, ...]
    unit_ends: tuple[int, ...]
    unit_outputs: tuple[int, ...]
    chain: tuple[ChainCut, ...]
    unit_cuts: tuple[int, ...]
    output_bytes: float
    source: str = ""
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    # ------------------------------------------------------------- basic views
    @property
    def num_units(self) -> int:
        """``l``: the number of FL layers available (Alg. 1 line 2 runs ``tau = 1 .. l``)."""
        return len(self.unit_ends)

    @property
    def total_flops(self) -> float:
        """FLOPs of the whole model."""
        return float(self.chain[-1].head_flops)

    def fused_size(self, tau: int) -> tuple[int, int]:
        """``S_tau``: height and width of the fused layer after ``tau`` FL layers."""
        self._check_tau(tau)
        return self.nodes[self.unit_outputs[tau - 1]].size

    def unit_range(self, u: int) -> range:
        """Node indices of FL layer ``u`` (1-based)."""
        return range(self.unit_ends[u - 2] if u > 1 else 0, self.unit_ends[u - 1])

    def unit_flops(self, tau: int) -> float:
        """FLOPs of the untiled first ``tau`` FL layers."""
        self._check_tau(tau)
        return float(sum(n.flops_per_pos * n.size[0] * n.size[1]
                         for n in self.nodes[: self.unit_ends[tau - 1]]))

    def tail_flops(self, tau: int) -> float:
        """FLOPs of the rest of the network after the fused layer (run on the ES, eq. 5)."""
        self._check_tau(tau)
        return self.total_flops - float(self.chain[self.unit_cuts[tau - 1]].head_flops)

    def _check_tau(self, tau: int) -> None:
        if not 1 <= tau <= self.num_units:
            raise ValueError(f"FL path length tau={tau} out of range 1..{self.num_units} for "
                             f"{self.model}")

    # ------------------------------------------------------------- building
    @classmethod
    def from_layers(cls, model: str, input_shape: tuple[int, int, int],
              layers: list[tuple], *, tail_flops: float = 0.0, output_bytes: float | None = None,
              elem_bytes: int = 4, source: str = "synthetic") -> FLGeometry:
        """A plain chain of square windows, for examples, tests and random instances.

        ``layers`` holds ``(op, kernel, stride, padding, channels)`` per FL layer with ``op`` in
        ``"conv"``, ``"maxpool"``, ``"avgpool"``; each conv is followed by nothing else (its
        activation would be free). ``tail_flops`` are the FLOPs after the last layer, whose output
        (``output_bytes``, default the last layer's tensor) is the model's result.

        Examples
        --------
        >>> g = FLGeometry.from_layers("m", (3, 16, 16), [("conv", 3, 2, 1, 8), ("maxpool", 2, 2, 0, 8)],
        ...                      tail_flops=1000, output_bytes=40)
        >>> g.num_units, g.fused_size(1), g.fused_size(2), g.tail_flops(2)
        (2, (8, 8), (4, 4), 1000.0)
        >>> [c.name for c in g.chain]
        ['input', 'L1', 'L2', 'output']
        """
        c, h, w = (int(v) for v in input_shape)
        nodes: list[SpatialNode] = []
        chain = [ChainCut("input", float(c * h * w * elem_bytes), 0.0)]
        head = 0.0
        for i, (op, k, s, p, ch) in enumerate(layers):
            if op not in ("conv", "maxpool", "avgpool"):
                raise ValueError(f"unknown layer kind {op!r}")
            m = AxisMap(int(k), int(s), int(p), int(p))
            oh, ow = m.out_size(h), m.out_size(w)
            if op != "conv":
                ch = c
            fpp = 2.0 * ch * c * k * k if op == "conv" else 0.0
            nodes.append(SpatialNode(f"L{i + 1}", op, (i - 1,), int(ch), (oh, ow), (m, m), fpp))
            head += fpp * oh * ow
            c, h, w = int(ch), oh, ow
            chain.append(ChainCut(f"L{i + 1}", float(c * h * w * elem_bytes), head))
        out = float(c * h * w * elem_bytes) if output_bytes is None else float(output_bytes)
        chain.append(ChainCut("output", out, head + float(tail_flops)))
        n = len(nodes)
        return cls(model, (int(input_shape[0]), int(input_shape[1]), int(input_shape[2])),
                   elem_bytes, tuple(nodes), tuple(range(1, n + 1)), tuple(range(n)),
                   tuple(chain), tuple(range(1, n + 1)), out, source)

    # ------------------------------------------------------------- io
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (format ``splitinfer.fused/1``)."""
        return {"format": "splitinfer.fused/1", "model": self.model,
                "input_shape": list(self.input_shape), "elem_bytes": self.elem_bytes,
                "source": self.source, "output_bytes": self.output_bytes,
                "unit_ends": list(self.unit_ends), "unit_outputs": list(self.unit_outputs),
                "unit_cuts": list(self.unit_cuts),
                "nodes": [n.to_dict() for n in self.nodes],
                "chain": [[c.name, c.transfer_bytes, c.head_flops] for c in self.chain]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FLGeometry:
        """Inverse of :meth:`to_dict` (checks the format tag and the indices)."""
        if not isinstance(d, dict) or d.get("format") != "splitinfer.fused/1":
            got = d.get("format") if isinstance(d, dict) else type(d).__name__
            raise ValueError(f"not an FL geometry: format is {got!r}")
        try:
            geom = cls(str(d["model"]), tuple(int(v) for v in d["input_shape"]),
                       int(d["elem_bytes"]), tuple(SpatialNode.from_dict(n) for n in d["nodes"]),
                       tuple(int(v) for v in d["unit_ends"]),
                       tuple(int(v) for v in d["unit_outputs"]),
                       tuple(ChainCut(str(a), float(b), float(c)) for a, b, c in d["chain"]),
                       tuple(int(v) for v in d["unit_cuts"]), float(d["output_bytes"]),
                       str(d.get("source", "")))
        except KeyError as exc:
            raise ValueError(f"not an FL geometry: no field {exc}") from None
        except (TypeError, AttributeError, IndexError, OverflowError) as exc:  # wrong shapes
            raise ValueError(f"not an FL geometry: {exc}") from None
        geom.validate()
        return geom

    def validate(self) -> None:
        """Raise ``ValueError`` if indices are inconsistent (predecessors, units, cuts)."""
        n = len(self.nodes)
        if len(self.input_shape) != 3 or not all(0 < v <= MAX_SIDE for v in self.input_shape):
            raise ValueError(f"{self.model}: input_shape {self.input_shape} is not (C, H, W) "
                             f"with sizes in 1..{MAX_SIDE}")
        for i, node in enumerate(self.nodes):
            if not (0 < node.channels <= MAX_SIDE and all(0 < v <= MAX_SIDE for v in node.size)):
                raise ValueError(f"{self.model}: node {node.name} has channels or size out of "
                                 f"1..{MAX_SIDE}")
            if node.op not in _KINDS:
                raise ValueError(f"{self.model}: node {node.name} has unknown op {node.op!r}")
            if any(not -1 <= p < i for p in node.preds) or not node.preds:
                raise ValueError(f"{self.model}: node {node.name} has bad preds {node.preds}")
            if (node.axes is None) != (node.op == "pointwise"):
                raise ValueError(f"{self.model}: node {node.name}: window ops need axes")
        ends = (0, *self.unit_ends)
        if any(b <= a for a, b in zip(ends, ends[1:], strict=False)) or (self.unit_ends and self.unit_ends[-1] > n):
            raise ValueError(f"{self.model}: unit_ends {self.unit_ends} not increasing within {n}")
        if len(self.unit_outputs) != len(self.unit_ends) or len(self.unit_cuts) != len(self.unit_ends):
            raise ValueError(f"{self.model}: one output node and one cut per FL layer needed")
        for k, (e, o) in enumerate(zip(self.unit_ends, self.unit_outputs, strict=True)):
            if not ends[k] <= o < e:
                raise ValueError(f"{self.model}: FL layer {k + 1} output node {o} not inside it")
        if any(not 0 < c < len(self.chain) for c in self.unit_cuts):
            raise ValueError(f"{self.model}: unit_cuts out of range")

    def save(self, path: str | Path) -> None:
        """Write the geometry as JSON."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=None, separators=(",", ":")))

    def chain_cuts(self) -> list[dict[str, Any]]:
        """The whole-model cut table as a scenario file's ``models.<m>.cuts`` list.

        Examples
        --------
        >>> FLGeometry.from_layers("m", (1, 4, 4), [("conv", 3, 1, 1, 2)]).chain_cuts()[1]
        {'name': 'L1', 'transfer_bytes': 128.0, 'head_flops': 576.0}
        """
        return [{"name": c.name, "transfer_bytes": c.transfer_bytes, "head_flops": c.head_flops}
                for c in self.chain]


def load_geometry(name_or_path: str | Path) -> FLGeometry:
    """Read an FL geometry: a JSON file, or the name of a shipped one (``"alexnet"``).

    Examples
    --------
    >>> "alexnet" in list_geometries()
    True
    >>> load_geometry("alexnet").num_units       # 5 convolutions and 3 max-poolings
    8
    """
    from splitinfer.datafile import load_json_file, path_exists  # bounded reader

    p = Path(name_or_path)
    if not path_exists(p) or p.is_dir():  # a shipped name (a FIFO goes to the reader's refusal)
        from splitinfer.data import data_path
        from splitinfer.errors import unknown_name

        if str(name_or_path) not in list_geometries():
            raise unknown_name("FL geometry", str(name_or_path), list_geometries())
        p = data_path("fused", f"{name_or_path}.json")
    return FLGeometry.from_dict(load_json_file(p, what="FL geometry"))


def list_geometries() -> list[str]:
    """Names of the shipped FL geometries (``splitinfer/data/fused/*.json``)."""
    from splitinfer.data import data_path

    folder = data_path("fused")
    return sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []


# ---------------------------------------------------------------------- regions
def tile_bounds(n: int, g: int) -> np.ndarray:
    """Boundaries of ``g`` balanced tiles of ``0..n`` (``numpy.array_split`` sizes).

    Examples
    --------
    >>> tile_bounds(13, 3).tolist()
    [0, 5, 9, 13]
    """
    if not 1 <= g <= n:
        raise ValueError(f"cannot split a length of {n} into {g} tiles")
    sizes = np.full(g, n // g, dtype=np.int64)
    sizes[: n % g] += 1
    return np.concatenate([[0], np.cumsum(sizes)])


def _propagate(geom: FLGeometry, end: int, axis: int, lo: np.ndarray, hi: np.ndarray,
               start: int = 0) -> None:
    """Propagate needed intervals backwards through nodes ``end - 1 .. start`` (in place).

    ``lo``/``hi`` have one row per node below ``end`` and a last row (``end``) for the model
    input; rows not yet needed hold ``lo = max int, hi = -1``.
    """
    n_in = geom.input_shape[1 + axis]
    for k in range(end - 1, start - 1, -1):
        node = geom.nodes[k]
        for q in node.preds:
            row = end if q < 0 else q
            size = n_in if q < 0 else geom.nodes[q].size[axis]
            need = hi[k] > lo[k]  # tiles that need a non-empty part of this node
            if node.axes is None:
                a, z = lo[k], hi[k]
            elif node.op == "reppad":  # padded cells read the nearest border cell
                a, z = node.axes[axis].span(lo[k], hi[k])
                a, z = np.clip(a, 0, size - 1), np.clip(z - 1, 0, size - 1) + 1
            else:
                a, z = node.axes[axis].span(lo[k], hi[k])
                a, z = np.maximum(a, 0), np.minimum(z, size)
                need &= z > a  # a window that reads padding only needs nothing
            lo[row] = np.where(need, np.minimum(lo[row], a), lo[row])
            hi[row] = np.where(need, np.maximum(hi[row], z), hi[row])


def axis_regions(geom: FLGeometry, tau: int, axis: int, g: int) -> tuple[np.ndarray, np.ndarray]:
    """Per node and tile, the interval of one axis that a path computes (receptive fields).

    Parameters
    ----------
    geom : FLGeometry
    tau : int
        FL path length.
    axis : int
        0 for height (rows), 1 for width (columns).
    g : int
        Number of tiles along this axis.

    Returns
    -------
    lo, hi : ndarray of shape (n + 1, g)
        Row ``k < n`` is node ``k`` of the prefix, row ``n`` the model input; ``[lo, hi)`` is the
        clipped interval the tile's path computes (or reads, for the input); ``lo = hi = 0``
        where the tile needs nothing of a node (its windows read padding only).

    Notes
    -----
    Intervals are propagated backwards from the fused layer: a window operation needs
    ``[lo s - p, (hi - 1) s - p + d (k - 1) + 1)`` of its input (clipped to the image: the rest is
    padding; replication padding reads the nearest border cell instead), a point-wise one the
    same interval; a tensor read by several operations (branches) is computed on the hull of
    what they need (a path computes rectangles). Height and width are independent, so a tile's
    region at every node is the product of its row and column intervals.
    """
    key = ("axis", tau, axis, g)
    if key in geom._cache:
        return geom._cache[key]
    end = geom.unit_ends[tau - 1]
    fused = geom.unit_outputs[tau - 1]
    big = np.iinfo(np.int64).max
    lo = np.full((end + 1, g), big, dtype=np.int64)
    hi = np.full((end + 1, g), -1, dtype=np.int64)
    b = tile_bounds(geom.nodes[fused].size[axis], g)
    lo[fused], hi[fused] = b[:-1], b[1:]
    _propagate(geom, end, axis, lo, hi)
    unused = hi < 0  # nothing needed: an empty interval
    lo[unused], hi[unused] = 0, 0
    geom._cache[key] = (lo, hi)
    return lo, hi


@dataclass(frozen=True)
class PathCosts:
    """Per-path costs of one FL strategy ``(tau, gh x gw)`` (Li et al. 2022 eqs. 1-3 inputs).

    Paths are numbered row-major over the tile grid (path ``i * gw + j`` is tile row ``i``,
    column ``j``).

    Attributes
    ----------
    tau : int
    grid : tuple of int
        ``(gh, gw)``; ``P = gh * gw``.
    flops : ndarray, shape (P, tau)
        ``d_v``: FLOPs of FL layer ``v`` on each path (its crop only).
    bytes_in : ndarray, shape (P, tau + 1)
        ``c_v``: bytes of the tensor entering FL layer ``v`` on each path, cropped; column
        ``tau`` is the path's tile of the fused layer.
    tail_flops : float
        FLOPs after the fused layer (eq. 5).
    original_flops : float
        FLOPs of the untiled first ``tau`` layers.
    tile_rows, tile_cols : ndarray of int, shapes (gh, 2) and (gw, 2)
        ``(row0, row1)`` of each tile row and ``(col0, col1)`` of each tile column on the fused
        layer (``U``); :attr:`tiles` crosses them.
    """

    tau: int
    grid: tuple[int, int]
    flops: np.ndarray
    bytes_in: np.ndarray
    tail_flops: float
    original_flops: float
    tile_rows: np.ndarray
    tile_cols: np.ndarray

    @cached_property
    def tiles(self) -> tuple[tuple[int, int, int, int], ...]:
        """``(row0, row1, col0, col1)`` of each path's tile on the fused layer, row-major.

        Built on first use: a planner that searches every grid (``mw-paper``: millions of
        paths on a 224 x 224 input) needs the tiles of the grid it picks only."""
        gh, gw = self.grid
        rows = np.repeat(np.asarray(self.tile_rows, dtype=np.int64).reshape(-1, 2), gw, axis=0)
        cols = np.tile(np.asarray(self.tile_cols, dtype=np.int64).reshape(-1, 2), (gh, 1))
        return tuple(map(tuple, np.concatenate([rows, cols], axis=1).tolist()))

    @property
    def num_paths(self) -> int:
        """``P``."""
        return int(self.flops.shape[0])

    @property
    def redundant_flops(self) -> float:
        """All paths' FLOPs minus the untiled layers': the overlap computed more than once.

        It can be negative when the untiled layers compute positions that no later window reads
        (the last row of an odd-sized map before a 2x2/2 pooling): paths compute only what the
        fused layer needs.
        """
        return float(self.flops.sum()) - self.original_flops


def _unit_src(geom: FLGeometry, u: int) -> int:
    """Row of :func:`axis_regions` holding the tensor that enters FL layer ``u`` (1-based)."""
    return geom.unit_outputs[u - 2] if u > 1 else -1


def path_costs(geom: FLGeometry, tau: int, grid: tuple[int, int]) -> PathCosts:
    """FLOPs and transfer sizes of every FL path of strategy ``(tau, grid)``.

    Parameters
    ----------
    geom : FLGeometry
    tau : int
        FL path length, ``1 .. geom.num_units``.
    grid : tuple of int
        ``(gh, gw)`` tiles along height and width of the fused layer.

    Returns
    -------
    PathCosts

    Examples
    --------
    >>> g = FLGeometry.from_layers("m", (1, 4, 4), [("conv", 3, 1, 1, 2)])
    >>> c = path_costs(g, 1, (1, 2))
    >>> c.tiles, c.bytes_in.tolist()
    (((0, 4, 0, 2), (0, 4, 2, 4)), [[48.0, 64.0], [48.0, 64.0]])
    """
    key = ("costs", tau, tuple(grid))
    if key in geom._cache:
        return geom._cache[key]
    geom._check_tau(tau)
    gh, gw = (int(v) for v in grid)
    rlo, rhi = axis_regions(geom, tau, 0, gh)
    clo, chi = axis_regions(geom, tau, 1, gw)
    rlen, clen = (rhi - rlo).astype(float), (chi - clo).astype(float)
    end = geom.unit_ends[tau - 1]
    flops = np.zeros((gh * gw, tau))
    for u in range(1, tau + 1):
        for k in geom.unit_range(u):
            fpp = geom.nodes[k].flops_per_pos
            if fpp:
                flops[:, u - 1] += np.outer(rlen[k], clen[k]).ravel() * fpp
    bytes_in = np.zeros((gh * gw, tau + 1))
    for u in range(1, tau + 2):
        src = _unit_src(geom, u)
        row = end if src < 0 else src
        ch = geom.input_shape[0] if src < 0 else geom.nodes[src].channels
        bytes_in[:, u - 1] = np.outer(rlen[row], clen[row]).ravel() * ch * geom.elem_bytes
    fused = geom.unit_outputs[tau - 1]
    out = PathCosts(tau, (gh, gw), flops, bytes_in, geom.tail_flops(tau), geom.unit_flops(tau),
                    np.stack([rlo[fused], rhi[fused]], axis=1).astype(np.int64),
                    np.stack([clo[fused], chi[fused]], axis=1).astype(np.int64))
    geom._cache[key] = out
    return out


def path_regions(geom: FLGeometry, tau: int, grid: tuple[int, int], path: int
                 ) -> tuple[tuple[int, int, int, int], ...]:
    """The crop ``(row0, row1, col0, col1)`` path ``path`` computes at every prefix node.

    Entry ``k < end`` is node ``k``; the last entry is the model input crop. A crop may be empty
    (a tile of zero padding only). :mod:`splitinfer.graph.fused` executes these crops on the
    real model.

    Examples
    --------
    >>> g = FLGeometry.from_layers("m", (1, 4, 4), [("conv", 3, 1, 1, 2)])
    >>> path_regions(g, 1, (2, 2), 3)
    ((2, 4, 2, 4), (1, 4, 1, 4))
    """
    gh, gw = grid
    i, j = divmod(int(path), int(gw))
    rlo, rhi = axis_regions(geom, tau, 0, gh)
    clo, chi = axis_regions(geom, tau, 1, gw)
    out = []
    for k in range(rlo.shape[0]):
        out.append((int(rlo[k, i]), int(rhi[k, i]), int(clo[k, j]), int(chi[k, j])))
    return tuple(out)


def unit_of_cut(geom: FLGeometry, cut: int) -> int:
    """The FL layer ``u`` whose output crosses the model's cut ``cut`` (0 for the input, cut 0).

    Raises
    ------
    ValueError
        If ``cut`` is not the input and not the cut after an FL layer.

    Examples
    --------
    >>> g = FLGeometry.from_layers("m", (1, 8, 8), [("conv", 3, 1, 1, 2), ("maxpool", 2, 2, 0, 2)])
    >>> unit_of_cut(g, 0), unit_of_cut(g, 2)
    (0, 2)
    """
    if cut == 0:
        return 0
    if cut in geom.unit_cuts:
        return geom.unit_cuts.index(cut) + 1
    raise ValueError(f"cut {cut} of {geom.model} is not after a fused (tileable) layer; those "
                     f"are cuts {list(geom.unit_cuts)}")


def tile_regions(geom: FLGeometry, u0: int, u1: int, region: tuple[int, int, int, int]
                 ) -> tuple[tuple[tuple[int, int, int, int], ...], tuple[int, int, int, int]]:
    """Crops that compute the tile ``region`` of FL layer ``u1``'s output from FL layer ``u0``'s.

    ``region`` is ``(row0, row1, col0, col1)`` of the tensor after FL layer ``u1``; ``u0 = 0``
    starts from the model input. The crops are the receptive fields of the tile, traced back
    through kernels, strides, paddings and dilations exactly as :func:`axis_regions` does for a
    grid (a crop that reads padding only is empty, ``(0, 0, 0, 0)``).

    Returns
    -------
    regions : tuple
        The crop computed at every prefix node of FL layers ``u0 + 1 .. u1``, in node order.
    input_region : tuple
        The crop of the tensor entering FL layer ``u0 + 1`` that they read (its halo included).

    Examples
    --------
    A 3x3 convolution (padding 1) then a 2x2 pooling on 8x8: the top-left 2x2 tile of the pooled
    map needs rows and columns 0..3 of the convolution, which read 0..4 of the input (the
    top and left border are the convolution's zero padding).

    >>> g = FLGeometry.from_layers("m", (1, 8, 8), [("conv", 3, 1, 1, 2), ("maxpool", 2, 2, 0, 2)])
    >>> tile_regions(g, 0, 2, (0, 2, 0, 2))
    (((0, 4, 0, 4), (0, 2, 0, 2)), (0, 5, 0, 5))
    >>> tile_regions(g, 1, 2, (0, 2, 0, 2))
    (((0, 2, 0, 2),), (0, 4, 0, 4))
    """
    if not 0 <= u0 < u1 <= geom.num_units:
        raise ValueError(f"FL layers {u0 + 1}..{u1} out of range 1..{geom.num_units} for "
                         f"{geom.model}")
    start = geom.unit_ends[u0 - 1] if u0 > 0 else 0
    end = geom.unit_ends[u1 - 1]
    out = geom.unit_outputs[u1 - 1]
    src = geom.unit_outputs[u0 - 1] if u0 > 0 else end  # row of the tensor entering u0 + 1
    size = geom.nodes[out].size
    r0, r1, c0, c1 = (int(v) for v in region)
    if not (0 <= r0 < r1 <= size[0] and 0 <= c0 < c1 <= size[1]):
        raise ValueError(f"tile {region} is outside the {size[0]}x{size[1]} output of FL "
                         f"layer {u1} of {geom.model}")
    big = np.iinfo(np.int64).max
    axes = []
    for axis, (a, z) in enumerate(((r0, r1), (c0, c1))):
        lo = np.full((end + 1, 1), big, dtype=np.int64)
        hi = np.full((end + 1, 1), -1, dtype=np.int64)
        lo[out], hi[out] = a, z
        _propagate(geom, end, axis, lo, hi, start)
        unused = hi < 0
        lo[unused], hi[unused] = 0, 0
        axes.append((lo[:, 0], hi[:, 0]))
    (rl, rh), (cl, ch) = axes

    def rect(k: int) -> tuple[int, int, int, int]:
        return int(rl[k]), int(rh[k]), int(cl[k]), int(ch[k])

    return tuple(rect(k) for k in range(start, end)), rect(src)
