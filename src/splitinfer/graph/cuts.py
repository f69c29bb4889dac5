"""Cut points of a layer DAG: which values cross a split, on plain integer indices (no torch).

A model traced into ``n`` nodes in a topological order has ``n + 1`` positions ``p = 0 .. n``;
position ``p`` splits it into a head ``nodes[:p]`` and a tail ``nodes[p:]``. A *value* is the
output of a node (ids ``0 .. n-1``) or one model input (ids ``-1, -2, ...``: input ``k`` has id
``-(k + 1)``). A value *crosses* position ``p`` when it is produced in the head (inputs always
are) and consumed by the tail or returned as the model output. A position is a single-tensor
cut when exactly one value crosses it and that value is one tensor (values such as shapes or
Python numbers never form a cut on their own, because the tail would need them too).

Topological order
-----------------
The cuts that a *prefix* head can realise depend on the topological order. We keep the order
``torch.fx`` records (the order of the model's ``forward`` code), which already runs a block's
branches between the block's input and its merge, and change one thing
(:func:`delay_input_free`): nodes that do not depend on the model input (constant subgraphs
such as a relative-position bias computed from a parameter table) move to just before their
first consumer, so that a constant computed early and used late does not cross, and kill,
every cut in between.

Duplicate positions
-------------------
Several consecutive positions can have the same single crossing tensor when the nodes between
them produce nothing that crosses (shape checks such as ``torch._assert``). They give the
same transfer and the same compute, so :func:`single_tensor_positions` keeps one of them: the
first, except for the value crossing the last position, for which it keeps ``n`` (the whole
model in the head). Positions ``0`` and ``n`` are always cuts, even when several inputs or
outputs cross them.

Examples
--------
A chain ``input -> 0 -> 1 -> 2`` with a skip ``0 -> 2``:

>>> consumers = {-1: [0], 0: [1, 2], 1: [2], 2: []}
>>> cross = crossing_at_positions(3, consumers, outputs=[2])
>>> cross
[(-1,), (0,), (0, 1), (2,)]
>>> single_tensor_positions(cross, is_tensor=lambda v: True)
[0, 1, 3]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

__all__ = [
    "crossing_at_positions",
    "single_tensor_positions",
    "crossing_of_head",
    "closure_violation",
    "delay_input_free",
]


def crossing_at_positions(
    n: int, consumers: Mapping[int, Iterable[int]], outputs: Iterable[int]
) -> list[tuple[int, ...]]:
    """Return, for every position ``p = 0 .. n``, the values crossing it (sorted ids).

    Parameters
    ----------
    n : int
        Number of nodes.
    consumers : mapping of int to iterable of int
        For each value id (nodes ``0 .. n-1``, inputs ``-1, -2, ...``) the indices of the nodes
        that read it.
    outputs : iterable of int
        The value ids returned by the model (they cross every position after they are made).

    Returns
    -------
    list of tuple of int
        ``n + 1`` tuples, each sorted as inputs first (``-1, -2, ...``), then nodes.

    Examples
    --------
    >>> crossing_at_positions(2, {-1: [0, 1], 0: [1], 1: []}, [1])
    [(-1,), (-1, 0), (1,)]
    """
    # value v crosses p  <=>  producer(v) < p <= last_use(v); producer(input) = -1
    start: dict[int, list[int]] = {}
    stop: dict[int, list[int]] = {}
    out_set = set(outputs)
    for v, users in consumers.items():
        last = max(users, default=-1)
        if v in out_set:
            last = n
        first = 0 if v < 0 else v + 1
        if last >= first:
            start.setdefault(first, []).append(v)
            stop.setdefault(last + 1, []).append(v)
    for v in out_set - set(consumers):
        first = 0 if v < 0 else v + 1
        start.setdefault(first, []).append(v)
    active: set[int] = set()
    result = []
    for p in range(n + 1):
        active.difference_update(stop.get(p, ()))
        active.update(start.get(p, ()))
        result.append(tuple(sorted(active, key=_value_order)))
    return result


def _value_order(v: int) -> tuple[bool, int]:
    """Inputs first, in input order (-1, -2, ...), then nodes in increasing order."""
    return (v >= 0, -v if v < 0 else v)


def single_tensor_positions(
    crossings: Sequence[tuple[int, ...]], is_tensor: Callable[[int], bool]
) -> list[int]:
    """Positions whose crossing is one tensor, one per distinct tensor, plus ``0`` and ``n``.

    Parameters
    ----------
    crossings : sequence of tuple of int
        Output of :func:`crossing_at_positions`.
    is_tensor : callable
        Whether a value id is a single tensor.

    Returns
    -------
    list of int
        Increasing positions; the first is ``0`` and the last ``len(crossings) - 1``.

    Examples
    --------
    Positions 1 and 2 both pass value 0 (node 1 is a dead shape check); only 1 is kept:

    >>> single_tensor_positions([(-1,), (0,), (0,), (2,)], is_tensor=lambda v: True)
    [0, 1, 3]
    >>> single_tensor_positions([(-1,), (0,), (2,), (2,)], is_tensor=lambda v: True)
    [0, 1, 3]
    """
    n = len(crossings) - 1
    last = crossings[n]
    chosen: list[int] = []
    seen: set[tuple[int, ...]] = set()
    for p, values in enumerate(crossings):
        if p in (0, n):
            chosen.append(p)
            seen.add(values)
            continue
        if len(values) != 1 or not is_tensor(values[0]) or values in seen or values == last:
            continue
        seen.add(values)
        chosen.append(p)
    return sorted(set(chosen))


def crossing_of_head(
    head: Iterable[int],
    consumers: Mapping[int, Iterable[int]],
    outputs: Iterable[int],
) -> list[int]:
    """Values that cross a general cut whose head is the node set ``head``.

    The model inputs are on the head's side: an input crosses when a tail node reads it.

    Parameters
    ----------
    head : iterable of int
        Node indices in the head (closed under predecessors, see :func:`closure_violation`).
    consumers : mapping of int to iterable of int
        As for :func:`crossing_at_positions`.
    outputs : iterable of int
        Value ids returned by the model.

    Returns
    -------
    list of int
        Crossing value ids: inputs first (``-1, -2, ...``), then nodes in increasing order.

    Examples
    --------
    >>> crossing_of_head({0}, {-1: [0, 1], 0: [2], 1: [2], 2: []}, [2])
    [-1, 0]
    """
    head_set = set(head)
    out_set = set(outputs)
    crossing = []
    for v, users in consumers.items():
        if v >= 0 and v not in head_set:
            continue
        if v in out_set or any(u not in head_set for u in users):
            crossing.append(v)
    for v in out_set - set(consumers):
        if v < 0 or v in head_set:
            crossing.append(v)
    return sorted(set(crossing), key=_value_order)


def closure_violation(
    head: Iterable[int], preds: Sequence[Sequence[int]]
) -> tuple[int, int] | None:
    """Return ``(node, missing_pred)`` if ``head`` is not closed under predecessors, else None.

    Examples
    --------
    >>> closure_violation({1}, [(-1,), (0,)])
    (1, 0)
    >>> closure_violation({0, 1}, [(-1,), (0,)]) is None
    True
    """
    head_set = set(head)
    for v in sorted(head_set):
        for u in preds[v]:
            if u >= 0 and u not in head_set:
                return v, u
    return None


def delay_input_free(preds: Sequence[Sequence[int]], depends_on_input: Sequence[bool]) -> list[int]:
    """Reorder a topological order so that input-free nodes run just before their first user.

    Parameters
    ----------
    preds : sequence of sequence of int
        Producer indices of each node in the current order (``-1``: a model input).
    depends_on_input : sequence of bool
        Whether each node has a model input among its ancestors.

    Returns
    -------
    list of int
        A permutation of ``range(len(preds))``: old indices in the new order. Input-dependent
        nodes keep their relative order; an input-free node that no node reads stays where it
        was.

    Examples
    --------
    Node 0 is a constant read only by node 3:

    >>> delay_input_free([(), (-1,), (1,), (2, 0)], [False, True, True, True])
    [1, 2, 0, 3]
    """
    n = len(preds)
    users: list[list[int]] = [[] for _ in range(n)]
    for v, ps in enumerate(preds):
        for u in ps:
            if u >= 0:
                users[u].append(v)
    placed = [False] * n
    order: list[int] = []

    def place(v: int) -> None:
        stack = [(v, False)]
        while stack:
            w, expanded = stack.pop()
            if placed[w]:
                continue
            if expanded:
                placed[w] = True
                order.append(w)
                continue
            stack.append((w, True))
            for u in reversed(preds[w]):
                if u >= 0 and not placed[u]:
                    stack.append((u, False))

    for v in range(n):
        if placed[v]:
            continue
        if depends_on_input[v] or not users[v]:
            place(v)  # pulls in its not-yet-placed (input-free) ancestors first
    return order
