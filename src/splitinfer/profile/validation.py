"""Validation of profile dictionaries (format ``splitinfer.profile/1``) with field-naming errors.

Every check raises :class:`~splitinfer.profile.records.ProfileError` with the message
``"<source>: <field path>: <what was expected>, got <value>"``.

Examples
--------
>>> from splitinfer.profile.format import example_profile_dict
>>> d = example_profile_dict()
>>> del d["cuts"][1]["transfer_bytes"]
>>> validate_profile_dict(d, "x.json")
Traceback (most recent call last):
...
splitinfer.profile.records.ProfileError: x.json: cuts[1].transfer_bytes: missing field
"""

from __future__ import annotations

from typing import Any

from splitinfer.datafile import show_value
from splitinfer.profile.records import (
    FORMAT,
    CutTiming,
    LayerTiming,
    ProfileError,
    is_finite_number,
)

__all__ = ["validate_profile_dict"]

_HARDWARE_REQUIRED = ("name", "device")
_MAX_COUNT = 2**63 - 1  # counts are stored in int64 arrays
_MEASUREMENT_REQUIRED = ("repeats", "warmup", "timer")


class _Checker:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, message: str) -> ProfileError:
        return ProfileError(f"{self.source}: {path}: {message}")

    def get(self, obj: dict, key: str, path: str) -> Any:
        if key not in obj:
            raise self.fail(f"{path}{key}", "missing field")
        return obj[key]

    def mapping(self, value: Any, path: str) -> dict:
        if not isinstance(value, dict):
            raise self.fail(path, f"expected an object, got {type(value).__name__}")
        return value

    def list(self, value: Any, path: str) -> list:
        if not isinstance(value, list):
            raise self.fail(path, f"expected a list, got {type(value).__name__}")
        return value

    def string(self, value: Any, path: str) -> str:
        if not isinstance(value, str) or not value:
            raise self.fail(path, f"expected a non-empty string, got {show_value(value)}")
        return value

    def count(self, value: Any, path: str, minimum: int = 0) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not \
                minimum <= value <= _MAX_COUNT:
            raise self.fail(path, f"expected an integer >= {minimum} (and < 2^63), got "
                            f"{show_value(value)}")
        return value

    def seconds(self, value: Any, path: str) -> float:
        if not is_finite_number(value) or value < 0:
            raise self.fail(path, f"expected a finite number >= 0, got {show_value(value)}")
        return float(value)


def _layer(ck: _Checker, raw: Any, path: str) -> LayerTiming:
    d = ck.mapping(raw, path)
    p = path + "."
    return LayerTiming(
        name=ck.string(ck.get(d, "name", p), p + "name"),
        op=ck.string(ck.get(d, "op", p), p + "op"),
        flops=ck.count(ck.get(d, "flops", p), p + "flops"),
        macs=ck.count(ck.get(d, "macs", p), p + "macs"),
        out_bytes=ck.count(ck.get(d, "out_bytes", p), p + "out_bytes"),
        param_bytes=ck.count(ck.get(d, "param_bytes", p), p + "param_bytes"),
        latency_s=ck.seconds(ck.get(d, "latency_s", p), p + "latency_s"),
        latency_median_s=ck.seconds(ck.get(d, "latency_median_s", p), p + "latency_median_s"),
        latency_std_s=ck.seconds(ck.get(d, "latency_std_s", p), p + "latency_std_s"),
    )


def _cut(ck: _Checker, raw: Any, path: str, i: int, names: list[str]) -> CutTiming:
    d = ck.mapping(raw, path)
    p = path + "."
    index = ck.count(ck.get(d, "index", p), p + "index")
    if index != i:
        raise ck.fail(p + "index", f"expected {i} (cuts are listed in order), got {index}")
    position = ck.count(ck.get(d, "position", p), p + "position")
    if position > len(names):
        raise ck.fail(p + "position", f"expected at most {len(names)} (the number of layers), "
                      f"got {position}")
    after = ck.get(d, "after", p)
    expected = names[position - 1] if position > 0 else None
    if after != expected:
        raise ck.fail(p + "after", f"expected {expected!r} (the last layer of the head "
                      f"layers[:{position}]), got {show_value(after)}")
    return CutTiming(
        index=index,
        after=after,
        position=position,
        transfer_bytes=ck.count(ck.get(d, "transfer_bytes", p), p + "transfer_bytes"),
        head_flops=ck.count(ck.get(d, "head_flops", p), p + "head_flops"),
        head_latency_s=ck.seconds(ck.get(d, "head_latency_s", p), p + "head_latency_s"),
        tail_latency_s=ck.seconds(ck.get(d, "tail_latency_s", p), p + "tail_latency_s"),
    )


def validate_profile_dict(data: Any, source: str = "<profile>") -> dict[str, Any]:
    """Check ``data`` against format ``splitinfer.profile/1``; return the :class:`Profile` fields.

    Parameters
    ----------
    data : Any
        Parsed JSON.
    source : str
        File name (or other origin) for error messages.

    Returns
    -------
    dict
        Keyword arguments for :class:`~splitinfer.profile.format.Profile`.

    Raises
    ------
    ProfileError
        On the first violation, naming ``source`` and the field path.
    """
    ck = _Checker(source)
    d = ck.mapping(data, "(top level)")
    fmt = ck.get(d, "format", "")
    if fmt != FORMAT:
        raise ck.fail("format", f"expected {FORMAT!r}, got {show_value(fmt)}")
    shape = ck.list(ck.get(d, "input_shape", ""), "input_shape")
    for i, s in enumerate(shape):
        ck.count(s, f"input_shape[{i}]", 1)
    hardware = ck.mapping(ck.get(d, "hardware", ""), "hardware")
    for key in _HARDWARE_REQUIRED:
        ck.string(ck.get(hardware, key, "hardware."), f"hardware.{key}")
    measurement = ck.mapping(ck.get(d, "measurement", ""), "measurement")
    for key in _MEASUREMENT_REQUIRED:
        ck.get(measurement, key, "measurement.")
    ck.count(measurement["repeats"], "measurement.repeats", 1)
    ck.count(measurement["warmup"], "measurement.warmup", 0)
    ck.string(measurement["timer"], "measurement.timer")

    layers = tuple(_layer(ck, x, f"layers[{i}]")
                   for i, x in enumerate(ck.list(ck.get(d, "layers", ""), "layers")))
    n = len(layers)
    edges = []
    for i, e in enumerate(ck.list(ck.get(d, "edges", ""), "edges")):
        if not (isinstance(e, list) and len(e) == 2):
            raise ck.fail(f"edges[{i}]", f"expected a pair [i, j], got {show_value(e)}")
        if isinstance(e[0], int) and not isinstance(e[0], bool) and e[0] == -1:
            a = -1  # the model input, as in LayerGraph.edges
        else:
            a = ck.count(e[0], f"edges[{i}]")
        b = ck.count(e[1], f"edges[{i}]")
        if a >= n or b >= n:
            raise ck.fail(f"edges[{i}]", f"layer index out of range (there are {n} layers): [{a}, {b}]")
        edges.append((a, b))
    names = [layer.name for layer in layers]
    cuts = tuple(_cut(ck, x, f"cuts[{i}]", i, names)
                 for i, x in enumerate(ck.list(ck.get(d, "cuts", ""), "cuts")))
    if not cuts:
        raise ck.fail("cuts", "expected at least one cut point, got an empty list")
    for i in range(1, len(cuts)):
        if cuts[i].position <= cuts[i - 1].position:
            raise ck.fail(f"cuts[{i}].position", "expected positions to increase along the cuts, "
                          f"got {cuts[i].position} after {cuts[i - 1].position}")
    return {
        "format": fmt,
        "model": ck.string(ck.get(d, "model", ""), "model"),
        "input_shape": tuple(shape),
        "dtype": ck.string(ck.get(d, "dtype", ""), "dtype"),
        "batch": ck.count(ck.get(d, "batch", ""), "batch", 1),
        "hardware": dict(hardware),
        "measurement": dict(measurement),
        "flops": ck.count(ck.get(d, "flops", ""), "flops"),
        "macs": ck.count(ck.get(d, "macs", ""), "macs"),
        "input_bytes": ck.count(ck.get(d, "input_bytes", ""), "input_bytes"),
        "output_bytes": ck.count(ck.get(d, "output_bytes", ""), "output_bytes"),
        "layers": layers,
        "edges": tuple(edges),
        "cuts": cuts,
        "whole_latency_s": ck.seconds(ck.get(d, "whole_latency_s", ""), "whole_latency_s"),
        "whole_latency_median_s": ck.seconds(ck.get(d, "whole_latency_median_s", ""),
                                             "whole_latency_median_s"),
        "whole_latency_std_s": ck.seconds(ck.get(d, "whole_latency_std_s", ""),
                                          "whole_latency_std_s"),
    }
