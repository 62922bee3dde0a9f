"""The service's DTLS 1.2: Mbed TLS (python-mbedtls) over datagrams, X.509 and PSK, with cookies.

Like the service's TLS (`mbedtls_server.py`, docs/tls.md) it runs on Mbed TLS, the real client's
library; the virtual board's DTLS is OpenSSL (`dtls_device_engine.py`), so the two ends never
share an implementation. Suites: those the real client's "LwM2M compliant" UDP build offers
(protocol-facts §3.1 point 6). Every handshake starts with a HelloVerifyRequest cookie bound to
the peer's address. A certificate peer must present one issued by a trusted CA (there is no
anonymous suite); a PSK peer's identity is the one in its ClientKeyExchange (sent in clear),
accepted only because the handshake proved it holds that identity's key.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence

from cryptography import x509
from mbedtls import pk, tls
from mbedtls.exceptions import TLSError

from harness.pki import Credential
from harness.transport.errors import TransportError
from harness.transport.mbedtls_server import _crt, _is_ec, _reason
from harness.transport.peer import PeerIdentity
from harness.transport.tls_engine import TlsEngineError, TlsPeerClosed

DTLS_SERVER_CIPHERS: tuple[str, ...] = (
    "TLS-ECDHE-ECDSA-WITH-AES-128-CCM-8",
    "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256",
    "TLS-ECDHE-ECDSA-WITH-AES-256-GCM-SHA384",
    "TLS-PSK-WITH-AES-256-CCM-8",
)
MTU = 1200
"""Largest datagram the server sends (libcoap reads at most 1472 bytes; the real client 1024+)."""
_HANDSHAKE = 22
_CLIENT_KEY_EXCHANGE = 16
_RECORD_HEADER = 13
_HANDSHAKE_HEADER = 12


def records_in(data: bytes) -> list[bytes]:
    """Split a run of DTLS records at their boundaries."""
    out: list[bytes] = []
    pos = 0
    while pos + _RECORD_HEADER <= len(data):
        end = pos + _RECORD_HEADER + int.from_bytes(data[pos + 11:pos + 13], "big")
        out.append(data[pos:end])
        pos = end
    if pos < len(data):
        out.append(data[pos:])
    return out


def datagrams_of(data: bytes, mtu: int = MTU) -> list[bytes]:
    """Pack whole records into datagrams of at most `mtu` bytes (a record is never split)."""
    out: list[bytes] = []
    current = b""
    for record in records_in(data):
        if current and len(current) + len(record) > mtu:
            out.append(current)
            current = b""
        current += record
    if current:
        out.append(current)
    return out


def psk_identity_in(datagram: bytes) -> str | None:
    """The psk_identity of a plaintext (epoch 0) ClientKeyExchange in a datagram, if any."""
    pos = 0
    while pos + _RECORD_HEADER <= len(datagram):
        ctype = datagram[pos]
        epoch = int.from_bytes(datagram[pos + 3:pos + 5], "big")
        length = int.from_bytes(datagram[pos + 11:pos + 13], "big")
        body = datagram[pos + _RECORD_HEADER:pos + _RECORD_HEADER + length]
        pos += _RECORD_HEADER + length
        if ctype != _HANDSHAKE or epoch != 0 or len(body) < _HANDSHAKE_HEADER + 2:
            continue
        if body[0] != _CLIENT_KEY_EXCHANGE:
            continue
        size = int.from_bytes(body[_HANDSHAKE_HEADER:_HANDSHAKE_HEADER + 2], "big")
        raw = body[_HANDSHAKE_HEADER + 2:_HANDSHAKE_HEADER + 2 + size]
        if len(raw) == size:
            return raw.decode("utf-8", "replace")
    return None


class MbedDtlsServerEngine:
    """One peer's DTLS session on the server: cookie exchange, handshake, records."""

    def __init__(self, context: tls.ServerContext, client_id: bytes) -> None:
        self._tls = context.wrap_buffers()
        self._client_id = client_id
        self._tls.setcookieparam(client_id)
        self._tls.setmtu(MTU)
        self._out: list[bytes] = []
        self._psk_identity: str | None = None
        self.done = False

    def feed(self, datagram: bytes) -> None:
        """Hand one datagram to Mbed TLS."""
        if not self.done and self._psk_identity is None:
            self._psk_identity = psk_identity_in(datagram)
        self._tls.receive_from_network(datagram)

    def _take(self) -> None:
        data = self._tls.peek_outgoing(1 << 20)
        if data:
            self._tls.consume_outgoing(len(data))
            self._out.append(data)

    def handshake(self) -> bool:
        """Advance the handshake; True once complete (TlsEngineError on failure)."""
        while self._tls._handshake_state is not tls.HandshakeStep.HANDSHAKE_OVER:
            try:
                self._tls.do_handshake()
            except tls.WantReadError:
                self._take()
                return False
            except tls.WantWriteError:
                self._take()
            except tls.HelloVerifyRequest:
                self._take()  # the HelloVerifyRequest; the next ClientHello must carry its cookie
                self._tls._reset()
                self._tls.setcookieparam(self._client_id)
                self._tls.setmtu(MTU)
                return False
            except TLSError as exc:
                self._take()
                raise TlsEngineError(_reason(exc)) from None
        self._take()
        self.done = True
        return True

    def read(self) -> list[bytes]:
        """The application records (one CoAP message each) available now."""
        out: list[bytes] = []
        while True:
            try:
                chunk = self._tls.read(1 << 16)
            except (tls.WantReadError, tls.WantWriteError):
                break
            except TLSError as exc:
                if exc.err == 0x7880:  # MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY
                    raise TlsPeerClosed from None
                raise TlsEngineError(_reason(exc)) from None
            if not chunk:
                break
            out.append(chunk)
        return out

    def write(self, message: bytes) -> None:
        """Encrypt one message as one record."""
        try:
            self._tls.write(message)
        except tls.WantWriteError:
            pass
        except TLSError as exc:
            raise TlsEngineError(_reason(exc)) from None
        self._take()

    def outgoing(self) -> list[bytes]:
        """Datagrams to send (and forget them)."""
        self._take()
        out, self._out = self._out, []
        return [d for chunk in out for d in datagrams_of(chunk)]

    def identity(self) -> PeerIdentity:
        """The peer's identity once the handshake is over: its certificate or its PSK identity."""
        if not self.done:
            raise TlsEngineError("no identity before the handshake is complete")
        cipher = self._tls.cipher()
        name = cipher[0] if isinstance(cipher, tuple) else str(cipher)
        if "PSK" in name:
            return PeerIdentity("psk", psk_identity=self._psk_identity or "")
        der = self._tls.getpeercert(binary_form=True)
        if not der:
            raise TlsEngineError("certificate suite without a client certificate")
        return PeerIdentity("certificate", certificate=der)

    def cipher(self) -> str:
        """The negotiated suite (Mbed TLS name)."""
        cipher = self._tls.cipher()
        return cipher[0] if isinstance(cipher, tuple) else str(cipher)

    def close_notify(self) -> None:
        """Queue close_notify."""
        with contextlib.suppress(TLSError):
            self._tls.shutdown()
        self._take()


class MbedDtlsServerContext:
    """DTLS 1.2 server configuration: the server chain, trusted client CAs, PSK identities."""

    def __init__(self, cert: Credential, trusted_cas: Sequence[x509.Certificate | bytes],
                 psk: Mapping[str, bytes] | None = None, *,
                 ciphers: Sequence[str] = DTLS_SERVER_CIPHERS) -> None:
        if not trusted_cas:
            raise TransportError("A DTLS server needs at least one trusted client CA; pass the CA "
                                 "that issues the device certificates.")
        try:
            chain = tuple(_crt(c) for c in [cert.cert, *cert.chain])
            key = pk.ECC.from_DER(cert.key_der) if _is_ec(cert) else pk.RSA.from_DER(cert.key_der)
        except Exception as exc:  # noqa: BLE001 - Mbed TLS parse errors have no common base
            raise TransportError(f"The DTLS server certificate cannot be loaded into Mbed TLS "
                                 f"({exc}); pass a certificate and its EC or RSA key.") from None
        store = tls.TrustStore()
        for ca in trusted_cas:
            store.add(_crt(ca))
        self.configuration = tls.DTLSConfiguration(
            validate_certificates=True,
            certificate_chain=(chain, key),
            ciphers=tuple(ciphers),
            lowest_supported_version=tls.DTLSVersion.DTLSv1_2,
            highest_supported_version=tls.DTLSVersion.DTLSv1_2,
            trust_store=store,
            pre_shared_key_store=dict(psk or {}),
        )
        self._context = tls.ServerContext(self.configuration)

    def new_engine(self, client_id: bytes) -> MbedDtlsServerEngine:
        """An engine for one peer (`client_id`: its address, bound into the cookie)."""
        return MbedDtlsServerEngine(self._context, client_id)


def server_dtls_context(cert: Credential, trusted_cas: Sequence[x509.Certificate | bytes],
                        psk: Mapping[str, bytes] | None = None) -> MbedDtlsServerContext:
    """The service's DTLS server context on Mbed TLS (build once, reuse for every peer)."""
    return MbedDtlsServerContext(cert, trusted_cas, psk)
