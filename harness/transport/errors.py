"""Errors raised by the CoAP transports (HilErrors; network ones are also aiocoap NetworkErrors)."""

from __future__ import annotations

from aiocoap import error as coap_error

from harness.errors import HilError


class TransportError(HilError):
    """A transport that cannot be set up as asked (bad endpoint, port busy, missing context)."""


class _NetworkHilError(HilError, coap_error.NetworkError):
    """A network failure of a request that keeps its one-sentence message."""

    def __str__(self) -> str:
        return Exception.__str__(self)


class SecureConnectionError(_NetworkHilError):
    """The TLS handshake with the peer failed (untrusted CA, rejected client cert, bad key)."""


class ConnectionClosedError(_NetworkHilError):
    """The stream connection a request travelled on was closed before the exchange finished."""


class ConnectFailedError(_NetworkHilError):
    """The TCP connection to the server could not be opened (refused, unreachable, timeout)."""
