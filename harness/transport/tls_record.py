"""tls-record: RFC 7252 messages over TLS, one message per record, on a TLS engine (docs/tls.md)."""

from __future__ import annotations

import asyncio
import logging
import ssl
from typing import TYPE_CHECKING

from harness.transport.connection import HANDSHAKE_TIMEOUT, StreamConnection
from harness.transport.errors import ConnectionClosedError, SecureConnectionError
from harness.transport.framing import FrameError, tls_record_end
from harness.transport.tls_engine import (
    TlsContext,
    TlsEngineError,
    TlsPeerClosed,
    as_tls_context,
)

if TYPE_CHECKING:
    from harness.transport.interface import StreamMessageInterface

log = logging.getLogger("harness.transport")

RECORD_HANDSHAKE = 22


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
        self._renegotiation_asked = False
        self._reported = False

    @property
    def server_time(self) -> int | None:
        """ServerHello.random[0:4] of the last handshake (client side; None if unknown)."""
        return self._tls.server_time()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Start the handshake (the client speaks first) and its timeout."""
        super().connection_made(transport)
        if self._closed:  # refused at the connection cap
            return
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
        if peer_went and self._handshaken and self.messages_received == 0 \
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
        """Feed ciphertext one TLS record at a time; each record's plaintext is one message.

        A read that holds whole records (the usual case) is fed without copying it into the
        buffer: a read of exactly one record is fed as it is, several as slices of it.
        """
        if self._buffer:
            self._buffer += data
            data, self._buffer = bytes(self._buffer), bytearray()
        offset = 0
        while not self._closed:
            try:
                end = tls_record_end(data, offset)
            except FrameError as exc:
                if not self._handshaken:
                    self._fail_handshake(str(exc))
                else:
                    self.abort(str(exc))
                return
            if end is None:
                break
            record = data if offset == 0 and end == len(data) else data[offset:end]
            offset = end
            if self._handshaken and record[0] == RECORD_HANDSHAKE and self.server_side:
                self._renegotiation_asked = True  # a TLS 1.2 client's ClientHello
                log.info("tls-record %s: the client asks to renegotiate", self.hostinfo)
            self._tls.feed(record)
            if not self._handshaken:
                self._do_handshake()
                continue
            self._read_record()
        if offset < len(data) and not self._closed:
            self._buffer += data[offset:]

    def _read_record(self) -> None:
        try:
            message = self._tls.read()
        except TlsPeerClosed:
            self._flush()
            self._peer_closed()
            return
        except TlsEngineError as exc:
            reason = exc.reason
            if self.messages_received == 0:
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
