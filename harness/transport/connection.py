"""One stream connection (tls-record or tcp-length) that is also the aiocoap remote of its peer."""

from __future__ import annotations

import asyncio
import logging
import ssl
from typing import TYPE_CHECKING

from aiocoap import interfaces
from aiocoap.util import hostportjoin

from harness.transport.errors import ConnectionClosedError, SecureConnectionError
from harness.transport.framing import (
    FrameError,
    length_prefixed,
    take_length_prefixed,
    take_tls_record,
)
from harness.transport.tls_engine import (
    TlsContext,
    TlsEngineError,
    TlsPeerClosed,
    as_tls_context,
)

if TYPE_CHECKING:
    from harness.transport.interface import StreamMessageInterface

log = logging.getLogger("harness.transport")

HANDSHAKE_TIMEOUT = 10.0
RECORD_HANDSHAKE = 22


def _addr(sockaddr: tuple | None) -> tuple[str, int]:
    if not sockaddr:
        return ("", 0)
    return (str(sockaddr[0]), int(sockaddr[1]))


class StreamConnection(interfaces.EndpointAddress, asyncio.Protocol):
    """Base: an asyncio protocol carrying whole CoAP messages, usable as a message's remote."""

    scheme = "coap"
    kind = "stream"
    is_multicast = False
    is_multicast_locally = False

    def __init__(self, interface: StreamMessageInterface, *, server_side: bool) -> None:
        self._interface = interface
        self.server_side = server_side
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._queue: list[bytes] | None = []
        self._closed = False
        self.peer = ("", 0)
        self.local = ("", 0)
        self.peer_certificate: bytes | None = None
        self.failure: Exception | None = None
        self.ready: asyncio.Future[None] = interface.loop.create_future()
        self.closed: asyncio.Future[None] = interface.loop.create_future()

    # ---- EndpointAddress
    @property
    def hostinfo(self) -> str:
        """Peer authority (host:port) as in URIs."""
        return hostportjoin(*self.peer)

    @property
    def hostinfo_local(self) -> str:
        """Local authority (host:port) as in URIs."""
        return hostportjoin(*self.local)

    @property
    def uri_base(self) -> str:
        """Peer base URI, e.g. coaps://127.0.0.1:5684."""
        return f"{self.scheme}://{self.hostinfo}"

    @property
    def uri_base_local(self) -> str:
        """Local base URI."""
        return f"{self.scheme}://{self.hostinfo_local}"

    @property
    def blockwise_key(self) -> object:
        """Blocks combine only within one connection."""
        return self

    @property
    def authenticated_claims(self) -> list[bytes]:
        """The verified peer certificate (DER), if any."""
        return [self.peer_certificate] if self.peer_certificate else []

    @property
    def is_open(self) -> bool:
        """True while the connection can carry messages."""
        return not self._closed

    def __repr__(self) -> str:
        side = "server" if self.server_side else "client"
        return f"<{type(self).__name__} {side} peer={self.hostinfo} open={self.is_open}>"

    # ---- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Remember the transport and addresses."""
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self.peer = _addr(transport.get_extra_info("peername"))
        self.local = _addr(transport.get_extra_info("sockname"))
        self._interface.connection_opened(self)

    def connection_lost(self, exc: Exception | None) -> None:
        """Fail pending work on this connection and forget it."""
        self._closed = True
        self._queue = None
        if not self.ready.done():
            self.ready.set_exception(
                ConnectionClosedError(
                    f"Connection to {self.hostinfo} closed before it was ready; "
                    "check that the peer speaks the same transport."
                )
            )
            self.ready.exception()  # mark retrieved: the waiter may be gone
        if not self.closed.done():
            self.closed.set_result(None)
        self._interface.connection_closed(self)
        self._interface.report_error(self, self.closed_error())

    def closed_error(self) -> Exception:
        """The error for work on this closed connection: its failure, or 'closed'."""
        return self.failure or ConnectionClosedError(
            f"Connection with {self.hostinfo} is closed; reconnect to continue."
        )

    def fail_before_connect(self, error: Exception) -> None:
        """Mark a connection whose TCP connect failed, failing everyone waiting for it."""
        self._closed = True
        self._queue = None
        self.failure = error
        if not self.ready.done():
            self.ready.set_exception(error)
            self.ready.exception()
        if not self.closed.done():
            self.closed.set_result(None)

    # ---- sending
    def send(self, message: bytes) -> None:
        """Send one encoded CoAP message (queued until the connection is ready)."""
        if self._closed:
            self._interface.report_error_soon(self, self.closed_error())
            return
        if self._queue is not None:
            self._queue.append(message)
            return
        self._send_now(message)

    def _send_now(self, message: bytes) -> None:
        raise NotImplementedError

    def _mark_ready(self) -> None:
        queue, self._queue = self._queue or [], None
        if not self.ready.done():
            self.ready.set_result(None)
        for message in queue:
            self._send_now(message)

    def _deliver(self, message: bytes) -> None:
        self._interface.received_message(self, message)

    def abort(self, reason: str) -> None:
        """Drop the connection at once after logging one line naming the reason.

        Requests still waiting on it fail with that reason (unless an earlier failure,
        e.g. the handshake error, already says why).
        """
        log.warning("%s %s: %s; closing the connection", self.kind, self.hostinfo, reason)
        if self.failure is None:
            fix = "" if ";" in reason else "; reconnect to continue"
            self.failure = ConnectionClosedError(
                f"{self.kind} connection with {self.hostinfo} was dropped: {reason.rstrip('.')}{fix}."
            )
        self._closed = True
        if self._transport is not None:
            self._transport.abort()

    def close(self) -> None:
        """Close the connection in an orderly way."""
        self._closed = True
        if self._transport is not None:
            self._transport.close()


class LengthPrefixConnection(StreamConnection):
    """tcp-length: each CoAP message is prefixed by a 4-byte big-endian length."""

    scheme = "coap"
    kind = "tcp-length"

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Plain TCP is ready at once."""
        super().connection_made(transport)
        self._mark_ready()

    def data_received(self, data: bytes) -> None:
        """Split the stream into messages."""
        self._buffer += data
        while not self._closed:
            try:
                message = take_length_prefixed(self._buffer)
            except FrameError as exc:
                self.abort(str(exc))
                return
            if message is None:
                return
            self._deliver(message)

    def eof_received(self) -> bool | None:
        """Report a truncated frame, then let asyncio close the socket."""
        if self._buffer:
            log.warning("tcp-length %s: connection ended inside a frame (%d bytes dropped)",
                        self.hostinfo, len(self._buffer))
            self._buffer.clear()
        return None

    def _send_now(self, message: bytes) -> None:
        assert self._transport is not None
        self._transport.write(length_prefixed(message))


class TlsRecordConnection(StreamConnection):
    """tls-record: TLS over memory buffers, one CoAP message per TLS record, mutual X.509.

    The TLS itself is a TlsEngine (harness.transport.tls_engine): Mbed TLS for the service,
    OpenSSL set up like the real client for virtual boards, Python's ssl for tests and tools.
    """

    scheme = "coaps"
    kind = "tls-record"

    def __init__(
        self,
        interface: StreamMessageInterface,
        *,
        server_side: bool,
        ssl_context: TlsContext | ssl.SSLContext,
        server_hostname: str | None = None,
        handshake_timeout: float = HANDSHAKE_TIMEOUT,
    ) -> None:
        super().__init__(interface, server_side=server_side)
        self._tls = as_tls_context(ssl_context).new_engine(
            server_side=server_side, server_hostname=None if server_side else server_hostname)
        self._handshaken = False
        self._handshake_timeout = handshake_timeout
        self._timer: asyncio.TimerHandle | None = None
        self._messages_received = 0
        self._renegotiation_asked = False
        self._reported = False

    @property
    def server_time(self) -> int | None:
        """ServerHello.random[0:4] of the last handshake (client side; None if unknown)."""
        return self._tls.server_time()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Start the handshake (the client speaks first) and its timeout."""
        super().connection_made(transport)
        self._timer = self._interface.loop.call_later(
            self._handshake_timeout, self._handshake_timed_out
        )
        if not self.server_side:
            self._do_handshake()

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the handshake timer, report a silent post-handshake close, fail pending work."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        peer_went = not self._closed  # we did not close or abort it ourselves
        if peer_went and self._handshaken and self._messages_received == 0 \
                and self.failure is None:
            self._report_refusal(self._silent_close_reason())
        super().connection_lost(exc)

    def _silent_close_reason(self) -> str:
        if self._renegotiation_asked:
            return ("the client asked to renegotiate (its clock is before the server "
                    "certificate's notBefore) and this server does not renegotiate; serve a "
                    "server chain valid at device time 0")
        return ("the client closed the connection after the TLS handshake without sending a "
                "request: it most likely rejected the server certificate; check the server CA "
                "provisioned into the device")

    def _report_refusal(self, reason: str) -> None:
        """Tell the server's hook (denial + event) once per connection."""
        hook = self._interface.on_handshake_failure
        if self.server_side and hook is not None and not self._reported:
            self._reported = True
            hook(self.hostinfo, reason)

    def _handshake_timed_out(self) -> None:
        self._timer = None
        if not self._handshaken:
            self._fail_handshake(f"no TLS handshake within {self._handshake_timeout:g} s")

    def _flush(self) -> None:
        data = self._tls.outgoing()
        if data and self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)

    def _fail_handshake(self, reason: str) -> None:
        error = SecureConnectionError(
            f"TLS handshake with {self.hostinfo} failed ({reason}); check that each side "
            "trusts the CA that issued the other's certificate."
        )
        self.failure = error
        if not self.ready.done():
            self.ready.set_exception(error)
            self.ready.exception()
        self._interface.report_error(self, error)
        self._report_refusal(reason)
        self._flush()  # let the alert reach the peer
        self.abort(f"TLS handshake failed ({reason})")

    def _do_handshake(self) -> None:
        try:
            done = self._tls.handshake()
        except TlsEngineError as exc:
            self._fail_handshake(exc.reason)
            return
        self._flush()
        if not done:
            return
        self._handshaken = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.peer_certificate = self._tls.peer_certificate()
        self._mark_ready()
        self._read_record()  # application data that came with the last handshake record

    def data_received(self, data: bytes) -> None:
        """Feed ciphertext one TLS record at a time; each record's plaintext is one message."""
        self._buffer += data
        while not self._closed:
            try:
                record = take_tls_record(self._buffer)
            except FrameError as exc:
                if not self._handshaken:
                    self._fail_handshake(str(exc))
                else:
                    self.abort(str(exc))
                return
            if record is None:
                return
            if self._handshaken and record[0] == RECORD_HANDSHAKE and self.server_side:
                self._renegotiation_asked = True  # a TLS 1.2 client's ClientHello
                log.info("tls-record %s: the client asks to renegotiate", self.hostinfo)
            self._tls.feed(record)
            if not self._handshaken:
                self._do_handshake()
                continue
            self._read_record()

    def _read_record(self) -> None:
        try:
            message = self._tls.read()
        except TlsPeerClosed:
            self._flush()
            self._peer_closed()
            return
        except TlsEngineError as exc:
            reason = exc.reason
            if self._messages_received == 0:
                self._report_refusal(
                    f"{self._silent_close_reason() if self._renegotiation_asked else reason} "
                    "(after the handshake, before any request)")
            error = SecureConnectionError(
                f"TLS connection with {self.hostinfo} failed ({reason}); the peer may have "
                "rejected this side's certificate."
            )
            self.failure = error
            self._interface.report_error(self, error)
            self.abort(f"TLS error ({reason})")
            return
        self._flush()
        if message:
            self._messages_received += 1
            self._deliver(message)

    def _peer_closed(self) -> None:
        log.info("tls-record %s: peer sent close_notify", self.hostinfo)
        self._tls.close_notify()
        self._flush()
        self._closed = True
        self._interface.report_error(
            self,
            ConnectionClosedError(f"TLS connection with {self.hostinfo} was closed by the peer."),
        )
        if self._transport is not None:
            self._transport.close()

    def _send_now(self, message: bytes) -> None:
        try:
            self._tls.write(message)
        except TlsEngineError as exc:
            self.abort(f"TLS write failed ({exc.reason})")
            return
        self._flush()

    def close(self) -> None:
        """Send close_notify, then close the socket."""
        if not self._closed and self._handshaken:
            self._tls.close_notify()
            self._flush()
        super().close()
