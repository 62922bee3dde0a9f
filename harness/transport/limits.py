"""Bounds on the stream connections a server keeps: idle timeouts and a connection cap.

One `ConnectionBudget` is shared by every stream listener of a service, so idle peers cannot
use up the process's file descriptors (and with them tcp-length, tls-record, udp replies and
the REST API together). At the cap, a new connection evicts the oldest connection that has not
sent a CoAP message yet; if every connection has, the new one is refused. Each condition is
logged once when it starts and once when it ends, never once per connection.
"""

from __future__ import annotations

import logging
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

log = logging.getLogger("harness.transport")

FD_RESERVE = 128
"""File descriptors kept out of the default cap for the REST API, SQLite, logs and udp."""
KEEPALIVE_INTERVAL = 540.0
"""The real client pings (empty CON) every 540 s on TCP (protocol-facts §3.1)."""


def default_max_connections() -> int:
    """Half of the open-file limit left after FD_RESERVE (at least 16)."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        soft = 65536
    return max(16, (soft - FD_RESERVE) // 2)


@dataclass(frozen=True)
class StreamLimits:
    """Per-connection timeouts and the total cap (None = default_max_connections())."""

    idle_timeout: float = 2.5 * KEEPALIVE_INTERVAL
    first_message_timeout: float = 30.0
    max_connections: int | None = None


class LimitedConnection(Protocol):
    """What the budget needs of a connection."""

    opened_at: float
    messages_received: int

    def evict(self, reason: str) -> None:
        """Drop the connection quietly (no log line of its own)."""


@dataclass
class ConnectionBudget:
    """Counts live stream connections of a service against one cap."""

    limits: StreamLimits = field(default_factory=StreamLimits)
    clock: Callable[[], float] = time.monotonic
    live: dict[LimitedConnection, None] = field(default_factory=dict)  # insertion-ordered
    refused: int = 0
    evicted: int = 0
    idle_closed: int = 0
    _refused_in_condition: int = 0
    _evicted_in_condition: int = 0

    @property
    def cap(self) -> int:
        """The connection cap in force."""
        return self.limits.max_connections or default_max_connections()

    def admit(self, conn: LimitedConnection, where: str) -> bool:
        """Count `conn` in; False means refuse it (the cap is reached by active peers)."""
        if len(self.live) >= self.cap and not self._evict_one(where):
            if self._refused_in_condition == 0 and self._evicted_in_condition == 0:
                log.warning("%s: %d stream connections open (the cap, service.stream."
                            "max_connections); refusing new ones until some close", where, self.cap)
            self.refused += 1
            self._refused_in_condition += 1
            return False
        self.live[conn] = None
        return True

    def _evict_one(self, where: str) -> bool:
        for old in self.live:
            if old.messages_received == 0:
                if self._evicted_in_condition == 0 and self._refused_in_condition == 0:
                    log.warning("%s: %d stream connections open (the cap, service.stream."
                                "max_connections); dropping the oldest silent ones for new "
                                "peers", where, self.cap)
                self.evicted += 1
                self._evicted_in_condition += 1
                del self.live[old]
                old.evict("the connection cap is reached and it sent no message")
                return True
        return False

    def release(self, conn: LimitedConnection) -> None:
        """Count `conn` out; log once when a cap condition ends."""
        if self.live.pop(conn, 0) is None and len(self.live) < self.cap * 0.9 \
                and (self._refused_in_condition or self._evicted_in_condition):
            log.warning("stream connections below the cap again (%d open); %d refused and %d "
                        "silent ones dropped meanwhile", len(self.live),
                        self._refused_in_condition, self._evicted_in_condition)
            self._refused_in_condition = self._evicted_in_condition = 0

    def deadline(self, conn: LimitedConnection, last_message_at: float) -> float:
        """When `conn` expires: first_message_timeout after opening, then idle_timeout."""
        if conn.messages_received == 0:
            return conn.opened_at + self.limits.first_message_timeout
        return last_message_at + self.limits.idle_timeout


ACCEPT_EXHAUSTED = "socket.accept() out of system resource"
SUMMARY_INTERVAL = 60.0


class AcceptErrorFilter:
    """An event-loop exception handler that turns asyncio's per-retry accept errors (a traceback
    every second per listener while file descriptors are exhausted) into one line per listener
    per minute; every other context goes to the handler that was there before."""

    def __init__(self, previous: Callable | None, clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self.previous = previous
        self.clock = clock
        self.last_line: dict[str, float] = {}
        self.suppressed: dict[str, int] = {}

    def __call__(self, loop, context: dict) -> None:
        """Handle one exception context of `loop`."""
        if context.get("message") != ACCEPT_EXHAUSTED:
            if self.previous is not None:
                self.previous(loop, context)
            else:
                loop.default_exception_handler(context)
            return
        sock = context.get("socket")
        try:
            where = "{}:{}".format(*sock.getsockname()[:2]) if sock is not None else "?"
        except OSError:
            where = "?"
        now = self.clock()
        if now - self.last_line.get(where, -SUMMARY_INTERVAL) < SUMMARY_INTERVAL:
            self.suppressed[where] = self.suppressed.get(where, 0) + 1
            return
        exc = context.get("exception")
        more = self.suppressed.pop(where, 0)
        log.warning("listener %s cannot accept: %s; new connections wait until descriptors are "
                    "free (raise the open-file limit or lower service.stream.max_connections)%s",
                    where, getattr(exc, "strerror", None) or exc,
                    f" ({more} more retries in the last minute)" if more else "")
        self.last_line[where] = now


def install_accept_error_filter(loop) -> AcceptErrorFilter:
    """Install AcceptErrorFilter on `loop` once (chained to its current handler)."""
    current = loop.get_exception_handler()
    if isinstance(current, AcceptErrorFilter):
        return current
    handler = AcceptErrorFilter(current)
    loop.set_exception_handler(handler)
    return handler
