"""aiocoap Contexts wired with the harness transports: servers on several endpoints, clients."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from dataclasses import dataclass, field

import aiocoap
from aiocoap.util import hostportjoin

from harness.transport.connection import StreamConnection
from harness.transport.endpoint import KINDS, SCHEMES, Endpoint
from harness.transport.errors import TransportError
from harness.transport.interface import StreamMessageInterface
from harness.transport.tls_engine import TlsContext
from harness.transport.udp import SafeMessageInterfaceUDP6 as MessageInterfaceUDP6

UDP_RECEIVE_BUFFER = 2 * 1024 * 1024
"""SO_RCVBUF asked for a server's udp socket (Linux caps it at net.core.rmem_max)."""

_DTLS_LATER = (
    "The dtls transport is not implemented yet; use tls-record, tcp-length or udp."
)


def peer_certificate(remote: object) -> bytes | None:
    """DER of the verified TLS peer certificate of a request's remote (None without TLS)."""
    return getattr(remote, "peer_certificate", None)


def close_connection(remote: object) -> bool:
    """Close the stream connection behind a remote (TLS: close_notify first); False if none."""
    if isinstance(remote, StreamConnection) and remote.is_open:
        remote.close()
        return True
    return False


def is_connected(remote: object) -> bool:
    """True while the stream connection behind a remote is open (udp remotes: always True)."""
    if isinstance(remote, StreamConnection):
        return remote.is_open
    return remote is not None


def _check_kind(kind: str) -> None:
    if kind == "dtls":
        raise TransportError(_DTLS_LATER)
    if kind not in KINDS:
        raise TransportError(f"Unknown transport kind {kind!r}; use one of {', '.join(KINDS)}.")


@dataclass
class ServerContext:
    """A running server: the aiocoap Context and the actual (host, port) of each endpoint."""

    context: aiocoap.Context
    bound: dict[str, tuple[str, int]] = field(default_factory=dict)
    interfaces: dict[str, StreamMessageInterface] = field(default_factory=dict)

    def connections(self, kind: str) -> frozenset:
        """Live connections of a stream endpoint (tls-record or tcp-length)."""
        return self._stream(kind).connections

    async def wait_no_connections(self, kind: str, timeout: float = 5.0) -> None:
        """Wait until a stream endpoint has no connection left (TimeoutError otherwise)."""
        await self._stream(kind).wait_idle(timeout)

    def _stream(self, kind: str) -> StreamMessageInterface:
        if kind not in self.interfaces:
            raise TransportError(
                f"This server has no {kind} stream endpoint; add Endpoint({kind!r})."
            )
        return self.interfaces[kind]

    def uri(self, kind: str) -> str:
        """Base URI of the endpoint of `kind`, e.g. coaps://127.0.0.1:41234."""
        if kind not in self.bound:
            raise TransportError(
                f"This server has no {kind} endpoint; add Endpoint({kind!r}) when creating it."
            )
        host, port = self.bound[kind]
        return f"{SCHEMES[kind]}://{hostportjoin(host, port)}"

    async def shutdown(self) -> None:
        """Close every listener and connection."""
        await self.context.shutdown()


async def _add_udp_server(ctx: aiocoap.Context, endpoint: Endpoint) -> tuple[str, int]:
    holder: list[MessageInterfaceUDP6] = []

    async def make(mman):
        try:
            iface = await MessageInterfaceUDP6.create_server_transport_endpoint(
                mman, log=ctx.log, loop=ctx.loop, bind=(endpoint.host, endpoint.port),
                multicast=[],
            )
        except OSError as exc:
            raise TransportError(
                f"Cannot listen for udp on {endpoint.host}:{endpoint.port} "
                f"({exc.strerror or exc}); choose another port or stop the process that holds it."
            ) from None
        holder.append(iface)
        return iface

    await ctx._append_tokenmanaged_messagemanaged_transport(make)
    sock = holder[0].transport.get_extra_info("socket")
    with contextlib.suppress(OSError):  # room for bursts while the loop is busy (capped by the OS)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_RECEIVE_BUFFER)
    port = sock.getsockname()[1]
    return (endpoint.host, int(port))


async def _add_stream_server(ctx: aiocoap.Context, endpoint: Endpoint) -> StreamMessageInterface:
    holder: list[StreamMessageInterface] = []

    async def make(mman):
        iface = await StreamMessageInterface.create_server(
            mman, ctx.log, ctx.loop, kind=endpoint.kind, host=endpoint.host, port=endpoint.port,
            ssl_context_factory=endpoint.ssl_context_factory,
            handshake_timeout=endpoint.handshake_timeout,
            on_handshake_failure=endpoint.on_handshake_failure,
            budget=endpoint.budget,
        )
        holder.append(iface)
        return iface

    await ctx._append_tokenmanaged_messagemanaged_transport(make)
    return holder[0]


async def create_server_context(site, endpoints: list[Endpoint]) -> ServerContext:
    """Start one aiocoap server Context serving `site` on every endpoint (one per kind)."""
    kinds = [e.kind for e in endpoints]
    for kind in kinds:
        _check_kind(kind)
    if len(set(kinds)) != len(kinds):
        raise TransportError(f"Endpoints {kinds} repeat a kind; give each kind at most once.")
    ctx = aiocoap.Context(loop=asyncio.get_running_loop(), serversite=site,
                          loggername="coap-server")
    server = ServerContext(ctx)
    try:
        for endpoint in endpoints:
            if endpoint.kind == "udp":
                server.bound["udp"] = await _add_udp_server(ctx, endpoint)
            else:
                iface = await _add_stream_server(ctx, endpoint)
                assert iface.bound is not None
                server.bound[endpoint.kind] = (endpoint.host, iface.bound[1])
                server.interfaces[endpoint.kind] = iface
    except BaseException:
        if ctx.request_interfaces:  # aiocoap cannot shut down a context without transports
            await ctx.shutdown()
        raise
    return server


async def create_client_context(
    kind: str, *, ssl_context: TlsContext | ssl.SSLContext | None = None, site=None
) -> aiocoap.Context:
    """A client Context for one kind; requests the server sends back are served by `site`.

    Request URIs: coaps://host:port/... (tls-record), coap://host:port/... (tcp-length, udp).
    """
    _check_kind(kind)
    loop = asyncio.get_running_loop()
    ctx = aiocoap.Context(loop=loop, serversite=site, loggername="coap-client")
    if kind == "udp":
        await ctx._append_tokenmanaged_messagemanaged_transport(
            lambda mman: MessageInterfaceUDP6.create_client_transport_endpoint(
                mman, log=ctx.log, loop=loop
            )
        )
    else:
        await ctx._append_tokenmanaged_messagemanaged_transport(
            lambda mman: StreamMessageInterface.create_client(
                mman, ctx.log, loop, kind=kind, ssl_context=ssl_context
            )
        )
    return ctx
