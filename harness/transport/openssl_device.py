"""The virtual board's TLS engine: OpenSSL (pyOpenSSL) set up like the real client's Mbed TLS.

What the real Device Management Client does (protocol-facts.md §3.1 points 1 and 2):
- offers TLS 1.2 only, one suite ECDHE-ECDSA-AES128-CCM8 (+ the renegotiation SCSV), group
  secp256r1, signature algorithms ECDSA+SHA256/SHA224, no SNI, no ALPN;
- verifies the server chain at the DEVICE clock, with verification "optional": when the only
  problem is a server certificate not yet valid at that clock, it finishes the handshake, sets
  its clock from ServerHello.random[0:4] and renegotiates; any other problem closes the
  connection after the handshake (a plain FIN, no alert);
- after every successful handshake it adopts ServerHello.random[0:4] as its time.

OpenSSL, not Mbed TLS, so the board never shares a TLS implementation with the service.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Sequence

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from OpenSSL import SSL, crypto
from OpenSSL._util import ffi as _ffi
from OpenSSL._util import lib as _lib

from harness.pki import Credential, load_certificate
from harness.transport.errors import TransportError
from harness.transport.openssl_board import (
    DEVICE_GROUPS,
    received,
    set_verify_time,
    ssl_reason,
    to_send,
    use_device_credential,
)
from harness.transport.tls_engine import TlsEngine, TlsEngineError

DEVICE_CIPHERS = b"ECDHE-ECDSA-AES128-CCM8:@SECLEVEL=0"  # CCM-8 sits below OpenSSL's level 1
DEVICE_SIGALGS = b"ECDSA+SHA256:ECDSA+SHA224"
NOT_YET_VALID = 9  # X509_V_ERR_CERT_NOT_YET_VALID

Clock = Callable[[], float]


def _x509_error(code: int) -> str:
    return _ffi.string(_lib.X509_verify_cert_error_string(code)).decode("ascii", "replace")


def _when(unix: float) -> str:
    return dt.datetime.fromtimestamp(int(unix), dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


class DeviceTlsEngine:
    """One client connection of the board: initial handshake, optional renegotiation, records."""

    def __init__(self, context: DeviceTlsContext) -> None:
        self._owner = context
        self._ctx = context.build_ssl_context()
        self._errors: list[tuple[int, int]] = []
        self._ctx.set_verify(SSL.VERIFY_PEER, self._verify)
        self._conn = SSL.Connection(self._ctx, None)
        self._conn.set_connect_state()
        self._state = "initial"  # initial -> (renegotiating) -> done
        self._time: int | None = None
        self.renegotiated = False

    # verification "optional": remember every problem, decide after the handshake
    def _verify(self, conn: SSL.Connection, cert: crypto.X509, errnum: int, depth: int,
                ok: int) -> bool:
        if not ok:
            self._errors.append((errnum, depth))
        return True

    def _set_verify_time(self, unix: float) -> None:
        store = self._ctx.get_cert_store()
        assert store is not None
        set_verify_time(store, unix)

    def feed(self, data: bytes) -> None:
        """Hand ciphertext to OpenSSL."""
        self._conn.bio_write(data)

    def _step(self) -> bool:
        try:
            self._conn.do_handshake()
        except SSL.WantReadError:
            return False
        except SSL.Error as exc:
            reason = ssl_reason(exc)
            if self._state == "renegotiating":
                raise TlsEngineError(
                    f"the server refused the renegotiation ({reason}); the device clock "
                    f"({_when(self._owner.clock())}) is before the server certificate's notBefore"
                ) from None
            raise TlsEngineError(reason) from None
        return True

    def handshake(self) -> bool:
        """Initial handshake, then (if needed) the secure-time renegotiation."""
        if self._state == "done":
            return True
        if not self._step():
            return False
        if self._state == "renegotiating" and self._conn.renegotiate_pending():
            return False
        server_time = int.from_bytes(self._conn.server_random()[:4], "big")
        problems = {code for code, _depth in self._errors}
        if self._state == "initial" and problems == {NOT_YET_VALID}:
            # like pal_TLS.c: take the clock from this ServerHello, then renegotiate
            self._errors.clear()
            self._set_verify_time(server_time)
            self._state = "renegotiating"
            self.renegotiated = True
            self._conn.renegotiate()
            return self.handshake()
        if problems:
            code, depth = self._errors[0]
            again = " after renegotiation" if self._state == "renegotiating" else ""
            raise TlsEngineError(
                f"the device rejected the server certificate{again} (depth {depth}: "
                f"{_x509_error(code)}, device clock {_when(self._owner.clock())}); check that "
                "the server CA stored in the device issued the server's chain"
            )
        self._state = "done"
        self._time = server_time
        self._owner.adopt_time(server_time)
        return True

    def read(self) -> bytes:
        """Plaintext available now."""
        return b"".join(received(self._conn))

    def write(self, data: bytes) -> None:
        """Encrypt one message as one record."""
        try:
            self._conn.sendall(data)
        except SSL.Error as exc:
            raise TlsEngineError(ssl_reason(exc)) from None

    def outgoing(self) -> bytes:
        """Ciphertext OpenSSL has written."""
        return b"".join(to_send(self._conn))

    def peer_certificate(self) -> bytes | None:
        """DER of the server certificate."""
        cert = self._conn.get_peer_certificate(as_cryptography=True) \
            if self._state == "done" else None
        return cert.public_bytes(Encoding.DER) if cert is not None else None

    def server_time(self) -> int | None:
        """ServerHello.random[0:4] of the last handshake (the time the device adopted)."""
        return self._time

    def close_notify(self) -> None:
        """Queue close_notify."""
        with contextlib.suppress(SSL.Error):
            self._conn.shutdown()


class DeviceTlsContext:
    """TlsContext of a virtual board: the real client's TLS offer, checked at the device clock.

    `clock()` is the device's time (UNIX seconds, 0 on a factory-new board); `on_time(t)` is
    called with ServerHello.random[0:4] after every successful handshake (the device adopts it).
    """

    def __init__(self, cred: Credential, server_ca: Sequence[x509.Certificate | bytes], *,
                 clock: Clock, on_time: Callable[[int], None] | None = None) -> None:
        if not server_ca:
            raise TransportError("The device has no server CA certificate; provision "
                                 "mbed.BootstrapServerCACert (or LwM2MServerCACert).")
        self.clock = clock
        self._on_time = on_time
        self._cred = cred
        self._cas = [crypto.X509.from_cryptography(c if isinstance(c, x509.Certificate)
                                                   else load_certificate(c)) for c in server_ca]
        self.build_ssl_context()  # fail now, with a clear sentence, on an unusable credential

    def build_ssl_context(self) -> SSL.Context:
        """A fresh OpenSSL context (one per connection: its verification time is the device's)."""
        ctx = SSL.Context(SSL.TLS_METHOD)
        ctx.set_min_proto_version(SSL.TLS1_2_VERSION)
        ctx.set_max_proto_version(SSL.TLS1_2_VERSION)
        ctx.set_cipher_list(DEVICE_CIPHERS)
        if _lib.SSL_CTX_set1_curves_list(ctx._context, DEVICE_GROUPS) != 1 or \
                _lib.SSL_CTX_set1_sigalgs_list(ctx._context, DEVICE_SIGALGS) != 1:
            raise TransportError("This OpenSSL cannot limit the groups or signature algorithms "
                                 "to the real client's; upgrade pyOpenSSL/cryptography.")
        use_device_credential(ctx, self._cred, self._cas, self.clock())
        return ctx

    def adopt_time(self, unix: int) -> None:
        """Tell the board the time it takes from the server."""
        if self._on_time is not None:
            self._on_time(unix)

    def new_engine(self, *, server_side: bool, server_hostname: str | None = None) -> TlsEngine:
        """An engine for one connection to a server (no SNI, whatever the host)."""
        if server_side:
            raise TransportError("DeviceTlsContext is a client; the service uses "
                                 "server_tls_context.")
        return DeviceTlsEngine(self)


def device_tls_context(cred: Credential, server_ca: Sequence[x509.Certificate | bytes], *,
                       clock: Clock, on_time: Callable[[int], None] | None = None
                       ) -> DeviceTlsContext:
    """The virtual board's client TLS context (see DeviceTlsContext)."""
    return DeviceTlsContext(cred, server_ca, clock=clock, on_time=on_time)
