"""VGG16 for 3x32x32 CIFAR-10, the model of Shi et al. 2021 (section 4, Table 2).

The paper trains "VGG16" on CIFAR-10 in PyTorch and starts from "the original 20 partition
points". We use the standard CIFAR variant of VGG16: the 13 3x3 convolutions of VGG16 (64, 64,
M, 128, 128, M, 256 x3, M, 512 x3, M, 512 x3, M), each followed by BatchNorm and ReLU, five 2x2
max pools, and a small classifier, one fully connected layer 512 -> 10. Counting each
conv-BN-ReLU as one layer, the network has 13 + 5 + 1 = 19 layers and therefore 20 partition
points (before the first layer to after the last), matching the paper's count.

Examples
--------
>>> import torch
>>> vgg16_cifar()(torch.zeros(2, 3, 32, 32)).shape
torch.Size([2, 10])
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

__all__ = ["vgg16_cifar", "VGG16_CFG"]

VGG16_CFG: tuple[int | str, ...] = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M",
                                    512, 512, 512, "M", 512, 512, 512, "M")


def vgg16_cifar(num_classes: int = 10) -> nn.Sequential:
    """Build VGG16 for CIFAR-10 (about 14.7 M parameters)."""
    layers: list[tuple[str, nn.Module]] = []
    channels, conv, pool = 3, 0, 0
    for item in VGG16_CFG:
        if item == "M":
            pool += 1
            layers.append((f"pool{pool}", nn.MaxPool2d(2, 2)))
            continue
        conv += 1
        layers += [
            (f"conv{conv}", nn.Conv2d(channels, int(item), 3, padding=1)),
            (f"bn{conv}", nn.BatchNorm2d(int(item))),
            (f"relu{conv}", nn.ReLU()),
        ]
        channels = int(item)
    layers += [("flatten", nn.Flatten()), ("fc", nn.Linear(512, num_classes))]
    return nn.Sequential(OrderedDict(layers))
