"""Errors raised by the CoAP transports."""

from __future__ import annotations

from aiocoap import error as coap_error

from harness.errors import HilError


class TransportError(HilError):
    """A transport that cannot be set up as asked (bad endpoint, port busy, missing context)."""


class SecureConnectionError(HilError, coap_error.NetworkError):
    """The TLS handshake with the peer failed (untrusted CA, rejected client cert, bad key)."""


class ConnectionClosedError(HilError, coap_error.NetworkError):
    """The stream connection a request travelled on was closed before the exchange finished."""
