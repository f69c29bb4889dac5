"""Fused-layer tiling of real PyTorch models: geometry extraction and exact tiled execution.

Li et al. 2022 section II-A (Fig. 1, Definition 1) turns the first ``tau``
convolution/pooling layers of a DNN into ``P`` independent FL paths, one per tile of the fused
layer, each computed from its own input crop. This module is the torch side of that technique:

* :func:`extract_geometry` traces a model (:func:`splitinfer.graph.trace`) and records its
  tileable spatial prefix as a torch-free :class:`~splitinfer.graph.receptive.FLGeometry`
  (kernels, strides, paddings, dilations, channels, FLOPs per position, FL layer boundaries at
  single-tensor cuts, and the whole model's cut table);
* :func:`run_path` executes one path on its crop of the input with the original parameters,
  padding only at true image borders (zeros for convolutions and zero-padding, ``-inf`` for max
  pooling), and :func:`run_tiled` stitches every path's tile into the fused layer, which equals
  the untiled model's tensor (:func:`reference_output`) up to floating-point reassociation;
* :func:`measure_path_flops` counts a path's FLOPs with :mod:`torch.utils.flop_counter`, the
  independent check of :func:`splitinfer.graph.receptive.path_costs`;
* ``python -m splitinfer.graph.fused [names...]`` regenerates the shipped geometries under
  ``splitinfer/data/fused/`` so that planners never import torch.

Padding layers (``ZeroPad2d``, ``ConstantPad2d`` with 0, and ``ReplicationPad2d`` as before Tiny
YOLOv2's stride-1 pool, whose padded cells read the nearest border cell) are window operations
of kernel 1. Operations that end the FL prefix: anything that is not spatially local (flatten, linear,
view, adaptive pooling whose windows are not a plain pooling), average pooling in ceil mode or
excluding padding, convolutions with non-zero padding modes, and batch sizes other than one.

Examples
--------
>>> import torch
>>> net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, padding=1), torch.nn.ReLU(),
...                           torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(32, 3))
>>> x = torch.randn(1, 1, 8, 8)
>>> geom = extract_geometry(net, x, name="tiny")
>>> geom.num_units, geom.fused_size(2)
(2, (4, 4))
>>> tiled = run_tiled(net, geom, 2, (2, 2), x)
>>> torch.allclose(tiled, reference_output(net, geom, 2, x), atol=1e-6)
True
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import fx, nn

from splitinfer.graph.receptive import (
    AxisMap,
    ChainCut,
    FLGeometry,
    SpatialNode,
    path_regions,
    tile_regions,
)

__all__ = ["extract_geometry", "run_path", "run_tile", "run_tiled", "reference_output", "measure_path_flops",
           "SHIPPED", "shipped_model", "write_shipped"]

_POINTWISE_MODULES = (
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU,
    nn.Mish, nn.Sigmoid, nn.Tanh, nn.Hardswish, nn.Hardsigmoid, nn.Hardtanh, nn.Softplus,
    nn.BatchNorm2d, nn.Dropout, nn.Dropout2d, nn.Identity, nn.LocalResponseNorm,
)
_POINTWISE_FUNCS = {"relu", "relu_", "relu6", "leaky_relu", "sigmoid", "tanh", "silu", "gelu",
                    "hardtanh", "hardswish", "hardsigmoid", "dropout", "add", "iadd", "mul",
                    "imul", "sub", "cat", "concat", "contiguous", "clone", "elu", "mish"}


def _pair(v: Any) -> tuple[int, int]:
    return (int(v[0]), int(v[1])) if isinstance(v, tuple | list) else (int(v), int(v))


def _fn_name(n: fx.Node) -> str:
    t = n.target
    return t if isinstance(t, str) else getattr(t, "__name__", str(t))


def _classify(gm: fx.GraphModule, n: fx.Node, in_size: tuple[int, int] | None, flops: int,
              out_size: tuple[int, int]) -> tuple[str, tuple[AxisMap, AxisMap] | None, float] | None:
    """``(op, axes, flops_per_pos)`` for a tileable node, ``None`` if it ends the prefix."""
    if n.op == "call_module":
        m = gm.get_submodule(str(n.target))
        if isinstance(m, nn.Conv2d):
            if m.padding_mode != "zeros":
                return None
            k, s, d = _pair(m.kernel_size), _pair(m.stride), _pair(m.dilation)
            if isinstance(m.padding, str):
                tot = [d[i] * (k[i] - 1) if m.padding == "same" else 0 for i in range(2)]
                pads = [(t // 2, t - t // 2) for t in tot]
            else:
                p = _pair(m.padding)
                pads = [(p[0], p[0]), (p[1], p[1])]
            axes = tuple(AxisMap(k[i], s[i], pads[i][0], pads[i][1], d[i]) for i in range(2))
            fpp = 2.0 * m.out_channels * (m.in_channels // m.groups) * k[0] * k[1]
            return "conv", axes, fpp
        if isinstance(m, nn.MaxPool2d | nn.AvgPool2d):
            k = _pair(m.kernel_size)
            s = _pair(m.stride if m.stride is not None else m.kernel_size)
            p = _pair(m.padding)
            if isinstance(m, nn.MaxPool2d):
                if m.return_indices:
                    return None
                d = _pair(m.dilation)
                op = "maxpool"
            else:
                if m.ceil_mode or m.divisor_override or (any(p) and not m.count_include_pad):
                    return None
                d, op = (1, 1), "avgpool"
            return op, tuple(AxisMap(k[i], s[i], p[i], p[i], d[i], bool(m.ceil_mode))
                             for i in range(2)), 0.0
        if isinstance(m, nn.AdaptiveAvgPool2d | nn.AdaptiveMaxPool2d) and in_size is not None:
            if in_size == out_size:
                return "pointwise", None, 0.0
            if all(in_size[i] % out_size[i] == 0 for i in range(2)):
                k = [in_size[i] // out_size[i] for i in range(2)]
                op = "maxpool" if isinstance(m, nn.AdaptiveMaxPool2d) else "avgpool"
                return op, tuple(AxisMap(k[i], k[i]) for i in range(2)), 0.0
            return None
        if isinstance(m, nn.ZeroPad2d | nn.ConstantPad2d | nn.ReplicationPad2d):
            if getattr(m, "value", 0.0) != 0.0 or any(v < 0 for v in m.padding):
                return None
            left, right, top, bottom = (int(v) for v in m.padding)
            op = "reppad" if isinstance(m, nn.ReplicationPad2d) else "pad"
            return op, (AxisMap(1, 1, top, bottom), AxisMap(1, 1, left, right)), 0.0
        if isinstance(m, _POINTWISE_MODULES):
            return ("pointwise", None, 0.0) if flops == 0 else None
        return None
    if n.op in ("call_function", "call_method") and _fn_name(n) in _POINTWISE_FUNCS:
        if _fn_name(n) in ("cat", "concat"):
            dim = n.args[1] if len(n.args) > 1 else n.kwargs.get("dim", 0)
            if dim not in (1, -3):
                return None
        return ("pointwise", None, 0.0) if flops == 0 else None
    return None


def extract_geometry(model: nn.Module, example_input: torch.Tensor, name: str | None = None,
                     source: str = "") -> FLGeometry:
    """Trace ``model`` and record its tileable spatial prefix and FL layers.

    Parameters
    ----------
    model : torch.nn.Module
        An image model (put in eval mode by the tracer).
    example_input : Tensor
        One input of shape ``(1, C, H, W)``.
    name : str, optional
        Model name stored in the geometry.
    source : str
        Provenance text stored in the geometry.

    Returns
    -------
    FLGeometry

    Raises
    ------
    ValueError
        If the batch is not 1, no FL layer exists, or the recorded windows do not reproduce the
        traced shapes and FLOPs (a safety check of the extraction itself).
    """
    from splitinfer.graph import trace

    if example_input.dim() != 4 or example_input.shape[0] != 1:
        raise ValueError(f"FL tiling needs one image of shape (1, C, H, W), got "
                         f"{tuple(example_input.shape)}")
    g = trace(model, example_input, name=name)
    gm = g.module
    fxn = {n.name: n for n in gm.graph.nodes}
    index = {n.name: n.index for n in g.nodes}
    in_hw = (int(example_input.shape[2]), int(example_input.shape[3]))
    nodes: list[SpatialNode] = []
    for ln in g.nodes:
        shape = ln.out_shape
        if len(shape) != 4 or shape[0] != 1 or not ln.out_is_tensor:
            break
        if any(p >= len(nodes) for p in ln.preds):
            break
        preds = tuple(p for p in ln.preds)
        in_sizes = {in_hw if p < 0 else nodes[p].size for p in preds}
        out_hw = (int(shape[2]), int(shape[3]))
        got = _classify(gm, fxn[ln.name], next(iter(in_sizes)) if len(in_sizes) == 1 else None,
                        ln.flops, out_hw)
        if got is None:
            break
        op, axes, fpp = got
        if axes is None and (in_sizes != {out_hw}):
            break
        if axes is not None:
            if len(preds) != 1:
                break
            n_in = next(iter(in_sizes))
            if (axes[0].out_size(n_in[0]), axes[1].out_size(n_in[1])) != out_hw:
                raise ValueError(f"{ln.name}: window {axes} maps {n_in} to "
                                 f"{(axes[0].out_size(n_in[0]), axes[1].out_size(n_in[1]))}, "
                                 f"traced {out_hw}")
        if abs(fpp * out_hw[0] * out_hw[1] - ln.flops) > 0.5:
            raise ValueError(f"{ln.name}: {fpp} FLOPs per position x {out_hw} != traced "
                             f"{ln.flops}")
        nodes.append(SpatialNode(ln.name, op, preds, int(shape[1]), out_hw, axes, fpp))
    prefix = len(nodes)
    anchors = {i for i, nd in enumerate(nodes) if nd.op in ("conv", "maxpool", "avgpool")}
    cut_at = {c.position: c for c in g.cuts}
    unit_ends: list[int] = []
    unit_outputs: list[int] = []
    unit_cuts: list[int] = []
    start = 0
    for p in sorted(pos for pos in cut_at if 0 < pos <= prefix):
        if not anchors & set(range(start, p)):
            continue
        if p < prefix and nodes[p].op == "pointwise":
            continue  # keep activations, normalisation and concatenations with their layer
        crossing = cut_at[p].crossing
        if len(crossing) != 1 or crossing[0] not in index:
            continue
        unit_ends.append(p)
        unit_outputs.append(index[crossing[0]])
        unit_cuts.append(cut_at[p].index)
        start = p
    if not unit_ends:
        raise ValueError(f"model {g.name}: no convolution or pooling layer at its input to tile")
    nodes = nodes[: unit_ends[-1]]
    chain = tuple(ChainCut(c.after or "input", float(c.transfer_bytes), float(c.head_flops))
                  for c in g.cuts)
    geom = FLGeometry(g.name, (int(example_input.shape[1]), *in_hw), example_input.element_size(),
                      tuple(nodes), tuple(unit_ends), tuple(unit_outputs), chain,
                      tuple(unit_cuts), float(g.output_bytes), source)
    geom.validate()
    for tau in range(1, geom.num_units + 1):
        if abs(geom.unit_flops(tau) - geom.chain[geom.unit_cuts[tau - 1]].head_flops) > 0.5:
            raise ValueError(f"{g.name}: FLOPs of the first {tau} FL layers disagree with the "
                             "cut table")
    return geom


# ---------------------------------------------------------------------- execution
_TRACED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _fx_nodes(model: nn.Module) -> tuple[fx.GraphModule, dict[str, fx.Node]]:
    """The model traced with the project's tracer (node names as in the geometry), cached."""
    from splitinfer.graph.fx_tracer import symbolic_trace

    got = _TRACED.get(model)
    if got is None:
        gm = symbolic_trace(model.eval())
        got = _TRACED[model] = (gm, {n.name: n for n in gm.graph.nodes})
    return got


def _crop(t: torch.Tensor, have: tuple[int, int, int, int], want: tuple[int, int, int, int]
          ) -> torch.Tensor:
    r0, _, c0, _ = have
    return t[:, :, want[0] - r0: want[1] - r0, want[2] - c0: want[3] - c0]


def _window(t: torch.Tensor, have: tuple[int, int, int, int], node: SpatialNode,
            out: tuple[int, int, int, int], in_size: tuple[int, int], fill: float) -> torch.Tensor:
    """The input a window op needs for output region ``out``: the crop, padded at true borders
    with ``fill`` (replication padding copies the border cells instead)."""
    spans = [node.axes[a].span(out[2 * a], out[2 * a + 1]) for a in range(2)]
    if node.op == "reppad":
        idx = [torch.arange(a, b).clamp(0, in_size[i] - 1) - have[2 * i]
               for i, (a, b) in enumerate(spans)]
        return t.index_select(2, idx[0]).index_select(3, idx[1])
    clip = [(max(a, 0), min(b, in_size[i])) for i, (a, b) in enumerate(spans)]
    shape = (t.shape[0], t.shape[1], spans[0][1] - spans[0][0], spans[1][1] - spans[1][0])
    if any(b <= a for a, b in clip):  # padding only
        return torch.full(shape, fill, dtype=t.dtype, device=t.device)
    x = _crop(t, have, (clip[0][0], clip[0][1], clip[1][0], clip[1][1]))
    pad = (clip[1][0] - spans[1][0], spans[1][1] - clip[1][1],
           clip[0][0] - spans[0][0], spans[0][1] - clip[0][1])
    return F.pad(x, pad, value=fill) if any(pad) else x


def _run_node(gm: fx.GraphModule, n: fx.Node, node: SpatialNode, ins: list[torch.Tensor],
              fx_ins: list[fx.Node]) -> torch.Tensor:
    if node.op == "conv":
        m = gm.get_submodule(str(n.target))
        return F.conv2d(ins[0], m.weight, m.bias, m.stride, 0, m.dilation, m.groups)
    if node.op in ("maxpool", "avgpool"):
        k = (node.axes[0].kernel, node.axes[1].kernel)
        s = (node.axes[0].stride, node.axes[1].stride)
        if node.op == "maxpool":
            d = (node.axes[0].dilation, node.axes[1].dilation)
            return F.max_pool2d(ins[0], k, s, 0, d)
        return F.avg_pool2d(ins[0], k, s, 0)
    if node.op in ("pad", "reppad"):
        return ins[0]
    if n.op == "call_module":
        m = gm.get_submodule(str(n.target))
        if isinstance(m, nn.AdaptiveAvgPool2d | nn.AdaptiveMaxPool2d):
            return ins[0]  # output size == input size: the identity
        return m(ins[0])
    env = dict(zip(fx_ins, ins, strict=True))
    args = fx.node.map_arg(n.args, lambda a: env[a])
    kwargs = fx.node.map_arg(n.kwargs, lambda a: env[a])
    if n.op == "call_method":
        return getattr(args[0], str(n.target))(*args[1:], **kwargs)
    return n.target(*args, **kwargs)


def run_path(model: nn.Module, geom: FLGeometry, tau: int, grid: tuple[int, int], path: int,
             x: torch.Tensor, _fx: tuple | None = None) -> torch.Tensor:
    """Compute FL path ``path``'s tile of the fused layer from its crop of ``x`` only.

    Parameters
    ----------
    model : torch.nn.Module
        The model the geometry was extracted from (same parameters).
    geom : FLGeometry
    tau : int
        FL path length.
    grid : tuple of int
        ``(gh, gw)`` tiles of the fused layer.
    path : int
        Path number (row-major over the grid).
    x : Tensor
        The full input ``(1, C, H, W)``; only the path's crop is read.

    Returns
    -------
    Tensor
        The tile ``(1, C_tau, rows, cols)`` of the fused layer.
    """
    gm, fxn = _fx if _fx is not None else _fx_nodes(model)
    regions = path_regions(geom, tau, grid, path)
    end = geom.unit_ends[tau - 1]
    in_reg = regions[end]
    placeholder = next(n.name for n in gm.graph.nodes if n.op == "placeholder")
    names = {-1: placeholder, **{k: nd.name for k, nd in enumerate(geom.nodes)}}
    values: dict[str, tuple[torch.Tensor, tuple[int, int, int, int]]] = {
        placeholder: (_crop(x, (0, 0, 0, 0), in_reg), in_reg)}
    with torch.no_grad():
        _run_nodes(gm, fxn, geom, names, ((k, regions[k]) for k in range(end)), values, x)
    return values[names[geom.unit_outputs[tau - 1]]][0]


def _run_nodes(gm: Any, fxn: dict, geom: FLGeometry, names: dict[int, str],
               items: Any, values: dict[str, tuple[torch.Tensor, tuple[int, int, int, int]]],
               x: torch.Tensor) -> None:
    """Run the geometry's nodes ``k`` of ``items`` (pairs ``(k, output region)``) on the crops
    in ``values`` (name -> (tensor, its region)), adding each node's output crop to it; halo
    windows keep the model's padding at the image border (:func:`_window`)."""
    in_hw = (geom.input_shape[1], geom.input_shape[2])
    for k, out in items:
        node = geom.nodes[k]
        n = fxn[node.name]
        if out[1] <= out[0] or out[3] <= out[2]:  # nothing of this node is needed
            values[node.name] = (x.new_empty(x.shape[0], node.channels, max(out[1] - out[0], 0),
                                             max(out[3] - out[2], 0)), out)
            continue
        fx_ins = list(n.all_input_nodes)
        if node.axes is not None:
            t, have = values[names[node.preds[0]]]
            in_size = in_hw if node.preds[0] < 0 else geom.nodes[node.preds[0]].size
            fill = float("-inf") if node.op == "maxpool" else 0.0
            ins = [_window(t, have, node, out, in_size, fill)]
        else:
            ins = [_crop(*values[a.name], out) for a in fx_ins]
        values[node.name] = (_run_node(gm, n, node, ins, fx_ins), out)


def run_tile(model: nn.Module, geom: FLGeometry, u0: int, u1: int,
             region: tuple[int, int, int, int], x: torch.Tensor,
             x_region: tuple[int, int, int, int], _fx: tuple | None = None) -> torch.Tensor:
    """Compute the tile ``region`` of FL layer ``u1``'s output from a crop of FL layer ``u0``'s.

    The stage-graph form of :func:`run_path`: a fused-layer tile step of a plan runs FL layers
    ``u0 + 1 .. u1`` (``u0 = 0``: from the model input) on a crop only. ``x`` is the crop
    ``x_region`` (rows, columns; the halo included) of the tensor entering FL layer ``u0 + 1``;
    it must be the crop :func:`~splitinfer.graph.receptive.tile_regions` derives. Borders of the
    image keep the model's zero (or ``-inf``) padding; inner edges read the halo instead. The
    batch may hold several samples. Runs on the device of ``x`` and the model's parameters.

    Raises
    ------
    ValueError
        ``x_region`` is not the receptive field of ``region``, or ``x`` is not its size.

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, padding=1), torch.nn.ReLU(),
    ...                           torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(32, 3))
    >>> x = torch.randn(1, 1, 8, 8)
    >>> geom = extract_geometry(net, x, name="tiny")
    >>> _, crop = tile_regions(geom, 0, 2, (2, 4, 0, 2))
    >>> crop
    (3, 8, 0, 5)
    >>> t = run_tile(net, geom, 0, 2, (2, 4, 0, 2), x[:, :, 3:8, 0:5], crop)
    >>> torch.equal(t, reference_output(net, geom, 2, x)[:, :, 2:4, 0:2])
    True
    """
    gm, fxn = _fx if _fx is not None else _fx_nodes(model)
    regions, want = tile_regions(geom, u0, u1, region)
    if tuple(int(v) for v in x_region) != want:
        raise ValueError(f"tile {tuple(region)} of FL layer {u1} reads {want} of its input, "
                         f"got {tuple(x_region)}")
    if tuple(x.shape[2:]) != (want[1] - want[0], want[3] - want[2]):
        raise ValueError(f"crop {want} needs a tensor of {want[1] - want[0]}x"
                         f"{want[3] - want[2]}, got {tuple(x.shape[2:])}")
    start = geom.unit_ends[u0 - 1] if u0 > 0 else 0
    src = geom.unit_outputs[u0 - 1] if u0 > 0 else -1
    placeholder = next(n.name for n in gm.graph.nodes if n.op == "placeholder")
    names = {-1: placeholder, **{k: nd.name for k, nd in enumerate(geom.nodes)}}
    values: dict[str, tuple[torch.Tensor, tuple[int, int, int, int]]] = {names[src]: (x, want)}
    with torch.no_grad():
        _run_nodes(gm, fxn, geom, names,
                   zip(range(start, start + len(regions)), regions, strict=True), values, x)
    return values[names[geom.unit_outputs[u1 - 1]]][0]


def run_tiled(model: nn.Module, geom: FLGeometry, tau: int, grid: tuple[int, int],
              x: torch.Tensor) -> torch.Tensor:
    """Run every FL path on its own crop and stitch the tiles into the fused layer."""
    from splitinfer.graph.receptive import path_costs

    costs = path_costs(geom, tau, grid)
    fxs = _fx_nodes(model)
    fused = geom.nodes[geom.unit_outputs[tau - 1]]
    out = torch.empty(1, fused.channels, *fused.size, dtype=x.dtype)
    for p, (r0, r1, c0, c1) in enumerate(costs.tiles):
        out[:, :, r0:r1, c0:c1] = run_path(model, geom, tau, grid, p, x, _fx=fxs)
    return out


class _Capture(fx.Interpreter):
    def __init__(self, gm: fx.GraphModule, want: str) -> None:
        super().__init__(gm)
        self.want, self.value = want, None

    def run_node(self, n: fx.Node) -> Any:
        out = super().run_node(n)
        if n.name == self.want:
            self.value = out
        return out


def reference_output(model: nn.Module, geom: FLGeometry, tau: int, x: torch.Tensor) -> torch.Tensor:
    """The fused layer's tensor computed by the untiled model (the ground truth)."""
    gm, _ = _fx_nodes(model)
    cap = _Capture(gm, geom.nodes[geom.unit_outputs[tau - 1]].name)
    with torch.no_grad():
        cap.run(x)
    return cap.value


def measure_path_flops(model: nn.Module, geom: FLGeometry, tau: int, grid: tuple[int, int],
                       path: int, x: torch.Tensor) -> int:
    """FLOPs of executing one path, counted by :class:`torch.utils.flop_counter.FlopCounterMode`."""
    from torch.utils.flop_counter import FlopCounterMode

    fxs = _fx_nodes(model)
    with FlopCounterMode(display=False) as counter:
        run_path(model, geom, tau, grid, path, x, _fx=fxs)
    return int(counter.get_total_flops())


# ---------------------------------------------------------------------- shipped tables
#: Models whose FL geometry is shipped: name -> (input shape without batch).
SHIPPED: dict[str, tuple[int, int, int]] = {
    "alexnet": (3, 224, 224),
    "squeezenet1_0": (3, 224, 224),
    "vgg16": (3, 224, 224),
    "tiny-yolov2": (3, 416, 416),
}


def shipped_model(name: str) -> nn.Module:
    """The model behind a shipped geometry, built with ``weights=None``.

    ``splitinfer.models.get_model`` is used when it knows the name, else torchvision.
    """
    try:
        from splitinfer.models import get_model

        return get_model(name)
    except (ImportError, KeyError, ValueError):
        import torchvision

        return getattr(torchvision.models, name)(weights=None)


def write_shipped(names: Sequence[str] | None = None, folder: str | None = None) -> list[str]:
    """Extract and write the shipped geometries (``splitinfer/data/fused/<name>.json``)."""
    from pathlib import Path

    from splitinfer.data import data_path

    out = Path(folder) if folder else data_path("fused")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names or list(SHIPPED):
        torch.manual_seed(0)
        model = shipped_model(name)
        x = torch.zeros(1, *SHIPPED[name])
        src = f"splitinfer.graph.fused.extract_geometry, torch {torch.__version__}"
        geom = extract_geometry(model, x, name=name, source=src)
        geom.save(out / f"{name}.json")
        written.append(str(out / f"{name}.json"))
    return written


if __name__ == "__main__":  # pragma: no cover - regeneration entry point
    import sys

    for path in write_shipped(sys.argv[1:] or None):
        print(path)
