"""The tensor wire format of the runtime: a fixed header, a small JSON object, raw bytes.

Nothing received from the network is ever unpickled or passed to ``torch.load``: a frame is
parsed with :mod:`struct`, its declared sizes are checked against limits *before* anything is
allocated, the metadata is parsed by :func:`json.loads` (data only, bounded length) and the
tensor is built with :func:`numpy.frombuffer` from exactly ``prod(shape) * itemsize`` bytes.

Frame layout (version 1, all integers little-endian)::

    offset size  field
    0      4     magic        b"SIF1"
    4      1     version      1
    5      1     kind         1 = tensor request, 2 = tensor response, 3 = control (no tensor)
    6      1     dtype code   see DTYPES (0 = no tensor; 9 = bfloat16, carried as its 16 bits)
    7      1     ndim         0..8
    8      4     meta_len     bytes of the UTF-8 JSON object that follows the header
    12     8     payload_len  bytes of the tensor; must equal prod(shape) * itemsize
    20     32    shape        8 x uint32; entries at and after ndim must be 0
    52     ...   meta (meta_len bytes), then payload (payload_len bytes, C order, little-endian)

A frame may travel in chunks (a gRPC client stream): the first chunk carries the whole header
and metadata, the following chunks continue the payload; :class:`FrameAssembler` checks every
declared size on the first chunk and refuses a byte more than was declared. It grows its buffer
as bytes arrive (a header that declares 64 MiB costs nothing until the bytes come), and charges
the bytes it holds to a :class:`ReceiveBudget` (per peer and in total) when a server has installed
one for the call (:func:`receiving`); they are given back when the frame is complete or the
assembler is dropped.

The decoders (:func:`decode_frame`, :class:`FrameAssembler`) raise :class:`WireError` and nothing
else for any byte string: the metadata is checked for nesting depth and number sizes before and
while :func:`json.loads` reads it (no ``RecursionError``, no ``ValueError`` from Python's
int-to-str limit, no infinite floats).

Smaller tensors on the wire (``docs/dtype.md``): a cut's float32 tensor may travel as float16
(code 2), bfloat16 (code 9, :data:`BFLOAT16`: the upper 16 bits of each float32) or int8 (code
7, per-tensor affine quantisation with ``{"wire": {"dtype": "int8", "scale": s, "zero_point":
z}}`` in the metadata); :func:`encode_tensor` sends it so and :func:`tensor_float32` restores
float32, raising only :class:`WireError`.

Examples
--------
>>> import numpy as np
>>> x = np.arange(6, dtype=np.float32).reshape(2, 3)
>>> frame = encode_frame({"task": "t0"}, x, kind=KIND_REQUEST)
>>> len(frame) == HEADER.size + len(b'{"task":"t0"}') + 24
True
>>> f = decode_frame(frame, Limits(max_payload_bytes=1024))
>>> f.meta, f.shape, f.array().tolist()
({'task': 't0'}, (2, 3), [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]])
>>> decode_frame(b"garbage", Limits())
Traceback (most recent call last):
...
splitinfer.runtime.wire.WireError: frame too short: 7 bytes, the header alone has 52
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import math
import re
import struct
import threading
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from splitinfer.errors import SplitInferError

__all__ = [
    "MAGIC", "VERSION", "HEADER", "MAX_NDIM", "DTYPES", "KIND_REQUEST", "KIND_RESPONSE",
    "KIND_CONTROL", "Limits", "Frame", "WireError", "encode_frame", "decode_frame",
    "frame_chunks", "FrameAssembler", "dtype_code", "ReceiveBudget", "receiving",
    "MAX_META_DEPTH", "MAX_NUMBER_CHARS", "BFLOAT16", "encode_tensor", "tensor_float32",
]

MAGIC = b"SIF1"
VERSION = 1
MAX_NDIM = 8
HEADER = struct.Struct("<4sBBBBIQ8I")
KIND_REQUEST, KIND_RESPONSE, KIND_CONTROL = 1, 2, 3
_KINDS = (KIND_REQUEST, KIND_RESPONSE, KIND_CONTROL)
#: Deepest nesting of arrays/objects accepted in metadata (the messages use 3).
MAX_META_DEPTH = 16
#: Longest number literal accepted in metadata (a float64 needs at most 24 characters).
MAX_NUMBER_CHARS = 40

#: bfloat16 on the wire: numpy has no such type, so its 16 bits travel in a one-field record.
BFLOAT16 = np.dtype([("bfloat16", "<u2")])

#: dtype code -> numpy dtype (explicitly little-endian); 0 means "no tensor".
DTYPES: dict[int, np.dtype] = {
    1: np.dtype("<f4"), 2: np.dtype("<f2"), 3: np.dtype("<f8"), 4: np.dtype("<i8"),
    5: np.dtype("<i4"), 6: np.dtype("u1"), 7: np.dtype("i1"), 8: np.dtype("?"), 9: BFLOAT16,
}


class WireError(SplitInferError, ValueError):
    """A malformed, mistyped, misshaped or oversized message.

    ``status`` names the gRPC status it maps to: ``"INVALID_ARGUMENT"`` or
    ``"RESOURCE_EXHAUSTED"`` (a declared size above a limit).
    """

    def __init__(self, message: str, status: str = "INVALID_ARGUMENT") -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Limits:
    """Bounds checked on every frame before anything is allocated.

    Parameters
    ----------
    max_payload_bytes : int
        Largest tensor accepted (default 64 MiB; a 224x224 ResNet activation is 3.2 MB).
    max_meta_bytes : int
        Largest metadata JSON object (default 64 KiB).
    """

    max_payload_bytes: int = 64 * 2**20
    max_meta_bytes: int = 64 * 2**10


def dtype_code(dtype: Any) -> int:
    """The wire code of a numpy dtype (or its name).

    Examples
    --------
    >>> dtype_code("float32"), dtype_code(np.int64), dtype_code(BFLOAT16)
    (1, 4, 9)
    """
    dt = np.dtype(dtype)
    if dt.kind == "V":  # only the bfloat16 record is a known record type
        if dt == BFLOAT16:
            return 9
        raise WireError(f"dtype {dt} has no wire code")
    if dt.byteorder == ">":
        raise WireError(f"big-endian dtype {dt} is not sent; convert to little-endian")
    for code, known in DTYPES.items():
        if known.kind == dt.kind and known.itemsize == dt.itemsize:
            return code
    raise WireError(f"dtype {dt} has no wire code; known: "
                    f"{sorted(str(d) for d in DTYPES.values())}")


@dataclass(frozen=True)
class Frame:
    """A decoded frame: kind, metadata, and the tensor as dtype, shape and raw bytes."""

    kind: int
    meta: dict[str, Any]
    dtype: np.dtype | None
    shape: tuple[int, ...]
    payload: bytes | bytearray | memoryview

    def array(self) -> np.ndarray:
        """The tensor as a writable numpy array (a copy of the payload).

        Raises
        ------
        WireError
            If the frame carries no tensor.
        """
        if self.dtype is None:
            raise WireError("frame carries no tensor")
        arr = np.frombuffer(self.payload, dtype=self.dtype, count=math.prod(self.shape))
        return arr.reshape(self.shape).copy()


def encode_frame(meta: dict[str, Any], array: np.ndarray | None = None,
                 kind: int = KIND_CONTROL) -> bytes:
    """Serialise ``meta`` (a JSON object) and an optional tensor into one frame.

    Parameters
    ----------
    meta : dict
        JSON-serialisable metadata (finite numbers only).
    array : ndarray, optional
        The tensor; sent in C order, little-endian.
    kind : int
        ``KIND_REQUEST``, ``KIND_RESPONSE`` or ``KIND_CONTROL``.

    Examples
    --------
    >>> decode_frame(encode_frame({"ok": True}), Limits()).meta
    {'ok': True}
    """
    if kind not in _KINDS:
        raise WireError(f"unknown frame kind {kind}")
    meta_bytes = json.dumps(meta, separators=(",", ":"), allow_nan=False).encode()
    if array is None:
        return HEADER.pack(MAGIC, VERSION, kind, 0, 0, len(meta_bytes), 0, *([0] * 8)) + meta_bytes
    arr = np.ascontiguousarray(array)
    code = dtype_code(arr.dtype)
    if arr.ndim > MAX_NDIM:
        raise WireError(f"tensor has {arr.ndim} dimensions, at most {MAX_NDIM} are sent")
    arr = arr.astype(DTYPES[code], copy=False)
    shape = list(arr.shape) + [0] * (MAX_NDIM - arr.ndim)
    head = HEADER.pack(MAGIC, VERSION, kind, code, arr.ndim, len(meta_bytes), arr.nbytes, *shape)
    return head + meta_bytes + arr.tobytes()


def encode_tensor(flat: np.ndarray, dtype: str) -> tuple[np.ndarray, dict[str, Any]]:
    """A float32 tensor in its wire form for ``dtype`` and the metadata entry to send with it.

    The array goes to :func:`encode_frame`; the dict (``{}`` for float32, else ``{"wire":
    {...}}``) joins the frame's metadata, where :func:`tensor_float32` finds it.

    Examples
    --------
    >>> x = np.array([0.5, -2.0], np.float32)
    >>> arr, extra = encode_tensor(x, "bfloat16")
    >>> f = decode_frame(encode_frame(extra, arr, KIND_REQUEST), Limits())
    >>> f.dtype == BFLOAT16, tensor_float32(f).tolist()
    (True, [0.5, -2.0])
    """
    from splitinfer.codec import encode_wire

    if dtype == "float32":
        return np.asarray(flat, np.float32), {}
    arr, params = encode_wire(flat, dtype)
    if dtype == "bfloat16":
        arr = arr.view(BFLOAT16)
    return arr, {"wire": {"dtype": dtype, **params}}


def tensor_float32(frame: Frame) -> np.ndarray:
    """The frame's tensor as float32, restored from float16, bfloat16 or int8 (the quantisation
    parameters from the metadata's ``wire`` entry); any other dtype is returned as sent.

    Raises
    ------
    WireError
        No tensor, an int8 tensor without valid ``wire`` parameters, or a ``wire`` entry that
        names another dtype than the frame carries.

    Examples
    --------
    >>> q = np.array([0, 4], np.int8)
    >>> f = decode_frame(encode_frame({"wire": {"dtype": "int8", "scale": 0.5, "zero_point": 0}},
    ...                               q, KIND_REQUEST), Limits())
    >>> tensor_float32(f).tolist()
    [0.0, 2.0]
    >>> tensor_float32(decode_frame(encode_frame({}, q, KIND_REQUEST), Limits()))
    Traceback (most recent call last):
    ...
    splitinfer.runtime.wire.WireError: an int8 tensor needs {"wire": {"dtype": "int8", "scale": ..., "zero_point": ...}} in its metadata
    """
    from splitinfer.codec import CodecError, decode_wire

    arr = frame.array()
    wire = frame.meta.get("wire")
    names = {np.dtype("<f2"): "float16", BFLOAT16: "bfloat16", np.dtype("i1"): "int8"}
    name = names.get(frame.dtype)
    if wire is not None and (not isinstance(wire, dict) or wire.get("dtype") != name):
        raise WireError(f"metadata 'wire' must describe the frame's {frame.dtype} tensor")
    if name is None:
        return arr
    if name == "int8" and wire is None:
        raise WireError('an int8 tensor needs {"wire": {"dtype": "int8", "scale": ..., '
                        '"zero_point": ...}} in its metadata')
    try:
        return decode_wire(arr.view("<u2") if name == "bfloat16" else arr, name, wire)
    except CodecError as exc:
        raise WireError(str(exc)) from None


def _parse_header(buf: bytes | memoryview, limits: Limits
                  ) -> tuple[int, np.dtype | None, tuple[int, ...], int, int]:
    if len(buf) < HEADER.size:
        raise WireError(f"frame too short: {len(buf)} bytes, the header alone has {HEADER.size}")
    magic, version, kind, code, ndim, meta_len, payload_len, *shape = HEADER.unpack_from(buf)
    if magic != MAGIC:
        raise WireError(f"bad magic {bytes(magic)!r}, expected {MAGIC!r}: not a splitinfer frame")
    if version != VERSION:
        raise WireError(f"unsupported wire version {version}, this side speaks {VERSION}")
    if kind not in _KINDS:
        raise WireError(f"unknown frame kind {kind}")
    if meta_len > limits.max_meta_bytes:
        raise WireError(f"metadata of {meta_len} bytes exceeds the limit of "
                        f"{limits.max_meta_bytes}", "RESOURCE_EXHAUSTED")
    if payload_len > limits.max_payload_bytes:
        raise WireError(f"payload of {payload_len} bytes exceeds the limit of "
                        f"{limits.max_payload_bytes}", "RESOURCE_EXHAUSTED")
    if ndim > MAX_NDIM or any(shape[ndim:]):
        raise WireError(f"bad shape header: ndim {ndim}, dims {shape}")
    if code == 0:
        if ndim or payload_len:
            raise WireError("a frame without a tensor must have ndim 0 and no payload")
        return kind, None, (), meta_len, 0
    if code not in DTYPES:
        raise WireError(f"unknown dtype code {code}; known codes {sorted(DTYPES)}")
    dims = tuple(shape[:ndim])
    expected = math.prod(dims) * DTYPES[code].itemsize
    if expected != payload_len:
        raise WireError(f"payload length {payload_len} does not match shape {dims} of "
                        f"{DTYPES[code]} ({expected} bytes)")
    return kind, DTYPES[code], dims, meta_len, payload_len


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")


def _check_depth(text: str) -> None:
    """Refuse nesting deeper than :data:`MAX_META_DEPTH` (one linear scan, no recursion)."""
    if text.count("[") + text.count("{") <= MAX_META_DEPTH:
        return
    depth = 0
    for m in _BRACKETS.finditer(_STRING.sub("", text)):
        depth += 1 if m.group() in "[{" else -1
        if depth > MAX_META_DEPTH:
            raise WireError(f"metadata nested deeper than {MAX_META_DEPTH} levels")


def _parse_int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise WireError(f"metadata holds a {len(text)}-digit integer; at most "
                        f"{MAX_NUMBER_CHARS} characters per number")
    return int(text)


def _parse_float(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise WireError(f"metadata holds a {len(text)}-character number; at most "
                        f"{MAX_NUMBER_CHARS} characters per number")
    value = float(text)
    if not math.isfinite(value):
        raise WireError(f"metadata number {text} is not a finite float64")
    return value


def _parse_meta(raw: bytes | memoryview) -> dict[str, Any]:
    try:
        text = bytes(raw).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WireError(f"metadata is not UTF-8 JSON: {exc}") from None
    _check_depth(text)
    try:
        meta = json.loads(text, parse_constant=_no_constant, parse_int=_parse_int,
                          parse_float=_parse_float)
    except WireError:
        raise
    except (ValueError, RecursionError, OverflowError, MemoryError) as exc:
        raise WireError(f"metadata is not UTF-8 JSON: {exc}") from None
    if not isinstance(meta, dict):
        raise WireError(f"metadata must be a JSON object, got {type(meta).__name__}")
    return meta


def _no_constant(name: str) -> Any:
    raise WireError(f"metadata contains {name}; only finite numbers are accepted")


def decode_frame(buf: bytes | bytearray | memoryview, limits: Limits) -> Frame:
    """Parse and validate one whole frame (see the module docstring).

    Raises
    ------
    WireError
        Anything malformed: short or long buffer, bad magic/version/kind/dtype, a shape that
        does not match the payload length, sizes above ``limits``, metadata that is not a JSON
        object.
    """
    kind, dtype, shape, meta_len, payload_len = _parse_header(buf, limits)
    total = HEADER.size + meta_len + payload_len
    if len(buf) != total:
        raise WireError(f"frame has {len(buf)} bytes, its header declares {total}")
    view = memoryview(buf)
    meta = _parse_meta(view[HEADER.size:HEADER.size + meta_len])
    return Frame(kind, meta, dtype, shape, view[HEADER.size + meta_len:])


def frame_chunks(frame: bytes, chunk_bytes: int) -> Iterator[bytes]:
    """Split an encoded frame for a stream: header and metadata always in the first chunk.

    Examples
    --------
    >>> frame = encode_frame({}, np.zeros(100, np.uint8), KIND_REQUEST)
    >>> [len(c) for c in frame_chunks(frame, 40)]
    [94, 40, 20]
    """
    if chunk_bytes < 1:
        raise ValueError("chunk_bytes must be positive")
    meta_len = HEADER.unpack_from(frame)[5]
    first = HEADER.size + meta_len + min(chunk_bytes, len(frame) - HEADER.size - meta_len)
    yield frame[:first]
    for i in range(first, len(frame), chunk_bytes):
        yield frame[i:i + chunk_bytes]


class ReceiveBudget:
    """Bytes held by incomplete frames, counted per peer and in total against limits.

    A server makes one and installs it for every call it handles (:func:`receiving`); each
    :class:`FrameAssembler` made during the call charges the bytes it buffers to the call's peer
    and gives them back when its frame is complete or it is dropped.

    Parameters
    ----------
    max_total : int
        Bytes all incomplete frames together may hold.
    max_per_peer : int
        Bytes the incomplete frames of one peer (its host) may hold.

    Examples
    --------
    >>> b = ReceiveBudget(max_total=100, max_per_peer=60)
    >>> b.charge("a", 50); b.charge("b", 40)
    >>> b.charge("a", 20)
    Traceback (most recent call last):
    ...
    splitinfer.runtime.wire.WireError: peer a would hold 70 bytes of incomplete frames; the limit is 60
    >>> b.release("a", 50); b.held, b.peers()
    (40, {'b': 40})
    """

    def __init__(self, max_total: int = 256 * 2**20, max_per_peer: int = 128 * 2**20) -> None:
        self.max_total = max_total
        self.max_per_peer = max_per_peer
        self.held = 0
        self._peers: dict[str, int] = {}
        self._lock = threading.Lock()

    def charge(self, peer: str, n: int) -> None:
        """Hold ``n`` more bytes for ``peer``; :class:`WireError` (RESOURCE_EXHAUSTED) if over."""
        with self._lock:
            mine = self._peers.get(peer, 0) + n
            if mine > self.max_per_peer:
                raise WireError(f"peer {peer} would hold {mine} bytes of incomplete frames; "
                                f"the limit is {self.max_per_peer}", "RESOURCE_EXHAUSTED")
            if self.held + n > self.max_total:
                raise WireError(f"incomplete frames would hold {self.held + n} bytes; the "
                                f"server's limit is {self.max_total}", "RESOURCE_EXHAUSTED")
            self._peers[peer] = mine
            self.held += n

    def release(self, peer: str, n: int) -> None:
        """Give back ``n`` bytes held for ``peer``."""
        with self._lock:
            left = self._peers.get(peer, 0) - n
            if left > 0:
                self._peers[peer] = left
            else:
                self._peers.pop(peer, None)
            self.held = max(0, self.held - n)

    def peers(self) -> dict[str, int]:
        """Bytes held per peer (a copy)."""
        with self._lock:
            return dict(self._peers)


_RECEIVING: contextvars.ContextVar[tuple[ReceiveBudget, str] | None] = contextvars.ContextVar(
    "splitinfer_receiving", default=None)


@contextlib.contextmanager
def receiving(budget: ReceiveBudget | None, peer: str) -> Iterator[None]:
    """Within this block, assemblers charge ``budget`` for ``peer`` (used by servers per call).

    Examples
    --------
    >>> b = ReceiveBudget()
    >>> with receiving(b, "10.0.0.7"):
    ...     asm = FrameAssembler(Limits())
    ...     asm.feed(encode_frame({}, np.zeros(4, np.uint8), KIND_REQUEST)[:-2])
    ...     b.held
    2
    >>> del asm; b.held
    0
    """
    token = _RECEIVING.set(None if budget is None else (budget, peer))
    try:
        yield
    finally:
        _RECEIVING.reset(token)


class _Charge:
    """Bytes an assembler holds against a budget; given back once (explicitly or when dropped)."""

    def __init__(self, budget: ReceiveBudget, peer: str) -> None:
        self.budget, self.peer, self.n = budget, peer, 0

    def add(self, n: int) -> None:
        self.budget.charge(self.peer, n)
        self.n += n

    def close(self) -> None:
        n, self.n = self.n, 0
        if n:
            self.budget.release(self.peer, n)


class FrameAssembler:
    """Rebuild a frame from stream chunks, validating the declared sizes on the first chunk.

    The payload buffer grows as bytes arrive (never preallocated from the declared size). In a
    :func:`receiving` block the bytes held are charged to that budget until :meth:`finish`, or
    until the assembler is dropped.

    Examples
    --------
    >>> frame = encode_frame({"a": 1}, np.ones(10, np.float32), KIND_REQUEST)
    >>> asm = FrameAssembler(Limits())
    >>> for chunk in frame_chunks(frame, 16):
    ...     asm.feed(chunk)
    >>> asm.finish().array().sum()
    np.float32(10.0)
    """

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._head: tuple | None = None
        self._meta: dict[str, Any] | None = None
        self._payload = bytearray()
        self._charge: _Charge | None = None
        ctx = _RECEIVING.get()
        if ctx is not None:
            self._charge = _Charge(*ctx)
            weakref.finalize(self, self._charge.close)

    @property
    def meta(self) -> dict[str, Any] | None:
        """The metadata, once the first chunk has been fed."""
        return self._meta

    @property
    def declared(self) -> tuple[np.dtype | None, tuple[int, ...]] | None:
        """``(dtype, shape)`` declared by the header, once the first chunk has been fed."""
        return None if self._head is None else (self._head[1], self._head[2])

    @property
    def received(self) -> int:
        """Payload bytes received so far."""
        return len(self._payload)

    def feed(self, chunk: bytes) -> None:
        """Add one chunk; raises :class:`WireError` on anything malformed or too long."""
        if not isinstance(chunk, bytes | bytearray | memoryview):
            raise WireError(f"a stream chunk must be bytes, got {type(chunk).__name__}")
        if self._head is None:
            kind, dtype, shape, meta_len, payload_len = _parse_header(chunk, self.limits)
            if len(chunk) < HEADER.size + meta_len:
                raise WireError("the first chunk must hold the whole header and metadata")
            self._meta = _parse_meta(memoryview(chunk)[HEADER.size:HEADER.size + meta_len])
            self._head = (kind, dtype, shape, payload_len)
            chunk = memoryview(chunk)[HEADER.size + meta_len:]
        n = len(chunk)
        if len(self._payload) + n > self._head[3]:
            raise WireError(f"stream carries more than the {self._head[3]} payload bytes its "
                            "header declares")
        if n:
            if self._charge is not None:
                self._charge.add(n)
            self._payload += chunk

    def finish(self) -> Frame:
        """The complete frame; raises :class:`WireError` if bytes are missing.

        The bytes stop counting against the call's budget (the frame is no longer incomplete).
        """
        if self._head is None:
            raise WireError("empty stream: no frame")
        kind, dtype, shape, payload_len = self._head
        if len(self._payload) != payload_len:
            raise WireError(f"stream ended after {len(self._payload)} of {payload_len} payload "
                            "bytes")
        if self._charge is not None:
            self._charge.close()
        return Frame(kind, self._meta or {}, dtype, shape, self._payload)

    def close(self) -> None:
        """Drop the buffered bytes and give them back to the budget."""
        self._payload = bytearray()
        if self._charge is not None:
            self._charge.close()
