"""LeNet-5 for 1x28x28 MNIST digits (used by Huang et al. 2019, DeePar, section V).

LeCun et al. 1998 on 32x32 images; for 28x28 MNIST the first convolution pads by 2, which gives
the original 28x28 C1 maps. Layers: C1 conv 6@5x5, S2 average pool 2, C3 conv 16@5x5, S4
average pool 2, C5 conv 120@5x5 (1x1 output), F6 fully connected 84, output 10; tanh
activations as in the original (S2/S4 without the original's trainable coefficients, and a
full C3 connection table: the common modern reading).

Examples
--------
>>> import torch
>>> lenet5()(torch.zeros(2, 1, 28, 28)).shape
torch.Size([2, 10])
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

__all__ = ["lenet5"]


def lenet5(num_classes: int = 10) -> nn.Sequential:
    """Build LeNet-5 (about 61.7 k parameters for 10 classes)."""
    return nn.Sequential(OrderedDict([
        ("c1", nn.Conv2d(1, 6, 5, padding=2)), ("tanh1", nn.Tanh()),
        ("s2", nn.AvgPool2d(2)),
        ("c3", nn.Conv2d(6, 16, 5)), ("tanh3", nn.Tanh()),
        ("s4", nn.AvgPool2d(2)),
        ("c5", nn.Conv2d(16, 120, 5)), ("tanh5", nn.Tanh()),
        ("flatten", nn.Flatten()),
        ("f6", nn.Linear(120, 84)), ("tanh6", nn.Tanh()),
        ("output", nn.Linear(84, num_classes)),
    ]))
