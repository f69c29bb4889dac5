"""Hostile inputs for the frame and metadata decoders, and the property they must keep.

The property (issue 15): for **any** byte string, :func:`~splitinfer.runtime.wire.decode_frame`,
:class:`~splitinfer.runtime.wire.FrameAssembler` and the metadata checkers of
:mod:`splitinfer.runtime.messages` either accept it or raise
:class:`~splitinfer.runtime.wire.WireError` — never ``RecursionError``, ``ValueError``,
``OverflowError``, ``MemoryError`` or anything else, which a server would report as ``UNKNOWN``
and not count as rejected. :func:`decode_all` runs every decoder on one input and lets any other
exception escape; :func:`hostile_inputs` makes inputs by mutating valid frames (bit flips,
truncation, header fields set to extremes, metadata replaced by hostile JSON: deep nesting,
numbers with thousands of digits, non-finite and huge floats, wrong types, invalid UTF-8). The
fuzz test (``tests/test_runtime_fuzz.py``, part of ``make test``) and the benchmark
(``benchmarks/bench_wirefuzz.py``, ``make bench``) use both.

Examples
--------
>>> import random
>>> from splitinfer.runtime.wire import Limits
>>> outcomes = [decode_all(b, Limits(max_payload_bytes=4096)) for b in
...             hostile_inputs(random.Random(0), 200)]
>>> sorted(set(outcomes))
['accepted', 'rejected']
"""

from __future__ import annotations

import json
import random
import struct
from collections.abc import Iterator

import numpy as np

from splitinfer.runtime.messages import (
    check_decide_request,
    check_infer_request,
    check_infer_response,
    check_report,
)
from splitinfer.runtime.wire import (
    HEADER,
    KIND_CONTROL,
    KIND_REQUEST,
    KIND_RESPONSE,
    FrameAssembler,
    Limits,
    WireError,
    decode_frame,
    encode_frame,
    encode_tensor,
    tensor_float32,
)

__all__ = ["valid_frames", "hostile_meta", "mutate", "hostile_inputs", "decode_all"]

_CHECKERS = (check_infer_request, check_infer_response, check_decide_request, check_report)


def valid_frames() -> list[bytes]:
    """One valid frame of each message kind the runtime sends (the mutator's seeds)."""
    stages = [{"name": "compute", "kind": "compute", "resource": "edge", "node": "edge",
               "ready": 1.0, "start": 1.5, "end": 2.0},
              {"name": "return", "kind": "transfer", "resource": "edge->phone", "node": None,
               "ready": 2.0, "start": 2.0, "end": None}]
    infer = {"task": "t0", "device": "phone", "model": "lenet5", "prev": "phone",
             "pieces": [["edge", 2, 9], ["cloud", 9, 12]], "rates": [None, 2e7], "samples": 2,
             "priority": 0.5, "hop": 1}
    return [
        encode_frame(infer, np.zeros((2, 6, 14, 14), np.float32), KIND_REQUEST),
        encode_frame({"task": "t0", "stages": stages, "direct": True},
                     np.arange(20, dtype=np.float32).reshape(2, 10), KIND_RESPONSE),
        encode_frame({"task": {"id": "t3", "index": 3, "device": "phone", "model": "lenet5",
                               "arrival": 0.25, "samples": 1}, "now": 0.26}),
        encode_frame({"task": "t3", "finish": 0.75, "fallback": True, "reason": "timeout"}),
        encode_frame({}, kind=KIND_CONTROL),
        encode_frame({"probe": 1}, np.ones(7, np.uint8), KIND_REQUEST),
        *(encode_frame({"key": "t0~1", "stage": 1, "values": [[2, [1, 6]]], **extra}, arr,
                       KIND_REQUEST)
          for arr, extra in (encode_tensor(np.linspace(-3, 3, 6, dtype=np.float32), d)
                             for d in ("float16", "bfloat16", "int8"))),
    ]


_FIELDS = ("task", "device", "model", "prev", "pieces", "rates", "samples", "priority", "hop",
           "stages", "now", "finish", "arrival", "index", "id", "direct", "fallback", "reason",
           "wire")


def _hostile_value(rng: random.Random) -> str:
    """One hostile JSON value, as text."""
    n = rng.choice([10, 100, 1000, 5000, 20000])
    pick = rng.randrange(16)
    if pick == 0:
        return "[" * n + "]" * n
    if pick == 1:
        return '{"a":' * n + "1" + "}" * n
    if pick == 2:
        return rng.choice(["", "-"]) + "9" * n  # beyond Python's int-to-str limit at 4300
    if pick == 3:
        return "1" + "0" * min(n, 400)  # an integer too large for a float64
    if pick == 4:
        return rng.choice(["1e999", "-1e999", "1e308", "4.9e-324", "1" + "0" * n + ".5"])
    if pick == 5:
        return rng.choice(["NaN", "Infinity", "-Infinity", "nan", "inf"])
    if pick == 6:
        return json.dumps("x" * n)
    if pick == 7:
        return rng.choice(['"\\ud800"', '"\\u0000"', '"a\\nb"', '"\\udfff\\ud800"', '"\x7f"'])
    if pick == 8:
        return "[" + ",".join(["1"] * n) + "]"
    if pick == 9:
        return rng.choice(["true", "false", "null", "[]", "{}", '""', "-0", "0"])
    if pick == 10:
        return json.dumps([[rng.choice(["edge", 1, None]), rng.randint(-5, 200000),
                            rng.choice([2**63, -1, 3, 1.5])] for _ in range(rng.randint(0, 12))])
    if pick == 11:
        return json.dumps([{"name": "x", "kind": rng.choice(["compute", "bogus", 1]),
                            "ready": rng.choice([1, -1, 1e300, None, "a"]),
                            "start": 1, "end": None} for _ in range(rng.randint(0, 80))])
    if pick == 12:
        return json.dumps({"id": "t", "index": rng.choice([-1, 2**70, 1.0, True]),
                           "device": "d", "model": "m", "arrival": rng.choice([-1.0, 0, 1e30]),
                           "samples": rng.choice([0, 1, 65, 2**64])})
    if pick == 13:
        return str(rng.choice([-(2**63), 2**64, -1, 0, 10**19, 10**30]))
    if pick == 14:
        return '"' + "\\" * n + '"'
    return rng.choice(["[1,", "{", '{"a"', "]", "}", "[[[", '{"a":}', "01", "1.", "-"])


def hostile_meta(rng: random.Random) -> bytes:
    """A metadata object (or something that is not one) built to break a JSON decoder."""
    pick = rng.randrange(5)
    if pick == 0:
        return _hostile_value(rng).encode()
    if pick == 1:
        return bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 64)))
    fields = {k: _hostile_value(rng) if rng.random() < 0.5 else json.dumps("ok")
              for k in rng.sample(_FIELDS, rng.randint(1, len(_FIELDS)))}
    text = "{" + ",".join(f'"{k}":{v}' for k, v in fields.items()) + "}"
    data = text.encode("utf-8", "surrogatepass")
    if pick == 4 and data:  # invalid UTF-8 somewhere
        i = rng.randrange(len(data))
        data = data[:i] + bytes([rng.choice([0x80, 0xC0, 0xFF, 0xED])]) + data[i + 1:]
    return data


_U32 = (0, 1, 2, 7, 255, 2**16, 2**31 - 1, 2**31, 2**32 - 1)
_U64 = (0, 1, 52, 2**20, 2**26, 2**26 + 1, 2**32, 2**63 - 1, 2**64 - 1)


def mutate(frame: bytes, rng: random.Random) -> bytes:
    """One random mutation of a frame (may be applied repeatedly)."""
    buf = bytearray(frame)
    pick = rng.randrange(9)
    if pick == 0 and buf:  # flip bits
        for _ in range(rng.randint(1, 8)):
            buf[rng.randrange(len(buf))] ^= 1 << rng.randrange(8)
    elif pick == 1:  # truncate
        del buf[rng.randrange(len(buf) + 1):]
    elif pick == 2:  # extend
        buf += bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 64)))
    elif pick == 3 and len(buf) >= HEADER.size:  # a small header field
        off = rng.choice([4, 5, 6, 7])
        buf[off] = rng.choice([0, 1, 2, 3, 4, 8, 9, 255])
    elif pick == 4 and len(buf) >= HEADER.size:  # meta_len
        struct.pack_into("<I", buf, 8, rng.choice(_U32 + (len(buf) - HEADER.size,)))
    elif pick == 5 and len(buf) >= HEADER.size:  # payload_len
        struct.pack_into("<Q", buf, 12, rng.choice(_U64))
    elif pick == 6 and len(buf) >= HEADER.size:  # a dimension
        struct.pack_into("<I", buf, 20 + 4 * rng.randrange(8), rng.choice(_U32))
    elif len(buf) >= HEADER.size:  # new metadata, its length fixed (or not)
        meta_len = struct.unpack_from("<I", buf, 8)[0]
        meta = hostile_meta(rng)
        body = bytes(buf[HEADER.size + meta_len:]) if meta_len <= len(buf) else b""
        buf = buf[:HEADER.size] + meta + body
        if rng.random() < 0.9:
            struct.pack_into("<I", buf, 8, len(meta))
    return bytes(buf)


def hostile_inputs(rng: random.Random, n: int) -> Iterator[bytes]:
    """``n`` inputs: mostly mutated valid frames, some raw random bytes."""
    seeds = valid_frames()
    for _ in range(n):
        if rng.random() < 0.05:
            yield bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 128)))
            continue
        buf = rng.choice(seeds)
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            buf = mutate(buf, rng)
        yield buf


def decode_all(buf: bytes, limits: Limits) -> str:
    """Run every decoder on ``buf``: ``"accepted"`` if the frame decodes, ``"rejected"`` if it
    raised :class:`WireError`; any other exception escapes (the property is broken)."""
    try:
        frame = decode_frame(buf, limits)
        if frame.dtype is not None:
            frame.array()
            tensor_float32(frame)  # the compressed-tensor restore (float16, bfloat16, int8)
    except WireError:
        frame = None
    asm = FrameAssembler(limits)
    try:
        head = HEADER.size + (struct.unpack_from("<I", buf, 8)[0] if len(buf) >= 12 else 0)
        cut = min(len(buf), head + 5)
        asm.feed(buf[:cut])
        for i in range(cut, len(buf), 7):
            asm.feed(buf[i:i + 7])
        asm.finish()
    except WireError:
        pass
    if frame is None:
        return "rejected"
    for check in _CHECKERS:
        try:
            check(frame.meta)
        except WireError:
            pass
    return "accepted"
