"""CoAP transports of real boards, as aiocoap MessageInterfaces (see DESIGN.md "Transports").

Kinds:
- ``tls-record``: RFC 7252 messages over TLS, one message per TLS record, mutual X.509
  (``coaps://host:port``). The verified peer certificate is on the request's remote:
  ``peer_certificate(request.remote)``.
- ``tcp-length``: RFC 7252 messages over plain TCP, each prefixed by a 4-byte big-endian length
  (``coap://host:port`` on a tcp-length context).
- ``udp``: plain CoAP through aiocoap's own udp6 transport (NoSec).
- ``dtls``: reserved (X.509 over DTLS); asking for it raises TransportError for now.

Public API::

    Endpoint(kind, host="127.0.0.1", port=0, ssl_context_factory=None, handshake_timeout=10.0)
    await create_server_context(site, [Endpoint(...), ...]) -> ServerContext
        .context (aiocoap.Context), .bound {kind: (host, port)}, .uri(kind), await .shutdown(),
        .connections(kind), await .wait_no_connections(kind, timeout)
    await create_client_context(kind, *, ssl_context=None, site=None) -> aiocoap.Context
    peer_certificate(remote) -> bytes | None        # DER of the verified TLS peer
    close_connection(remote) -> bool                # e.g. close_notify after Bootstrap-Finish
    is_connected(remote) -> bool
    server_tls_context(cert: Credential, trusted_cas) -> MbedTlsServerContext
        the service's TLS (Mbed TLS: CCM-8 first, time in ServerHello.random); building one is
        costly: let ssl_context_factory cache it and rebuild only when the trusted CAs change
    device_tls_context(cred, server_ca, clock=..., on_time=...) -> DeviceTlsContext
        a virtual board's TLS (OpenSSL offering what the real client offers, see docs/tls.md)
    server_ssl_context(cert, trusted_cas) / client_ssl_context(cred, server_ca)
        -> ssl.SSLContext (Python's ssl, for tests and tools; any context above fits where
        an ssl_context is asked for)
    await bare_handshake(host, port, tls_context) -> float   # one mTLS handshake, seconds
    ConnectionBudget(StreamLimits(idle_timeout, first_message_timeout, max_connections))
        shared by server Endpoints (budget=...): idle timeouts and one cap on their connections
    SecureConnectionError, ConnectionClosedError, ConnectFailedError, TransportError
        (all HilError; the first three are also aiocoap.error.NetworkError)

Server-initiated requests (bootstrap writes, Read, Execute) travel over the device's
connection and are served by the client context's ``site``::

    msg = Message(code=PUT, uri_path=["0", "1"], payload=tlv, content_format=11542)
    msg.remote = request.remote          # the remote of an earlier request from that device
    response = await server.context.request(msg).response

If that connection has closed, the request fails at once with ConnectionClosedError.
"""

from harness.transport.context import (
    ServerContext,
    close_connection,
    create_client_context,
    create_server_context,
    is_connected,
    peer_certificate,
)
from harness.transport.endpoint import Endpoint, TransportKind
from harness.transport.errors import (
    ConnectFailedError,
    ConnectionClosedError,
    SecureConnectionError,
    TransportError,
)
from harness.transport.handshake import bare_handshake
from harness.transport.limits import ConnectionBudget, StreamLimits
from harness.transport.mbedtls_server import MbedTlsServerContext, server_tls_context
from harness.transport.openssl_device import DeviceTlsContext, device_tls_context
from harness.transport.sslctx import client_ssl_context, server_ssl_context
from harness.transport.tls_engine import TlsContext, TlsEngine

__all__ = [
    "ConnectionBudget",
    "StreamLimits",
    "ConnectFailedError",
    "DeviceTlsContext",
    "MbedTlsServerContext",
    "TlsContext",
    "TlsEngine",
    "bare_handshake",
    "device_tls_context",
    "server_tls_context",
    "ConnectionClosedError",
    "Endpoint",
    "SecureConnectionError",
    "ServerContext",
    "TransportError",
    "TransportKind",
    "client_ssl_context",
    "close_connection",
    "create_client_context",
    "create_server_context",
    "is_connected",
    "peer_certificate",
    "server_ssl_context",
]
