"""aiocoap Contexts wired with the harness transports: servers on several endpoints, clients."""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass, field
from typing import Any

import aiocoap
from aiocoap.util import hostportjoin

from harness.transport.connection import StreamConnection
from harness.transport.dtls import DtlsSession
from harness.transport.endpoint import Endpoint
from harness.transport.errors import TransportError
from harness.transport.interface import StreamMessageInterface
from harness.transport.registry import client_tls_ok, transport
from harness.transport.tls_engine import TlsContext


def peer_certificate(remote: object) -> bytes | None:
    """DER of the verified TLS peer certificate of a request's remote (None without TLS)."""
    return getattr(remote, "peer_certificate", None)


def close_connection(remote: object) -> bool:
    """Close the connection or DTLS session behind a remote (close_notify first); False if none."""
    if isinstance(remote, StreamConnection) and remote.is_open:
        remote.close()
        return True
    if isinstance(remote, DtlsSession) and remote.is_open:
        remote.drop("closed by the server", quiet=True, notify=True)
        return True
    return False


def is_connected(remote: object) -> bool:
    """True while the connection or DTLS session behind a remote is open (udp: always True)."""
    if isinstance(remote, StreamConnection | DtlsSession):
        return remote.is_open
    return remote is not None


@dataclass
class ServerContext:
    """A running server: the aiocoap Context and the actual (host, port) of each endpoint."""

    context: aiocoap.Context
    bound: dict[str, tuple[str, int]] = field(default_factory=dict)
    interfaces: dict[str, Any] = field(default_factory=dict)

    def connections(self, kind: str) -> frozenset:
        """Live connections of a stream endpoint, or live sessions of a dtls endpoint."""
        iface = self._stream(kind)
        if isinstance(iface, StreamMessageInterface):
            return iface.connections
        return frozenset(iface.sessions.values())

    async def wait_no_connections(self, kind: str, timeout: float = 5.0) -> None:
        """Wait until a stream endpoint has no connection left (TimeoutError otherwise)."""
        iface = self._stream(kind)
        if not isinstance(iface, StreamMessageInterface):
            raise TransportError(f"{kind} has sessions, not connections; use connections().")
        await iface.wait_idle(timeout)

    def _stream(self, kind: str) -> Any:
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
        return f"{transport(kind).scheme}://{hostportjoin(host, port)}"

    async def shutdown(self) -> None:
        """Close every listener and connection."""
        await self.context.shutdown()


async def create_server_context(site, endpoints: list[Endpoint]) -> ServerContext:
    """Start one aiocoap server Context serving `site` on every endpoint (one per kind)."""
    kinds = [e.kind for e in endpoints]
    for kind in kinds:
        transport(kind)
    if len(set(kinds)) != len(kinds):
        raise TransportError(f"Endpoints {kinds} repeat a kind; give each kind at most once.")
    ctx = aiocoap.Context(loop=asyncio.get_running_loop(), serversite=site,
                          loggername="coap-server")
    server = ServerContext(ctx)
    try:
        for endpoint in endpoints:
            bound, iface = await transport(endpoint.kind).start_server(ctx, endpoint)
            server.bound[endpoint.kind] = bound
            if iface is not None:
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

    Request URIs: coaps://host:port/... (tls-record, dtls), coap://host:port/... (tcp-length,
    udp). dtls takes a DeviceDtlsContext as `ssl_context`.
    """
    spec = transport(kind)
    client_tls_ok(kind, ssl_context)
    loop = asyncio.get_running_loop()
    ctx = aiocoap.Context(loop=loop, serversite=site, loggername="coap-client")
    await ctx._append_tokenmanaged_messagemanaged_transport(
        spec.client_interface(ctx, loop, ssl_context))
    return ctx
