"""Spatial tiles in a stage graph: the values a fused-layer tile step reads and produces.

Li et al. 2022 (section II-A) compute the first layers of a CNN as independent *FL paths*, one
per tile of the fused layer, each from its own crop of the input. A plan names such a step with
``Step.tile = (cut, row0, row1, col0, col1)`` (:class:`~splitinfer.system.plan.Step`): the tile
of the tensor crossing cut ``cut``. This module gives :func:`~splitinfer.system.stages.stage_values`
what it needs to check that the data of a tile plan flows:

* the model's fused-layer geometry (:func:`scenario_geometry`: ``extra.fused.<model>`` of the
  scenario, else the shipped geometry named like the model);
* *value keys*: a whole tensor is a layer index (``-1`` the model input), a tile of it is the
  tuple ``(value, row0, row1, col0, col1)`` (:func:`tile_key`);
* the crop a tile step reads (:func:`tile_io`, by receptive fields: halo rows and columns from
  the neighbours, the model's padding at the image border);
* whether the tensors at a node give a value (:func:`covers`): a whole tensor gives any crop of
  it, and tiles that cover a tensor give it stitched.

Torch-free; the runtime executes tile stages with :func:`splitinfer.graph.fused.run_tile`.

Examples
--------
>>> from splitinfer.graph.receptive import FLGeometry
>>> g = FLGeometry.from_layers("m", (1, 8, 8), [("conv", 3, 1, 1, 2), ("maxpool", 2, 2, 0, 2)])
>>> tile_io(g, (0, 2), (2, 0, 2, 0, 2))
((-1, 0, 5, 0, 5), (1, 0, 2, 0, 2))
>>> covers({(1, 0, 2, 0, 4), (1, 2, 4, 0, 4)}, 1, g), covers({-1}, (-1, 0, 5, 0, 5), g)
(True, True)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from splitinfer.errors import InfeasiblePlanError
from splitinfer.graph.receptive import FLGeometry, tile_regions, unit_of_cut

__all__ = ["scenario_geometry", "tile_key", "tile_io", "value_of", "value_size", "covers",
           "key_order"]

ValueKey = Any  # int (a whole tensor) or tuple (value, row0, row1, col0, col1)


def scenario_geometry(sc: Any, model: str, cache: dict | None = None) -> FLGeometry:
    """The fused-layer geometry of ``model`` in scenario ``sc``.

    ``extra.fused.<model>`` (a shipped name, a JSON path or an inline geometry dict), else the
    shipped geometry named like the model.

    Raises
    ------
    InfeasiblePlanError
        No geometry is found, or its FLOPs disagree with the scenario's model.
    """
    if cache is not None and model in cache:
        return cache[model]
    from splitinfer.graph.receptive import load_geometry

    ref = (sc.extra.get("fused") or {}).get(model, model)
    try:
        geom = FLGeometry.from_dict(ref) if isinstance(ref, dict) else load_geometry(str(ref))
    except (KeyError, ValueError, OSError, LookupError) as exc:
        raise InfeasiblePlanError(f"model {model!r} has no fused-layer geometry ({exc}), so "
                                  "its tiles cannot be named; give extra.fused.<model>") from None
    total = sc.models[model].flops
    if abs(geom.total_flops - total) > 1e-6 * max(1.0, total):
        raise InfeasiblePlanError(f"fused-layer geometry {geom.model!r} has "
                                  f"{geom.total_flops:.6g} FLOPs but model {model!r} has "
                                  f"{total:.6g}")
    if cache is not None:
        cache[model] = geom
    return geom


def value_of(geom: FLGeometry, cut: int) -> int:
    """The value (layer index, ``-1`` the input) crossing ``cut``, a cut after an FL layer.

    Raises
    ------
    InfeasiblePlanError
        ``cut`` is not the input nor the cut after an FL layer.
    """
    try:
        u = unit_of_cut(geom, int(cut))
    except ValueError as exc:
        raise InfeasiblePlanError(str(exc)) from None
    return geom.unit_outputs[u - 1] if u > 0 else -1


def value_size(geom: FLGeometry, value: int) -> tuple[int, int]:
    """Height and width of a prefix value (``-1``: the model input)."""
    if value < 0:
        return int(geom.input_shape[1]), int(geom.input_shape[2])
    return geom.nodes[value].size


def tile_key(geom: FLGeometry, tile: tuple[int, ...]) -> tuple[int, int, int, int, int]:
    """The value key of ``Step.tile = (cut, row0, row1, col0, col1)``.

    Raises
    ------
    InfeasiblePlanError
        The cut is not after an FL layer, or the rows and columns leave the tensor.
    """
    if len(tile) != 5:
        raise InfeasiblePlanError(f"a tile is (cut, row0, row1, col0, col1), got {tile}")
    cut, r0, r1, c0, c1 = (int(v) for v in tile)
    v = value_of(geom, cut)
    h, w = value_size(geom, v)
    if not (0 <= r0 < r1 <= h and 0 <= c0 < c1 <= w):
        raise InfeasiblePlanError(f"tile rows {r0}:{r1}, columns {c0}:{c1} leave the {h}x{w} "
                                  f"tensor at cut {cut}")
    return (v, r0, r1, c0, c1)


def tile_io(geom: FLGeometry, segment: tuple[int, int], tile: tuple[int, ...]
            ) -> tuple[ValueKey, ValueKey]:
    """The crop a tile step of ``segment=(a, b)`` reads and the tile it produces (value keys).

    The tile lies on the tensor at cut ``b`` (``tile[0] == b``); the crop read is its receptive
    field in the tensor at cut ``a`` (:func:`~splitinfer.graph.receptive.tile_regions`).

    Raises
    ------
    InfeasiblePlanError
        The tile is not on the segment's end cut, or the segment is not made of FL layers.
    """
    a, b = (int(v) for v in segment)
    if int(tile[0]) != b:
        raise InfeasiblePlanError(f"a tile step of the piece ({a}, {b}) computes a tile at cut "
                                  f"{b}, not at cut {tile[0]}")
    out = tile_key(geom, tile)
    try:
        u0, u1 = unit_of_cut(geom, a), unit_of_cut(geom, b)
        _, crop = tile_regions(geom, u0, u1, out[1:])
    except ValueError as exc:
        raise InfeasiblePlanError(str(exc)) from None
    return (value_of(geom, a), *crop), out


def covers(held: Iterable[ValueKey], key: ValueKey, geom: FLGeometry | None) -> bool:
    """Whether the values ``held`` at a node give ``key``.

    A whole tensor gives itself and every crop of it; a tile gives itself; tiles of a tensor
    that together cover it give the whole tensor (stitched).
    """
    held = set(held)
    if key in held:
        return True
    if isinstance(key, tuple):
        return key[0] in held
    tiles = [k for k in held if isinstance(k, tuple) and k[0] == key]
    if not tiles or geom is None:
        return False
    h, w = value_size(geom, key)
    mask = np.zeros((h, w), dtype=bool)
    for _, r0, r1, c0, c1 in tiles:
        mask[r0:r1, c0:c1] = True
    return bool(mask.all())


def key_order(key: ValueKey) -> tuple[int, tuple[int, ...]]:
    """A sort key for value keys (whole tensors before their tiles).

    Examples
    --------
    >>> sorted([(3, 0, 2, 0, 2), 3, -1], key=key_order)
    [-1, 3, (3, 0, 2, 0, 2)]
    """
    if isinstance(key, tuple):
        return int(key[0]), tuple(int(v) for v in key[1:])
    return int(key), ()
