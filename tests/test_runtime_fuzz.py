"""Fuzz of the frame and metadata decoders (issue 15): any byte string is accepted or raises
WireError — nothing else. The longer run is ``benchmarks/bench_wirefuzz.py`` (make bench)."""

from __future__ import annotations

import json
import random
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from splitinfer.runtime.messages import check_decide_request, check_float, check_report
from splitinfer.runtime.wire import (
    HEADER,
    KIND_REQUEST,
    FrameAssembler,
    Limits,
    ReceiveBudget,
    WireError,
    decode_frame,
    encode_frame,
    frame_chunks,
    receiving,
)
from splitinfer.runtime.wirefuzz import decode_all, hostile_inputs, valid_frames

LIM = Limits(max_payload_bytes=1 << 20)


def _frame_with_meta(meta: bytes, payload: bytes = b"") -> bytes:
    return HEADER.pack(b"SIF1", 1, 3, 0, 0, len(meta), 0, *[0] * 8) + meta + payload


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_mutated_frames_accepted_or_wire_error(seed):
    for buf in hostile_inputs(random.Random(seed), 40):
        assert decode_all(buf, LIM) in ("accepted", "rejected")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_accepted_or_wire_error(buf):
    assert decode_all(buf, LIM) in ("accepted", "rejected")
    assert decode_all(HEADER.pack(b"SIF1", 1, 3, 0, 0, len(buf), 0, *[0] * 8) + buf, LIM) in (
        "accepted", "rejected")


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                     lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=6), c,
                                                                        max_size=4),
                     max_leaves=30)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(["task", "now", "finish", "pieces", "samples", "stages",
                                        "priority", "rates", "device", "model", "prev"]),
                       _json, max_size=8))
def test_generated_metadata_accepted_or_wire_error(meta):
    text = json.dumps(meta, allow_nan=True).encode()
    assert decode_all(_frame_with_meta(text), LIM) in ("accepted", "rejected")


@pytest.mark.parametrize("meta, words", [
    (b"[" * 30_000 + b"]" * 30_000, "nested deeper"),
    (b'{"a":' * 5000 + b"1" + b"}" * 5000, "nested deeper"),
    (b'{"now": ' + b"9" * 5000 + b"}", "5000-digit integer"),
    (b'{"now": 1e999}', "not a finite"),
    (b'{"now": -Infinity}', "Infinity"),
    (b'{"a": "\xff"}', "UTF-8"),
])
def test_hostile_metadata_named(meta, words):
    with pytest.raises(WireError, match=words):
        decode_frame(_frame_with_meta(meta), LIM)


def test_float_field_given_a_huge_integer_is_a_wire_error():
    meta = decode_frame(_frame_with_meta(b'{"task": "t", "finish": ' + b"1" + b"0" * 39 + b"}"),
                        LIM).meta
    check_report(meta)  # 1e39 is a finite float64
    with pytest.raises(WireError, match="finite number"):
        check_float({"x": 10**400}, "x")
    with pytest.raises(WireError, match="finite number"):
        check_report({"task": "t", "finish": -1.0})
    with pytest.raises(WireError, match="'arrival'"):
        check_decide_request({"task": {"id": "t", "index": 0, "device": "d", "model": "m",
                                       "arrival": float("nan"), "samples": 1}, "now": 0})


def test_shape_that_does_not_fit_its_payload():
    frame = bytearray(encode_frame({}, np.zeros((4, 4), np.float32), KIND_REQUEST))
    struct.pack_into("<I", frame, 24, 2**32 - 1)  # second dimension
    with pytest.raises(WireError, match="does not match shape"):
        decode_frame(bytes(frame), LIM)


def test_every_seed_frame_is_valid():
    assert all(decode_all(f, LIM) == "accepted" for f in valid_frames())


def test_assembler_grows_as_bytes_arrive_and_gives_them_back():
    budget = ReceiveBudget(max_total=10_000, max_per_peer=6_000)
    frame = encode_frame({"a": 1}, np.zeros(1000, np.float32), KIND_REQUEST)  # 4000 bytes
    chunks = list(frame_chunks(frame, 1000))
    with receiving(budget, "10.0.0.1"):
        a = FrameAssembler(LIM)
        b = FrameAssembler(LIM)
    a.feed(chunks[0])  # header, metadata and the first 1000 payload bytes
    assert a.received == 1000 and budget.held == 1000 and len(a._payload) == 1000
    for c in chunks[1:]:
        a.feed(c)
    b.feed(chunks[0])
    assert budget.peers() == {"10.0.0.1": 5000}
    with pytest.raises(WireError, match="limit is 6000") as info:
        b.feed(chunks[1])
        b.feed(chunks[2])
    assert info.value.status == "RESOURCE_EXHAUSTED"
    assert a.finish().array().shape == (1000,)
    assert budget.peers() == {"10.0.0.1": 2000}
    del b, info  # an abandoned stream gives its bytes back (the traceback held it)
    assert budget.held == 0 and budget.peers() == {}
    # a header that declares 1 MiB costs nothing until the bytes come
    big = HEADER.pack(b"SIF1", 1, 1, 6, 1, 2, 1 << 20, 1 << 20, *[0] * 7) + b"{}"
    with receiving(budget, "10.0.0.2"):
        c = FrameAssembler(LIM)
    c.feed(big)
    assert budget.held == 0 and len(c._payload) == 0
