"""Run a traced model node by node, recording each node's FLOPs, output sizes and state bytes.

One :class:`torch.utils.flop_counter.FlopCounterMode` is active for the whole run; the FLOPs of
a node are the counter's growth while that node ran, so the per-node numbers add up exactly to
what the counter reports for the whole model. Values are computed with the real example input
(real tensors, not ``meta``), under ``torch.no_grad()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import fx
from torch.utils._pytree import tree_leaves
from torch.utils.flop_counter import FlopCounterMode

__all__ = ["NodeMeta", "NodeFailure", "propagate", "tensor_bytes", "CALL_OPS"]

CALL_OPS = ("call_module", "call_function", "call_method")


@dataclass(frozen=True)
class NodeMeta:
    """What running one node produced."""

    flops: int
    out_bytes: int
    out_shapes: tuple[tuple[int, ...], ...]
    is_tensor: bool
    param_bytes: int
    in_shapes: tuple[tuple[int, ...], ...]


class NodeFailure(Exception):
    """A node raised while running; carries the node, its input shapes and the error."""

    def __init__(self, node: fx.Node, in_shapes: tuple[tuple[int, ...], ...], error: Exception):
        super().__init__(str(error))
        self.node = node
        self.in_shapes = in_shapes
        self.error = error


def tensor_bytes(value: Any) -> int:
    """Bytes of all tensors in a (possibly nested) value.

    Examples
    --------
    >>> tensor_bytes((torch.zeros(2, 3), 7, [torch.zeros(4, dtype=torch.float16)]))
    32
    """
    return sum(t.numel() * t.element_size() for t in tree_leaves(value) if isinstance(t, torch.Tensor))


def _shapes(value: Any) -> tuple[tuple[int, ...], ...]:
    return tuple(tuple(t.shape) for t in tree_leaves(value) if isinstance(t, torch.Tensor))


class _Propagator(fx.Interpreter):
    def __init__(self, gm: fx.GraphModule, counter: FlopCounterMode):
        super().__init__(gm, garbage_collect_values=True)
        self.counter = counter
        self.meta: dict[fx.Node, NodeMeta] = {}
        self._seen_state: set[int] = set()

    def _state_bytes(self, node: fx.Node) -> int:
        tensors: list[torch.Tensor] = []
        if node.op == "call_module":
            module = self.fetch_attr(node.target)
            tensors.extend(module.parameters())
            tensors.extend(module.buffers())
        for arg in node.all_input_nodes:
            if arg.op == "get_attr":
                value = self.fetch_attr(arg.target)
                if isinstance(value, torch.Tensor):
                    tensors.append(value)
        total = 0
        for t in tensors:
            if id(t) not in self._seen_state:
                self._seen_state.add(id(t))
                total += t.numel() * t.element_size()
        return total

    def run_node(self, n: fx.Node) -> Any:
        if n.op not in CALL_OPS:
            return super().run_node(n)
        args, kwargs = self.fetch_args_kwargs_from_env(n)
        in_shapes = _shapes((args, kwargs))
        before = self.counter.get_total_flops()
        try:
            out = getattr(self, n.op)(n.target, args, kwargs)
        except Exception as exc:
            raise NodeFailure(n, in_shapes, exc) from exc
        flops = int(self.counter.get_total_flops() - before)
        is_tensor = isinstance(out, torch.Tensor)
        self.meta[n] = NodeMeta(
            flops=flops,
            out_bytes=tensor_bytes(out),
            out_shapes=_shapes(out),
            is_tensor=is_tensor,
            param_bytes=self._state_bytes(n),
            in_shapes=in_shapes,
        )
        return out


def propagate(gm: fx.GraphModule, inputs: tuple[torch.Tensor, ...]) -> tuple[dict[fx.Node, NodeMeta], Any]:
    """Run ``gm`` on ``inputs``; return per-node metadata and the model output.

    Raises
    ------
    NodeFailure
        When a node raises (typically a shape mismatch).
    """
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        prop = _Propagator(gm, counter)
        out = prop.run(*inputs)
    return prop.meta, out
