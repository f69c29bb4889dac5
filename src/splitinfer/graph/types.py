"""The plain records of a traced model: :class:`LayerNode` (one layer call) and :class:`Cut`.

Both are frozen dataclasses without torch in them, so planners and profile files can hold them
without importing torch.

Units: ``flops`` are floating-point operations as counted by :mod:`torch.utils.flop_counter`
(one multiply-accumulate = 2 FLOPs); ``macs`` = ``flops // 2``; every ``*_bytes`` is bytes.

Examples
--------
>>> node = LayerNode(index=0, name="conv1", op="Conv2d", target="conv1", flops=20, macs=10,
...                  out_bytes=64, param_bytes=40, out_shape=(1, 4, 2, 2), preds=(-1,))
>>> node.preds
(-1,)
>>> cut = Cut(index=1, after="conv1", position=1, transfer_bytes=64, head_flops=20,
...           head_macs=10, head_nodes=frozenset({"conv1"}), crossing=("conv1",))
>>> cut.position, "conv1" in cut.head_nodes
(1, True)
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["LayerNode", "Cut"]


@dataclass(frozen=True)
class LayerNode:
    """One call of a leaf module or one functional/method operation in a traced model.

    Parameters
    ----------
    index : int
        Position in :attr:`LayerGraph.nodes` (a topological order).
    name : str
        The ``torch.fx`` node name (unique in the graph).
    op : str
        What the node does: the module class for module calls (``"Conv2d"``), the function or
        method name otherwise (``"relu"``, ``"add"``, ``"cat"``, ``"flatten"``, ``"getitem"``).
    target : str
        The module path inside the model (``"layer1.0.conv1"``) or the qualified function name
        (``"torch.flatten"``, ``"operator.add"``) or the method name (``"view"``).
    flops : int
        FLOPs counted by ``torch.utils.flop_counter.FlopCounterMode`` while the node ran (torch
        counts 2 x MACs for convolution, matmul/linear and attention; it does not count
        element-wise operations, pooling or normalisation, which therefore show 0).
    macs : int
        ``flops // 2``: every operation torch counts is a multiply-accumulate.
    out_bytes : int
        Bytes of the tensors the node produces (summed when it produces several, 0 for
        non-tensor results such as shapes).
    param_bytes : int
        Bytes of the parameters and buffers the node reads (module state such as weights and
        BatchNorm running statistics, or tensors read with ``get_attr``); a tensor shared by
        several nodes is counted once, at the first node that reads it.
    out_shape : tuple of int
        Shape of the output tensor; ``()`` when the node produces no tensor or several (see
        ``out_shapes``).
    preds : tuple of int
        Indices of the producer nodes in topological order; ``-1`` stands for the model input.
    out_shapes : tuple of tuple of int
        The shapes of all output tensors, in order (one entry per tensor).
    out_is_tensor : bool
        Whether the node produces exactly one tensor (only such values can be single-tensor
        cuts).
    """

    index: int
    name: str
    op: str
    target: str
    flops: int
    macs: int
    out_bytes: int
    param_bytes: int
    out_shape: tuple[int, ...]
    preds: tuple[int, ...]
    out_shapes: tuple[tuple[int, ...], ...] = ()
    out_is_tensor: bool = True


@dataclass(frozen=True)
class Cut:
    """A point where the model can be split so that exactly one tensor crosses.

    Parameters
    ----------
    index : int
        Position in :attr:`LayerGraph.cuts`.
    after : str or None
        Name of the last node of the head; ``None`` for ``cuts[0]`` (the head is empty and the
        raw input is sent).
    position : int
        Number of nodes in the head: ``head = graph.nodes[:position]``.
    transfer_bytes : int
        Bytes of the one tensor that crosses (the input for ``cuts[0]``, the output for
        ``cuts[-1]``).
    head_flops, head_macs : int
        FLOPs and MACs of the head; the tail has ``graph.flops - head_flops``.
    head_nodes : frozenset of str
        Names of the head's nodes.
    crossing : tuple of str
        Names of the values that cross: one fx node name (or the input's placeholder name); the
        boundary cuts of a model with several inputs or outputs list all of them.
    """

    index: int
    after: str | None
    position: int
    transfer_bytes: int
    head_flops: int
    head_macs: int
    head_nodes: frozenset[str] = field(repr=False)
    crossing: tuple[str, ...] = ()
