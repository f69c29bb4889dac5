"""Trace an ``nn.Module`` into a :class:`~splitinfer.graph.LayerGraph`.

Steps:

1. ``torch.fx`` symbolic tracing with :class:`~splitinfer.graph.fx_tracer.LayerTracer` (leaf
   modules: those of ``torch.nn`` plus classes marked ``splitinfer_leaf``).
2. Shape and FLOP propagation (:func:`~splitinfer.graph.propagate.propagate`): the example input
   runs through the graph node by node under one ``FlopCounterMode``, so ``graph.flops`` equals
   the counter's total for the whole model.
3. Nodes: every ``call_module``, ``call_function`` and ``call_method`` node (placeholders,
   ``get_attr`` and the output are not nodes; parameters read through ``get_attr`` are charged to
   the node that reads them). The order is the fx order, with nodes that do not depend on the
   input moved to just before their first use (see :mod:`splitinfer.graph.cuts`).
4. Cuts: the positions of that order where exactly one tensor crosses.

The model is switched to eval mode: a traced graph fixes the ``self.training`` branches, and the
project splits models for inference.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import fx

from splitinfer.graph.cuts import crossing_at_positions, delay_input_free, single_tensor_positions
from splitinfer.graph.errors import TraceError
from splitinfer.graph.fx_tracer import symbolic_trace
from splitinfer.graph.layer_graph import LayerGraph
from splitinfer.graph.propagate import CALL_OPS, NodeFailure, propagate, tensor_bytes
from splitinfer.graph.types import LayerNode

__all__ = ["trace"]


def trace(
    model: torch.nn.Module,
    example_input: torch.Tensor | Sequence[torch.Tensor],
    name: str | None = None,
) -> LayerGraph:
    """Trace ``model`` on ``example_input`` into a :class:`LayerGraph`.

    Parameters
    ----------
    model : torch.nn.Module
        The model; it is put in eval mode. Its parameters are shared with the graph's pieces.
    example_input : Tensor or tuple of Tensor
        One batch of input (several tensors for a model with several positional inputs). The
        graph's shapes, bytes and FLOPs are those of this batch.
    name : str, optional
        Model name; defaults to ``model.splitinfer_name`` (set by
        :func:`splitinfer.models.get_model`) or the class name.

    Returns
    -------
    LayerGraph

    Raises
    ------
    TraceError
        When ``torch.fx`` cannot trace the model (naming the module and the reason), or when the
        example input does not fit the model (naming the layer, the shape it got and the shape
        it expects).

    Examples
    --------
    >>> import torch, torch.nn as nn
    >>> model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 6 * 6, 10))
    >>> g = trace(model, torch.randn(1, 3, 8, 8), name="toy")
    >>> [n.op for n in g.nodes]
    ['Conv2d', 'ReLU', 'Flatten', 'Linear']
    >>> [c.position for c in g.cuts], g.cuts[0].transfer_bytes, g.cuts[-1].transfer_bytes
    ([0, 1, 2, 3, 4], 768, 40)
    >>> g.flops == 2 * (8 * 6 * 6 * 3 * 9 + 288 * 10)
    True
    >>> head, tail = g.split(2)
    >>> x = torch.randn(1, 3, 8, 8)
    >>> torch.equal(tail(head(x)), model(x))
    True
    """
    inputs = _as_inputs(example_input)
    label = name or getattr(model, "splitinfer_name", None) or type(model).__name__
    model.eval()
    gm = symbolic_trace(model, label)
    placeholders = _used_placeholders(gm, label, inputs)
    try:
        meta, _ = propagate(gm, inputs)
    except NodeFailure as failure:
        raise TraceError(_shape_message(label, model, gm, failure, inputs)) from failure.error

    ph_id = {p: -(k + 1) for k, p in enumerate(placeholders)}
    order = _layer_order([n for n in gm.graph.nodes if n.op in CALL_OPS], ph_id)
    vid = {**{n: i for i, n in enumerate(order)}, **ph_id}
    nodes, consumers = _layer_nodes(gm, order, vid, meta)
    value_bytes = {ph_id[p]: tensor_bytes(t) for p, t in zip(placeholders, inputs, strict=True)}
    value_bytes.update({i: meta[n].out_bytes for i, n in enumerate(order)})
    output_node = next(n for n in gm.graph.nodes if n.op == "output")
    outputs = [vid[a] for a in output_node.all_input_nodes if a in vid]
    crossings = crossing_at_positions(len(order), consumers, outputs)
    positions = single_tensor_positions(crossings, lambda v: v < 0 or meta[order[v]].is_tensor)
    return LayerGraph(
        name=label,
        module=gm,
        order=order,
        placeholders=placeholders,
        output_arg=output_node.args[0],
        nodes=nodes,
        consumers=consumers,
        outputs=outputs,
        value_bytes=value_bytes,
        cut_positions=positions,
        crossings=crossings,
        input_shapes=[tuple(t.shape) for t in inputs],
        dtype=str(inputs[0].dtype).removeprefix("torch."),
    )


def _as_inputs(example_input: torch.Tensor | Sequence[torch.Tensor]) -> tuple[torch.Tensor, ...]:
    """The example input as a tuple of tensors (one per positional input of the model)."""
    if isinstance(example_input, torch.Tensor):
        return (example_input,)
    if isinstance(example_input, list | tuple) and all(isinstance(t, torch.Tensor) for t in example_input):
        return tuple(example_input)
    raise TypeError("example_input must be a Tensor or a tuple of Tensors, got "
                    f"{type(example_input).__name__}")


def _used_placeholders(gm: fx.GraphModule, label: str, inputs: tuple[torch.Tensor, ...]
                       ) -> list[fx.Node]:
    """The placeholders the inputs fill (those with defaults may be left out)."""
    placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
    required = [p for p in placeholders if not p.args]  # args hold a default value
    if not len(required) <= len(inputs) <= len(placeholders):
        raise TraceError(f"model {label!r} takes {len(required)} input(s) "
                         f"({', '.join(p.name for p in placeholders)}), got {len(inputs)}")
    return placeholders[: len(inputs)]


def _layer_order(calls: list[fx.Node], ph_id: dict[fx.Node, int]) -> list[fx.Node]:
    """The call nodes in fx order, with those that do not depend on the input moved to just
    before their first use (:func:`~splitinfer.graph.cuts.delay_input_free`)."""
    fx_index = {n: i for i, n in enumerate(calls)}

    def producers(n: fx.Node) -> list[int]:
        out: list[int] = []
        for a in n.all_input_nodes:
            v = fx_index.get(a, ph_id.get(a))
            if v is not None and v not in out:
                out.append(v)
        return out

    old_preds = [producers(n) for n in calls]
    depends: list[bool] = []
    for ps in old_preds:
        depends.append(any(p < 0 or depends[p] for p in ps))
    return [calls[i] for i in delay_input_free(old_preds, depends)]


def _layer_nodes(gm: fx.GraphModule, order: list[fx.Node], vid: dict[fx.Node, int], meta: dict
                 ) -> tuple[list[LayerNode], dict[int, list[int]]]:
    """One :class:`LayerNode` per call node of ``order``, and the readers of every value
    (``vid``: node -> value id, placeholders negative)."""
    nodes: list[LayerNode] = []
    consumers: dict[int, list[int]] = {v: [] for v in vid.values() if v < 0}
    for i, n in enumerate(order):
        m = meta[n]
        preds = []
        for a in n.all_input_nodes:
            if a in vid:
                v = vid[a]
                consumers[v].append(i)
                p = v if v >= 0 else -1
                if p not in preds:
                    preds.append(p)
        consumers.setdefault(i, [])
        nodes.append(
            LayerNode(
                index=i,
                name=n.name,
                op=_op_name(gm, n),
                target=_target_name(n),
                flops=m.flops,
                macs=m.flops // 2,
                out_bytes=m.out_bytes,
                param_bytes=m.param_bytes,
                out_shape=m.out_shapes[0] if m.is_tensor else (),
                preds=tuple(preds),
                out_shapes=m.out_shapes,
                out_is_tensor=m.is_tensor,
            )
        )
    return nodes, consumers


def _op_name(gm: fx.GraphModule, n: fx.Node) -> str:
    if n.op == "call_module":
        return type(gm.get_submodule(n.target)).__name__
    if n.op == "call_method":
        return str(n.target)
    return getattr(n.target, "__name__", str(n.target)).strip("_")


def _target_name(n: fx.Node) -> str:
    if n.op == "call_function":
        return fx.node._get_qualified_name(n.target)
    return str(n.target)


def _expectation(module: torch.nn.Module) -> str:
    """What input a leaf module expects, when its type (or ``expected_input_shape``) tells."""
    declared = getattr(module, "expected_input_shape", None)
    if declared is not None:
        return f"{type(module).__name__} expects (N, {', '.join(map(str, declared))})"
    conv = (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d)
    if isinstance(module, conv):
        dims = ", ".join("DHW"[3 - module.weight.dim() + 2:])
        return f"{type(module).__name__} expects (N, {module.in_channels}, {dims})"
    if isinstance(module, torch.nn.Linear):
        return f"Linear expects (..., {module.in_features})"
    if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
        return f"{type(module).__name__} expects {module.num_features} channels"
    if isinstance(module, torch.nn.LayerNorm):
        return f"LayerNorm expects (..., {', '.join(map(str, module.normalized_shape))})"
    return ""


def _shape_message(label: str, model: torch.nn.Module, gm: fx.GraphModule, failure: NodeFailure,
                   inputs: tuple[torch.Tensor, ...]) -> str:
    n = failure.node
    where = f"node {n.name!r} ({_op_name(gm, n)} {_target_name(n)})"
    got = ", ".join(str(tuple(s)) for s in failure.in_shapes) or "no tensors"
    parts = [f"model {label!r} cannot run on an input of shape "
             f"{', '.join(str(tuple(t.shape)) for t in inputs)}: {where} got {got}"]
    if n.op == "call_module":
        expect = _expectation(gm.get_submodule(n.target))
        if expect:
            parts.append(expect)
    default = getattr(model, "splitinfer_input_shape", None)
    if default is not None:
        parts.append(f"the model's default input shape is (N, {', '.join(map(str, default))})")
    reason = str(failure.error).strip().splitlines()
    parts.append(f"{type(failure.error).__name__}: {reason[0] if reason else ''}")
    return "; ".join(parts)
