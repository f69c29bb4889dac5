"""The records of a profile file (format ``splitinfer.profile/1``): one layer, one cut point.

:mod:`splitinfer.profile.validation` builds them from a dictionary, checking every field;
:mod:`splitinfer.profile.format` assembles them into a :class:`~splitinfer.profile.format.Profile`.
Both import this module, which imports neither.

Examples
--------
>>> CutTiming(0, None, 0, 40, 0, 0.0, 0.0015).transfer_bytes
40
>>> is_finite_number(1.5), is_finite_number(True), is_finite_number(float("nan"))
(True, False, False)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from splitinfer.errors import SplitInferError

__all__ = ["FORMAT", "ProfileError", "LayerTiming", "CutTiming", "is_finite_number"]

FORMAT = "splitinfer.profile/1"


class ProfileError(SplitInferError, ValueError):
    """An invalid profile: the message names the file (or source) and the field path."""


@dataclass(frozen=True)
class LayerTiming:
    """One layer (one node of the traced graph) with its measured latency.

    Attributes
    ----------
    name, op : str
        Node name and operator (the ``LayerNode`` fields of :mod:`splitinfer.graph`).
    flops, macs : int
        Floating-point operations (``flops == 2 * macs`` for multiply-accumulate layers).
    out_bytes, param_bytes : int
        Bytes of the layer's output tensor(s) and of its parameters.
    latency_s, latency_median_s, latency_std_s : float
        Summary statistic (the 20 % quantile of the repeats for profiles measured since the
        low-quantile estimator, an interquartile mean before; ``measurement.statistic`` says
        which; see :func:`splitinfer.profile.timing.summarize`), median and standard deviation
        of the measured latency in seconds when the layer runs alone on its recorded inputs.
    """

    name: str
    op: str
    flops: int
    macs: int
    out_bytes: int
    param_bytes: int
    latency_s: float
    latency_median_s: float
    latency_std_s: float


@dataclass(frozen=True)
class CutTiming:
    """One cut point: what crosses it and how long the two sides take.

    Attributes
    ----------
    index : int
        Position in ``Profile.cuts`` (``0`` sends the raw input, the last runs everything).
    after : str or None
        Name of the last layer of the head, ``layers[position - 1].name`` (``None`` where the
        head is empty, i.e. for ``cuts[0]``).
    position : int
        Number of layers in the head: the head is ``layers[:position]`` (the graph's
        ``Cut.position``).
    transfer_bytes : int
        Bytes of the tensor(s) that cross the cut.
    head_flops : int
        FLOPs of the head.
    head_latency_s, tail_latency_s : float
        Measured (raw, unrepaired) latency of the head and of the tail in seconds.
    """

    index: int
    after: str | None
    position: int
    transfer_bytes: int
    head_flops: int
    head_latency_s: float
    tail_latency_s: float


def is_finite_number(value: Any) -> bool:
    """True for an int or float (not bool) that is finite (an integer too large for a float is
    not)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # math.isfinite converts an int to a float
        return False
