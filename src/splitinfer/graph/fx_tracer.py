"""The ``torch.fx`` tracer (leaf rules of the project) used by :func:`splitinfer.graph.trace`.

Leaf modules are those ``torch.fx`` treats as leaves by default (modules of ``torch.nn`` other
than containers) plus any module class with a true class attribute ``splitinfer_leaf`` (the
project's own layers, such as the locally connected layer of DeepFace, so that each shows as one
node). Everything else is traced through, down to its leaf modules and functional operations.

The tracer remembers which module it was inside when tracing failed, so the error can name it.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import fx

from splitinfer.graph.errors import TraceError

__all__ = ["LayerTracer", "symbolic_trace"]


class LayerTracer(fx.Tracer):
    """A :class:`torch.fx.Tracer` that records the module path being traced.

    Examples
    --------
    >>> import torch.nn as nn
    >>> gm = symbolic_trace(nn.Sequential(nn.Linear(2, 3), nn.ReLU()))
    >>> [n.op for n in gm.graph.nodes]
    ['placeholder', 'call_module', 'call_module', 'output']
    """

    def __init__(self) -> None:
        super().__init__()
        self._stack: list[tuple[str, str]] = []
        self.failed_in: tuple[str, str] | None = None

    def is_leaf_module(self, m: torch.nn.Module, module_qualified_name: str) -> bool:  # noqa: D102
        if getattr(type(m), "splitinfer_leaf", False):
            return True
        return super().is_leaf_module(m, module_qualified_name)

    def call_module(self, m: torch.nn.Module, forward: Any, args: Any, kwargs: Any) -> Any:  # noqa: D102
        try:
            path = self.path_of_module(m)
        except NameError:
            path = "?"
        self._stack.append((path or "<root>", type(m).__name__))
        try:
            return super().call_module(m, forward, args, kwargs)
        except Exception:
            if self.failed_in is None:
                self.failed_in = self._stack[-1]
            raise
        finally:
            self._stack.pop()


def symbolic_trace(model: torch.nn.Module, name: str | None = None) -> fx.GraphModule:
    """Trace ``model`` with :class:`LayerTracer` into a GraphModule sharing its parameters.

    Raises
    ------
    TraceError
        When ``torch.fx`` cannot trace the model; the message names the module that failed
        (path and class) and the reason.
    """
    tracer = LayerTracer()
    label = name or type(model).__name__
    try:
        graph = tracer.trace(model)
    except Exception as exc:
        path, cls = tracer.failed_in or ("<root>", type(model).__name__)
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        hint = ""
        if "control flow" in reason or "iterate" in reason or "bool" in reason.lower():
            hint = (" (torch.fx cannot follow Python control flow that depends on tensor values;"
                    " rewrite it with tensor operations, or mark the module as a leaf by giving"
                    " its class `splitinfer_leaf = True`)")
        raise TraceError(
            f"cannot trace model {label!r}: module {path!r} ({cls}) failed: "
            f"{type(exc).__name__}: {reason}{hint}"
        ) from exc
    return fx.GraphModule(tracer.root, graph, class_name=type(model).__name__)
