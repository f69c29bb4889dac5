"""General-structure DNNs for JPS: Duan & Wu 2021 Alg. 3 (path conversion, a cut per path, union).

Duan & Wu 2021 section 5.3 converts a general DAG into independent source-to-sink paths by duplicating
every node with out-degree (or in-degree) above one (Fig. 9), finds a cut-point on every path
with Alg. 2, and takes the union ``P`` of the cut-points; duplicated nodes are computed once.

Reading adopted (and why)
-------------------------
Converting a whole network literally multiplies the paths: GoogLeNet's nine Inception modules of
four branches each give ``4^9 = 262,144`` source-to-sink paths. The structure is a chain of
*regions* joined at single-tensor cut points (the articulation points of the layer DAG), so we
convert each region on its own: its paths run from the region's entry tensor to its exit layer
(:func:`independent_paths`, the literal conversion of Fig. 9 applied to the region). On every path
we run Alg. 2 with ``f`` = device time of the head up to the region's entry plus the path's own
layers up to the cut, and ``g`` = time to send that one tensor (the per-path view the paper
describes, which it admits "omits the potential collaboration between two different paths").
Alg. 2 returns two positions per path, ``l* - 1`` and ``l*``; the union over the region's paths
of each gives two general cuts per region. The device computes the closure of the union (every
layer once: "duplicated nodes are only counted once"), and the tensors that cross are sent once,
in one message (the prototype serialises a job's tensors into one gRPC request, section 6.1).
These general cuts join the single-tensor cuts as candidate partitions; the planner then applies
virtual blocks and Alg. 2 to the candidates as to a line (see :mod:`splitinfer.planners.duan2021.jps`).

A region whose layers are a single chain adds nothing (its cuts are already single-tensor cuts).
For MobileNetV2 and ResNet18 the region candidates have to send the block input for the bypass
*and* a tensor of the main path, so virtual blocks drop them: their bottleneck / residual modules
stay whole, as section 6.1 says of MobileNetV2. For GoogLeNet the Inception branches' reduced
tensors are smaller than the module input (section 6.1), and region candidates can survive.

Examples
--------
>>> independent_paths([(0, 1), (0, 2), (1, 3), (2, 3), (0, 3)], 0, 3)
[[0, 1, 3], [0, 2, 3], [0, 3]]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np

from splitinfer.planners.duan2021.flowshop import line_partition, pareto_positions
from splitinfer.system.layer_costs import LayerCosts

__all__ = ["Region", "independent_paths", "regions", "region_cuts", "closure"]

#: Regions with more source-to-sink paths than this are left as they are (no general cut).
MAX_PATHS = 256


@dataclass(frozen=True)
class Region:
    """The layers between single-tensor cuts ``k`` and ``k + 1``.

    ``entry`` is the value crossing cut ``k`` (``-1`` for the model input), ``exit`` the layer
    whose output crosses cut ``k + 1``, ``layers`` the layer indices of the region and ``paths``
    the independent entry-to-exit paths (interior layers only, entry and exit left out).
    """

    cut: int
    entry: int
    exit: int
    layers: tuple[int, ...]
    paths: tuple[tuple[int, ...], ...]

    @property
    def is_chain(self) -> bool:
        """True when the region is one path through all its layers (nothing general to cut)."""
        return len(self.paths) == 1 and len(self.paths[0]) + 1 == len(self.layers)


def independent_paths(edges: Iterable[tuple[int, int]], source: int, sink: int) -> list[list[int]]:
    """Fig. 9's conversion: every source-to-sink path of a DAG as its own line of nodes.

    A node on several paths appears in each of them (it is "duplicated"); the paths are listed
    in lexicographic order of their node sequences.

    Parameters
    ----------
    edges : iterable of (int, int)
        The DAG's edges.
    source, sink : int
        The two ends.

    Examples
    --------
    >>> independent_paths([(-1, 0), (0, 1), (0, 2), (1, 3), (2, 3)], -1, 3)
    [[-1, 0, 1, 3], [-1, 0, 2, 3]]
    """
    graph = nx.DiGraph()
    graph.add_edges_from(edges)
    if source not in graph or sink not in graph:
        return []
    return sorted(list(p) for p in nx.all_simple_paths(graph, source, sink))


def regions(lc: LayerCosts) -> list[Region]:
    """The regions of a layer DAG between consecutive single-tensor cuts (see the module doc).

    Examples
    --------
    >>> lc = LayerCosts(names=("a", "b", "c"), flops=np.zeros(3), out_bytes=np.ones(3),
    ...                 edges=((-1, 0), (-1, 1), (0, 2), (1, 2)), cut_positions=(0, 3),
    ...                 input_bytes=1.0)
    >>> [(r.entry, r.exit, r.paths) for r in regions(lc)]
    [(-1, 2, ((0,), (1,)))]
    """
    out: list[Region] = []
    pos = lc.cut_positions
    for k in range(len(pos) - 1):
        lo, hi = pos[k], pos[k + 1]
        if hi <= lo:
            continue
        entry_vals = lc.crossing(range(lo)) if lo > 0 else [-1]
        exit_vals = lc.crossing(range(hi)) if hi < lc.n else list(lc.outputs)
        if len(entry_vals) != 1 or len(exit_vals) != 1:
            continue  # not a single-tensor boundary (should not happen for profile cuts)
        entry, exit_ = entry_vals[0], exit_vals[0]
        members = set(range(lo, hi))
        edges = [(i, j) for i, j in lc.edges if j in members and (i in members or i == entry)]
        graph = nx.DiGraph(edges)
        paths: list[list[int]] = []
        if entry in graph and exit_ in graph:
            for p in nx.all_simple_paths(graph, entry, exit_):
                paths.append(p)
                if len(paths) > MAX_PATHS:
                    break
            paths.sort()
        out.append(Region(k, entry, exit_, tuple(range(lo, hi)),
                          tuple(tuple(p[1:-1]) for p in paths)))
    return out


def closure(lc: LayerCosts, head: Iterable[int]) -> frozenset[int]:
    """``head`` with every ancestor added (the device must compute them too).

    Examples
    --------
    >>> lc = LayerCosts(names=("a", "b", "c"), flops=np.zeros(3), out_bytes=np.ones(3),
    ...                 edges=((-1, 0), (0, 1), (1, 2)), cut_positions=(0, 1, 2, 3), input_bytes=1.0)
    >>> sorted(closure(lc, {1}))
    [0, 1]
    """
    seen = set(head)
    stack = list(seen)
    while stack:
        v = stack.pop()
        for u in lc.preds[v]:
            if u >= 0 and u not in seen:
                seen.add(u)
                stack.append(u)
    return frozenset(seen)


def region_cuts(lc: LayerCosts, region: Region, entry_time: float,
                layer_time: Callable[[int], float], send_time: Callable[[float], float]
                ) -> list[frozenset[int]]:
    """Alg. 3 inside one region: a cut-point per path with Alg. 2, then the union of each side.

    Parameters
    ----------
    lc : LayerCosts
    region : Region
    entry_time : float
        Device time of the head up to the region's entry (cut ``region.cut``).
    layer_time : callable
        Device seconds of one layer.
    send_time : callable
        Seconds to send a tensor of that many bytes on the uplink.

    Returns
    -------
    list of frozenset
        Up to two heads (closed layer sets): the union of the paths' ``l* - 1`` cut-points and
        the union of their ``l*`` cut-points; empty for chain regions and regions with too many
        paths.
    """
    if region.is_chain or not region.paths or len(region.paths) > MAX_PATHS:
        return []
    base = frozenset(range(region.layers[0]))
    entry_bytes = lc.input_bytes if region.entry < 0 else float(lc.out_bytes[region.entry])
    sides: list[set[int]] = [set(), set()]
    for path in region.paths:
        # position 0: cut before the path (send the entry tensor); position i: after path[i-1]
        f = np.concatenate([[entry_time], entry_time + np.cumsum([layer_time(u) for u in path])])
        nbytes = [entry_bytes] + [float(lc.out_bytes[u]) for u in path]
        g = np.array([send_time(b) for b in nbytes])
        keep = pareto_positions(f, g)
        keep.sort(key=lambda i: (f[i], i))
        left, right, _ = line_partition(f[keep], g[keep])
        picks = (keep[max(left, 0)], keep[min(right, len(keep) - 1)])
        for side, pos in zip(sides, picks, strict=True):
            side.update(path[:pos])
    heads = []
    for side in sides:
        head = closure(lc, base | side)
        if head not in heads:
            heads.append(head)
    return heads


def path_summary(paths: Sequence[Sequence[int]]) -> str:
    """A short description of a region's paths, for plan info (``"4 paths, 2-3 layers"``).

    Examples
    --------
    >>> path_summary([(1, 2), (3,)])
    '2 paths, 1-2 layers'
    """
    sizes = [len(p) for p in paths]
    return f"{len(paths)} paths, {min(sizes)}-{max(sizes)} layers" if sizes else "0 paths"
