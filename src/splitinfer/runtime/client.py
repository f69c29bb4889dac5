"""Client side of the worker service: send a frame over a shaped link, with a deadline.

:class:`WorkerClient` is used by devices (uplink), by workers forwarding to the next tier, and by
link calibration. The frame is streamed in chunks (:func:`~splitinfer.runtime.wire.frame_chunks`)
through the sender's :class:`~splitinfer.runtime.shaping.LinkShaper`, which holds the link for the
whole transfer on a FIFO link; every call has a deadline (``timeout``) and carries the token.
Channels are TLS when a :class:`~splitinfer.runtime.transport.ClientTLS` is given, or when the
environment names a CA (``SPLITINFER_TLS_CA``, :func:`~splitinfer.runtime.transport.client_channel`).

Examples
--------
>>> from splitinfer.runtime.wire import Limits
>>> c = WorkerClient("127.0.0.1:9", Limits(), token=None)
>>> c.address
'127.0.0.1:9'
>>> c.close()
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from splitinfer.runtime.shaping import LinkShaper
from splitinfer.runtime.transport import (
    _FROM_ENV,
    CONTROLLER_SERVICE,
    WORKER_SERVICE,
    ClientTLS,
    call_metadata,
    client_channel,
    stream_call,
    unary_call,
)
from splitinfer.runtime.wire import (
    HEADER,
    KIND_CONTROL,
    Limits,
    WireError,
    decode_frame,
    encode_frame,
    frame_chunks,
)
from splitinfer.system.entities import Task
from splitinfer.system.plan import TaskPlan

__all__ = ["WorkerClient", "ControllerClient", "Sent"]

_UNSHAPED = LinkShaper(rate=1.0, mode="none")


class Sent:
    """Timing of one streamed request: ``start`` = when the link was granted (monotonic), before
    the call is set up; ``sent`` = when the last chunk left."""

    def __init__(self) -> None:
        self.start: float | None = None
        self.sent: float | None = None


class WorkerClient:
    """Calls to one worker at ``address`` (``"host:port"``).

    Parameters
    ----------
    address : str
    limits : Limits
        Message limits (the same as the worker's).
    token : str, optional
        Shared secret sent with every call.
    chunk_bytes : int
        Stream chunk size (bytes).
    tls : ClientTLS or None, optional
        TLS settings; ``None`` = plaintext; left out = from the environment
        (``SPLITINFER_TLS_CA`` ...).
    """

    def __init__(self, address: str, limits: Limits, token: str | None = None,
                 chunk_bytes: int = 65536, tls: ClientTLS | None | Any = _FROM_ENV) -> None:
        self.address = address
        self.limits = limits
        self.token = token
        self.chunk_bytes = chunk_bytes
        self.tls = tls
        self._channel = None
        self._lock = threading.Lock()

    def _chan(self) -> Any:
        with self._lock:
            if self._channel is None:
                self._channel = client_channel(self.address, self.limits, self.tls)
            return self._channel

    def close(self) -> None:
        """Close the channel."""
        with self._lock:
            if self._channel is not None:
                self._channel.close()
                self._channel = None

    def _stream(self, name: str, frame: bytes, shaper: LinkShaper | None, timeout: float,
                priority: float, ready: float | None, rate: float | None,
                order: tuple[float, int] = (0.0, 0), ticket: Any = None,
                released: Callable[[], None] | None = None) -> tuple[bytes, Sent]:
        sent = Sent()
        link = shaper or _UNSHAPED
        t0 = time.monotonic()
        # the link (and its pool) is taken before the call is set up, so the call's set-up is
        # part of the transfer, as in the probes that calibrate w0 (calibrate.probe_links), not
        # an unmodelled wait before it. Paced by the token bucket, the link is given back as
        # soon as its last byte has left (``sent``: start + latency + bytes / rate, the
        # simulator's end of the transfer), as a network frees a link whatever the receiver
        # does next: holding it until the receiver's answer came back added the answer's way
        # back and the receiver's scheduling (3-20 ms on a loaded receiver) to every hand-over
        # of a busy link. Shaped by the kernel, bytes handed to the socket may still wait in
        # its queue, so the link is given back when the receiver's receipt is here.
        hold = link.transfer(priority, ready, order, ticket, timeout, amount=rate)
        sent.start = hold.__enter__()
        once = threading.Lock()
        early = link.mode == "bucket"

        def end() -> None:
            if once.acquire(blocking=False):
                hold.__exit__(None, None, None)
                if released is not None:
                    released()

        control = HEADER.size + HEADER.unpack_from(frame)[5]  # header and metadata: not paced

        def chunks():
            yield from link.pace(frame_chunks(frame, self.chunk_bytes), rate, control)
            sent.sent = time.monotonic()
            if early:
                end()

        try:
            call = stream_call(self._chan(), WORKER_SERVICE, name)
            reply = call(chunks(), timeout=max(0.1, timeout - (time.monotonic() - t0)),
                         metadata=call_metadata(self.token))
        finally:
            end()
        return reply, sent

    def deliver(self, frame: bytes, shaper: LinkShaper | None, timeout: float,
                priority: float = 0.0, ready: float | None = None, rate: float | None = None,
                order: tuple[float, int] = (0.0, 0), ticket: Any = None,
                released: Callable[[], None] | None = None) -> tuple[dict[str, Any], Sent]:
        """Stream the tensors of one transfer stage to the worker's ``Deliver``
        (:mod:`splitinfer.runtime.route`); returns its receipt and the timing. ``released`` is
        called once, when the link is handed over (its last byte has left, token bucket; the
        receipt is here, kernel shaping).

        Raises
        ------
        grpc.RpcError
            Unreachable worker (``UNAVAILABLE``), missed deadline (``DEADLINE_EXCEEDED``), or
            the worker's rejection of the tensors.
        """
        reply, sent = self._stream("Deliver", frame, shaper, timeout, priority, ready, rate,
                                   order, ticket, released)
        return decode_frame(reply, self.limits).meta, sent

    def run(self, frame: bytes, timeout: float) -> Any:
        """Ask the worker to execute its stages of a route (``Run``); returns the answer frame.

        Raises
        ------
        grpc.RpcError
            As :meth:`deliver`; a stage that failed at the worker ends the call with its reason.
        """
        call = unary_call(self._chan(), WORKER_SERVICE, "Run")
        reply = call(frame, timeout=timeout, metadata=call_metadata(self.token))
        return decode_frame(reply, self.limits)

    def sink(self, frame: bytes, shaper: LinkShaper | None, timeout: float
             ) -> tuple[dict[str, Any], Sent]:
        """Stream a calibration frame to ``Sink``; returns the worker's receipt and the timing."""
        reply, sent = self._stream("Sink", frame, shaper, timeout, 0.0, None, None)
        return decode_frame(reply, self.limits).meta, sent

    def info(self, timeout: float = 2.0) -> dict[str, Any]:
        """The worker's ``Info``: name, models with parameter hashes, queue state."""
        call = unary_call(self._chan(), WORKER_SERVICE, "Info")
        reply = call(encode_frame({}, kind=KIND_CONTROL), timeout=timeout,
                     metadata=call_metadata(self.token))
        meta = decode_frame(reply, self.limits).meta
        json.dumps(meta)  # plain data only
        return meta


class ControllerClient:
    """Calls to the controller at ``address``: ``decide`` a task, ``report`` a finished one.

    Examples
    --------
    >>> ControllerClient("127.0.0.1:9", token=None).address
    '127.0.0.1:9'
    """

    def __init__(self, address: str, token: str | None = None,
                 limits: Limits | None = None, tls: ClientTLS | None | Any = _FROM_ENV) -> None:
        self.address = address
        self.token = token
        self.limits = limits or Limits(max_payload_bytes=0)
        self._client = WorkerClient(address, self.limits, token, tls=tls)  # channel holder

    def _call(self, name: str, meta: dict[str, Any], timeout: float) -> dict[str, Any]:
        call = unary_call(self._client._chan(), CONTROLLER_SERVICE, name)
        reply = call(encode_frame(meta, kind=KIND_CONTROL), timeout=timeout,
                     metadata=call_metadata(self.token))
        return decode_frame(reply, self.limits).meta

    def decide(self, task: Task, now: float, timeout: float = 1.0, probe: bool = False
               ) -> TaskPlan:
        """Ask where ``task`` runs; raises ``grpc.RpcError`` or :class:`WireError`. A ``probe``
        takes the same path but makes no decision (the controller's
        :meth:`~splitinfer.runtime.controller.Controller.probe`)."""
        meta = {"task": {"id": task.id, "index": task.index, "device": task.device,
                         "model": task.model, "arrival": task.arrival, "samples": task.samples},
                "now": now, **({"probe": True} if probe else {})}
        answer = self._call("Decide", meta, timeout)
        try:
            return TaskPlan.from_dict(answer["plan"])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise WireError(f"controller sent an unreadable plan: {exc}") from None

    def report(self, task: str, finish: float, fallback: bool = False,
               reason: str | None = None, timeout: float = 1.0) -> None:
        """Tell the controller that ``task`` finished at ``finish`` (seconds since the epoch)."""
        meta = {"task": task, "finish": finish, "fallback": fallback}
        if reason:
            meta["reason"] = reason[:500]
        self._call("Report", meta, timeout)

    def info(self, timeout: float = 2.0) -> dict[str, Any]:
        """The controller's ``Info``."""
        return self._call("Info", {}, timeout)

    def close(self) -> None:
        """Close the channel."""
        self._client.close()
