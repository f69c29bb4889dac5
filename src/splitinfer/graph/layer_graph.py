"""The :class:`LayerGraph`: a traced model as a DAG of layers, with its cut points and pieces.

Calling conventions of the pieces (all are :class:`torch.fx.GraphModule` objects that run the
original model's parameters):

* ``head, tail = graph.split(cut)``: ``tail(head(x)) == model(x)``. ``head`` takes the model's
  inputs and returns the one tensor crossing the cut; ``tail`` takes that tensor. At
  ``cuts[-1]`` the head is the whole model and the tail returns its argument; at ``cuts[0]`` the
  head returns the input. (For a model with several inputs, ``cuts[0]`` carries all of them: its
  head returns them as a tuple and its tail takes them as separate arguments,
  ``tail(*head(*inputs))``.)
* ``graph.segment(a, b)``: runs the nodes between cut ``a`` and cut ``b``; takes the tensor
  crossing ``a`` (the model's inputs when ``a`` is ``cuts[0]``) and returns the tensor crossing
  ``b`` (the model's output when ``b`` is ``cuts[-1]``). ``segment(c, d)(segment(b, c)(t))`` is
  ``segment(b, d)(t)``: this is how a three-tier device/edge/cloud plan runs.
* ``head, tail = graph.split_nodes(names)`` for a general DAG cut: ``head`` takes the model's
  inputs and always returns a tuple, the values listed by ``graph.crossing(names)`` in that
  order; ``tail`` takes them as positional arguments, ``tail(*head(*inputs)) == model(*inputs)``.
  When a node of the tail reads the model input itself, the input is one of the crossing values
  (it must be sent to the tail's machine too), so the head passes it on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from splitinfer.errors import unknown_name
from splitinfer.graph.cuts import closure_violation, crossing_of_head
from splitinfer.graph.errors import CutError
from splitinfer.graph.types import Cut, LayerNode

if TYPE_CHECKING:  # pragma: no cover
    import networkx as nx
    from torch import fx

__all__ = ["LayerGraph"]


class LayerGraph:
    """A model traced into layers: nodes in topological order, edges, totals and cut points.

    Build one with :func:`splitinfer.graph.trace`; see the module docstring for how the pieces
    returned by :meth:`split`, :meth:`segment` and :meth:`split_nodes` are called.

    Attributes
    ----------
    name : str
        Model name.
    input_shape : tuple of int
        Shape of the (first) example input, batch dimension included.
    dtype : str
        Element type of the example input, e.g. ``"float32"``.
    nodes : list of LayerNode
        One per leaf-module call or functional operation, in topological order.
    edges : list of tuple of int
        ``(producer, consumer)`` node indices; producer ``-1`` is the model input.
    cuts : list of Cut
        Single-tensor cut points in topological order; ``cuts[0]`` sends the raw input,
        ``cuts[-1]`` runs everything in the head.
    flops, macs, param_bytes, input_bytes, output_bytes : int
        Totals (FLOPs = 2 x MACs; bytes).
    module : torch.fx.GraphModule
        The traced model; shares its parameters with the original.
    """

    def __init__(
        self,
        *,
        name: str,
        module: fx.GraphModule,
        order: Sequence[fx.Node],
        placeholders: Sequence[fx.Node],
        output_arg: Any,
        nodes: list[LayerNode],
        consumers: dict[int, list[int]],
        outputs: Sequence[int],
        value_bytes: dict[int, int],
        cut_positions: Sequence[int],
        crossings: Sequence[tuple[int, ...]],
        input_shapes: Sequence[tuple[int, ...]],
        dtype: str,
    ) -> None:
        self.name = name
        self.module = module
        self.nodes = nodes
        self.input_shapes = tuple(tuple(s) for s in input_shapes)
        self.input_shape = self.input_shapes[0] if self.input_shapes else ()
        self.dtype = dtype
        self._order = list(order)
        self._placeholders = list(placeholders)
        self._output_arg = output_arg
        self._consumers = consumers
        self._outputs = tuple(outputs)
        self._value_bytes = value_bytes
        self._by_name = {node.name: node.index for node in nodes}
        self.edges = [(p, node.index) for node in nodes for p in node.preds]
        self.flops = sum(n.flops for n in nodes)
        self.macs = sum(n.macs for n in nodes)
        self.param_bytes = sum(n.param_bytes for n in nodes)
        self.input_bytes = sum(value_bytes[-(k + 1)] for k in range(len(self._placeholders)))
        self.output_bytes = sum(value_bytes[v] for v in set(self._outputs))
        prefix_flops = [0]
        for n in nodes:
            prefix_flops.append(prefix_flops[-1] + n.flops)
        self.cuts: list[Cut] = []
        for i, p in enumerate(cut_positions):
            values = crossings[p]
            if p == len(nodes):
                transfer = self.output_bytes
            elif p == 0:
                transfer = self.input_bytes
            else:
                transfer = sum(value_bytes[v] for v in values)
            self.cuts.append(
                Cut(
                    index=i,
                    after=nodes[p - 1].name if p > 0 else None,
                    position=p,
                    transfer_bytes=transfer,
                    head_flops=prefix_flops[p],
                    head_macs=prefix_flops[p] // 2,
                    head_nodes=frozenset(n.name for n in nodes[:p]),
                    crossing=tuple(self._value_name(v) for v in values),
                )
            )
        self._crossing_of_cut = [crossings[p] for p in cut_positions]

    # ------------------------------------------------------------------ lookups
    def __len__(self) -> int:
        return len(self.nodes)

    def __repr__(self) -> str:
        return (f"LayerGraph({self.name!r}, nodes={len(self.nodes)}, cuts={len(self.cuts)}, "
                f"flops={self.flops}, input_shape={self.input_shape})")

    def node(self, name: str) -> LayerNode:
        """Return the node called ``name`` (raises :class:`~splitinfer.errors.UnknownNameError`)."""
        try:
            return self.nodes[self._by_name[name]]
        except KeyError:
            raise unknown_name("node", name, list(self._by_name)) from None

    def _value_name(self, v: int) -> str:
        return self._order[v].name if v >= 0 else self._placeholders[-v - 1].name

    def _value_node(self, v: int) -> fx.Node:
        return self._order[v] if v >= 0 else self._placeholders[-v - 1]

    def _cut(self, cut: Cut | int) -> Cut:
        if isinstance(cut, Cut):
            if cut.index >= len(self.cuts) or self.cuts[cut.index] != cut:
                raise CutError(f"{cut!r} is not a cut of graph {self.name!r}")
            return cut
        if isinstance(cut, int) and not isinstance(cut, bool):
            if not -len(self.cuts) <= cut < len(self.cuts):
                raise CutError(f"cut index {cut} out of range: graph {self.name!r} has "
                               f"{len(self.cuts)} cuts")
            return self.cuts[cut]
        raise TypeError(f"expected a Cut or an int, got {type(cut).__name__}")

    def _head_indices(self, head: Iterable[str | int]) -> set[int]:
        indices = set()
        for item in head:
            if isinstance(item, str):
                if item not in self._by_name:
                    raise unknown_name("node", item, list(self._by_name))
                indices.add(self._by_name[item])
            elif isinstance(item, int) and 0 <= item < len(self.nodes):
                indices.add(item)
            else:
                raise CutError(f"{item!r} is not a node name or index of graph {self.name!r}")
        bad = closure_violation(indices, [n.preds for n in self.nodes])
        if bad is not None:
            node, pred = self.nodes[bad[0]].name, self.nodes[bad[1]].name
            raise CutError(f"head set is not closed under predecessors: {node!r} is in the head "
                           f"but its input {pred!r} is not")
        return indices

    # ------------------------------------------------------------------ pieces
    def segment(self, a: Cut | int, b: Cut | int) -> fx.GraphModule:
        """Return the piece that runs from cut ``a`` to cut ``b`` (see the module docstring).

        Parameters
        ----------
        a, b : Cut or int
            Cuts of this graph (or their indices) with ``a.position <= b.position``.

        Returns
        -------
        torch.fx.GraphModule
        """
        from splitinfer.graph.build import build_piece, identity_piece

        ca, cb = self._cut(a), self._cut(b)
        if ca.position > cb.position:
            raise CutError(f"segment needs a.position <= b.position, got {ca.position} > {cb.position}")
        last = len(self.cuts) - 1
        label = f"{_ident(self.name)}_{ca.index}_{cb.index}"
        if ca.index == last:
            return identity_piece(self.module, "output", class_name=f"Segment_{label}")
        body = self._order[ca.position:cb.position]
        if ca.index == 0:
            inputs, copy = self._placeholders, True
        else:
            inputs, copy = [self._value_node(v) for v in self._crossing_of_cut[ca.index]], False
        if cb.index == last:
            output = self._output_arg
        else:
            values = [self._value_node(v) for v in self._crossing_of_cut[cb.index]]
            output = values[0] if len(values) == 1 else tuple(values)
        return build_piece(self.module, body, inputs, output, copy_placeholders=copy,
                           class_name=f"Segment_{label}")

    def split(self, cut: Cut | int) -> tuple[fx.GraphModule, fx.GraphModule]:
        """Split at a single-tensor cut: ``tail(head(x)) == model(x)``.

        Parameters
        ----------
        cut : Cut or int
            One of :attr:`cuts` or its index (negative indices count from the end).

        Returns
        -------
        head, tail : torch.fx.GraphModule
        """
        c = self._cut(cut)
        return self.segment(0, c), self.segment(c, len(self.cuts) - 1)

    def crossing(self, head: Iterable[str | int]) -> list[str]:
        """Names of the values crossing a general cut, in the order the head returns them.

        The model input's placeholder name appears when a tail node reads the input.
        """
        idx = self._head_indices(head)
        return [self._value_name(v) for v in crossing_of_head(idx, self._consumers, self._outputs)]

    def crossing_bytes(self, head: Iterable[str | int]) -> int:
        """Bytes of the tensors crossing the general cut whose head is the node set ``head``.

        ``head`` must be closed under predecessors. Non-tensor values (shapes, numbers) that
        cross are counted as 0 bytes.
        """
        idx = self._head_indices(head)
        return sum(self._value_bytes[v] for v in crossing_of_head(idx, self._consumers, self._outputs))

    def split_nodes(self, head: Iterable[str | int]) -> tuple[fx.GraphModule, fx.GraphModule]:
        """Split at a general DAG cut given by the head's node names.

        Parameters
        ----------
        head : iterable of str (or int indices)
            Nodes run by the head; must be closed under predecessors.

        Returns
        -------
        head, tail : torch.fx.GraphModule
            ``head(*inputs)`` returns a tuple of the values named by :meth:`crossing`;
            ``tail(*head(*inputs)) == model(*inputs)``.
        """
        from splitinfer.graph.build import build_piece

        idx = self._head_indices(head)
        values = [self._value_node(v) for v in crossing_of_head(idx, self._consumers, self._outputs)]
        body_head = [self._order[i] for i in sorted(idx)]
        body_tail = [self._order[i] for i in range(len(self._order)) if i not in idx]
        label = _ident(self.name)
        head_gm = build_piece(self.module, body_head, self._placeholders, tuple(values),
                              copy_placeholders=True, class_name=f"Head_{label}")
        tail_gm = build_piece(self.module, body_tail, values, self._output_arg,
                              class_name=f"Tail_{label}")
        return head_gm, tail_gm

    # ------------------------------------------------------------------ export
    def to_networkx(self) -> nx.DiGraph:
        """The graph as a :class:`networkx.DiGraph`.

        Nodes are the indices ``0 .. n-1`` (attributes: every :class:`LayerNode` field) and
        ``-1`` for the model input (``op="input"``, ``out_bytes=input_bytes``). Each edge carries
        ``bytes``, the producer's ``out_bytes``. Graph attributes: ``name``, ``output`` (the
        indices whose values the model returns).
        """
        from dataclasses import asdict

        import networkx as nx

        g = nx.DiGraph(name=self.name, output=[v for v in self._outputs if v >= 0])
        g.add_node(-1, name="input", op="input", target="", flops=0, macs=0,
                   out_bytes=self.input_bytes, param_bytes=0, out_shape=self.input_shape)
        for node in self.nodes:
            g.add_node(node.index, **asdict(node))
        for u, v in self.edges:
            g.add_edge(u, v, bytes=g.nodes[u]["out_bytes"])
        return g


def _ident(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name) or "model"
