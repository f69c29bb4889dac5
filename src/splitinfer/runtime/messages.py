"""The metadata objects carried in wire frames, and their validation (torch-free).

Every field read from the network goes through one of the checkers below: strings are bounded
and printable, numbers finite, lists short; an unexpected value raises
:class:`~splitinfer.runtime.wire.WireError` (gRPC ``INVALID_ARGUMENT``).

Messages (all JSON objects inside a frame's metadata):

``infer`` request (device -> worker, worker -> next worker), with the tensor of the cut:
    ``task, device, model`` (str), ``prev`` (the sender's node), ``pieces`` (list of
    ``[node, from_cut, to_cut]``: the receiving worker's piece first, then the rest of the
    chain), ``rates`` (reserved bit/s per remaining hop or null, Huang et al. 2019), ``samples`` (int),
    ``priority`` (float, lower first).
``infer`` response (worker -> caller), with the model output:
    ``task``, ``stages`` (list of stage records, absolute ``time.monotonic()`` seconds; a
    ``return`` stage's ``end`` is filled in by whoever receives the response), ``direct`` (the
    result's return was timed on the link from the last worker straight to the device).
``decide`` (device -> controller): ``task`` (id, index, device, model, arrival, samples) and
    ``now`` (seconds since the run's epoch); answer ``plan`` (a ``TaskPlan`` dict).
``report`` (device or worker -> controller): ``task``, ``finish``, ``fallback``, ``reason``.

Examples
--------
>>> req = {"task": "t0", "device": "phone", "model": "lenet5", "prev": "phone",
...        "pieces": [["edge", 3, 12]], "samples": 1, "priority": 0}
>>> check_infer_request(req)["pieces"]
[('edge', 3, 12)]
>>> check_infer_request({**req, "samples": -1})
Traceback (most recent call last):
...
splitinfer.runtime.wire.WireError: field 'samples': expected an integer in [1, 64], got -1
"""

from __future__ import annotations

import math
from typing import Any

from splitinfer.runtime.wire import WireError

__all__ = [
    "MAX_SAMPLES", "MAX_PIECES", "check_str", "check_int", "check_float",
    "check_infer_request", "check_stages", "check_infer_response", "check_decide_request",
    "check_report",
]

MAX_SAMPLES = 64
MAX_PIECES = 8
MAX_STAGES = 64
_STAGE_KINDS = ("compute", "transfer", "delay")


def check_str(meta: dict, key: str, max_len: int = 128, optional: bool = False) -> str | None:
    """A printable string field of at most ``max_len`` characters.

    Examples
    --------
    >>> check_str({"a": "x"}, "a")
    'x'
    """
    v = meta.get(key)
    if v is None and optional:
        return None
    if not isinstance(v, str) or not 0 < len(v) <= max_len or not v.isprintable():
        raise WireError(f"field {key!r}: expected a printable string of 1..{max_len} "
                        f"characters, got {_show(v)}")
    return v


def check_int(meta: dict, key: str, lo: int, hi: int) -> int:
    """An integer field in ``[lo, hi]`` (booleans are refused)."""
    v = meta.get(key)
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise WireError(f"field {key!r}: expected an integer in [{lo}, {hi}], got {_show(v)}")
    return v


def check_float(meta: dict, key: str, optional: bool = False, lo: float = -math.inf
                ) -> float | None:
    """A finite number field, at least ``lo``."""
    v = meta.get(key)
    if v is None and optional:
        return None
    try:
        ok = (not isinstance(v, bool) and isinstance(v, int | float) and math.isfinite(v)
              and v >= lo)
        value = float(v) if ok else 0.0
    except OverflowError:  # an integer too large for a float64
        ok = False
    if not ok:
        raise WireError(f"field {key!r}: expected a finite number >= {lo}, got {_show(v)}")
    return value


def _show(v: Any) -> str:
    try:
        text = repr(v)
    except (ValueError, RecursionError):  # an integer past Python's int-to-str limit, deep nesting
        return f"<{type(v).__name__}>"
    return text if len(text) <= 60 else text[:57] + "..."


def check_infer_request(meta: dict) -> dict[str, Any]:
    """Validate an ``infer`` request; returns a clean dict (``pieces`` as tuples)."""
    out: dict[str, Any] = {k: check_str(meta, k) for k in ("task", "device", "model", "prev")}
    pieces = meta.get("pieces")
    if not isinstance(pieces, list) or not 1 <= len(pieces) <= MAX_PIECES:
        raise WireError(f"field 'pieces': expected a list of 1..{MAX_PIECES} [node, a, b], "
                        f"got {_show(pieces)}")
    clean = []
    for i, p in enumerate(pieces):
        if not isinstance(p, list) or len(p) != 3:
            raise WireError(f"field 'pieces[{i}]': expected [node, from_cut, to_cut]")
        node = check_str({"node": p[0]}, "node")
        a = check_int({"a": p[1]}, "a", 0, 100_000)
        b = check_int({"b": p[2]}, "b", a, 100_000)
        if clean and clean[-1][2] != a:
            raise WireError(f"field 'pieces[{i}]': starts at cut {a}, the previous piece ends "
                            f"at {clean[-1][2]}")
        clean.append((node, a, b))
    out["pieces"] = clean
    rates = meta.get("rates")
    if rates is not None:
        if not isinstance(rates, list) or len(rates) > MAX_PIECES:
            raise WireError("field 'rates': expected a short list of bit/s or null")
        rates = [None if r is None else check_float({"rate": r}, "rate", lo=1.0) for r in rates]
    out["rates"] = rates
    out["samples"] = check_int(meta, "samples", 1, MAX_SAMPLES)
    out["priority"] = check_float(meta, "priority")
    return out


def check_stages(stages: Any) -> list[dict[str, Any]]:
    """Validate a list of stage records (times may be null only for a ``return`` end)."""
    if not isinstance(stages, list) or len(stages) > MAX_STAGES:
        raise WireError(f"field 'stages': expected a list of at most {MAX_STAGES} records")
    out = []
    for s in stages:
        if not isinstance(s, dict):
            raise WireError("field 'stages': every record must be an object")
        rec = {"name": check_str(s, "name", 32), "kind": check_str(s, "kind", 16),
               "resource": check_str(s, "resource", 300, optional=True),
               "node": check_str(s, "node", optional=True)}
        if rec["kind"] not in _STAGE_KINDS:
            raise WireError(f"stage kind must be one of {_STAGE_KINDS}, got {rec['kind']!r}")
        for k in ("ready", "start"):
            rec[k] = check_float(s, k)
        rec["end"] = check_float(s, "end", optional=True)
        out.append(rec)
    return out


def check_infer_response(meta: dict) -> dict[str, Any]:
    """Validate an ``infer`` response."""
    return {"task": check_str(meta, "task"), "stages": check_stages(meta.get("stages")),
            "direct": bool(meta.get("direct", False))}


def check_decide_request(meta: dict) -> dict[str, Any]:
    """Validate a ``decide`` request: the task's fields, the device's clock and whether it is a
    probe (timed before the run; answered without asking the planner or recording anything)."""
    task = meta.get("task")
    if not isinstance(task, dict):
        raise WireError("field 'task': expected an object")
    return {"task": {"id": check_str(task, "id"), "index": check_int(task, "index", 0, 2**62),
                     "device": check_str(task, "device"), "model": check_str(task, "model"),
                     "arrival": check_float(task, "arrival", lo=0.0),
                     "samples": check_int(task, "samples", 1, MAX_SAMPLES)},
            "now": check_float(meta, "now"), "probe": meta.get("probe") is True}


def check_report(meta: dict) -> dict[str, Any]:
    """Validate a ``report``: a finished task (and whether the device had to fall back)."""
    return {"task": check_str(meta, "task"), "finish": check_float(meta, "finish", lo=0.0),
            "fallback": bool(meta.get("fallback", False)),
            "reason": check_str(meta, "reason", 500, optional=True)}
