"""Where a server listens: transport kind, address and (for TLS) the TLS context factory."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from harness.transport.limits import ConnectionBudget
from harness.transport.tls_engine import TlsContext

TransportKind = Literal["tls-record", "tcp-length", "udp", "dtls"]
KINDS: tuple[str, ...] = ("tls-record", "tcp-length", "udp", "dtls")
SCHEMES: dict[str, str] = {"tls-record": "coaps", "tcp-length": "coap", "udp": "coap",
                           "dtls": "coaps"}


@dataclass
class Endpoint:
    """One listener: `kind`, loopback host, port (0 = OS picks) and a per-connection SSLContext
    factory (required for tls-record; called for every accepted connection). A TLS peer that
    has not finished its handshake within `handshake_timeout` seconds is disconnected.
    `on_handshake_failure(peer "host:port", reason)` is told of every failed server handshake
    (e.g. an untrusted client CA), so the server can record the refusal. Stream endpoints that
    share one `budget` (harness.transport.limits) share its connection cap and idle timeouts."""

    kind: TransportKind
    host: str = "127.0.0.1"
    port: int = 0
    ssl_context_factory: Callable[[], ssl.SSLContext | TlsContext] | None = None
    handshake_timeout: float = 10.0
    on_handshake_failure: Callable[[str, str], None] | None = None
    budget: ConnectionBudget | None = None
