"""The virtual board's DTLS 1.2: OpenSSL (pyOpenSSL) offering what the real client's UDP build offers.

The real client's "LwM2M compliant" build (protocol-facts §3.1 point 6) speaks DTLS 1.2 with four
suites: ECDHE-ECDSA-AES128-CCM8, ECDHE-ECDSA-AES128-GCM-SHA256, ECDHE-ECDSA-AES256-GCM-SHA384
and PSK-AES256-CCM8, and no secure-time renegotiation. A board with a certificate offers the
three ECDHE-ECDSA suites, a board with a PSK the PSK suite (an Mbed TLS client offers only
suites its credentials can complete). The server chain is verified at the device clock, strictly.
OpenSSL, never Mbed TLS: the service's DTLS is Mbed TLS (`dtls_server_engine.py`).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence

from cryptography import x509
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
from harness.transport.tls_engine import TlsEngineError

DTLS1_2 = 0xFEFD
X509_SUITES = b"ECDHE-ECDSA-AES128-CCM8:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384"
PSK_SUITES = b"PSK-AES256-CCM8"
MTU = 1200
_PSK_CALLBACK = "unsigned int(SSL *, const char *, char *, unsigned int, unsigned char *, unsigned int)"


class DeviceDtlsEngine:
    """One DTLS session of the board toward a server."""

    def __init__(self, owner: DeviceDtlsContext) -> None:
        self._owner = owner
        self._ctx = owner.ssl_context()
        self._conn = SSL.Connection(self._ctx, None)
        self._conn.set_connect_state()
        _lib.SSL_set_options(self._conn._ssl, _lib.SSL_OP_NO_QUERY_MTU)
        _lib.SSL_set_mtu(self._conn._ssl, MTU)
        if owner.session is not None:
            self._conn.set_session(owner.session)
        self.done = False

    def feed(self, datagram: bytes) -> None:
        """Hand one datagram to OpenSSL."""
        self._conn.bio_write(datagram)

    def handshake(self) -> bool:
        """Advance the handshake; True once complete."""
        if self.done:
            return True
        try:
            self._conn.do_handshake()
        except SSL.WantReadError:
            return False
        except SSL.Error as exc:
            raise TlsEngineError(ssl_reason(exc)) from None
        self.done = True
        self._owner.session = self._conn.get_session()
        self._owner.adopt_time(int.from_bytes(self._conn.server_random()[:4], "big"))
        return True

    def retransmit_in(self) -> float | None:
        """Seconds until OpenSSL wants to retransmit its last flight (None: no timer)."""
        return self._conn.DTLSv1_get_timeout()

    def retransmit(self) -> None:
        """Let OpenSSL resend its last flight if its timer ran out."""
        with contextlib.suppress(SSL.Error):
            self._conn.DTLSv1_handle_timeout()

    def read(self) -> list[bytes]:
        """Application records (one CoAP message each) available now."""
        return received(self._conn)

    def write(self, message: bytes) -> None:
        """Encrypt one message as one record."""
        try:
            self._conn.send(message)
        except SSL.Error as exc:
            raise TlsEngineError(ssl_reason(exc)) from None

    def outgoing(self) -> list[bytes]:
        """Datagrams to send."""
        return to_send(self._conn)

    @property
    def resumed(self) -> bool:
        """True if this handshake resumed the previous session."""
        return bool(_lib.SSL_session_reused(self._conn._ssl))

    def cipher(self) -> str:
        """The negotiated suite (OpenSSL name)."""
        return self._conn.get_cipher_name() or ""

    def close_notify(self) -> None:
        """Queue close_notify."""
        with contextlib.suppress(SSL.Error):
            self._conn.shutdown()


class DeviceDtlsContext:
    """The board's DTLS credentials: a certificate (+ server CA) or a PSK identity and key."""

    def __init__(self, *, cred: Credential | None = None,
                 server_ca: Sequence[x509.Certificate | bytes] = (),
                 psk: tuple[str, bytes] | None = None, clock: Callable[[], float],
                 on_time: Callable[[int], None] | None = None) -> None:
        if (cred is None) == (psk is None):
            raise TransportError("A DTLS device needs either a certificate or a PSK; "
                                 "store one of the two.")
        if cred is not None and not server_ca:
            raise TransportError("The device has no server CA certificate; provision the "
                                 "server CA with the certificate.")
        self._cred = cred
        self._psk = psk
        self._cas = [crypto.X509.from_cryptography(c if isinstance(c, x509.Certificate)
                                                   else load_certificate(c)) for c in server_ca]
        self.clock = clock
        self._on_time = on_time
        self.session: SSL.Session | None = None
        self._callback = _ffi.callback(_PSK_CALLBACK, self._psk_answer) if psk else None
        self._ssl_context = self.build_ssl_context()

    def ssl_context(self) -> SSL.Context:
        """The one OpenSSL context of this board (sessions resume only within one context),
        its verification time set to the device clock now."""
        store = self._ssl_context.get_cert_store()
        if store is not None and self._cred is not None:
            set_verify_time(store, self.clock())
        return self._ssl_context

    def _psk_answer(self, _ssl, _hint, identity, max_identity, key, max_key) -> int:
        assert self._psk is not None
        name, secret = self._psk[0].encode(), self._psk[1]
        if len(name) + 1 > max_identity or len(secret) > max_key:
            return 0
        _ffi.memmove(identity, name + b"\0", len(name) + 1)
        _ffi.memmove(key, secret, len(secret))
        return len(secret)

    def build_ssl_context(self) -> SSL.Context:
        """A fresh OpenSSL DTLS 1.2 client context with the real client's offer."""
        ctx = SSL.Context(SSL.DTLS_CLIENT_METHOD)
        ctx.set_min_proto_version(DTLS1_2)
        ctx.set_max_proto_version(DTLS1_2)
        ctx.set_session_cache_mode(SSL.SESS_CACHE_CLIENT)
        _lib.SSL_CTX_set1_curves_list(ctx._context, DEVICE_GROUPS)
        if self._psk is not None:
            ctx.set_cipher_list(PSK_SUITES + b":@SECLEVEL=0")
            _lib.SSL_CTX_set_psk_client_callback(ctx._context, self._callback)
            return ctx
        assert self._cred is not None
        ctx.set_cipher_list(X509_SUITES + b":@SECLEVEL=0")
        use_device_credential(ctx, self._cred, self._cas, self.clock())
        ctx.set_verify(SSL.VERIFY_PEER, lambda _c, _x, _e, _d, ok: bool(ok))
        return ctx

    def adopt_time(self, unix: int) -> None:
        """Tell the board the time in ServerHello.random[0:4]."""
        if self._on_time is not None:
            self._on_time(unix)

    def new_engine(self) -> DeviceDtlsEngine:
        """An engine for one session (offering to resume the last session)."""
        return DeviceDtlsEngine(self)


def device_dtls_context(*, cred: Credential | None = None,
                        server_ca: Sequence[x509.Certificate | bytes] = (),
                        psk: tuple[str, bytes] | None = None,
                        clock: Callable[[], float] = time.time,
                        on_time: Callable[[int], None] | None = None) -> DeviceDtlsContext:
    """The virtual board's DTLS client context (certificate or PSK)."""
    return DeviceDtlsContext(cred=cred, server_ca=server_ca, psk=psk, clock=clock, on_time=on_time)
