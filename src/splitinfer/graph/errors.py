"""Errors raised while tracing a model into a :class:`~splitinfer.graph.LayerGraph`.

Examples
--------
>>> from splitinfer.errors import SplitInferError
>>> issubclass(TraceError, SplitInferError) and issubclass(TraceError, ValueError)
True
"""

from __future__ import annotations

from splitinfer.errors import SplitInferError

__all__ = ["TraceError", "CutError"]


class TraceError(SplitInferError, ValueError):
    """A model that cannot be traced, or an example input it cannot run on.

    The message names the module (its path inside the model and its class) or the graph node
    that failed, and the reason: data-dependent Python control flow that ``torch.fx`` cannot
    follow, or a tensor of the wrong shape reaching a layer.
    """


class CutError(SplitInferError, ValueError):
    """A cut that does not fit the graph: a head set not closed under predecessors, a cut from
    another graph, or segment bounds in the wrong order."""
