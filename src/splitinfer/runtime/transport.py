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

Servers defend themselves (:class:`ServerPolicy`, applied by :func:`make_server` to every method):

* **Calls are capped**: at most ``max_streams`` calls of the methods that may hold a thread for
  long (every method but the *light* ones, ``Info`` by default: the worker's ``Deliver`` and
  ``Sink`` streams and its ``Run``, the controller's ``Decide`` and ``Report``) at once,
  ``max_streams_per_peer`` from one host, and ``max_streams_per_connection`` per HTTP/2
  connection (gRPC's ``grpc.max_concurrent_streams``: the client queues the rest); a call past a
  cap is refused at once with ``RESOURCE_EXHAUSTED``.
* **A free lane**: the thread pool has ``unary_lane`` threads more than capped calls may take,
  so the light calls (health and ``Info``) are served while every slot is held;
  ``grpc.server(maximum_concurrent_rpcs=...)`` bounds what may queue behind them.
* **Receive deadlines**: a stream must deliver its first chunk within ``first_chunk_s`` and then
  never pause longer than ``idle_s``; a :class:`StreamWatchdog` thread cancels a stalled stream
  with ``DEADLINE_EXCEEDED``, which frees its thread and slot. A stalled client costs its own
  streams only.
* **Bytes held are budgeted**: the frames being received are charged to a
  :class:`~splitinfer.runtime.wire.ReceiveBudget` per peer host and in total.

TLS: :class:`ServerTLS` (certificate, key, optionally a client CA for mutual TLS) makes
:func:`make_server` bind with gRPC's SSL credentials; :class:`ClientTLS` (a CA, optionally a
client certificate) makes :func:`client_channel` a secure channel. Clients built without an
explicit setting read it from the environment (``SPLITINFER_TLS_CA``,
``SPLITINFER_TLS_CLIENT_CERT``, ``SPLITINFER_TLS_CLIENT_KEY``, ``SPLITINFER_TLS_SERVER_NAME``),
which is how ``splitinfer run`` hands it to every process it starts.

Examples
--------
>>> options = channel_options(Limits(max_payload_bytes=1000))
>>> dict(options)["grpc.max_receive_message_length"]
66588
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from splitinfer.errors import SplitInferError
from splitinfer.runtime.wire import HEADER, Limits, ReceiveBudget, WireError, receiving

__all__ = [
    "WORKER_SERVICE", "CONTROLLER_SERVICE", "TOKEN_HEADER", "channel_options", "make_server",
    "method", "abort_wire", "check_token", "call_metadata", "read_token", "free_ports",
    "ServerPolicy", "ServerTLS", "ClientTLS", "StreamWatchdog", "client_channel", "peer_host",
    "is_loopback", "TLSConfigError", "TLSFiles",
]

WORKER_SERVICE = "splitinfer.Worker"
CONTROLLER_SERVICE = "splitinfer.Controller"
TOKEN_HEADER = "x-splitinfer-token"


def channel_options(limits: Limits) -> list[tuple[str, int]]:
    """gRPC options for both ends: message limits at the largest allowed frame."""
    biggest = limits.max_payload_bytes + limits.max_meta_bytes + HEADER.size
    return [("grpc.max_receive_message_length", biggest),
            ("grpc.max_send_message_length", biggest)]


class TLSConfigError(SplitInferError, ValueError):
    """A TLS certificate, key or CA file that cannot be read or is not PEM."""


def _read_pem(path: str | Path, what: str) -> bytes:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise TLSConfigError(f"cannot read the TLS {what} {path}: {exc.strerror or exc}") from None
    if b"-----BEGIN " not in data:
        raise TLSConfigError(f"the TLS {what} {path} is not a PEM file")
    return data


@dataclass(frozen=True)
class ServerTLS:
    """A server's certificate chain and key (PEM), and the CA of clients for mutual TLS.

    Build it with :meth:`from_files`; ``client_ca`` set means every client must present a
    certificate signed by it.
    """

    cert: bytes
    key: bytes
    client_ca: bytes | None = None

    @classmethod
    def from_files(cls, cert: str | Path, key: str | Path,
                   client_ca: str | Path | None = None) -> ServerTLS:
        """Read the PEM files (:class:`TLSConfigError` naming the file if one is unreadable)."""
        return cls(_read_pem(cert, "certificate"), _read_pem(key, "key"),
                   _read_pem(client_ca, "client CA") if client_ca else None)

    def credentials(self) -> Any:
        """gRPC server credentials."""
        import grpc

        return grpc.ssl_server_credentials([(self.key, self.cert)],
                                           root_certificates=self.client_ca,
                                           require_client_auth=self.client_ca is not None)


_ENV_CA, _ENV_CERT, _ENV_KEY, _ENV_NAME = ("SPLITINFER_TLS_CA", "SPLITINFER_TLS_CLIENT_CERT",
                                           "SPLITINFER_TLS_CLIENT_KEY",
                                           "SPLITINFER_TLS_SERVER_NAME")


@dataclass(frozen=True)
class ClientTLS:
    """What a client trusts (a CA, PEM) and, for mutual TLS, the certificate it presents.

    ``server_name`` overrides the name checked against the server's certificate (when servers
    are reached by addresses their certificate does not list).

    Examples
    --------
    >>> ClientTLS.from_env({}) is None
    True
    """

    ca: bytes
    cert: bytes | None = None
    key: bytes | None = None
    server_name: str | None = None

    @classmethod
    def from_files(cls, ca: str | Path, cert: str | Path | None = None,
                   key: str | Path | None = None, server_name: str | None = None) -> ClientTLS:
        """Read the PEM files; ``cert`` and ``key`` go together."""
        if bool(cert) != bool(key):
            raise TLSConfigError("a client certificate needs its key, and a key its certificate")
        return cls(_read_pem(ca, "CA"), _read_pem(cert, "client certificate") if cert else None,
                   _read_pem(key, "client key") if key else None, server_name or None)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> ClientTLS | None:
        """From ``SPLITINFER_TLS_*`` (module docstring); ``None`` when no CA is set."""
        env = os.environ if env is None else env
        if not env.get(_ENV_CA):
            return None
        return cls.from_files(env[_ENV_CA], env.get(_ENV_CERT) or None,
                              env.get(_ENV_KEY) or None, env.get(_ENV_NAME) or None)

    def credentials(self) -> Any:
        """gRPC channel credentials."""
        import grpc

        return grpc.ssl_channel_credentials(self.ca, self.key, self.cert)


@dataclass(frozen=True)
class TLSFiles:
    """The TLS files of a whole run (``splitinfer run --tls-*``): what each process is given.

    Parameters
    ----------
    ca : path
        CA that signed the servers' certificate (every client trusts it).
    cert, key : path
        The certificate and key every worker and the controller serve with.
    client_ca : path, optional
        Mutual TLS: servers require client certificates signed by this CA ...
    client_cert, client_key : path, optional
        ... and every client presents this one.
    server_name : str, optional
        Name checked against the servers' certificate instead of the address dialled.

    Examples
    --------
    >>> t = TLSFiles("ca.pem", "srv.pem", "srv.key")
    >>> t.serve_args()
    ['--tls-cert', 'srv.pem', '--tls-key', 'srv.key']
    >>> t.client_env()
    {'SPLITINFER_TLS_CA': 'ca.pem'}
    """

    ca: str
    cert: str
    key: str
    client_ca: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    server_name: str | None = None

    def check(self) -> TLSFiles:
        """Read every file once (:class:`TLSConfigError` naming the first that is unusable)."""
        ServerTLS.from_files(self.cert, self.key, self.client_ca)
        ClientTLS.from_files(self.ca, self.client_cert, self.client_key, self.server_name)
        if self.client_ca and not self.client_cert:
            raise TLSConfigError("mutual TLS (a client CA) needs a client certificate and key")
        return self

    def serve_args(self) -> list[str]:
        """Options of ``splitinfer serve worker|controller``."""
        args = ["--tls-cert", str(self.cert), "--tls-key", str(self.key)]
        return args + (["--tls-client-ca", str(self.client_ca)] if self.client_ca else [])

    def client_env(self) -> dict[str, str]:
        """Environment that makes every client of a process use TLS (:meth:`ClientTLS.from_env`)."""
        env = {_ENV_CA: str(self.ca)}
        if self.client_cert and self.client_key:
            env |= {_ENV_CERT: str(self.client_cert), _ENV_KEY: str(self.client_key)}
        if self.server_name:
            env[_ENV_NAME] = self.server_name
        return env


@dataclass(frozen=True)
class ServerPolicy:
    """How a server bounds what its callers may hold (module docstring).

    Parameters
    ----------
    max_streams : int
        Streaming calls served at once (each holds a thread while it receives and computes).
    max_streams_per_peer : int
        Of those, from one peer host.
    max_streams_per_connection : int
        HTTP/2 streams per connection (the client queues beyond it).
    unary_lane : int
        Threads beyond ``max_streams``, kept for the unary calls.
    first_chunk_s, idle_s : float
        Receive deadlines of a stream: its first chunk, then the longest pause between chunks.
    max_buffered_bytes, max_buffered_per_peer : int
        Bytes of incomplete frames held in total and per peer host.
    """

    max_streams: int = 64
    max_streams_per_peer: int = 48
    max_streams_per_connection: int = 32
    unary_lane: int = 8
    first_chunk_s: float = 30.0
    idle_s: float = 10.0
    max_buffered_bytes: int = 512 * 2**20
    max_buffered_per_peer: int = 256 * 2**20

    def __post_init__(self) -> None:
        if min(self.max_streams, self.max_streams_per_peer, self.max_streams_per_connection,
               self.unary_lane) < 1:
            raise ValueError("stream caps and the unary lane must be at least 1")
        if not (self.first_chunk_s > 0 and self.idle_s > 0):
            raise ValueError("receive deadlines must be positive")


class _Watch:
    __slots__ = ("context", "deadline", "fired", "what")

    def __init__(self, context: Any, deadline: float, what: str) -> None:
        self.context, self.deadline, self.fired, self.what = context, deadline, False, what


class StreamWatchdog:
    """One thread that cancels streams whose receive deadline has passed.

    The thread runs only while some stream is watched. A stream past its deadline is cancelled
    with ``DEADLINE_EXCEEDED``: the server's blocked read returns, its thread and slot are freed.
    """

    def __init__(self) -> None:
        self._watches: set[_Watch] = set()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def watch(self, context: Any, seconds: float, what: str) -> _Watch:
        """Start watching a stream: it must make progress within ``seconds``."""
        w = _Watch(context, time.monotonic() + seconds, what)
        with self._cond:
            self._watches.add(w)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="stream-watchdog",
                                                daemon=True)
                self._thread.start()
            self._cond.notify()
        return w

    def rearm(self, w: _Watch, seconds: float, what: str) -> None:
        """The stream made progress: its next deadline is ``seconds`` from now."""
        w.deadline, w.what = time.monotonic() + seconds, what

    def done(self, w: _Watch) -> None:
        """Stop watching."""
        with self._cond:
            self._watches.discard(w)

    @property
    def watched(self) -> int:
        """Streams watched now."""
        with self._cond:
            return len(self._watches)

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._watches:
                    self._thread = None
                    return
                now = time.monotonic()
                expired = [w for w in self._watches if w.deadline <= now]
                for w in expired:
                    self._watches.discard(w)
                    w.fired = True
                if not expired:
                    nearest = min(w.deadline for w in self._watches)
                    self._cond.wait(min(max(nearest - now, 0.01), 1.0))
                    continue
            for w in expired:
                _cancel(w.context, w.what)


def _cancel(context: Any, message: str) -> None:
    """Cancel a server-side call with DEADLINE_EXCEEDED and ``message`` (plain cancel if the
    running gRPC has no such hook)."""
    try:
        from grpc._cython import cygrpc

        context._rpc_event.call.cancel(cygrpc.StatusCode.deadline_exceeded, message)
    except Exception:  # noqa: BLE001 - a gRPC without the private hook: cancel plainly
        context.cancel()


class _WatchedIterator:
    """The request stream of one call, its progress reported to the watchdog."""

    def __init__(self, it: Any, dog: StreamWatchdog, w: _Watch, idle_s: float) -> None:
        self._it, self._dog, self._w, self._idle = iter(it), dog, w, idle_s

    def __iter__(self) -> _WatchedIterator:
        return self

    def __next__(self) -> Any:
        try:
            item = next(self._it)
        except StopIteration:
            self._dog.done(self._w)  # all received: what the handler does next is not receiving
            raise
        except Exception:
            if self._w.fired:
                raise WireError(self._w.what, "DEADLINE_EXCEEDED") from None
            raise
        self._dog.rearm(self._w, self._idle, f"no data for {self._idle:g} s: stream closed")
        return item


def peer_host(peer: str) -> str:
    """The host part of a gRPC peer string (``ipv4:1.2.3.4:5678`` -> ``1.2.3.4``).

    Examples
    --------
    >>> peer_host("ipv4:127.0.0.1:50051"), peer_host("ipv6:[::1]:443"), peer_host("unix:/tmp/s")
    ('127.0.0.1', '::1', 'unix:/tmp/s')
    """
    kind, _, rest = peer.partition(":")
    if kind == "ipv4":
        return rest.rsplit(":", 1)[0]
    if kind == "ipv6":
        return rest.rsplit(":", 1)[0].strip("[]")
    return peer


class _Guard:
    """Per-server stream accounting: caps, receive deadlines, receive budget."""

    def __init__(self, policy: ServerPolicy) -> None:
        self.policy = policy
        self.dog = StreamWatchdog()
        self.budget = ReceiveBudget(policy.max_buffered_bytes, policy.max_buffered_per_peer)
        self._lock = threading.Lock()
        self.active = 0
        self.per_peer: dict[str, int] = {}
        self.refused = 0

    def _acquire(self, host: str) -> str | None:
        with self._lock:
            if self.active >= self.policy.max_streams:
                self.refused += 1
                return f"server busy: {self.active} calls open (limit {self.policy.max_streams})"
            mine = self.per_peer.get(host, 0)
            if mine >= self.policy.max_streams_per_peer:
                self.refused += 1
                return (f"too many calls from {host}: {mine} open (limit "
                        f"{self.policy.max_streams_per_peer})")
            self.active += 1
            self.per_peer[host] = mine + 1
            return None

    def _release(self, host: str) -> None:
        with self._lock:
            self.active -= 1
            left = self.per_peer.get(host, 1) - 1
            if left > 0:
                self.per_peer[host] = left
            else:
                self.per_peer.pop(host, None)

    def unary(self, behaviour: Callable) -> Callable:
        import grpc

        def capped(request: Any, context: Any) -> Any:
            host = peer_host(context.peer() or "")
            refused = self._acquire(host)
            if refused is not None:
                context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, refused)
            try:
                return behaviour(request, context)
            finally:
                self._release(host)

        return capped

    def stream(self, behaviour: Callable) -> Callable:
        import grpc

        def guarded(request_iterator: Any, context: Any) -> Any:
            host = peer_host(context.peer() or "")
            refused = self._acquire(host)
            if refused is not None:
                context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, refused)
            first = self.policy.first_chunk_s
            w = self.dog.watch(context, first, f"no data within {first:g} s: stream closed")
            try:
                with receiving(self.budget, host):
                    return behaviour(_WatchedIterator(request_iterator, self.dog, w,
                                                      self.policy.idle_s), context)
            finally:
                self.dog.done(w)
                self._release(host)

        return guarded


def make_server(service: str, handlers: dict[str, Any], address: str, limits: Limits,
                max_workers: int | None = None, tls: ServerTLS | None = None,
                policy: ServerPolicy | None = None, light: tuple[str, ...] = ("Info",)):
    """Start a gRPC server for ``service`` on ``address`` (``"host:port"``, port 0 = any).

    Parameters
    ----------
    handlers : dict
        Method name -> a ``grpc.*_rpc_method_handler`` (built by :func:`method`). Every method
        not in ``light`` is capped by ``policy``; client-streaming ones also get its receive
        deadlines and receive budget.
    max_workers : int, optional
        Threads; at least ``policy.max_streams + policy.unary_lane`` (the default).
    tls : ServerTLS, optional
        Serve TLS (mutual TLS when it has a client CA); plaintext without.
    policy : ServerPolicy, optional
    light : tuple of str
        Short unary methods served on the free lane, outside the caps.

    Returns
    -------
    (grpc.Server, int)
        The started server and the bound port. ``server.guard`` holds the stream accounting.
    """
    import grpc

    policy = policy or ServerPolicy()
    guard = _Guard(policy)
    threads = max(max_workers or 0, policy.max_streams + policy.unary_lane)
    wrapped = {}
    for name, h in handlers.items():
        if name in light or h.response_streaming:
            wrapped[name] = h
        elif h.request_streaming:
            wrapped[name] = grpc.stream_unary_rpc_method_handler(guard.stream(h.stream_unary))
        else:
            wrapped[name] = grpc.unary_unary_rpc_method_handler(guard.unary(h.unary_unary))
    options = [*channel_options(limits),
               ("grpc.max_concurrent_streams", policy.max_streams_per_connection)]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=threads,
                                                    thread_name_prefix=service),
                         options=options, maximum_concurrent_rpcs=2 * threads)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, wrapped),))
    try:
        port = (server.add_secure_port(address, tls.credentials()) if tls is not None
                else server.add_insecure_port(address))
    except RuntimeError as exc:  # gRPC raises RuntimeError when it cannot bind
        raise OSError(f"cannot bind {address}: {exc}") from None
    if port == 0:
        raise OSError(f"cannot bind {address}")
    server.start()
    server.guard = guard
    return server, port


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` exposes the server to this machine only.

    Examples
    --------
    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("::1")
    (True, True, True)
    >>> is_loopback("0.0.0.0"), is_loopback("192.168.1.5"), is_loopback("")
    (False, False, False)
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


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

    Secrets are not taken on the command line, where other users could read them. A file that
    cannot be read, or whose first line is empty, is a :class:`SplitInferError`.

    Examples
    --------
    >>> read_token(None, env="SPLITINFER_NO_SUCH_VARIABLE") is None
    True
    """
    if path:
        try:
            with open(path, encoding="utf-8") as fh:
                value = fh.readline(4096).strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise SplitInferError(f"cannot read token file {path}: "
                                  f"{getattr(exc, 'strerror', None) or exc}") from None
        if not value:
            raise SplitInferError(f"token file {path} is empty")
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


_FROM_ENV: Any = object()


def client_channel(address: str, limits: Limits, tls: ClientTLS | None | Any = _FROM_ENV) -> Any:
    """A client channel to ``address`` with the same message limits as the servers.

    ``tls`` left out: read from the environment (:meth:`ClientTLS.from_env`); ``None``:
    plaintext; a :class:`ClientTLS`: a TLS channel.
    """
    import grpc

    if tls is _FROM_ENV:
        tls = ClientTLS.from_env()
    options = channel_options(limits)
    if tls is None:
        return grpc.insecure_channel(address, options=options)
    if tls.server_name:
        options = [*options, ("grpc.ssl_target_name_override", tls.server_name)]
    return grpc.secure_channel(address, tls.credentials(), options=options)


def insecure_channel(address: str, limits: Limits) -> Any:
    """A plaintext client channel to ``address`` (see :func:`client_channel`)."""
    return client_channel(address, limits, None)
