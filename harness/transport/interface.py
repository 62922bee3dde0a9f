"""aiocoap MessageInterface over stream connections (tls-record, tcp-length).

Built on aiocoap's GenericMessageInterface, the way its tinydtls transports plug in: the
MessageManager above does CON/ACK, retransmission, dedup and separate responses unchanged;
this class only turns connections into remotes and bytes into messages.
"""

from __future__ import annotations

import asyncio
import logging
import ssl

from aiocoap import Message, error
from aiocoap.numbers import COAP_PORT, COAPS_PORT
from aiocoap.transports.generic_udp import GenericMessageInterface
from aiocoap.util import hostportsplit

from harness.transport.connection import (
    HANDSHAKE_TIMEOUT,
    LengthPrefixConnection,
    StreamConnection,
)
from harness.transport.errors import ConnectFailedError, SecureConnectionError, TransportError
from harness.transport.limits import ConnectionBudget
from harness.transport.tls_engine import TlsContext
from harness.transport.tls_record import TlsRecordConnection

log = logging.getLogger("harness.transport")

CONNECT_TIMEOUT = 15.0


class StreamMessageInterface(GenericMessageInterface):
    """Serves (and/or dials) one stream transport kind for one aiocoap Context."""

    def __init__(
        self,
        mman,
        coap_log: logging.Logger,
        loop: asyncio.AbstractEventLoop,
        *,
        kind: str,
        ssl_context: TlsContext | ssl.SSLContext | None = None,
        ssl_context_factory=None,
        handshake_timeout: float = HANDSHAKE_TIMEOUT,
        on_handshake_failure=None,
        budget: ConnectionBudget | None = None,
    ) -> None:
        super().__init__(mman, coap_log, loop)
        if kind not in ("tls-record", "tcp-length"):
            raise TransportError(
                f"Unknown stream transport {kind!r}; use tls-record or tcp-length."
            )
        self.kind = kind
        self.loop = loop
        self.scheme = "coaps" if kind == "tls-record" else "coap"
        self._ssl_context = ssl_context
        self._ssl_context_factory = ssl_context_factory
        self._handshake_timeout = handshake_timeout
        self.on_handshake_failure = on_handshake_failure
        self.budget = budget
        self._server: asyncio.base_events.Server | None = None
        self._connections: set[StreamConnection] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self._outgoing: dict[tuple[str, int], StreamConnection] = {}
        self.bound: tuple[str, int] | None = None

    # ---- construction
    @classmethod
    async def create_server(cls, mman, coap_log, loop, *, kind: str, host: str, port: int,
                            ssl_context_factory=None,
                            handshake_timeout: float = HANDSHAKE_TIMEOUT,
                            on_handshake_failure=None,
                            budget: ConnectionBudget | None = None,
                            ) -> StreamMessageInterface:
        """Listen on host:port; tls-record needs an SSLContext factory (called per connection).

        `budget` bounds accepted connections (idle timeouts, cap; harness.transport.limits).
        """
        if kind == "tls-record" and ssl_context_factory is None:
            raise TransportError(
                "A tls-record endpoint needs ssl_context_factory; pass e.g. "
                "lambda: server_ssl_context(cert, trusted_cas)."
            )
        self = cls(mman, coap_log, loop, kind=kind, ssl_context_factory=ssl_context_factory,
                   handshake_timeout=handshake_timeout, on_handshake_failure=on_handshake_failure,
                   budget=budget)
        try:
            self._server = await loop.create_server(self._accept, host, port)
        except OSError as exc:
            raise TransportError(
                f"Cannot listen for {kind} on {host}:{port} ({exc.strerror or exc}); "
                "choose another port or stop the process that holds it."
            ) from None
        sockname = self._server.sockets[0].getsockname()
        self.bound = (str(sockname[0]), int(sockname[1]))
        return self

    @classmethod
    async def create_client(cls, mman, coap_log, loop, *, kind: str,
                            ssl_context: TlsContext | ssl.SSLContext | None = None) -> StreamMessageInterface:
        """A dialing interface; tls-record needs the client SSLContext."""
        if kind == "tls-record" and ssl_context is None:
            raise TransportError(
                "A tls-record client needs ssl_context; pass client_ssl_context(cred, server_ca)."
            )
        return cls(mman, coap_log, loop, kind=kind, ssl_context=ssl_context)

    def _new_connection(self, *, server_side: bool, host: str | None = None) -> StreamConnection:
        if self.kind == "tcp-length":
            return LengthPrefixConnection(self, server_side=server_side)
        if server_side:
            try:
                context = self._ssl_context_factory()
            except Exception as exc:  # noqa: BLE001 - the caller's factory; keep serving
                log.error("tls-record: ssl_context_factory failed (%s); refusing connection", exc)
                raise
        else:
            context = self._ssl_context
        return TlsRecordConnection(self, server_side=server_side, ssl_context=context,
                                   server_hostname=host,
                                   handshake_timeout=self._handshake_timeout)

    def _accept(self) -> StreamConnection:
        return self._new_connection(server_side=True)

    @property
    def connections(self) -> frozenset[StreamConnection]:
        """The live connections (accepted or dialed)."""
        return frozenset(self._connections)

    async def wait_idle(self, timeout: float) -> None:
        """Wait until no connection is left (TimeoutError after `timeout` seconds)."""
        await asyncio.wait_for(self._idle.wait(), timeout)

    # ---- callbacks from connections
    def connection_opened(self, conn: StreamConnection) -> None:
        """Track a live connection."""
        self._connections.add(conn)
        self._idle.clear()

    def connection_closed(self, conn: StreamConnection) -> None:
        """Forget a closed connection."""
        self._connections.discard(conn)
        if not self._connections:
            self._idle.set()
        key = conn.peer
        if self._outgoing.get(key) is conn:
            del self._outgoing[key]
        for k, v in list(self._outgoing.items()):
            if v is conn:
                del self._outgoing[k]

    def received_message(self, conn: StreamConnection, data: bytes) -> None:
        """Decode one message and hand it to the message layer; garbage closes the connection."""
        if self._mman is None:
            return
        try:
            message = Message.decode(data, remote=conn)
        except (error.UnparsableMessage, UnicodeError):  # UnicodeError: a non-UTF-8 text option
            conn.abort(f"unparsable CoAP message ({len(data)} bytes); the peer must send "
                       "RFC 7252 messages")
            return
        self._mman.dispatch_message(message)

    def report_error(self, conn: StreamConnection, exc: Exception) -> None:
        """Fail the requests and exchanges that wait on `conn`."""
        if self._mman is not None:
            self._mman.dispatch_error(exc, conn)

    def report_error_soon(self, conn: StreamConnection, exc: Exception) -> None:
        """Like report_error, but from the event loop (safe inside send paths)."""
        self.loop.call_soon(self.report_error, conn, exc)

    # ---- MessageInterface
    async def recognize_remote(self, remote) -> bool:
        """A remote is ours if it is one of our connections."""
        return isinstance(remote, StreamConnection) and remote._interface is self

    async def determine_remote(self, request):
        """Dial (or reuse) the connection for coaps:// (tls-record) or coap:// (tcp-length)."""
        if request.requested_scheme != self.scheme or self._server is not None:
            return None
        default_port = COAPS_PORT if self.kind == "tls-record" else COAP_PORT
        if request.unresolved_remote is not None:
            host, port = hostportsplit(request.unresolved_remote)
            port = port or default_port
        elif request.opt.uri_host:
            host, port = request.opt.uri_host, request.opt.uri_port or default_port
        else:
            raise ValueError("No location found to send message to (no URI host)")
        if self._mman is None:
            raise error.LibraryShutdown
        return await self.connect((host, port))

    async def connect(self, address: tuple[str, int]) -> StreamConnection:
        """Return the open connection to host:port, dialing and handshaking if needed."""
        host, port = address
        conn = self._outgoing.get((host, port))
        if conn is None or not conn.is_open:
            conn = self._new_connection(server_side=False, host=host)
            self._outgoing[(host, port)] = conn
            try:
                await asyncio.wait_for(
                    self.loop.create_connection(lambda: conn, host, port), CONNECT_TIMEOUT
                )
            except (OSError, TimeoutError) as exc:
                if self._outgoing.get((host, port)) is conn:
                    del self._outgoing[(host, port)]
                failure = ConnectFailedError(
                    f"Cannot connect {self.kind} to {host}:{port} ({exc or 'timeout'}); "
                    "check that the server runs and the URI is right."
                )
                conn.fail_before_connect(failure)  # wakes concurrent requests waiting on it
                raise failure from None
        try:
            await asyncio.wait_for(asyncio.shield(conn.ready), self._handshake_timeout + 1)
        except TimeoutError:
            conn.abort("connection not ready in time")
            raise SecureConnectionError(
                f"TLS handshake with {host}:{port} timed out; check the server speaks tls-record."
            ) from None
        if not conn.is_open:
            raise conn.closed_error()
        return conn

    async def shutdown(self) -> None:
        """Stop listening, close every connection (TLS: close_notify) and wait for them."""
        self._mman = None
        if self._server is not None:
            self._server.close()
        conns = list(self._connections)
        for conn in conns:
            conn.close()
        if conns:
            await asyncio.wait([asyncio.shield(c.closed) for c in conns], timeout=2.0)
            for conn in conns:
                if not conn.closed.done():
                    conn.abort("did not close in time")
        if self._server is not None:
            await self._server.wait_closed()
