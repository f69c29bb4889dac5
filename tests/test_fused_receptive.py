"""Receptive-field arithmetic and FL path costs without torch (splitinfer.graph.receptive)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from splitinfer.graph.receptive import (
    AxisMap,
    FLGeometry,
    axis_regions,
    list_geometries,
    load_geometry,
    path_costs,
    path_regions,
    tile_bounds,
)
from splitinfer.planners.li2022.scenarios import random_geometry


def _windows_brute(m: AxisMap, n: int) -> int:
    """Count windows one by one. Floor mode: the window fits in the padded input. Ceil mode: the
    previous window ended before the padded end, and the window starts inside the input or the
    left padding (PyTorch's rule)."""
    room = n + m.pad_before + m.pad_after - m.extent
    count = 0
    for o in range(4 * n + 10):
        start = o * m.stride
        if m.ceil_mode:
            count += start < room + m.stride and start - m.pad_before < n
        else:
            count += start <= room
    return count


@given(k=st.integers(1, 7), s=st.integers(1, 4), p=st.integers(0, 3), d=st.integers(1, 3),
       n=st.integers(1, 60), ceil=st.booleans())
@settings(max_examples=300, deadline=None)
def test_out_size_matches_window_count(k, s, p, d, n, ceil):
    m = AxisMap(k, s, p, p, d, ceil)
    if p > (d * (k - 1)) // 2 or n + 2 * p < m.extent:  # PyTorch rejects these
        return
    assert m.out_size(n) == _windows_brute(m, n)


def test_out_size_rejects_short_input():
    with pytest.raises(ValueError, match="shorter"):
        AxisMap(5).out_size(3)


@given(n=st.integers(1, 200), data=st.data())
def test_tile_bounds_are_balanced(n, data):
    g = data.draw(st.integers(1, n))
    b = tile_bounds(n, g)
    sizes = np.diff(b)
    assert b[0] == 0 and b[-1] == n and len(sizes) == g
    assert sizes.max() - sizes.min() <= 1 and (sizes >= 1).all()


def test_tile_bounds_rejects_too_many_tiles():
    with pytest.raises(ValueError):
        tile_bounds(3, 4)


def _brute_interval(geom: FLGeometry, tau: int, axis: int, lo: int, hi: int) -> dict[int, tuple]:
    """Per node, the hull of the positions a fused-layer interval needs, position by position."""
    need: dict[int, set[int]] = {geom.unit_outputs[tau - 1]: set(range(lo, hi))}
    end = geom.unit_ends[tau - 1]
    for k in range(end - 1, -1, -1):
        if k not in need:
            continue
        node = geom.nodes[k]
        hull = range(min(need[k]), max(need[k]) + 1)  # a path computes a rectangle
        for q in node.preds:
            size = geom.input_shape[1 + axis] if q < 0 else geom.nodes[q].size[axis]
            pos = set()
            for o in hull:
                if node.axes is None:
                    pos.add(o)
                else:
                    m = node.axes[axis]
                    for j in range(m.kernel):
                        i = o * m.stride - m.pad_before + j * m.dilation
                        if 0 <= i < size:
                            pos.add(i)
            need.setdefault(q, set()).update(pos)
    return {k: (min(v), max(v) + 1) for k, v in need.items()}


@pytest.mark.parametrize("seed", range(12))
def test_axis_regions_match_positionwise_dependencies(seed):
    rng = np.random.default_rng(seed)
    geom = random_geometry(rng, size=(6, 30), layers=(1, 5))
    tau = int(rng.integers(1, geom.num_units + 1))
    n = geom.fused_size(tau)[0]
    g = int(rng.integers(1, n + 1))
    lo, hi = axis_regions(geom, tau, 0, g)
    b = tile_bounds(n, g)
    for i in range(g):
        brute = _brute_interval(geom, tau, 0, int(b[i]), int(b[i + 1]))
        for k, (a, z) in brute.items():
            row = lo.shape[0] - 1 if k < 0 else k
            assert (lo[row, i], hi[row, i]) == (a, z), (seed, k, i)


@pytest.mark.parametrize("seed", range(8))
def test_one_tile_costs_at_most_the_untiled_layers(seed):
    # A single tile computes what the fused layer needs: everything, except positions that a
    # later window never reads (e.g. the last row before a 2x2/2 pooling of an odd size).
    geom = random_geometry(np.random.default_rng(seed), layers=(1, 5))
    for tau in range(1, geom.num_units + 1):
        c = path_costs(geom, tau, (1, 1))
        assert c.flops.sum() <= geom.unit_flops(tau) + 1e-6
        expected = [geom.chain[0].transfer_bytes] + [geom.chain[geom.unit_cuts[u]].transfer_bytes
                                                     for u in range(tau)]
        assert (c.bytes_in[0] <= np.array(expected) + 1e-9).all()
        assert c.bytes_in[0, -1] == pytest.approx(expected[-1])  # the whole fused layer
        assert c.tail_flops + geom.unit_flops(tau) == pytest.approx(geom.total_flops)


def test_unread_positions_are_not_computed():
    # 7x7 conv output, then a 2x2/2 pooling reads rows and columns 0..5 only
    g = FLGeometry.from_layers("t", (1, 7, 7), [("conv", 3, 1, 1, 1), ("maxpool", 2, 2, 0, 0)])
    c = path_costs(g, 2, (1, 1))
    assert c.flops.sum() == 6 * 6 * 18 and g.unit_flops(2) == 7 * 7 * 18
    assert c.redundant_flops == -13 * 18


@pytest.mark.parametrize("seed", range(8))
def test_tiles_partition_the_fused_layer_and_overlap_only_adds(seed):
    rng = np.random.default_rng(100 + seed)
    geom = random_geometry(rng, layers=(2, 5))
    tau = geom.num_units
    sh, sw = geom.fused_size(tau)
    grid = (int(rng.integers(1, sh + 1)), int(rng.integers(1, sw + 1)))
    c = path_costs(geom, tau, grid)
    cover = np.zeros((sh, sw), dtype=int)
    for p, (r0, r1, c0, c1) in enumerate(c.tiles):
        cover[r0:r1, c0:c1] += 1
        assert path_regions(geom, tau, grid, p)[geom.unit_outputs[tau - 1]] == (r0, r1, c0, c1)
    assert (cover == 1).all()
    # tiling only adds work compared with one tile (overlapping receptive fields) -- unless a
    # window is shorter than its stride (a 1x1/2 conv skips positions, and so can the tiles)
    if all(a.extent >= a.stride for n in geom.nodes if n.axes for a in n.axes):
        assert c.flops.sum() >= path_costs(geom, tau, (1, 1)).flops.sum() - 1e-6
    assert c.num_paths == grid[0] * grid[1]


def test_overlap_of_two_3x3_layers_is_counted():
    # 8x8 input, two 3x3 convs (stride 1, padding 1), 1 channel each, 2 tiles by rows: each path
    # computes its 4 output rows of layer 2 from 5 rows of layer 1 (one halo row), so layer 1
    # is computed on 2 x 5 x 8 = 80 positions instead of 64.
    g = FLGeometry.from_layers("t", (1, 8, 8), [("conv", 3, 1, 1, 1), ("conv", 3, 1, 1, 1)])
    c = path_costs(g, 2, (2, 1))
    fpp = 2 * 9
    assert c.flops[:, 0].tolist() == [40 * fpp, 40 * fpp]
    assert c.redundant_flops == 16 * fpp
    assert c.bytes_in[:, 0].tolist() == [6 * 8 * 4, 6 * 8 * 4]  # input rows 0-5 and 2-7


def test_geometry_round_trip_and_validation(tmp_path):
    geom = random_geometry(np.random.default_rng(3))
    path = tmp_path / "g.json"
    geom.save(path)
    back = load_geometry(path)
    assert back.to_dict() == geom.to_dict()
    bad = geom.to_dict()
    bad["unit_ends"] = [0]
    with pytest.raises(ValueError):
        FLGeometry.from_dict(bad)
    bad = geom.to_dict()
    bad["format"] = "other"
    with pytest.raises(ValueError, match="format"):
        FLGeometry.from_dict(bad)
    with pytest.raises(ValueError, match="tau"):
        geom.fused_size(geom.num_units + 1)


def test_shipped_geometries_are_consistent():
    assert {"alexnet", "squeezenet1_0", "vgg16", "tiny-yolov2"} <= set(list_geometries())
    for name in list_geometries():
        g = load_geometry(name)
        for tau in range(1, g.num_units + 1):
            assert g.unit_flops(tau) == pytest.approx(g.chain[g.unit_cuts[tau - 1]].head_flops)
        assert g.chain[0].transfer_bytes == np.prod(g.input_shape) * g.elem_bytes
    alex = json.loads(json.dumps(load_geometry("alexnet").to_dict()))
    assert [alex["nodes"][k]["op"] for k in (0, 2)] == ["conv", "maxpool"]
    assert load_geometry("alexnet").fused_size(1) == (55, 55)


def test_unknown_geometry_lists_close_names():
    with pytest.raises(KeyError, match="alexnet"):
        load_geometry("alexnt")
