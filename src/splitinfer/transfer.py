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

The bytes that cross a cut depend on the dtype sent (issue 20, part 3): a cut table gives the
float32 bytes, and :func:`wire_bytes` gives the real byte count on the wire, ``elements x
itemsize``, plus :data:`QUANT_HEADER_BYTES` for int8 (the per-tensor scale and zero point):

>>> wire_bytes(4000, "float16"), wire_bytes(4000, "int8")
(2000.0, 1008.0)

On a link whose rate changes over time (a :class:`~splitinfer.traces.BandwidthTrace`), the
time depends on when the transfer starts: its bits are integrated over the trace exactly.

>>> from splitinfer.traces import BandwidthTrace
>>> drop = BandwidthTrace([0.0, 1.0], [8e6, 2e6])   # 8 Mbit/s, then 2 Mbit/s from 1 s
>>> transfer_time(1e6, 8e6, trace=drop, start=0.5)  # 4 Mbit by 1 s, 4 Mbit more take 2 s
2.5
"""

from __future__ import annotations

from typing import Any

__all__ = ["transfer_time", "wire_bytes", "WIRE_DTYPES", "WIRE_ITEMSIZE", "QUANT_HEADER_BYTES",
           "check_wire_dtype"]

#: The dtypes a cut's tensor may cross a link in; float32 is the default (the profiles' bytes).
WIRE_DTYPES = ("float32", "float16", "bfloat16", "int8")
#: Bytes per element of each wire dtype.
WIRE_ITEMSIZE = {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1}
#: Bytes of the per-tensor affine quantisation header of an int8 transfer: a float32 scale and
#: an int32 zero point (sent in the frame's metadata).
QUANT_HEADER_BYTES = 8


def check_wire_dtype(dtype: str) -> str:
    """``dtype`` if it is a wire dtype, else a one-line :class:`ValueError` naming the choices.

    Examples
    --------
    >>> check_wire_dtype("int8")
    'int8'
    >>> check_wire_dtype("fp8")
    Traceback (most recent call last):
    ...
    ValueError: unknown wire dtype 'fp8'; choose one of float32, float16, bfloat16, int8
    """
    if not isinstance(dtype, str) or dtype not in WIRE_ITEMSIZE:
        raise ValueError(f"unknown wire dtype {repr(dtype)[:40]}; choose one of "
                         f"{', '.join(WIRE_DTYPES)}")
    return dtype


def wire_bytes(float32_bytes: Any, dtype: str = "float32") -> Any:
    """Bytes on the wire of tensors that take ``float32_bytes`` in float32, sent as ``dtype``.

    ``elements x itemsize`` (elements = ``float32_bytes / 4``), plus the quantisation header
    (:data:`QUANT_HEADER_BYTES`) for ``int8``: one scale and zero point per transfer (a transfer
    quantises the tensors it carries together, per-tensor affine). Zero bytes stay zero.

    Parameters
    ----------
    float32_bytes : float or array_like
        Bytes of the tensors in float32 (a profile's ``transfer_bytes``).
    dtype : str
        One of :data:`WIRE_DTYPES`.

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> wire_bytes(4000), wire_bytes(4000, "bfloat16"), wire_bytes(0, "int8")
    (4000.0, 2000.0, 0.0)
    """
    size = WIRE_ITEMSIZE[check_wire_dtype(dtype)]
    if size == 4:
        return float32_bytes * 1.0
    out = float32_bytes * (size / 4.0)
    if dtype == "int8":
        import numpy as np

        out = np.where(np.asarray(float32_bytes) > 0, out + QUANT_HEADER_BYTES, 0.0)
        return float(out) if out.ndim == 0 else out
    return out


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
