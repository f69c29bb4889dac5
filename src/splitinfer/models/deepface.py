"""DeepFace (Taigman, Yang, Ranzato, Wolf, CVPR 2014), used by Huang et al. 2019 (DeePar, Fig. 3).

The architecture of the paper's Fig. 2 on a 3x152x152 aligned face::

    C1 conv 32@11x11 -> 142x142 | M2 max pool 3x3 stride 2 -> 71x71 | C3 conv 16@9x9 -> 63x63
    L4 locally connected 16@9x9 -> 55x55 | L5 locally connected 16@7x7 stride 2 -> 25x25
    L6 locally connected 16@5x5 -> 21x21 | F7 fully connected 4096 | F8 fully connected 4030

ReLU after every layer but F8, dropout on F7 (identity in eval mode). Readings of the paper:
M2 rounds up (Caffe-style pooling, the only reading that gives the paper's 71x71); C3 takes the
32 channels M2 produces (the paper writes 9x9x16, which does not match C1's 32 filters); the
output is F8's logits (the softmax is left to the loss). About 120 M parameters, as the paper
states, almost all in L4-F7.

Examples
--------
>>> import torch
>>> deepface(num_classes=8)(torch.zeros(1, 3, 152, 152)).shape
torch.Size([1, 8])
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from splitinfer.models.layers import LocallyConnected2d

__all__ = ["deepface"]


def deepface(num_classes: int = 4030) -> nn.Sequential:
    """Build DeepFace for 3x152x152 input (4030 identities as in the paper's SFC data set)."""
    return nn.Sequential(OrderedDict([
        ("c1", nn.Conv2d(3, 32, 11)), ("relu1", nn.ReLU()),
        ("m2", nn.MaxPool2d(3, 2, ceil_mode=True)),
        ("c3", nn.Conv2d(32, 16, 9)), ("relu3", nn.ReLU()),
        ("l4", LocallyConnected2d(16, 16, (63, 63), 9)), ("relu4", nn.ReLU()),
        ("l5", LocallyConnected2d(16, 16, (55, 55), 7, stride=2)), ("relu5", nn.ReLU()),
        ("l6", LocallyConnected2d(16, 16, (25, 25), 5)), ("relu6", nn.ReLU()),
        ("flatten", nn.Flatten()),
        ("f7", nn.Linear(16 * 21 * 21, 4096)), ("relu7", nn.ReLU()), ("drop7", nn.Dropout(0.5)),
        ("f8", nn.Linear(4096, num_classes)),
    ]))
