"""The transport registry: one vocabulary from lab config to firmware manifest.

A transport kind is a network (what a firmware image is built for: `tcp` or `udp`, the
manifest's `transport:`) plus a URI scheme (`coap` NoSec, `coaps` secure). The table below is the
only place that knows which kind that makes, which LwM2M binding letter a server writes for it,
and how a server or client of that kind is started. Adding a transport = one entry here.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiocoap

from harness.transport.dtls import DtlsMessageInterface
from harness.transport.endpoint import Endpoint
from harness.transport.errors import TransportError
from harness.transport.interface import StreamMessageInterface
from harness.transport.udp import SafeMessageInterfaceUDP6 as MessageInterfaceUDP6

NETWORKS: tuple[str, ...] = ("tcp", "udp")
"""What a firmware image names as its `transport:` (the real client's build option)."""

UDP_RECEIVE_BUFFER = 2 * 1024 * 1024
"""SO_RCVBUF asked for a server's udp socket (Linux caps it at net.core.rmem_max)."""


async def _udp_server(ctx: aiocoap.Context, endpoint: Endpoint) -> tuple[tuple[str, int], Any]:
    holder: list[MessageInterfaceUDP6] = []

    async def make(mman):
        try:
            iface = await MessageInterfaceUDP6.create_server_transport_endpoint(
                mman, log=ctx.log, loop=ctx.loop, bind=(endpoint.host, endpoint.port),
                multicast=[])
        except OSError as exc:
            raise TransportError(
                f"Cannot listen for udp on {endpoint.host}:{endpoint.port} "
                f"({exc.strerror or exc}); choose another port or stop the process that holds it."
            ) from None
        holder.append(iface)
        return iface

    await ctx._append_tokenmanaged_messagemanaged_transport(make)
    sock = holder[0].transport.get_extra_info("socket")
    _room_for_bursts(sock)
    return (endpoint.host, int(sock.getsockname()[1])), None


def _room_for_bursts(sock: Any) -> None:
    """A larger receive buffer for a server's datagram socket while the loop is busy."""
    with contextlib.suppress(OSError):  # capped by the OS (net.core.rmem_max)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_RECEIVE_BUFFER)


async def _stream_server(ctx: aiocoap.Context, endpoint: Endpoint) -> tuple[tuple[str, int], Any]:
    holder: list[StreamMessageInterface] = []

    async def make(mman):
        iface = await StreamMessageInterface.create_server(
            mman, ctx.log, ctx.loop, kind=endpoint.kind, host=endpoint.host, port=endpoint.port,
            ssl_context_factory=endpoint.ssl_context_factory,
            handshake_timeout=endpoint.handshake_timeout,
            on_handshake_failure=endpoint.on_handshake_failure, budget=endpoint.budget)
        holder.append(iface)
        return iface

    await ctx._append_tokenmanaged_messagemanaged_transport(make)
    assert holder[0].bound is not None
    return (endpoint.host, holder[0].bound[1]), holder[0]


async def _dtls_server(ctx: aiocoap.Context, endpoint: Endpoint) -> tuple[tuple[str, int], Any]:
    if endpoint.ssl_context_factory is None:
        raise TransportError("A dtls endpoint needs ssl_context_factory; pass e.g. "
                             "lambda: server_dtls_context(cert, trusted_cas, psk).")
    holder: list[DtlsMessageInterface] = []

    async def make(mman):
        iface = await DtlsMessageInterface.create_server(
            mman, ctx.log, ctx.loop, host=endpoint.host, port=endpoint.port,
            context_factory=endpoint.ssl_context_factory,
            handshake_timeout=endpoint.handshake_timeout, idle_timeout=endpoint.idle_timeout,
            on_handshake_failure=endpoint.on_handshake_failure)
        holder.append(iface)
        return iface

    await ctx._append_tokenmanaged_messagemanaged_transport(make)
    assert holder[0].bound is not None and holder[0]._transport is not None
    _room_for_bursts(holder[0]._transport.get_extra_info("socket"))
    return (endpoint.host, holder[0].bound[1]), holder[0]


def _udp_client(ctx: aiocoap.Context, loop: asyncio.AbstractEventLoop, _tls: Any):
    return lambda mman: MessageInterfaceUDP6.create_client_transport_endpoint(
        mman, log=ctx.log, loop=loop)


def _stream_client(kind: str):
    def make(ctx: aiocoap.Context, loop: asyncio.AbstractEventLoop, tls: Any):
        return lambda mman: StreamMessageInterface.create_client(mman, ctx.log, loop, kind=kind,
                                                                 ssl_context=tls)
    return make


def _dtls_client(ctx: aiocoap.Context, loop: asyncio.AbstractEventLoop, tls: Any):
    return lambda mman: DtlsMessageInterface.create_client(mman, ctx.log, loop,
                                                           client_context=tls)


ServerStarter = Callable[[aiocoap.Context, Endpoint], Awaitable[tuple[tuple[str, int], Any]]]
ClientStarter = Callable[[aiocoap.Context, asyncio.AbstractEventLoop, Any], Callable]


@dataclass(frozen=True)
class TransportSpec:
    """One transport kind: its network and scheme, the binding letter, how to serve and dial."""

    kind: str
    network: str
    scheme: str
    binding: str
    start_server: ServerStarter
    client_interface: ClientStarter
    needs_tls: bool
    config_key: str
    tls_family: str | None
    standard_clients: bool
    """True when standard LwM2M clients use it too (udp, dtls); the stream kinds carry only the
    Device Management Client (standard clients speak RFC 8323 over TCP, which these are not)."""

    @property
    def secure(self) -> bool:
        """True when the peer authenticates (coaps)."""
        return self.scheme == "coaps"


TRANSPORTS: dict[str, TransportSpec] = {spec.kind: spec for spec in (
    TransportSpec("tls-record", "tcp", "coaps", "T", _stream_server, _stream_client("tls-record"),
                  True, "tls_record", "tls", False),
    TransportSpec("tcp-length", "tcp", "coap", "T", _stream_server, _stream_client("tcp-length"),
                  False, "tcp_length", None, False),
    TransportSpec("udp", "udp", "coap", "U", _udp_server, _udp_client, False, "udp", None, True),
    TransportSpec("dtls", "udp", "coaps", "U", _dtls_server, _dtls_client, True, "dtls", "dtls", True),
)}
KINDS: tuple[str, ...] = tuple(TRANSPORTS)


def transport(kind: str) -> TransportSpec:
    """The spec of a transport kind, or a clear error naming the known kinds."""
    spec = TRANSPORTS.get(kind)
    if spec is None:
        raise TransportError(f"Unknown transport kind {kind!r}; use one of {', '.join(KINDS)}.")
    return spec


def kind_for(network: str, scheme: str) -> str:
    """The kind a client built for `network` (tcp/udp) uses for a `scheme` (coap/coaps) URI."""
    for spec in TRANSPORTS.values():
        if spec.network == network and spec.scheme == scheme:
            return spec.kind
    raise TransportError(f"No transport for network {network!r} and scheme {scheme!r}; use "
                         f"network tcp or udp and a coap:// or coaps:// URI.")


def kind_of(remote: object) -> str:
    """The kind of a request's remote (aiocoap's own udp remotes carry none: udp)."""
    kind = getattr(remote, "kind", None)
    return kind if kind in TRANSPORTS else "udp"


def kinds_on(network: str) -> list[str]:
    """The kinds a client built for `network` can use (NoSec first)."""
    return sorted((s.kind for s in TRANSPORTS.values() if s.network == network),
                  key=lambda k: TRANSPORTS[k].secure)


def client_tls_ok(kind: str, tls: ssl.SSLContext | Any | None) -> None:
    """Refuse a secure client without its TLS/DTLS context, with the fix."""
    if transport(kind).needs_tls and tls is None:
        raise TransportError(f"A {kind} client needs ssl_context (its TLS or DTLS credentials).")
