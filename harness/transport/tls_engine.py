"""The TLS-engine seam of the tls-record transport, and the engine on Python's `ssl`.

A connection feeds ciphertext records in and takes ciphertext out; the engine does the TLS.
Three engines exist, so the service and the virtual board never share one TLS implementation:

- `PythonSslContext` (this module): Python's `ssl`, for tests and tools (`client_ssl_context`).
- `harness.transport.mbedtls_server.MbedTlsServerContext`: the service (Mbed TLS, like the real
  service: CCM-8 and the current time in ServerHello.random).
- `harness.transport.openssl_device.DeviceTlsContext`: the virtual board (OpenSSL, offering
  exactly what the real client offers, verifying at the device clock, adopting server time).

A DTLS engine later fits the same protocol (datagrams instead of records).
"""

from __future__ import annotations

import contextlib
import ssl
from typing import Protocol, runtime_checkable

MAX_READ = 65536


class TlsEngineError(Exception):
    """A fatal TLS failure; `reason` is a short text for logs and denial records."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TlsPeerClosed(Exception):
    """The peer sent close_notify."""


class TlsEngine(Protocol):
    """One side of one TLS connection over memory buffers."""

    def feed(self, data: bytes) -> None:
        """Hand ciphertext from the network to the engine."""

    def handshake(self) -> bool:
        """Advance the handshake; True once it is complete (raises TlsEngineError)."""

    def read(self) -> bytes:
        """All plaintext available now (b"" if none); raises TlsPeerClosed or TlsEngineError."""

    def write(self, data: bytes) -> None:
        """Encrypt one message as (at least) one record."""

    def outgoing(self) -> bytes:
        """Ciphertext waiting to go to the network (and forget it)."""

    def peer_certificate(self) -> bytes | None:
        """DER of the verified peer certificate (None before the handshake or without one)."""

    def server_time(self) -> int | None:
        """ServerHello.random[0:4] of the last handshake (client engines; None if unknown)."""

    def close_notify(self) -> None:
        """Queue a close_notify alert (best effort)."""


@runtime_checkable
class TlsContext(Protocol):
    """Makes an engine per connection (a server context is reused by many connections)."""

    def new_engine(self, *, server_side: bool, server_hostname: str | None = None) -> TlsEngine:
        """A fresh engine for one connection."""


class PythonSslEngine:
    """TlsEngine on ssl.SSLObject + MemoryBIO."""

    def __init__(self, context: ssl.SSLContext, *, server_side: bool,
                 server_hostname: str | None) -> None:
        self._in = ssl.MemoryBIO()
        self._out = ssl.MemoryBIO()
        self._ssl = context.wrap_bio(self._in, self._out, server_side=server_side,
                                     server_hostname=None if server_side else server_hostname)

    def feed(self, data: bytes) -> None:
        """Hand ciphertext to the SSLObject."""
        self._in.write(data)

    def handshake(self) -> bool:
        """Advance the handshake."""
        try:
            self._ssl.do_handshake()
        except ssl.SSLWantReadError:
            return False
        except ssl.SSLError as exc:
            raise TlsEngineError(exc.reason or str(exc)) from None
        except OSError as exc:
            raise TlsEngineError(str(exc)) from None
        return True

    def read(self) -> bytes:
        """Read every decrypted byte available."""
        chunks: list[bytes] = []
        try:
            while True:
                chunk = self._ssl.read(MAX_READ)
                if not chunk:  # SSLObject.read() returns b"" once close_notify arrived
                    raise TlsPeerClosed
                chunks.append(chunk)
        except ssl.SSLWantReadError:
            pass
        except ssl.SSLZeroReturnError:
            raise TlsPeerClosed from None
        except ssl.SSLError as exc:
            raise TlsEngineError(exc.reason or str(exc)) from None
        return b"".join(chunks)

    def write(self, data: bytes) -> None:
        """Encrypt one message."""
        try:
            self._ssl.write(data)
        except ssl.SSLError as exc:
            raise TlsEngineError(exc.reason or str(exc)) from None

    def outgoing(self) -> bytes:
        """Pending ciphertext."""
        return self._out.read()

    def peer_certificate(self) -> bytes | None:
        """DER of the peer certificate."""
        return self._ssl.getpeercert(binary_form=True)

    def server_time(self) -> int | None:
        """Python's ssl does not expose ServerHello.random."""
        return None

    def close_notify(self) -> None:
        """Queue close_notify."""
        with contextlib.suppress(ssl.SSLError, OSError):
            self._ssl.unwrap()


class PythonSslContext:
    """TlsContext for an ssl.SSLContext (what server_ssl_context / client_ssl_context build)."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self.context = context

    def new_engine(self, *, server_side: bool, server_hostname: str | None = None) -> TlsEngine:
        """An SSLObject-backed engine."""
        return PythonSslEngine(self.context, server_side=server_side,
                               server_hostname=server_hostname)


def as_tls_context(context: TlsContext | ssl.SSLContext) -> TlsContext:
    """Accept either an engine context or a plain ssl.SSLContext."""
    if isinstance(context, ssl.SSLContext):
        return PythonSslContext(context)
    return context
