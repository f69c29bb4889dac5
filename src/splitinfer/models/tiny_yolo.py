"""Tiny YOLOv2 for VOC (``tiny-yolo-voc.cfg`` of Darknet), used by Li et al. 2022 (Fig. 4, "YOLOv2").

The Darknet reference network (Redmon and Farhadi, YOLO9000, 2017) for 3x416x416 input: nine
3x3/1x1 convolutions and six max pools::

    conv 16 - pool/2 - conv 32 - pool/2 - conv 64 - pool/2 - conv 128 - pool/2 - conv 256 - pool/2
    - conv 512 - pool 2x2 stride 1 - conv 1024 - conv 1024 - conv 125 (1x1, linear)

Every convolution but the last is bias-free, batch-normalised and followed by a leaky ReLU with
slope 0.1. The output is 125 = 5 anchors x (4 box + 1 objectness + 20 classes) channels on a
13x13 grid (416 / 32). Darknet's stride-1 max pool pads right and bottom and ignores the padded
cells; replicate padding before ``MaxPool2d(2, 1)`` does exactly that (the max of a window with
a replicated border equals the max of its valid cells).

Examples
--------
>>> import torch
>>> tiny_yolov2()(torch.zeros(1, 3, 64, 64)).shape
torch.Size([1, 125, 2, 2])
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

__all__ = ["tiny_yolov2"]


def tiny_yolov2(num_classes: int = 20, num_anchors: int = 5) -> nn.Sequential:
    """Build Tiny YOLOv2 (about 15.9 M parameters for VOC)."""
    layers: list[tuple[str, nn.Module]] = []
    channels = 3
    widths = [16, 32, 64, 128, 256, 512, 1024, 1024]
    for i, width in enumerate(widths, start=1):
        layers += [
            (f"conv{i}", nn.Conv2d(channels, width, 3, padding=1, bias=False)),
            (f"bn{i}", nn.BatchNorm2d(width)),
            (f"leaky{i}", nn.LeakyReLU(0.1)),
        ]
        if i <= 5:
            layers.append((f"pool{i}", nn.MaxPool2d(2, 2)))
        elif i == 6:
            layers += [("pad6", nn.ReplicationPad2d((0, 1, 0, 1))), ("pool6", nn.MaxPool2d(2, 1))]
        channels = width
    layers.append(("conv9", nn.Conv2d(channels, num_anchors * (5 + num_classes), 1)))
    return nn.Sequential(OrderedDict(layers))
