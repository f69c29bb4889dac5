"""Unit-bearing strings at the edges, SI numbers inside.

Inside the library, times are seconds, sizes are bytes, bandwidths are bit/s and compute
speeds are FLOP/s (one multiply-accumulate = 2 FLOPs). Scenario files and the CLI may write
``"4Mbps"``, ``"7ms"``, ``"10KB"`` or ``"5GFLOPS"``; these helpers turn them into numbers.
Decimal prefixes (k, M, G, T) are powers of 1000; binary prefixes (Ki, Mi, Gi) powers of 1024.
``"MB/s"`` is bytes per second and is converted to bit/s.

Examples
--------
>>> parse_bandwidth("4Mbps")
4000000.0
>>> parse_bandwidth("1.1MB/s")
8800000.0
>>> parse_time("7ms")
0.007
>>> parse_bytes("1KiB")
1024.0
>>> parse_flops("5GFLOPS")
5000000000.0
"""

from __future__ import annotations

import re

__all__ = ["parse_bandwidth", "parse_time", "parse_bytes", "parse_flops", "format_time"]

_PREFIX = {
    "": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
    "Ki": 1024.0, "Mi": 1024.0**2, "Gi": 1024.0**3, "Ti": 1024.0**4,
}
_NUM = r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*"


def _split(value: str | float | int, what: str) -> tuple[float, str]:
    if isinstance(value, bool):
        raise ValueError(f"expected a {what}, got a boolean")
    if isinstance(value, int | float):
        return float(value), ""
    m = re.fullmatch(_NUM + r"([A-Za-z/]*)\s*", str(value))
    if not m:
        raise ValueError(f"cannot read {value!r} as a {what}")
    return float(m.group(1)), m.group(2)


def _prefixed(unit: str, bases: dict[str, float], value: str | float | int, what: str) -> float:
    for base, factor in sorted(bases.items(), key=lambda kv: -len(kv[0])):
        if unit.endswith(base) or (base == "" and unit == ""):
            prefix = unit[: len(unit) - len(base)] if base else unit
            if prefix in _PREFIX:
                return _PREFIX[prefix] * factor
    raise ValueError(f"unknown unit {unit!r} in {value!r} for a {what}")


def _scaled(value: str | float | int, what: str, bases: dict[str, float], *,
            positive: bool) -> float:
    """``value`` in the SI unit of ``bases`` (a plain number is taken as already in it), checked
    to be positive (``positive``) or not negative."""
    number, unit = _split(value, what)
    out = number if unit == "" else number * _prefixed(unit, bases, value, what)
    if positive and out <= 0:
        raise ValueError(f"{what} must be positive, got {value!r}")
    if not positive and out < 0:
        raise ValueError(f"{what} must not be negative, got {value!r}")
    return out


def parse_bandwidth(value: str | float | int) -> float:
    """Return a bandwidth in bit/s.

    Parameters
    ----------
    value : str or float
        A number (bit/s) or a string such as ``"4Mbps"``, ``"20 Mbit/s"``, ``"1.1MB/s"``.

    Returns
    -------
    float
        Bits per second.

    Examples
    --------
    >>> parse_bandwidth("20 Mbit/s")
    20000000.0
    """
    return _scaled(value, "bandwidth",
                   {"bps": 1.0, "bit/s": 1.0, "b/s": 1.0, "B/s": 8.0, "Bps": 8.0}, positive=True)


def parse_time(value: str | float | int) -> float:
    """Return a duration in seconds from a number (seconds) or ``"7ms"``, ``"2 s"``, ``"50us"``.

    Examples
    --------
    >>> parse_time("50us")
    5e-05
    >>> parse_time(2)
    2.0
    """
    number, unit = _split(value, "duration")
    mult = {"": 1.0, "s": 1.0, "min": 60.0, "h": 3600.0}
    div = {"ms": 1e3, "us": 1e6, "ns": 1e9}
    if unit not in mult and unit not in div:
        raise ValueError(f"unknown unit {unit!r} in {value!r} for a duration")
    out = number * mult[unit] if unit in mult else number / div[unit]
    if out < 0:
        raise ValueError(f"duration must not be negative, got {value!r}")
    return out


def parse_bytes(value: str | float | int) -> float:
    """Return a size in bytes from a number or ``"10KB"``, ``"1.5MiB"``, ``"800bit"``.

    Examples
    --------
    >>> parse_bytes("10KB")
    10000.0
    >>> parse_bytes("800bit")
    100.0
    """
    return _scaled(value, "size", {"B": 1.0, "bit": 0.125}, positive=False)


def parse_flops(value: str | float | int) -> float:
    """Return a compute speed in FLOP/s from a number or ``"5GFLOPS"``, ``"2.5 TFLOP/s"``.

    ``"GMACS"`` (multiply-accumulates per second) is accepted and doubled: 1 MAC = 2 FLOPs.

    Examples
    --------
    >>> parse_flops("400GMACS")
    800000000000.0
    """
    return _scaled(value, "compute speed",
                   {"FLOPS": 1.0, "FLOP/s": 1.0, "flops": 1.0, "MACS": 2.0, "MAC/s": 2.0},
                   positive=True)


def format_time(seconds: float) -> str:
    """Format seconds for humans.

    Examples
    --------
    >>> format_time(0.0123)
    '12.30 ms'
    """
    if seconds >= 1:
        return f"{seconds:.3f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} us"
