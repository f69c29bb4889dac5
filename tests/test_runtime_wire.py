"""Wire format and message validation of the runtime (no network, no torch)."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from splitinfer.runtime.messages import (
    check_decide_request,
    check_infer_request,
    check_infer_response,
)
from splitinfer.runtime.wire import (
    DTYPES,
    HEADER,
    KIND_REQUEST,
    FrameAssembler,
    Limits,
    WireError,
    decode_frame,
    encode_frame,
    frame_chunks,
)

LIM = Limits(max_payload_bytes=1 << 20)


@pytest.mark.parametrize("code", sorted(DTYPES))
def test_roundtrip_every_dtype(code):
    dt = DTYPES[code]
    x = (np.arange(24) % 2).astype(dt).reshape(2, 3, 4)
    f = decode_frame(encode_frame({"k": [1, "a"]}, x, KIND_REQUEST), LIM)
    assert f.dtype == dt and f.shape == (2, 3, 4) and f.meta == {"k": [1, "a"]}
    np.testing.assert_array_equal(f.array(), x)


@settings(max_examples=40, deadline=None)
@given(shape=st.lists(st.integers(0, 5), min_size=0, max_size=4), chunk=st.integers(1, 50))
def test_chunked_roundtrip(shape, chunk):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    asm = FrameAssembler(LIM)
    for c in frame_chunks(encode_frame({"s": shape}, x, KIND_REQUEST), chunk):
        asm.feed(c)
    np.testing.assert_array_equal(asm.finish().array(), x)


def _header(**kw):
    fields = {"magic": b"SIF1", "version": 1, "kind": 1, "code": 1, "ndim": 1, "meta_len": 2,
              "payload_len": 8, "shape": [2, 0, 0, 0, 0, 0, 0, 0]}
    fields.update(kw)
    return HEADER.pack(fields["magic"], fields["version"], fields["kind"], fields["code"],
                       fields["ndim"], fields["meta_len"], fields["payload_len"], *fields["shape"])


@pytest.mark.parametrize("buf, status, words", [
    (b"\x00" * 3, "INVALID_ARGUMENT", "too short"),
    (_header(magic=b"XXXX") + b"{}" + bytes(8), "INVALID_ARGUMENT", "magic"),
    (_header(version=9) + b"{}" + bytes(8), "INVALID_ARGUMENT", "version"),
    (_header(code=77) + b"{}" + bytes(8), "INVALID_ARGUMENT", "dtype code"),
    (_header(payload_len=12) + b"{}" + bytes(12), "INVALID_ARGUMENT", "does not match shape"),
    (_header(ndim=9) + b"{}" + bytes(8), "INVALID_ARGUMENT", "shape header"),
    (_header(shape=[2, 0, 3, 0, 0, 0, 0, 0]) + b"{}" + bytes(8), "INVALID_ARGUMENT", "shape header"),
    (_header() + b"{}" + bytes(7), "INVALID_ARGUMENT", "declares"),
    (_header() + b"[]" + bytes(8), "INVALID_ARGUMENT", "JSON object"),
    (_header(meta_len=3) + b"\xff\xfe{" + bytes(8), "INVALID_ARGUMENT", "UTF-8 JSON"),
    (_header(payload_len=(1 << 20) + 4, shape=[(1 << 18) + 1, 0, 0, 0, 0, 0, 0, 0]) + b"{}",
     "RESOURCE_EXHAUSTED", "exceeds the limit"),
    (_header(meta_len=1 << 17) + b"{}", "RESOURCE_EXHAUSTED", "metadata of"),
])
def test_malformed_frames_rejected(buf, status, words):
    with pytest.raises(WireError, match=words) as info:
        decode_frame(buf, LIM)
    assert info.value.status == status


def test_nan_in_metadata_refused():
    raw = json.dumps({"a": float("nan")}).encode()
    buf = HEADER.pack(b"SIF1", 1, 3, 0, 0, len(raw), 0, *[0] * 8) + raw
    with pytest.raises(WireError, match="NaN"):
        decode_frame(buf, LIM)


def test_assembler_refuses_extra_and_missing_bytes():
    frame = encode_frame({}, np.zeros(4, np.float32), KIND_REQUEST)
    asm = FrameAssembler(LIM)
    asm.feed(frame)
    with pytest.raises(WireError, match="more than"):
        asm.feed(b"x")
    asm = FrameAssembler(LIM)
    asm.feed(frame[:-1])
    with pytest.raises(WireError, match="ended after"):
        asm.finish()
    with pytest.raises(WireError, match="empty"):
        FrameAssembler(LIM).finish()


def test_oversized_declared_payload_rejected_on_first_chunk():
    # the header alone declares too much: refused before any payload is accepted or allocated
    head = HEADER.pack(b"SIF1", 1, 1, 6, 1, 2, 1 << 30, 1 << 30, *[0] * 7) + b"{}"
    with pytest.raises(WireError) as info:
        FrameAssembler(LIM).feed(head)
    assert info.value.status == "RESOURCE_EXHAUSTED"


def test_big_endian_is_not_sent():
    with pytest.raises(WireError, match="big-endian"):
        encode_frame({}, np.zeros(2, ">f4"))


REQ = {"task": "t0", "device": "d", "model": "m", "prev": "d", "pieces": [["e", 1, 3], ["c", 3, 5]],
       "samples": 1, "priority": 0.0, "rates": [None]}


@pytest.mark.parametrize("change, words", [
    ({"task": ""}, "task"), ({"task": "a\nb"}, "task"), ({"model": 3}, "model"),
    ({"pieces": []}, "pieces"), ({"pieces": [["e", 3, 1]]}, "'b'"),
    ({"pieces": [["e", 1, 3], ["c", 4, 5]]}, "previous piece"), ({"samples": True}, "samples"),
    ({"samples": 1000}, "samples"), ({"priority": "high"}, "priority"),
    ({"rates": [-5]}, "rate"), ({"pieces": [["e", 1, 3]] * 9}, "pieces"),
])
def test_bad_infer_requests(change, words):
    with pytest.raises(WireError, match=words):
        check_infer_request({**REQ, **change})


def test_response_and_decide_validation():
    st_ok = {"name": "compute", "kind": "compute", "resource": "e", "node": "e", "ready": 1.0,
             "start": 1.0, "end": 2.0}
    assert check_infer_response({"task": "t", "stages": [st_ok]})["stages"][0]["end"] == 2.0
    with pytest.raises(WireError, match="stage kind"):
        check_infer_response({"task": "t", "stages": [{**st_ok, "kind": "magic"}]})
    with pytest.raises(WireError, match="stages"):
        check_infer_response({"task": "t", "stages": [st_ok] * 100})
    good = {"task": {"id": "t", "index": 0, "device": "d", "model": "m", "arrival": 0.0,
                     "samples": 1}, "now": 0.0}
    assert check_decide_request(good)["task"]["id"] == "t"
    with pytest.raises(WireError, match="index"):
        check_decide_request({**good, "task": {**good["task"], "index": -1}})


def test_header_layout_is_52_bytes_little_endian():
    assert HEADER.size == 52
    frame = encode_frame({}, np.zeros((3, 2), np.float32), KIND_REQUEST)
    assert struct.unpack_from("<Q", frame, 12)[0] == 24 and frame[:4] == b"SIF1"
