"""The service's TLS engine: Mbed TLS (python-mbedtls, bundling Mbed TLS 2.28) over memory buffers.

Why Mbed TLS (docs/tls.md): the real client is Mbed TLS; an Mbed TLS server offers its one suite
TLS-ECDHE-ECDSA-WITH-AES-128-CCM-8 and puts the current time in ServerHello.random[0:4], which
the client takes as its clock. Python's `ssl` (OpenSSL) can do neither. python-mbedtls 2.10
disables renegotiation in every configuration (mbedtls_ssl_conf_renegotiation(conf, 0), no
switch), so this server refuses it (no_renegotiation alert); the service serves chains already
valid at device time 0 instead (harness.cloud.ca).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from mbedtls import pk, tls
from mbedtls import x509 as mx
from mbedtls.exceptions import TLSError

from harness.pki import Credential, load_certificate
from harness.transport.errors import TransportError
from harness.transport.tls_engine import MAX_READ, TlsEngine, TlsEngineError, TlsPeerClosed

SERVER_CIPHERS: tuple[str, ...] = (
    "TLS-ECDHE-ECDSA-WITH-AES-128-CCM-8",  # the real client's only suite, preferred
    "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256",  # Python ssl / OpenSSL test clients and tools
    "TLS-ECDHE-ECDSA-WITH-AES-256-GCM-SHA384",
)

# python-mbedtls TLSError.err (positive Mbed TLS codes) -> reason as OpenSSL would name it
_REASONS: dict[int, str] = {
    0x7380: "NO_SHARED_CIPHER: the client offers no suite this server enables",
    0x2700: "CERTIFICATE_VERIFY_FAILED: the client certificate is not issued by a trusted CA "
            "(or is expired)",
    0x7480: "PEER_DID_NOT_RETURN_A_CERTIFICATE: the client sent no certificate",
    0x7780: "the client sent a fatal alert (it rejected the server certificate or parameters)",
    0x6E80: "UNSUPPORTED_PROTOCOL: the client does not offer TLS 1.2",
    0x7280: "the client closed the connection during the handshake",
    0x7900: "bad ClientHello",
    0x7200: "invalid TLS record",
}


def _reason(exc: TLSError) -> str:
    return _REASONS.get(exc.err or 0, exc.msg or f"Mbed TLS error -0x{exc.err or 0:04X}")


def _crt(cert: x509.Certificate | bytes) -> mx.CRT:
    if isinstance(cert, bytes):
        cert = load_certificate(cert)
    return mx.CRT.from_DER(cert.public_bytes(serialization.Encoding.DER))


class MbedTlsServerEngine:
    """One accepted connection on an Mbed TLS buffer."""

    def __init__(self, context: tls.ServerContext) -> None:
        self._tls = context.wrap_buffers()
        self._done = False
        self._pending = bytearray()

    def feed(self, data: bytes) -> None:
        """Hand ciphertext to Mbed TLS."""
        self._tls.receive_from_network(data)

    def handshake(self) -> bool:
        """Step the handshake until it needs input or is over."""
        while self._tls._handshake_state is not tls.HandshakeStep.HANDSHAKE_OVER:
            try:
                self._tls.do_handshake()
            except tls.WantReadError:
                return False
            except tls.WantWriteError:
                self._take_output()  # python-mbedtls asks for a flush after each message
            except TLSError as exc:
                raise TlsEngineError(_reason(exc)) from None
        self._done = True
        return True

    def read(self) -> bytes:
        """Plaintext available now."""
        chunks: list[bytes] = []
        while True:
            try:
                chunk = self._tls.read(MAX_READ)
            except (tls.WantReadError, tls.WantWriteError):
                break
            except TLSError as exc:
                if exc.err == 0x7880:  # MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY
                    raise TlsPeerClosed from None
                raise TlsEngineError(_reason(exc)) from None
            if not chunk:  # python-mbedtls returns b"" when no record is pending
                break
            chunks.append(chunk)
        return b"".join(chunks)

    def write(self, data: bytes) -> None:
        """Encrypt one message as one record."""
        for _attempt in range(8):
            try:
                self._tls.write(data)
                return
            except tls.WantWriteError:
                self._take_output()  # output ring full: move it out, then write again
            except TLSError as exc:
                raise TlsEngineError(_reason(exc)) from None
        raise TlsEngineError(f"cannot write a {len(data)}-byte message (output buffer full)")

    def _take_output(self) -> None:
        data = self._tls.peek_outgoing(1 << 20)
        if data:
            self._tls.consume_outgoing(len(data))
            self._pending += data

    def outgoing(self) -> bytes:
        """Ciphertext Mbed TLS has written."""
        self._take_output()
        data, self._pending = bytes(self._pending), bytearray()
        return data

    def peer_certificate(self) -> bytes | None:
        """DER of the verified client certificate."""
        if not self._done:
            return None
        return self._tls.getpeercert(binary_form=True) or None

    def server_time(self) -> int | None:
        """This side chose the time itself."""
        return None

    def close_notify(self) -> None:
        """Queue close_notify."""
        with contextlib.suppress(TLSError):
            self._tls.shutdown()


class MbedTlsServerContext:
    """TlsContext of a tls-record server: TLS 1.2, CCM-8 first, client certificate required."""

    def __init__(self, cert: Credential, trusted_cas: Sequence[x509.Certificate | bytes]) -> None:
        if not trusted_cas:
            raise TransportError("A TLS server needs at least one trusted client CA; "
                                 "pass the CA that issues the device certificates.")
        try:
            chain = tuple(_crt(c) for c in [cert.cert, *cert.chain])
            key = pk.ECC.from_DER(cert.key_der) if _is_ec(cert) else pk.RSA.from_DER(cert.key_der)
        except Exception as exc:  # noqa: BLE001 - Mbed TLS parse errors have no common base
            raise TransportError(
                f"Certificate {cert.cert.subject.rfc4514_string()} or its key cannot be loaded "
                f"into Mbed TLS ({exc}); pass a PEM/DER certificate and its EC or RSA key."
            ) from None
        # every trusted CA is an anchor (an account may upload an intermediate without its root)
        # TrustStore(list) does not link the certificates for Mbed TLS; add() does
        store = tls.TrustStore()
        for ca in trusted_cas:
            store.add(_crt(ca))
        self.configuration = tls.TLSConfiguration(
            validate_certificates=True,  # client certificate required and verified
            certificate_chain=(chain, key),
            ciphers=SERVER_CIPHERS,
            lowest_supported_version=tls.TLSVersion.TLSv1_2,
            highest_supported_version=tls.TLSVersion.TLSv1_2,
            trust_store=store,
        )
        self._context = tls.ServerContext(self.configuration)

    def new_engine(self, *, server_side: bool, server_hostname: str | None = None) -> TlsEngine:
        """An engine for one accepted connection."""
        if not server_side:
            raise TransportError("MbedTlsServerContext only serves; use DeviceTlsContext or "
                                 "client_ssl_context for clients.")
        return MbedTlsServerEngine(self._context)


def _is_ec(cert: Credential) -> bool:
    return isinstance(cert.key, ec.EllipticCurvePrivateKey)


def server_tls_context(cert: Credential,
                       trusted_cas: Sequence[x509.Certificate | bytes]) -> MbedTlsServerContext:
    """The service's TLS server context on Mbed TLS (build once, reuse for every connection)."""
    return MbedTlsServerContext(cert, trusted_cas)
