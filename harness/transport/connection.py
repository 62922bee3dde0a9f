"""Stream connections that are also the aiocoap remote of their peer: the base and tcp-length.

tls-record is harness.transport.tls_record.TlsRecordConnection.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from aiocoap import interfaces
from aiocoap.util import hostportjoin

from harness.transport.errors import ConnectionClosedError
from harness.transport.framing import (
    FrameError,
    length_prefixed,
    take_length_prefixed,
)

if TYPE_CHECKING:
    from harness.transport.interface import StreamMessageInterface

log = logging.getLogger("harness.transport")

HANDSHAKE_TIMEOUT = 10.0


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
        self.opened_at = time.monotonic()
        self.messages_received = 0
        self._last_message_at = self.opened_at
        self._idle_timer: asyncio.TimerHandle | None = None
        self._admitted = False

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
        budget = self._interface.budget
        if self.server_side and budget is not None:
            if not budget.admit(self, f"{self.kind} {self.hostinfo_local}"):
                self._closed = True
                transport.abort()
                return
            self._admitted = True
            self._arm_idle_timer()
        self._interface.connection_opened(self)

    # ---- idle timeout (server side, harness.transport.limits)
    def _arm_idle_timer(self) -> None:
        budget = self._interface.budget
        assert budget is not None
        delay = budget.deadline(self, self._last_message_at) - time.monotonic()
        self._idle_timer = self._interface.loop.call_later(max(delay, 0.0), self._check_idle)

    def _check_idle(self) -> None:
        self._idle_timer = None
        budget = self._interface.budget
        if self._closed or budget is None:
            return
        if time.monotonic() < budget.deadline(self, self._last_message_at):
            self._arm_idle_timer()
            return
        budget.idle_closed += 1
        self.evict("no message within the first-message timeout" if self.messages_received == 0
                   else "idle longer than the idle timeout")

    def evict(self, reason: str) -> None:
        """Drop the connection for a server limit, logging at debug level only (see limits)."""
        log.debug("%s %s: %s; closing the connection", self.kind, self.hostinfo, reason)
        if self.failure is None:
            self.failure = ConnectionClosedError(
                f"{self.kind} connection with {self.hostinfo} was closed by the server: {reason}."
            )
        if self.messages_received:
            self.close()
            return
        self._closed = True
        if self._transport is not None:
            self._transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        """Fail pending work on this connection and forget it."""
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        if self._admitted:
            self._admitted = False
            budget = self._interface.budget
            if budget is not None:
                budget.release(self)
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
        self.messages_received += 1
        self._last_message_at = time.monotonic()
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
        if not self._closed:
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
