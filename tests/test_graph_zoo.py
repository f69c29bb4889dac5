"""Tracing and splitting real torchvision models: every cut, general cuts, FLOP totals.

Models run at small inputs (the smallest each accepts, or a little more) so that the whole
module stays near 30 s on two cores; equivalence is checked in eval mode, float32, with
``torch.allclose``.
"""

from __future__ import annotations

import random

import pytest
import torch
from torch.utils._pytree import tree_leaves
from torch.utils.flop_counter import FlopCounterMode

from splitinfer.graph import trace
from splitinfer.models import get_model

# name -> (input side, builder kwargs)
EVERY_CUT = {
    "alexnet": (64, {}),
    "vgg11": (32, {}),
    "resnet18": (16, {}),
    "mobilenet_v2": (16, {}),
    "googlenet": (16, {}),
    "densenet121": (32, {}),
    "squeezenet1_0": (48, {}),
    "shufflenet_v2_x0_5": (16, {}),
    "efficientnet_b0": (16, {}),
    "vit-small": (32, {}),  # torchvision's VisionTransformer, a smaller config (see _build)
    "swin_t": (32, {}),
    "inception_v3": (75, {}),
}


GENERAL_CUT = ["googlenet", "resnet18", "inception_v3", "densenet121", "shufflenet_v2_x0_5"]


def _build(name: str, kwargs: dict) -> torch.nn.Module:
    if name == "vit-small":  # vit_b_16 is too slow to run 33 times; same code, fewer weights
        from torchvision.models import VisionTransformer

        torch.manual_seed(0)
        return VisionTransformer(image_size=32, patch_size=8, num_layers=4, num_heads=4,
                                 hidden_dim=64, mlp_dim=128).eval()
    return get_model(name, seed=0, **kwargs)


def _traced(name: str):
    side, kwargs = EVERY_CUT[name]
    model = _build(name, kwargs)
    x = torch.randn(2, 3, side, side, generator=torch.Generator().manual_seed(1))
    return model, x, trace(model, x)


@pytest.mark.parametrize("name", sorted(EVERY_CUT))
def test_every_cut_reproduces_the_model(name):
    model, x, g = _traced(name)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        want = model(x)
    assert g.flops == counter.get_total_flops() > 0
    assert g.cuts[0].position == 0 and g.cuts[0].transfer_bytes == x.numel() * 4
    assert g.cuts[-1].position == len(g.nodes) and g.cuts[-1].transfer_bytes == want.numel() * 4
    assert len(g.cuts) >= 5
    positions = [c.position for c in g.cuts]
    assert positions == sorted(set(positions))
    with torch.no_grad():
        for cut in g.cuts:
            head, tail = g.split(cut)
            mid = head(x)
            assert isinstance(mid, torch.Tensor)
            assert mid.numel() * mid.element_size() == cut.transfer_bytes
            got = tail(mid)
            assert torch.allclose(got, want, rtol=1e-4, atol=1e-5), f"{name}: cut {cut.index} after {cut.after}"


@pytest.mark.parametrize("name", GENERAL_CUT)
def test_general_cuts_reproduce_the_model(name):
    model, x, g = _traced(name)
    rng = random.Random(name)
    with torch.no_grad():
        want = model(x)
        multi = 0
        for _ in range(6):
            stack = rng.sample(range(len(g.nodes)), rng.randint(1, 4))
            head: set[str] = set()
            while stack:
                v = stack.pop()
                if v >= 0 and g.nodes[v].name not in head:
                    head.add(g.nodes[v].name)
                    stack.extend(g.nodes[v].preds)
            h, t = g.split_nodes(head)
            values = h(x)
            multi += len(values) > 1
            size = sum(t.numel() * t.element_size() for t in tree_leaves(values)
                       if isinstance(t, torch.Tensor))  # a crossing chunk() passes its tuple
            assert size == g.crossing_bytes(head)
            assert torch.allclose(t(*values), want, rtol=1e-4, atol=1e-5), sorted(head)
    assert multi > 0  # some heads really cut several tensors
