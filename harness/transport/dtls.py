"""`dtls`: CoAP over DTLS 1.2 as an aiocoap MessageInterface (X.509 or PSK, cookies).

One UDP socket per server; one `DtlsSession` per peer address, which is also the aiocoap remote
of that peer (CON/ACK, retransmission and dedup stay in aiocoap's message layer). A session
starts with a HelloVerifyRequest cookie, must finish its handshake within `handshake_timeout`,
and is dropped after `idle_timeout` seconds without a datagram from its peer (the peer then
handshakes again). A new ClientHello on a live session's address starts a new session.
The engines: Mbed TLS for the service (dtls_server_engine), OpenSSL for boards
(dtls_device_engine); the peer's identity (certificate or PSK identity) is on `session.identity`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from aiocoap import Message, error, interfaces
from aiocoap.numbers import COAPS_PORT
from aiocoap.transports.generic_udp import GenericMessageInterface
from aiocoap.util import hostportjoin, hostportsplit

from harness.transport.batch_reader import read_asyncio_datagrams_in_batches
from harness.transport.errors import ConnectionClosedError, SecureConnectionError, TransportError
from harness.transport.peer import PeerIdentity
from harness.transport.tls_engine import TlsEngineError, TlsPeerClosed

log = logging.getLogger("harness.transport")

HANDSHAKE_TIMEOUT = 10.0
IDLE_TIMEOUT = 300.0
_HANDSHAKE_RECORD = 22
_CLIENT_HELLO = 1


def is_client_hello(datagram: bytes) -> bool:
    """True for a datagram whose first record is an epoch-0 ClientHello."""
    return (len(datagram) > 25 and datagram[0] == _HANDSHAKE_RECORD
            and datagram[3:5] == b"\x00\x00" and datagram[13] == _CLIENT_HELLO)


class DtlsSession(interfaces.EndpointAddress):
    """One peer's DTLS session: the aiocoap remote of that peer."""

    scheme = "coaps"
    kind = "dtls"
    is_multicast = False
    is_multicast_locally = False

    def __init__(self, interface: DtlsMessageInterface, peer: tuple[str, int], engine: Any,
                 transport: asyncio.DatagramTransport, *, server_side: bool) -> None:
        self._interface = interface
        self.peer = peer
        self.engine = engine
        self._transport = transport
        self.server_side = server_side
        self.identity: PeerIdentity | None = None
        self.ready: asyncio.Future[None] = interface.loop.create_future()
        self.started = self.last_seen = time.monotonic()
        self.closed = False
        self.failure: Exception | None = None
        self._queue: list[bytes] = []

    # ---- EndpointAddress
    @property
    def hostinfo(self) -> str:
        """Peer authority as in URIs."""
        return hostportjoin(*self.peer)

    @property
    def hostinfo_local(self) -> str:
        """Local authority."""
        sockname = self._transport.get_extra_info("sockname") or ("", 0)
        return hostportjoin(str(sockname[0]), int(sockname[1]))

    @property
    def uri_base(self) -> str:
        """coaps://host:port of the peer."""
        return f"coaps://{self.hostinfo}"

    @property
    def uri_base_local(self) -> str:
        """coaps://host:port of this side."""
        return f"coaps://{self.hostinfo_local}"

    @property
    def blockwise_key(self) -> object:
        """Blocks combine only within one session."""
        return self

    @property
    def authenticated_claims(self) -> list[Any]:
        """The peer identity established by the handshake."""
        return [self.identity] if self.identity else []

    @property
    def peer_certificate(self) -> bytes | None:
        """DER of the peer's certificate (None for a PSK peer)."""
        return self.identity.certificate if self.identity else None

    @property
    def is_open(self) -> bool:
        """True until the session is dropped."""
        return not self.closed

    def __repr__(self) -> str:
        return f"<DtlsSession peer={self.hostinfo} identity={self.identity!r} open={self.is_open}>"

    # ---- datagrams
    def _flush(self) -> None:
        for datagram in self.engine.outgoing():
            if self.server_side:
                self._transport.sendto(datagram, self.peer)
            else:
                self._transport.sendto(datagram)

    def received(self, datagram: bytes) -> None:
        """One datagram from the peer: handshake or application records."""
        self.last_seen = time.monotonic()
        try:
            self.engine.feed(datagram)
            if not self.ready.done():
                done = self.engine.handshake()
                self._flush()
                if not done:
                    return
                self._handshake_done()
            for message in self.engine.read():
                self._interface.deliver(self, message)
            self._flush()
        except TlsPeerClosed:
            self.drop("the peer sent close_notify", quiet=True)
        except TlsEngineError as exc:
            self._flush()  # the alert
            if not self.ready.done():
                self._interface.handshake_failed(self, exc.reason)
                self.fail(SecureConnectionError(
                    f"DTLS handshake with {self.hostinfo} failed: {exc.reason}; check the "
                    "credentials on both sides."))
            else:
                self.drop(f"DTLS error: {exc.reason}")

    def _handshake_done(self) -> None:
        identity = getattr(self.engine, "identity", None)
        self.identity = identity() if callable(identity) else None  # TlsEngineError: dropped
        self.ready.set_result(None)
        queue, self._queue = self._queue, []
        for message in queue:
            self.send(message)

    def send(self, message: bytes) -> None:
        """Send one encoded CoAP message as one record (queued until the handshake is over)."""
        if self.closed:
            self._interface.loop.call_soon(self._interface.report_error, self, self.closed_error())
            return
        if not self.ready.done():
            self._queue.append(message)
            return
        try:
            self.engine.write(message)
        except TlsEngineError as exc:
            self.drop(f"DTLS write failed: {exc.reason}")
            return
        self._flush()

    def closed_error(self) -> Exception:
        """Why work on this session fails."""
        return self.failure or ConnectionClosedError(
            f"DTLS session with {self.hostinfo} is closed; handshake again to continue.")

    def fail(self, exc: Exception) -> None:
        """End the session with `exc` for everything waiting on it."""
        if self.closed:
            return
        self.closed = True
        self.failure = self.failure or exc
        if not self.ready.done():
            self.ready.set_exception(self.failure)
            self.ready.exception()
        self._interface.forget(self)

    def drop(self, reason: str, *, quiet: bool = False, notify: bool = False) -> None:
        """Drop the session (optionally telling the peer with close_notify)."""
        if self.closed:
            return
        (log.debug if quiet else log.info)("dtls %s: %s; session dropped", self.hostinfo, reason)
        if notify and self.ready.done():
            self.engine.close_notify()
            with contextlib.suppress(Exception):
                self._flush()
        self.fail(ConnectionClosedError(f"DTLS session with {self.hostinfo} dropped: {reason}."))


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, interface: DtlsMessageInterface, session_holder: list | None = None) -> None:
        self.interface = interface
        self.holder = session_holder

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        self.interface.datagram(data, (str(addr[0]), int(addr[1])), self.holder)

    def error_received(self, exc: Exception) -> None:
        log.debug("dtls socket error: %s", exc)


class DtlsMessageInterface(GenericMessageInterface):
    """Serves or dials CoAP over DTLS for one aiocoap Context."""

    def __init__(self, mman, coap_log, loop, *, context_factory: Callable[[], Any] | None = None,
                 client_context: Any = None, handshake_timeout: float = HANDSHAKE_TIMEOUT,
                 idle_timeout: float = IDLE_TIMEOUT,
                 on_handshake_failure: Callable[[str, str], None] | None = None) -> None:
        super().__init__(mman, coap_log, loop)
        self.loop = loop
        self._context_factory = context_factory
        self._client_context = client_context
        self.handshake_timeout = handshake_timeout
        self.idle_timeout = idle_timeout
        self.on_handshake_failure = on_handshake_failure
        self.sessions: dict[tuple[str, int], DtlsSession] = {}
        self._transport: asyncio.DatagramTransport | None = None
        self._client_transports: dict[tuple[str, int], asyncio.DatagramTransport] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self.bound: tuple[str, int] | None = None

    # ---- construction
    @classmethod
    async def create_server(cls, mman, coap_log, loop, *, host: str, port: int,
                            context_factory: Callable[[], Any], **kwargs: Any
                            ) -> DtlsMessageInterface:
        """Listen on host:port (udp); `context_factory()` gives the server DTLS context."""
        self = cls(mman, coap_log, loop, context_factory=context_factory, **kwargs)
        try:
            transport, _ = await loop.create_datagram_endpoint(lambda: _Protocol(self),
                                                               local_addr=(host, port))
        except OSError as exc:
            raise TransportError(f"Cannot listen for dtls on {host}:{port} "
                                 f"({exc.strerror or exc}); choose another port or stop the "
                                 "process that holds it.") from None
        self._transport = transport
        read_asyncio_datagrams_in_batches(loop, transport)  # a flood's backlog drains fast
        sockname = transport.get_extra_info("sockname")
        self.bound = (str(sockname[0]), int(sockname[1]))
        self._sweeper = loop.create_task(self._sweep())
        return self

    @classmethod
    async def create_client(cls, mman, coap_log, loop, *, client_context: Any
                            ) -> DtlsMessageInterface:
        """A dialing interface with the device's DTLS context."""
        if client_context is None:
            raise TransportError("A dtls client needs a DTLS context; pass "
                                 "device_dtls_context(cred=... or psk=...).")
        return cls(mman, coap_log, loop, client_context=client_context)

    # ---- server side
    def datagram(self, data: bytes, addr: tuple[str, int], holder: list | None) -> None:
        """A datagram from `addr`: to its session, or a new session for a ClientHello."""
        if holder is not None:  # a client socket: its one session
            if holder:
                holder[0].received(data)
            return
        session = self.sessions.get(addr)
        if session is not None and session.ready.done() and is_client_hello(data):
            session.drop("a new handshake from the same address", quiet=True)
            session = None
        if session is None:
            if not is_client_hello(data) or self._mman is None:
                return  # stray record: DTLS servers ignore it
            try:
                context = self._context_factory()
            except Exception as exc:  # noqa: BLE001 - the caller's factory; keep serving
                log.error("dtls: context factory failed (%s); ignoring %s", exc, addr)
                return
            engine = context.new_engine(f"{addr[0]}:{addr[1]}".encode())
            session = DtlsSession(self, addr, engine, self._transport, server_side=True)
            self.sessions[addr] = session
        session.received(data)

    def handshake_failed(self, session: DtlsSession, reason: str) -> None:
        """Tell the owner of a server about a refused handshake."""
        log.info("dtls handshake from %s failed: %s", session.hostinfo, reason)
        if session.server_side and self.on_handshake_failure is not None:
            self.on_handshake_failure(session.hostinfo, reason)

    async def _sweep(self) -> None:
        period = max(0.05, min(self.handshake_timeout, self.idle_timeout) / 4)
        while True:
            await asyncio.sleep(period)
            now = time.monotonic()
            for session in list(self.sessions.values()):
                if not session.ready.done() and now - session.started > self.handshake_timeout:
                    session.fail(SecureConnectionError(
                        f"DTLS handshake with {session.hostinfo} not finished within "
                        f"{self.handshake_timeout:g} s."))
                elif session.ready.done() and now - session.last_seen > self.idle_timeout:
                    session.drop(f"silent for {self.idle_timeout:g} s")

    # ---- shared
    def deliver(self, session: DtlsSession, data: bytes) -> None:
        """Decode one record as a CoAP message for the message layer."""
        if self._mman is None:
            return
        try:
            message = Message.decode(data, remote=session)
        except error.UnparsableMessage:
            log.info("dtls %s: unparsable CoAP message (%d bytes) ignored", session.hostinfo,
                     len(data))
            return
        self._mman.dispatch_message(message)

    def report_error(self, session: DtlsSession, exc: Exception) -> None:
        """Fail the exchanges waiting on `session`."""
        if self._mman is not None:
            self._mman.dispatch_error(exc, session)

    def forget(self, session: DtlsSession) -> None:
        """Remove a closed session and fail what waits on it."""
        if self.sessions.get(session.peer) is session:
            del self.sessions[session.peer]
        if not session.server_side:
            transport = self._client_transports.pop(session.peer, None)
            if transport is not None:
                transport.close()
        self.loop.call_soon(self.report_error, session, session.closed_error())

    # ---- MessageInterface
    async def recognize_remote(self, remote) -> bool:
        """Ours if it is one of our sessions."""
        return isinstance(remote, DtlsSession) and remote._interface is self

    async def determine_remote(self, request):
        """Dial (or reuse) the session for coaps:// URIs."""
        if request.requested_scheme != "coaps" or self._transport is not None:
            return None
        if request.unresolved_remote is not None:
            host, port = hostportsplit(request.unresolved_remote)
        elif request.opt.uri_host:
            host, port = request.opt.uri_host, request.opt.uri_port
        else:
            raise ValueError("No location found to send message to (no URI host)")
        if self._mman is None:
            raise error.LibraryShutdown
        return await self.connect((host, port or COAPS_PORT))

    async def connect(self, address: tuple[str, int]) -> DtlsSession:
        """The session to host:port, handshaking (with retransmissions) if needed."""
        session = self.sessions.get(address)
        if session is None or session.closed:
            holder: list[DtlsSession] = []
            try:
                transport, _ = await self.loop.create_datagram_endpoint(
                    lambda: _Protocol(self, holder), remote_addr=address)
            except OSError as exc:
                raise SecureConnectionError(f"Cannot reach {address[0]}:{address[1]} over udp "
                                            f"({exc}); check the URI.") from None
            engine = self._client_context.new_engine()
            session = DtlsSession(self, address, engine, transport, server_side=False)
            holder.append(session)
            self.sessions[address] = session
            self._client_transports[address] = transport
            try:
                engine.handshake()
            except TlsEngineError as exc:
                session.fail(SecureConnectionError(f"DTLS setup failed: {exc.reason}"))
            session._flush()
            self.loop.create_task(self._retransmit(session))
        try:
            await asyncio.wait_for(asyncio.shield(session.ready), self.handshake_timeout)
        except TimeoutError:
            session.fail(SecureConnectionError(
                f"DTLS handshake with {address[0]}:{address[1]} timed out; check the server "
                "speaks DTLS on that port."))
            raise session.closed_error() from None
        return session

    async def _retransmit(self, session: DtlsSession) -> None:
        while not session.ready.done() and not session.closed:
            wait = session.engine.retransmit_in()
            await asyncio.sleep(min(wait if wait else 0.5, 1.0))
            if session.ready.done() or session.closed:
                return
            session.engine.retransmit()
            session._flush()

    async def shutdown(self) -> None:
        """Drop every session (close_notify) and close the sockets."""
        self._mman = None
        if self._sweeper is not None:
            self._sweeper.cancel()
        for session in list(self.sessions.values()):
            session.drop("shutting down", quiet=True, notify=True)
        await asyncio.sleep(0)
        for transport in list(self._client_transports.values()):
            transport.close()
        if self._transport is not None:
            self._transport.close()
