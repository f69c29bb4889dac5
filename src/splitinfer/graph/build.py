"""Build runnable pieces of a traced model as :class:`torch.fx.GraphModule` objects.

A piece copies a run of nodes of the traced graph into a new graph. The new ``GraphModule`` is
built with the traced module as its root, so its submodules and parameters are the original
model's own objects (no copies): a piece runs exactly the original weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import fx

__all__ = ["build_piece", "identity_piece"]


def build_piece(
    root: fx.GraphModule,
    body: Sequence[fx.Node],
    inputs: Sequence[fx.Node],
    output: Any,
    *,
    copy_placeholders: bool = False,
    class_name: str = "Piece",
) -> fx.GraphModule:
    """Copy ``body`` (nodes of ``root.graph``, in a topological order) into a new GraphModule.

    Parameters
    ----------
    root : torch.fx.GraphModule
        The traced model.
    body : sequence of torch.fx.Node
        The nodes to run, in order.
    inputs : sequence of torch.fx.Node
        Values the piece receives, in argument order: each becomes a placeholder of the same
        name. With ``copy_placeholders`` they must be the model's own placeholders, copied as
        they are (the piece then has the model's signature).
    output : node or nested tuple/list/dict of nodes
        What the piece returns, in terms of original nodes.
    copy_placeholders : bool
        See ``inputs``.
    class_name : str
        Name of the generated class (shows in ``print(piece)``).

    Returns
    -------
    torch.fx.GraphModule
    """
    graph = fx.Graph()
    env: dict[fx.Node, fx.Node] = {}
    for value in inputs:
        env[value] = graph.node_copy(value) if copy_placeholders else graph.placeholder(value.name)

    def lookup(node: fx.Node) -> fx.Node:
        if node in env:
            return env[node]
        if node.op == "get_attr":  # parameters and buffers are available to every piece
            env[node] = graph.get_attr(node.target)
            return env[node]
        raise RuntimeError(f"internal error: value {node.name!r} is not available to this piece")

    for node in body:
        env[node] = graph.node_copy(node, lookup)
    graph.output(fx.node.map_arg(output, lookup))
    graph.lint()
    return fx.GraphModule(root, graph, class_name=class_name)


def identity_piece(root: fx.GraphModule, name: str = "x", class_name: str = "Identity") -> fx.GraphModule:
    """A GraphModule that returns its one argument unchanged (the tail of the last cut)."""
    graph = fx.Graph()
    graph.output(graph.placeholder(name))
    return fx.GraphModule(root, graph, class_name=class_name)
