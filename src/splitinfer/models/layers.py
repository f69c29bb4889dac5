"""Layers the zoo needs that ``torch.nn`` lacks: the locally connected layer of DeepFace.

Examples
--------
>>> import torch
>>> lc = LocallyConnected2d(2, 4, in_size=(6, 6), kernel_size=3, stride=1)
>>> lc(torch.randn(5, 2, 6, 6)).shape
torch.Size([5, 4, 4, 4])
>>> sum(p.numel() for p in lc.parameters()) == 16 * (2 * 9 * 4) + 4 * 16
True
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["LocallyConnected2d"]


class LocallyConnected2d(nn.Module):
    """A 2-D convolution whose filters are not shared: every output position has its own.

    Taigman et al., *DeepFace* (CVPR 2014), layers L4-L6. The input is cut into patches with
    :func:`torch.nn.functional.unfold`; one ``einsum`` applies each position's own weight matrix
    (``torch.fx``-traceable; ``FlopCounterMode`` counts it as the batched matmul it is, 2 FLOPs
    per multiply-accumulate). No padding, as in the paper.

    Parameters
    ----------
    in_channels, out_channels : int
        Channels of the input and the output.
    in_size : tuple of int
        ``(H, W)`` of the input; fixed, because each position has its own weights.
    kernel_size, stride : int
        Square patch side and step.
    bias : bool
        One bias per output channel and position.

    Attributes
    ----------
    weight : Parameter, shape ``(L, in_channels * k * k, out_channels)``
        ``L = out_h * out_w`` positions.
    bias : Parameter, shape ``(out_channels, L)`` or None
    expected_input_shape : tuple of int
        ``(in_channels, H, W)`` (reported by tracing errors).
    """

    splitinfer_leaf = True  # one node in a LayerGraph

    def __init__(self, in_channels: int, out_channels: int, in_size: tuple[int, int],
                 kernel_size: int, stride: int = 1, bias: bool = True) -> None:
        super().__init__()
        h, w = in_size
        if h < kernel_size or w < kernel_size:
            raise ValueError(f"input {in_size} smaller than the kernel {kernel_size}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = kernel_size, stride
        self.in_h, self.in_w = h, w
        self.out_h = (h - kernel_size) // stride + 1
        self.out_w = (w - kernel_size) // stride + 1
        positions = self.out_h * self.out_w
        fan_in = in_channels * kernel_size * kernel_size
        self.weight = nn.Parameter(torch.empty(positions, fan_in, out_channels))
        self.bias = nn.Parameter(torch.empty(out_channels, positions)) if bias else None
        self.expected_input_shape = (in_channels, h, w)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Uniform in ``+-1/sqrt(fan_in)`` per position, like ``nn.Conv2d``'s default."""
        bound = 1.0 / math.sqrt(self.weight.shape[1])
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        torch._assert(x.shape[-3] == self.in_channels, "LocallyConnected2d: wrong channel count")
        torch._assert(x.shape[-2] == self.in_h, "LocallyConnected2d: wrong input height")
        torch._assert(x.shape[-1] == self.in_w, "LocallyConnected2d: wrong input width")
        cols = F.unfold(x, self.kernel_size, stride=self.stride)  # (N, C*k*k, L)
        out = torch.einsum("nkl,lko->nol", cols, self.weight)  # (N, O, L)
        if self.bias is not None:
            out = out + self.bias
        return out.unflatten(2, (self.out_h, self.out_w))

    def extra_repr(self) -> str:  # noqa: D102
        return (f"{self.in_channels}, {self.out_channels}, in_size=({self.in_h}, {self.in_w}), "
                f"kernel_size={self.kernel_size}, stride={self.stride}, bias={self.bias is not None}")
