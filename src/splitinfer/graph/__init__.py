"""Layer graphs of PyTorch models: tracing, cut points and runnable pieces.

``trace(model, example_input)`` turns any ``torch.fx``-traceable ``nn.Module`` into a
:class:`LayerGraph`: nodes (one per leaf-module call or functional operation, with FLOPs, MACs,
output and parameter bytes), edges, single-tensor :class:`Cut` points in topological order, and
methods that build the pieces of a split as ``torch.fx.GraphModule`` objects running the
original parameters (``split``, ``segment``, ``split_nodes``). See ``docs/graph.md``.

The records (:class:`LayerNode`, :class:`Cut`) and the cut algorithms
(:mod:`splitinfer.graph.cuts`) do not need torch; ``trace`` and the pieces do, and torch is
imported when they are first used.

Examples
--------
>>> from splitinfer.graph import Cut, LayerNode   # no torch needed for the records
>>> Cut.__dataclass_fields__["transfer_bytes"].type
'int'
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from splitinfer.graph.errors import CutError, TraceError
from splitinfer.graph.types import Cut, LayerNode

if TYPE_CHECKING:  # pragma: no cover
    from splitinfer.graph.layer_graph import LayerGraph
    from splitinfer.graph.trace_model import trace

__all__ = ["trace", "LayerGraph", "LayerNode", "Cut", "TraceError", "CutError"]

_LAZY = {"trace": "splitinfer.graph.trace_model", "LayerGraph": "splitinfer.graph.layer_graph"}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'splitinfer.graph' has no attribute {name!r}")
