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
import ctypes
import gc
import glob
import logging
import os
import sys
from collections.abc import Mapping, Sequence

import mbedtls
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
log = logging.getLogger("harness.transport")

MTU = 1200
"""Largest datagram the server sends (libcoap reads at most 1472 bytes; the real client 1024+)."""
_HANDSHAKE = 22
_CLIENT_KEY_EXCHANGE = 16
_RECORD_HEADER = 13
_HANDSHAKE_HEADER = 12


SESSION_CACHE_TIMEOUT = 3600
SESSION_CACHE_ENTRIES = 1000
_CACHE_BYTES = 256  # >= sizeof(mbedtls_ssl_cache_context) in Mbed TLS 2.28


def _mbedtls_library() -> ctypes.CDLL | None:
    folder = os.path.join(os.path.dirname(mbedtls.__file__), os.pardir, "python_mbedtls.libs")
    found = glob.glob(os.path.join(folder, "libmbedtls-*.so*"))
    return ctypes.CDLL(found[0]) if found else None


def _config_address(context: tls.ServerContext) -> int | None:
    """Address of the mbedtls_ssl_config behind a python-mbedtls context (found, not assumed:
    a fresh mbedtls_ssl_context's first field points at it)."""
    holders = [o for o in gc.get_referents(context) if type(o).__name__ == "MbedTLSConfiguration"]
    if not holders:
        return None
    low = id(holders[0])
    high = low + type(holders[0]).__basicsize__
    probe = context.wrap_buffers()
    raw = ctypes.string_at(id(probe), type(probe).__basicsize__)
    for offset in range(0, len(raw) - 7, 8):
        value = int.from_bytes(raw[offset:offset + 8], sys.byteorder)
        if low < value < high:
            return value
    return None


class SessionCache:
    """Mbed TLS's own session cache (ssl_cache.c) on a server configuration: session resumption.

    python-mbedtls 2.10 does not expose mbedtls_ssl_conf_session_cache; this calls it on the
    configuration through the bundled library. Without it every handshake is a full one.
    """

    def __init__(self, context: tls.ServerContext) -> None:
        self.enabled = False
        lib = _mbedtls_library()
        address = _config_address(context) if lib is not None else None
        if lib is None or address is None:
            log.warning("dtls: cannot enable Mbed TLS session resumption (library layout unknown)")
            return
        self._memory = ctypes.create_string_buffer(_CACHE_BYTES)
        lib.mbedtls_ssl_cache_init(self._memory)
        lib.mbedtls_ssl_cache_set_timeout(self._memory, ctypes.c_int(SESSION_CACHE_TIMEOUT))
        lib.mbedtls_ssl_cache_set_max_entries(self._memory, ctypes.c_int(SESSION_CACHE_ENTRIES))
        lib.mbedtls_ssl_conf_session_cache(ctypes.c_void_p(address), self._memory,
                                           lib.mbedtls_ssl_cache_get, lib.mbedtls_ssl_cache_set)
        self._lib = lib
        self.enabled = True

    def __del__(self) -> None:
        if getattr(self, "enabled", False):
            with contextlib.suppress(Exception):
                self._lib.mbedtls_ssl_cache_free(self._memory)


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


_SERVER_HELLO = 2


def _plain_handshakes(data: bytes, msg_type: int) -> list[bytes]:
    """Bodies of epoch-0 handshake messages of `msg_type` in a run of DTLS records."""
    out = []
    for record in records_in(data):
        body = record[_RECORD_HEADER:]
        if len(record) > _RECORD_HEADER and record[0] == _HANDSHAKE \
                and record[3:5] == b"\x00\x00" and body[:1] == bytes([msg_type]):
            out.append(body[_HANDSHAKE_HEADER:])
    return out


def server_hello_session_id(data: bytes) -> bytes | None:
    """The session id of a plaintext ServerHello in outgoing records, if any."""
    for body in _plain_handshakes(data, _SERVER_HELLO):
        if len(body) > 34:
            size = body[34]
            return body[35:35 + size] or None
    return None


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

    def __init__(self, context: tls.ServerContext, client_id: bytes,
                 psk_sessions: dict[bytes, str] | None = None) -> None:
        self._tls = context.wrap_buffers()
        self._psk_sessions = psk_sessions if psk_sessions is not None else {}
        self._session_id: bytes | None = None
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
            if not self.done:
                self._session_id = server_hello_session_id(data) or self._session_id

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
            identity = self._psk_identity
            if identity is not None and self._session_id:
                if len(self._psk_sessions) >= SESSION_CACHE_ENTRIES:
                    self._psk_sessions.pop(next(iter(self._psk_sessions)))
                self._psk_sessions[self._session_id] = identity
            elif identity is None and self._session_id:
                identity = self._psk_sessions.get(self._session_id)  # a resumed session
            if identity is None:
                raise TlsEngineError("PSK session without a known identity")
            return PeerIdentity("psk", psk_identity=identity)
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
        self.session_cache = SessionCache(self._context)
        self._psk_sessions: dict[bytes, str] = {}
        """session id -> PSK identity, so a resumed PSK session keeps its identity"""

    def new_engine(self, client_id: bytes) -> MbedDtlsServerEngine:
        """An engine for one peer (`client_id`: its address, bound into the cookie)."""
        return MbedDtlsServerEngine(self._context, client_id, self._psk_sessions)


def server_dtls_context(cert: Credential, trusted_cas: Sequence[x509.Certificate | bytes],
                        psk: Mapping[str, bytes] | None = None) -> MbedDtlsServerContext:
    """The service's DTLS server context on Mbed TLS (build once, reuse for every peer)."""
    return MbedDtlsServerContext(cert, trusted_cas, psk)
