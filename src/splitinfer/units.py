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

import math
import re

__all__ = ["parse_bandwidth", "parse_time", "parse_bytes", "parse_flops", "parse_power",
           "format_time", "UNITS", "has_unit", "missing_unit", "unit_string"]

_PREFIX = {
    "": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
    "Ki": 1024.0, "Mi": 1024.0**2, "Gi": 1024.0**3, "Ti": 1024.0**4,
}
_NUM = r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*"


def _show(value: object) -> str:
    """A short ``repr`` for messages (a huge integer is not printed digit by digit)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"an integer of about {int(value.bit_length() * 0.30103) + 1} digits"
    text = repr(value)
    return text if len(text) <= 40 else text[:36] + "...'"


def _split(value: str | float | int, what: str) -> tuple[float, str]:
    if isinstance(value, bool):
        raise ValueError(f"expected a {what}, got a boolean ({value})")
    if isinstance(value, int | float):
        try:
            number, unit = float(value), ""
        except OverflowError:
            raise ValueError(f"{_show(value)} is too large for a {what}") from None
    elif not isinstance(value, str):
        raise ValueError(f"expected a {what}, got {type(value).__name__}")
    else:
        m = re.fullmatch(_NUM + r"([A-Za-z/]*)\s*", value) if len(value) <= 64 else None
        if not m:
            raise ValueError(f"cannot read {_show(value)} as a {what}")
        number, unit = float(m.group(1)), m.group(2)
    if not math.isfinite(number):
        raise ValueError(f"{what} must be a finite number, got {_show(value)}")
    return number, unit


def _prefixed(unit: str, bases: dict[str, float], value: str | float | int, what: str) -> float:
    for base, factor in sorted(bases.items(), key=lambda kv: -len(kv[0])):
        if unit.endswith(base) or (base == "" and unit == ""):
            prefix = unit[: len(unit) - len(base)] if base else unit
            if prefix in _PREFIX:
                return _PREFIX[prefix] * factor
    raise ValueError(f"unknown unit {unit!r} in {_show(value)} for a {what}"
                     f"{_units_hint(what)}")


def _scaled(value: str | float | int, what: str, bases: dict[str, float], *,
            positive: bool) -> float:
    """``value`` in the SI unit of ``bases`` (a plain number is taken as already in it), checked
    to be positive (``positive``) or not negative."""
    number, unit = _split(value, what)
    out = number if unit == "" else number * _prefixed(unit, bases, value, what)
    if not math.isfinite(out):
        raise ValueError(f"{what} must be a finite number, got {_show(value)}")
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
        raise ValueError(f"unknown unit {unit!r} in {_show(value)} for a duration"
                         f"{_units_hint('duration')}")
    out = number * mult[unit] if unit in mult else number / div[unit]
    if not math.isfinite(out):
        raise ValueError(f"duration must be a finite number, got {_show(value)}")
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


def parse_power(value: str | float | int) -> float:
    """Return a power in watts from a number (watts) or ``"2.5W"``, ``"800mW"``, ``"1.2 kW"``.

    Zero is allowed (a radio that draws nothing extra); negative powers are not.

    Examples
    --------
    >>> parse_power("800mW"), parse_power("2.5W"), parse_power(0)
    (0.8, 2.5, 0.0)
    """
    number, unit = _split(value, "power")
    if unit == "mW":
        out = number / 1e3
    elif unit == "uW":
        out = number / 1e6
    else:
        out = number if unit == "" else number * _prefixed(unit, {"W": 1.0}, value, "power")
    if not math.isfinite(out):
        raise ValueError(f"power must be a finite number, got {_show(value)}")
    if out < 0:
        raise ValueError(f"power must not be negative, got {value!r}")
    return out


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


UNITS = {
    "bandwidth": "bps, kbps, Mbps, Gbps, bit/s, B/s, kB/s, MB/s, GB/s",
    "duration": "s, ms, us, ns, min, h",
    "size": "B, kB, MB, GB, KiB, MiB, GiB, bit",
    "compute speed": "FLOPS, GFLOPS, TFLOPS, FLOP/s, GMACS (= 2 GFLOPS)",
    "power": "W, mW, uW, kW",
}
"""The units each kind of quantity accepts, as error messages and the docs list them (decimal
prefixes k M G T, binary Ki Mi Gi Ti)."""

_EXAMPLE_UNITS = {"bandwidth": ("Mbps",), "duration": ("s", "ms"), "size": ("B", "KB"),
                  "compute speed": ("GFLOPS",), "power": ("W", "mW")}


#: The unit of a bare number in Python code, for the kinds whose large numbers it explains.
_BASE_UNIT = {"bandwidth": "bit/s", "size": "bytes", "compute speed": "FLOP/s"}


def _units_hint(what: str) -> str:
    return f" (units: {UNITS[what]})" if what in UNITS else ""


def has_unit(value: str | float | int) -> bool:
    """Whether ``value`` is a string that writes a unit after its number (``"60Mbps"``; not
    ``"60"``, not ``60``). A string that is not a number with a unit at all also counts, so that
    its parser reports it.

    Examples
    --------
    >>> has_unit("60Mbps"), has_unit(" 1e5 "), has_unit(60), has_unit("fast")
    (True, False, False, True)
    """
    if not isinstance(value, str):
        return False
    m = re.fullmatch(_NUM + r"([A-Za-z/]*)\s*", value) if len(value) <= 64 else None
    return m is None or m.group(2) != ""


def missing_unit(value: float | int | str, what: str) -> str:
    """The message for a bare number where a file must give a unit.

    Examples
    --------
    >>> missing_unit(60, "bandwidth")
    '60 has no unit; write e.g. 60Mbps (units: bps, kbps, Mbps, Gbps, bit/s, B/s, kB/s, MB/s, GB/s)'
    >>> missing_unit(0.5, "duration")
    '0.5 has no unit; write e.g. 0.5s or 0.5ms (units: s, ms, us, ns, min, h)'

    A large number is most likely in the library's own unit (as Python code passes it), so
    the hint writes it in that unit:

    >>> missing_unit(62078000.0, "bandwidth")  # doctest: +NORMALIZE_WHITESPACE
    '62078000.0 has no unit; write e.g. 62.078Mbps if it is in bit/s (units: bps, kbps, Mbps,
    Gbps, bit/s, B/s, kB/s, MB/s, GB/s)'
    """
    if not isinstance(value, (str, bool)) and what in _BASE_UNIT and math.isfinite(value) \
            and abs(value) >= 1000:
        return (f"{_show(value)} has no unit; write e.g. {unit_string(value, what)} if it is in "
                f"{_BASE_UNIT[what]}{_units_hint(what)}")
    shown = value.strip() if isinstance(value, str) else _show(value)
    number = shown if len(shown) < 20 else "5"
    examples = " or ".join(f"{number}{u}" for u in _EXAMPLE_UNITS[what])
    return f"{shown} has no unit; write e.g. {examples}{_units_hint(what)}"


_LADDERS = {
    "bandwidth": (parse_bandwidth, ["Gbps", "Mbps", "kbps", "bps"], [1e9, 1e6, 1e3, 1.0]),
    "duration": (parse_time, ["s", "ms", "us", "ns"], [1.0, 1e-3, 1e-6, 1e-9]),
    "size": (parse_bytes, ["GB", "MB", "kB", "B"], [1e9, 1e6, 1e3, 1.0]),
    "compute speed": (parse_flops, ["TFLOPS", "GFLOPS", "MFLOPS", "FLOPS"],
                      [1e12, 1e9, 1e6, 1.0]),
    "power": (parse_power, ["W", "mW", "uW"], [1.0, 1e-3, 1e-6]),
}


def _number(x: float) -> str:
    return str(int(x)) if x.is_integer() and abs(x) < 1e16 else repr(x)


def unit_string(value: float, what: str) -> str:
    """Write a number in the library's unit (bit/s, s, bytes, FLOP/s) as a unit string that
    reads back to exactly the same float, with the largest prefix that does.

    Files written by the library (a demo's scenario, a run's calibrated scenario) carry units
    this way, since scenario files must.

    Examples
    --------
    >>> unit_string(60e6, "bandwidth"), unit_string(0.005, "duration"), unit_string(40, "size")
    ('60Mbps', '5ms', '40B')
    >>> s = unit_string(33219280.948873623, "bandwidth")
    >>> parse_bandwidth(s) == 33219280.948873623
    True
    """
    parse, names, scales = _LADDERS[what]
    x = float(value)
    if x == 0:
        return f"0{names[-1]}"
    for name, scale in zip(names, scales, strict=True):
        if abs(x) >= scale:
            text = f"{_number(x / scale)}{name}"
            try:
                if parse(text) == x:
                    return text
            except ValueError:  # e.g. a negative bandwidth: left to the validator
                break
    return f"{_number(x)}{names[-1]}"
