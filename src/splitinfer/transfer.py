"""The one link-time formula of the project (bottom layer: every other layer may import it).

A transfer of ``s`` bytes over a link of ``rate`` bit/s takes ``latency + slowdown * 8 s / rate``
seconds: the calibrated model ``t = w0 + w1 s / b`` of Duan & Wu 2021 (section 6.1), with
``w0 = latency`` and ``w1 = slowdown``. Scenarios use it through
:meth:`splitinfer.system.entities.Link.time`; the profile layer's fitted transfer model
(:class:`splitinfer.profile.predictors.LinearTransferModel`) through :func:`transfer_time` itself.

Examples
--------
>>> transfer_time(1000, 8e6)                  # 8000 bits at 8 Mbit/s
0.001
>>> transfer_time(1000, 8e6, latency=0.002, slowdown=2.0)
0.004
"""

from __future__ import annotations

from typing import Any

__all__ = ["transfer_time"]


def transfer_time(nbytes: Any, rate: Any, latency: Any = 0.0, slowdown: Any = 1.0) -> Any:
    """Seconds to send ``nbytes`` bytes at ``rate`` bit/s: ``latency + slowdown * 8 nbytes / rate``.

    Parameters
    ----------
    nbytes : float or array_like
        Bytes sent.
    rate : float or array_like
        Link rate in bit/s (> 0).
    latency : float or array_like
        Fixed seconds per transfer (``w0``).
    slowdown : float or array_like
        Multiplier of the ideal time ``8 nbytes / rate`` (``w1``).

    Returns
    -------
    float or ndarray
        Seconds (NumPy arrays broadcast).
    """
    return latency + slowdown * 8.0 * nbytes / rate
