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

On a link whose rate changes over time (a :class:`~splitinfer.traces.BandwidthTrace`), the
time depends on when the transfer starts: its bits are integrated over the trace exactly.

>>> from splitinfer.traces import BandwidthTrace
>>> drop = BandwidthTrace([0.0, 1.0], [8e6, 2e6])   # 8 Mbit/s, then 2 Mbit/s from 1 s
>>> transfer_time(1e6, 8e6, trace=drop, start=0.5)  # 4 Mbit by 1 s, 4 Mbit more take 2 s
2.5
"""

from __future__ import annotations

from typing import Any

__all__ = ["transfer_time"]


def transfer_time(nbytes: Any, rate: Any, latency: Any = 0.0, slowdown: Any = 1.0, *,
                  trace: Any = None, start: float = 0.0) -> Any:
    """Seconds to send ``nbytes`` bytes at ``rate`` bit/s: ``latency + slowdown * 8 nbytes / rate``.

    With a ``trace``, the ``slowdown * 8 nbytes`` bits are sent from ``start`` at the trace's
    rate, integrated exactly over its steps (``rate`` is then not used), and ``latency`` is
    added after the last bit.

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
    trace : BandwidthTrace, optional
        The link's rate over time (scalars only).
    start : float
        When the transfer starts (with ``trace``).

    Returns
    -------
    float or ndarray
        Seconds (NumPy arrays broadcast).
    """
    if trace is not None:
        return trace.finish(start, slowdown * 8.0 * nbytes) - start + latency
    return latency + slowdown * 8.0 * nbytes / rate
