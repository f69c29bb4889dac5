"""Smoke test: every torchvision classification model traces, at the smallest input it accepts.

Models are built with ``init=False`` (no random initialisers, zero parameters): values do not
matter for tracing, shapes, bytes and FLOPs, and initialising the 644 M parameters of
``regnet_y_128gf`` alone would take longer than tracing all 80 models.
"""

from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from splitinfer.graph import trace
from splitinfer.models import get_model, model_info
from splitinfer.models.registry import TORCHVISION_MODELS


@pytest.mark.slow
@pytest.mark.parametrize("name", TORCHVISION_MODELS)
def test_every_torchvision_model_traces(name):
    spec = model_info(name)
    model = get_model(name, init=False, **spec.small_kwargs)
    x = torch.zeros(1, *spec.small_input_shape)
    g = trace(model, x)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        out = model(x)
    assert g.flops == counter.get_total_flops() > 0
    assert g.param_bytes == sum(t.numel() * t.element_size()
                                for t in [*model.parameters(), *model.buffers()])
    assert g.cuts[0].transfer_bytes == x.numel() * 4 and g.cuts[-1].transfer_bytes == out.numel() * 4
    assert len(g.cuts) >= 3 and g.nodes[-1].out_shape == tuple(out.shape)
