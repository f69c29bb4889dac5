"""Fused-layer tiling of real PyTorch models: tiles equal the untiled layers, FLOPs are exact."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")

from torch import nn  # noqa: E402

from splitinfer.graph.fused import (  # noqa: E402
    extract_geometry,
    measure_path_flops,
    reference_output,
    run_path,
    run_tiled,
    shipped_model,
)
from splitinfer.graph.receptive import load_geometry, path_costs  # noqa: E402

# (model, input side): small inputs where the network is still valid
MODELS = [("alexnet", 95), ("squeezenet1_0", 64), ("vgg16", 32), ("tiny-yolov2", 64)]


@pytest.fixture(scope="module", params=MODELS, ids=[m for m, _ in MODELS])
def model_case(request):
    name, side = request.param
    torch.manual_seed(0)
    model = shipped_model(name).eval()
    x = torch.randn(1, 3, side, side)
    return name, model, x, extract_geometry(model, x, name=name)


def _cases(geom):
    """A few path lengths (first, middle, last) and grids that fit."""
    taus = sorted({1, max(1, geom.num_units // 2), geom.num_units})
    for i, tau in enumerate(taus):
        sh, sw = geom.fused_size(tau)
        for grid in [(2, 2), (3, 1)] if i % 2 == 0 else [(3, 3), (1, 2)]:
            if grid[0] <= sh and grid[1] <= sw:
                yield tau, grid


def test_tiles_equal_the_untiled_layers(model_case):
    name, model, x, geom = model_case
    checked = 0
    for tau, grid in _cases(geom):
        tiled = run_tiled(model, geom, tau, grid, x)
        ref = reference_output(model, geom, tau, x)
        assert tiled.shape == ref.shape
        assert torch.allclose(tiled, ref, rtol=1e-4, atol=1e-5), (name, tau, grid)
        checked += 1
    assert checked >= 4


def test_path_flops_and_redundancy_are_exact(model_case):
    name, model, x, geom = model_case
    for tau, grid in list(_cases(geom))[1::2]:
        costs = path_costs(geom, tau, grid)
        measured = [measure_path_flops(model, geom, tau, grid, p, x)
                    for p in range(costs.num_paths)]
        assert measured == [int(round(v)) for v in costs.flops.sum(axis=1)], (name, tau, grid)
        untiled = measure_path_flops(model, geom, tau, (1, 1), 0, x)
        assert sum(measured) - untiled == pytest.approx(
            costs.redundant_flops - path_costs(geom, tau, (1, 1)).redundant_flops)


def test_path_reads_only_its_crop(model_case):
    # poison everything outside path 0's input crop: its tile must not change
    name, model, x, geom = model_case
    tau = min(3, geom.num_units)
    grid = (2, 2) if min(geom.fused_size(tau)) >= 2 else (1, 1)
    costs = path_costs(geom, tau, grid)
    r0, r1, c0, c1 = (int(v) for v in _input_crop(geom, tau, grid, 0))
    poisoned = torch.full_like(x, float("nan"))
    poisoned[:, :, r0:r1, c0:c1] = x[:, :, r0:r1, c0:c1]
    a = run_path(model, geom, tau, grid, 0, x)
    b = run_path(model, geom, tau, grid, 0, poisoned)
    assert torch.equal(a, b)
    assert costs.bytes_in[0, 0] == (r1 - r0) * (c1 - c0) * 3 * 4


def _input_crop(geom, tau, grid, p):
    from splitinfer.graph.receptive import path_regions

    return path_regions(geom, tau, grid, p)[-1]


def test_shipped_geometries_match_a_fresh_extraction():
    for name in ("alexnet", "squeezenet1_0"):
        model = shipped_model(name)
        fresh = extract_geometry(model, torch.zeros(1, 3, 224, 224), name=name)
        shipped = load_geometry(name)
        assert fresh.nodes == shipped.nodes and fresh.chain == shipped.chain
        assert fresh.unit_ends == shipped.unit_ends


class _Mixed(nn.Module):
    """Every supported operation: grouped/dilated/'same' convs, zero and replication padding,
    ceil-mode and average pooling, functional relu, branches joined by cat and add, an
    adaptive pool that is a plain pooling, then a classifier that ends the prefix."""

    def __init__(self) -> None:
        super().__init__()
        self.pad = nn.ZeroPad2d((1, 0, 2, 1))
        self.c1 = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.c2 = nn.Conv2d(8, 8, 3, padding="same", dilation=2, groups=2)
        self.pool = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.b1 = nn.Conv2d(8, 4, 1)
        self.b2 = nn.Conv2d(8, 4, (3, 5), padding=(1, 2))
        self.bn = nn.BatchNorm2d(8)
        self.rep = nn.ReplicationPad2d((0, 1, 0, 1))
        self.avg = nn.AvgPool2d(2, 1)
        self.c3 = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.ad = nn.AdaptiveAvgPool2d(2)
        self.fc = nn.Linear(32, 5)

    def forward(self, x):
        x = torch.relu(self.c1(self.pad(x)))
        x = self.pool(self.c2(x))
        x = torch.cat([self.b1(x), self.b2(x)], 1)
        x = self.avg(self.rep(self.bn(x)))
        x = x + torch.nn.functional.relu(self.c3(x))
        return self.fc(torch.flatten(self.ad(x), 1))


def test_every_supported_operation_tiles_exactly():
    torch.manual_seed(1)
    model = _Mixed().eval()
    with torch.no_grad():  # non-trivial BatchNorm statistics
        model.bn.running_mean.uniform_(-1, 1)
        model.bn.running_var.uniform_(0.5, 2)
    x = torch.randn(1, 3, 29, 31)
    geom = extract_geometry(model, x, name="mixed")
    ops = [n.op for n in geom.nodes]
    assert {"conv", "maxpool", "avgpool", "pad", "pointwise"} <= set(ops)
    assert geom.nodes[-1].name == "ad"  # the adaptive pool is the last tileable operation
    for tau in range(1, geom.num_units + 1):
        sh, sw = geom.fused_size(tau)
        for grid in {(min(2, sh), min(3, sw)), (min(sh, 5), 1)}:
            tiled = run_tiled(model, geom, tau, grid, x)
            assert torch.allclose(tiled, reference_output(model, geom, tau, x), atol=1e-5), (tau, grid)


def test_padding_only_tiles_and_replication_padding():
    # tiles that lie in zero padding need nothing of the layer before it; replicated cells
    # read the nearest border cell
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.ZeroPad2d(4),
                          nn.Conv2d(4, 4, 3), nn.ReplicationPad2d((3, 0, 0, 2)),
                          nn.MaxPool2d(2, 1), nn.Flatten()).eval()
    x = torch.randn(1, 3, 9, 10)
    geom = extract_geometry(model, x)
    assert [n.op for n in geom.nodes].count("reppad") == 1
    for tau in range(1, geom.num_units + 1):
        sh, sw = geom.fused_size(tau)
        for grid in {(sh, 1), (1, sw), (2, 3)}:
            tiled = run_tiled(model, geom, tau, grid, x)
            assert torch.allclose(tiled, reference_output(model, geom, tau, x), atol=1e-5)


def test_extraction_errors():
    with pytest.raises(ValueError, match="one image"):
        extract_geometry(nn.Conv2d(3, 4, 3), torch.zeros(2, 3, 8, 8))
    flat = nn.Sequential(nn.Flatten(), nn.Linear(12, 2))
    with pytest.raises(ValueError, match="no convolution"):
        extract_geometry(flat, torch.zeros(1, 3, 2, 2))
