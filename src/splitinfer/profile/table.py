"""Rows for the layer and cut tables of ``splitinfer inspect`` (plain dictionaries, no torch).

Both functions accept a :class:`~splitinfer.profile.format.Profile` or a traced
``splitinfer.graph.LayerGraph`` (read by attribute only, so this module does not import the
graph layer or torch). With a profile the rows also carry measured latencies: per layer its
summary latency (``latency_s``), per cut the repaired head and tail latencies
(:attr:`Profile.head_latency`, :attr:`Profile.tail_latency`).

Examples
--------
>>> from splitinfer.profile.format import Profile, example_profile_dict
>>> p = Profile.from_dict(example_profile_dict())
>>> [(r["index"], r["after"], r["transfer_bytes"], r["head_latency_s"]) for r in cut_table(p)]
[(0, '(input)', 3072, 0.0), (1, 'fc', 40, 0.0015), (2, 'relu', 40, 0.0015)]
>>> layer_table(p)[0]["name"], layer_table(p)[0]["latency_s"]
('fc', 0.001)
"""

from __future__ import annotations

from typing import Any

from splitinfer.profile.format import Profile

__all__ = ["cut_table", "layer_table"]


def _nodes(obj: Any) -> list[Any]:
    return list(obj.layers) if isinstance(obj, Profile) else list(obj.nodes)


def layer_table(graph_or_profile: Any) -> list[dict[str, Any]]:
    """One row per layer: index, name, op, FLOPs, MACs, output and parameter bytes (+ latency).

    Parameters
    ----------
    graph_or_profile : Profile or LayerGraph

    Returns
    -------
    list of dict
        Keys ``index, name, op, flops, macs, out_bytes, param_bytes`` and, for a profile,
        ``latency_s`` (seconds).
    """
    rows = []
    for i, node in enumerate(_nodes(graph_or_profile)):
        row = {"index": i, "name": node.name, "op": str(node.op), "flops": int(node.flops),
               "macs": int(node.macs), "out_bytes": int(node.out_bytes),
               "param_bytes": int(node.param_bytes)}
        if isinstance(graph_or_profile, Profile):
            row["latency_s"] = float(node.latency_s)
        rows.append(row)
    return rows


def cut_table(graph_or_profile: Any) -> list[dict[str, Any]]:
    """One row per cut point: where it is, what crosses it, the head's FLOPs (+ latencies).

    Parameters
    ----------
    graph_or_profile : Profile or LayerGraph

    Returns
    -------
    list of dict
        Keys ``index, after`` (name of the head's last layer, ``"(input)"`` for an empty head),
        ``position, transfer_bytes, head_flops, head_fraction`` (share of the model's FLOPs in the
        head) and, for a profile, ``head_latency_s, tail_latency_s`` (repaired, seconds) and
        ``raw_head_latency_s``.
    """
    obj = graph_or_profile
    total = float(obj.flops) or 1.0
    rows = []
    for k, cut in enumerate(obj.cuts):
        row = {"index": int(cut.index), "after": "(input)" if cut.after is None else str(cut.after),
               "position": int(cut.position), "transfer_bytes": int(cut.transfer_bytes),
               "head_flops": int(cut.head_flops), "head_fraction": float(cut.head_flops) / total}
        if isinstance(obj, Profile):
            row["head_latency_s"] = float(obj.head_latency[k])
            row["tail_latency_s"] = float(obj.tail_latency[k])
            row["raw_head_latency_s"] = float(obj.raw_head_latency[k])
        rows.append(row)
    return rows
