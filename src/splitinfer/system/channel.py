"""Wireless channel rates.

Examples
--------
>>> round(shannon_rate(5e6, 0.1, 1e-6, 1e-9) / 1e6, 3)   # Li et al. 2022 Table I: about 33.3 Mbit/s
33.291
"""

from __future__ import annotations

import math

__all__ = ["shannon_rate"]


def shannon_rate(bandwidth_hz: float, power_w: float, gain: float, noise_w: float) -> float:
    """Shannon capacity r = B log2(1 + Q G / N) in bit/s (Li et al. 2022 eq. 2).

    Parameters
    ----------
    bandwidth_hz : float
        Channel bandwidth B in Hz.
    power_w : float
        Transmit power Q in watts.
    gain : float
        Channel gain G.
    noise_w : float
        Noise power N in watts.
    """
    return bandwidth_hz * math.log2(1.0 + power_w * gain / noise_w)
