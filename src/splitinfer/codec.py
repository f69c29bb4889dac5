"""Smaller tensors on the wire: float32 activations sent as float16, bfloat16 or int8 (bottom layer).

One codec for every user: the runtime compresses what crosses a cut with :func:`encode_wire` and
restores float32 on the other side with :func:`decode_wire`; the top-1 agreement measurement
(:mod:`splitinfer.profile.agreement`) passes the cut's tensor through the same two functions,
so what it measures is what the runtime does. Byte counts for timing are
:func:`splitinfer.transfer.wire_bytes`.

* ``float16`` — IEEE half precision (``numpy.float16``, round to nearest even; values beyond
  65504 become infinite, as in PyTorch's ``.half()``).
* ``bfloat16`` — the upper 16 bits of the float32 pattern, rounded to nearest even (numpy has
  no bfloat16 type, so the wire carries the bits as ``uint16``; NaN stays NaN).
* ``int8`` — per-tensor affine quantisation ``q = clip(round(x / scale) + zero_point, -128,
  127)``, ``x' = (q - zero_point) * scale``, with ``scale = (max - min) / 255`` over the tensor
  (0 included in the range, so zero is exact) and ``zero_point`` an integer in ``[-128, 127]``;
  the two numbers travel in the frame's metadata (``{"scale": s, "zero_point": z}``).

Examples
--------
>>> import numpy as np
>>> x = np.array([-1.0, 0.0, 0.5, 2.0], np.float32)
>>> wire, params = encode_wire(x, "int8")
>>> wire.dtype, sorted(params)
(dtype('int8'), ['scale', 'zero_point'])
>>> bool(np.abs(decode_wire(wire, "int8", params) - x).max() <= params["scale"] / 2 + 1e-7)
True
>>> decode_wire(encode_wire(x, "bfloat16")[0], "bfloat16").tolist()
[-1.0, 0.0, 0.5, 2.0]
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from splitinfer.transfer import check_wire_dtype

__all__ = ["encode_wire", "decode_wire", "roundtrip", "wire_numpy_dtype", "CodecError"]


#: The int8 scales a receiver accepts: normal float32 numbers (the dequantisation runs in float32,
#: where a larger scale overflows and a smaller one loses its precision or becomes 0).
_F32_TINY, _F32_MAX = float(np.finfo(np.float32).tiny), float(np.finfo(np.float32).max)


class CodecError(ValueError):
    """Wire parameters that cannot restore a tensor (a missing or non-finite scale, a zero
    point out of range, a payload of the wrong dtype)."""


def wire_numpy_dtype(dtype: str) -> np.dtype:
    """The numpy dtype that carries ``dtype`` on the wire (``bfloat16`` as ``uint16`` bits).

    Examples
    --------
    >>> wire_numpy_dtype("bfloat16"), wire_numpy_dtype("int8")
    (dtype('uint16'), dtype('int8'))
    """
    return np.dtype({"float32": "<f4", "float16": "<f2", "bfloat16": "<u2",
                     "int8": "i1"}[check_wire_dtype(dtype)])


def _to_bfloat16_bits(x: np.ndarray) -> np.ndarray:
    bits = np.ascontiguousarray(x, np.float32).view(np.uint32)
    rounded = bits + (np.uint32(0x7FFF) + ((bits >> np.uint32(16)) & np.uint32(1)))
    out = (rounded >> np.uint32(16)).astype(np.uint16)
    nan = np.isnan(x)
    if nan.any():
        out[nan] = np.uint16(0x7FC0)
    return out


def _quant_params(x: np.ndarray) -> tuple[float, int]:
    finite = x[np.isfinite(x)]
    lo = min(float(finite.min()), 0.0) if finite.size else 0.0
    hi = max(float(finite.max()), 0.0) if finite.size else 0.0
    scale = float(np.float32((hi - lo) / 255.0))  # what the receiver computes with
    if not _F32_TINY <= scale <= _F32_MAX:  # a range too small for float32's normal numbers
        return 1.0, 0
    zero = int(np.clip(round(-128 - lo / scale), -128, 127))
    reach = max(127 - zero, zero + 128)  # the largest |q - zero|
    if reach * scale > _F32_MAX:  # a range near float32's limits: keep (q - zero) * scale finite
        scale = float(np.nextafter(np.float32(_F32_MAX / reach), np.float32(0)))
    return scale, zero


def encode_wire(x: np.ndarray, dtype: str) -> tuple[np.ndarray, dict[str, Any]]:
    """``x`` (float32) as sent in ``dtype``, and the parameters the receiver needs.

    Parameters
    ----------
    x : ndarray
        A float32 tensor (any shape; the result has the same shape).
    dtype : str
        ``"float32"`` (returned as is), ``"float16"``, ``"bfloat16"`` or ``"int8"``.

    Returns
    -------
    (ndarray, dict)
        The wire array and ``{}`` or ``{"scale": float, "zero_point": int}`` (int8).

    Examples
    --------
    >>> encode_wire(np.ones(3, np.float32), "float16")[0].dtype
    dtype('float16')
    """
    check_wire_dtype(dtype)
    x = np.asarray(x, np.float32)
    if dtype == "float32":
        return x, {}
    if dtype == "float16":
        with np.errstate(over="ignore"):
            return x.astype("<f2"), {}
    if dtype == "bfloat16":
        return _to_bfloat16_bits(x), {}
    scale, zero = _quant_params(x)
    with np.errstate(invalid="ignore"):
        q = np.clip(np.rint(np.nan_to_num(x, nan=0.0) / scale) + zero, -128, 127)
    return q.astype(np.int8), {"scale": scale, "zero_point": zero}


def decode_wire(arr: np.ndarray, dtype: str, params: dict[str, Any] | None = None) -> np.ndarray:
    """The float32 tensor restored from its wire form (inverse of :func:`encode_wire`).

    Raises
    ------
    CodecError
        ``arr`` is not of ``dtype``'s wire type, or int8 parameters are missing, not finite,
        not positive (scale) or out of ``[-128, 127]`` (zero point).

    Examples
    --------
    >>> decode_wire(np.array([0, 10], np.int8), "int8", {"scale": 0.5, "zero_point": 0}).tolist()
    [0.0, 5.0]
    >>> decode_wire(np.array([0], np.int8), "int8", {"scale": -1, "zero_point": 0})
    Traceback (most recent call last):
    ...
    splitinfer.codec.CodecError: int8 scale must be a finite positive number (a normal float32), got -1
    """
    want = wire_numpy_dtype(dtype)
    arr = np.asarray(arr)
    if arr.dtype != want:
        raise CodecError(f"a {dtype} tensor travels as {want}, got {arr.dtype}")
    if dtype == "float32":
        return arr
    if dtype == "float16":
        return arr.astype(np.float32)
    if dtype == "bfloat16":
        return (arr.astype(np.uint32) << np.uint32(16)).view(np.float32)
    params = params if isinstance(params, dict) else {}
    scale, zero = params.get("scale"), params.get("zero_point")
    if isinstance(scale, bool) or not isinstance(scale, int | float) or not (
            math.isfinite(scale) and scale > 0 and _F32_TINY <= scale <= _F32_MAX):
        raise CodecError(f"int8 scale must be a finite positive number (a normal float32), "
                         f"got {scale!r}")
    if isinstance(zero, bool) or not isinstance(zero, int) or not -128 <= zero <= 127:
        raise CodecError(f"int8 zero_point must be an integer in [-128, 127], got {zero!r}")
    if max(127 - zero, zero + 128) * scale > _F32_MAX:  # (q - zero) * scale must stay finite
        raise CodecError(f"int8 scale {scale!r} with zero_point {zero} overflows float32")
    return ((arr.astype(np.float32) - np.float32(zero)) * np.float32(scale)).astype(np.float32)


def roundtrip(x: np.ndarray, dtype: str) -> np.ndarray:
    """``x`` after the trip through the wire in ``dtype`` (what the receiver computes on).

    Examples
    --------
    >>> roundtrip(np.array([1.0009765625], np.float32), "float16").tolist()
    [1.0009765625]
    """
    wire, params = encode_wire(x, dtype)
    return decode_wire(wire, dtype, params)
