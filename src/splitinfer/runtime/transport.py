"""gRPC plumbing without code generation: raw-bytes methods, limits, deadlines, tokens.

Services are registered with :func:`grpc.method_handlers_generic_handler` and no
(de)serializers, so every request and response is the raw bytes of one wire frame
(:mod:`splitinfer.runtime.wire`), parsed by our own validating code.

* Worker (``/splitinfer.Worker/...``): ``Infer`` (client stream of frame chunks -> one frame),
  ``Sink`` (client stream -> receipt; used to calibrate links), ``Info`` (unary).
* Controller (``/splitinfer.Controller/...``): ``Decide``, ``Report``, ``Info`` (unary).

Message sizes are raised on purpose from gRPC's 4 MiB default to the largest frame the
:class:`~splitinfer.runtime.wire.Limits` allow (payload + metadata + header), on both the server
and the client, so a legitimately large activation passes and anything larger is refused by gRPC
itself with ``RESOURCE_EXHAUSTED``. Every client call passes ``timeout=`` (a deadline). The
optional shared secret travels as call metadata ``x-splitinfer-token`` and is compared with
:func:`hmac.compare_digest`.

Examples
--------
>>> options = channel_options(Limits(max_payload_bytes=1000))
>>> dict(options)["grpc.max_receive_message_length"]
66588
"""

from __future__ import annotations

import hmac
import os
import socket
from collections.abc import Callable, Iterable
from concurrent import futures
from typing import Any

from splitinfer.runtime.wire import HEADER, Limits, WireError

__all__ = [
    "WORKER_SERVICE", "CONTROLLER_SERVICE", "TOKEN_HEADER", "channel_options", "make_server",
    "method", "abort_wire", "check_token", "call_metadata", "read_token", "free_ports",
]

WORKER_SERVICE = "splitinfer.Worker"
CONTROLLER_SERVICE = "splitinfer.Controller"
TOKEN_HEADER = "x-splitinfer-token"


def channel_options(limits: Limits) -> list[tuple[str, int]]:
    """gRPC options for both ends: message limits at the largest allowed frame."""
    biggest = limits.max_payload_bytes + limits.max_meta_bytes + HEADER.size
    return [("grpc.max_receive_message_length", biggest),
            ("grpc.max_send_message_length", biggest)]


def make_server(service: str, handlers: dict[str, Any], address: str, limits: Limits,
                max_workers: int = 32):
    """Start a gRPC server for ``service`` on ``address`` (``"host:port"``, port 0 = any).

    Parameters
    ----------
    handlers : dict
        Method name -> a ``grpc.*_rpc_method_handler`` (built by :func:`method`).

    Returns
    -------
    (grpc.Server, int)
        The started server and the bound port.
    """
    import grpc

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=max_workers,
                                                    thread_name_prefix=service),
                         options=channel_options(limits))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, handlers),))
    port = server.add_insecure_port(address)
    if port == 0:
        raise OSError(f"cannot bind {address}")
    server.start()
    return server, port


def method(kind: str, behaviour: Callable) -> Any:
    """A raw-bytes method handler: ``kind`` is ``"unary"`` or ``"stream"`` (client stream)."""
    import grpc

    if kind == "unary":
        return grpc.unary_unary_rpc_method_handler(behaviour)
    if kind == "stream":
        return grpc.stream_unary_rpc_method_handler(behaviour)
    raise ValueError(f"unknown method kind {kind!r}")


def abort_wire(context: Any, exc: WireError) -> None:
    """Abort the call with the gRPC status named by ``exc.status`` and its message."""
    import grpc

    context.abort(getattr(grpc.StatusCode, exc.status), str(exc))


def check_token(context: Any, token: str | None) -> None:
    """Abort with ``UNAUTHENTICATED`` unless the call carries ``token`` (when one is set)."""
    if token is None:
        return
    import grpc

    sent = dict(context.invocation_metadata()).get(TOKEN_HEADER, "")
    if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), token.encode()):
        context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong shared-secret token")


def call_metadata(token: str | None) -> tuple[tuple[str, str], ...]:
    """Metadata for a client call (the token, if any)."""
    return () if token is None else ((TOKEN_HEADER, token),)


def read_token(path: str | None = None, env: str = "SPLITINFER_TOKEN") -> str | None:
    """The shared secret from a file (first line) or the environment; ``None`` if neither.

    Secrets are not taken on the command line, where other users could read them.

    Examples
    --------
    >>> read_token(None, env="SPLITINFER_NO_SUCH_VARIABLE") is None
    True
    """
    if path:
        with open(path, encoding="utf-8") as fh:
            value = fh.readline().strip()
        if not value:
            raise ValueError(f"token file {path} is empty")
        return value
    return os.environ.get(env) or None


def free_ports(n: int, host: str = "127.0.0.1") -> list[int]:
    """``n`` distinct ports that were free on ``host`` a moment ago (bound together, then closed).

    Examples
    --------
    >>> ports = free_ports(3)
    >>> len(set(ports)) == 3 and all(p > 0 for p in ports)
    True
    """
    socks: list[socket.socket] = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((host, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def stream_call(channel: Any, service: str, name: str) -> Callable[[Iterable[bytes]], bytes]:
    """A client-streaming raw-bytes callable ``/service/name``."""
    return channel.stream_unary(f"/{service}/{name}")


def unary_call(channel: Any, service: str, name: str) -> Callable[[bytes], bytes]:
    """A unary raw-bytes callable ``/service/name``."""
    return channel.unary_unary(f"/{service}/{name}")


def insecure_channel(address: str, limits: Limits) -> Any:
    """A client channel to ``address`` with the same message limits as the servers."""
    import grpc

    return grpc.insecure_channel(address, options=channel_options(limits))
