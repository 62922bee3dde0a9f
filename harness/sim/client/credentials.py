"""The client's credentials in its item store: reading, checking and building TLS contexts.

The board's TLS is harness.transport.DeviceTlsContext (OpenSSL set up like the real client),
never the service's Mbed TLS: see docs/tls.md.
"""

from __future__ import annotations

import datetime as dt
import re
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from cryptography import x509

from harness.errors import HilError
from harness.lwm2m.ids import SecurityMode
from harness.pki import Credential, load_certificate_chain, load_private_key, subject_fields
from harness.provisioning import items
from harness.provisioning.der import split_der_chain
from harness.transport import (
    DeviceDtlsContext,
    DeviceTlsContext,
    TransportError,
    client_ssl_context,
    device_dtls_context,
    device_tls_context,
)

LWM2M_ITEMS = (items.LWM2M_SERVER_URI, items.LWM2M_DEVICE_CERT, items.LWM2M_DEVICE_PRIVATE_KEY,
               items.LWM2M_SERVER_CA_CERT)
BOOTSTRAP_ITEMS = (items.BOOTSTRAP_SERVER_URI, items.BOOTSTRAP_DEVICE_CERT,
                   items.BOOTSTRAP_DEVICE_PRIVATE_KEY, items.BOOTSTRAP_SERVER_CA_CERT)


LWM2M_SECURITY_MODE = "dmhil.LwM2MSecurityMode"
"""Runtime item: the security mode Bootstrap-Finish committed (0 PSK, 2 certificate, 3 NoSec).
In PSK mode the LwM2M certificate item holds the PSK identity and the key item the key."""


class CredentialError(HilError):
    """Stored credentials that cannot be used."""


def load_chain(data: bytes) -> list[x509.Certificate]:
    """Certificates of a stored item: PEM (one or more) or DER (one or concatenated)."""
    if data.lstrip().startswith(b"-----BEGIN"):
        return load_certificate_chain(data)
    try:
        return [x509.load_der_x509_certificate(der) for der in split_der_chain(data)]
    except ValueError as exc:
        raise CredentialError(f"A stored certificate cannot be parsed ({exc}); store DER or PEM.") from None


@dataclass
class ServerCredentials:
    """Everything needed to connect to one server (bootstrap or LwM2M)."""

    uri: str
    device: Credential | None
    server_ca: list[x509.Certificate]
    psk: tuple[str, bytes] | None = None

    @property
    def mode(self) -> SecurityMode:
        """Certificate, PSK or NoSec (a coap:// URI and nothing else is complete NoSec)."""
        if self.device is not None:
            return SecurityMode.CERTIFICATE
        return SecurityMode.PSK if self.psk is not None else SecurityMode.NOSEC

    @property
    def not_after(self) -> dt.datetime | None:
        """When the device certificate expires (aware UTC); None without a certificate."""
        return self.device.cert.not_valid_after_utc if self.device else None

    @property
    def subject(self) -> dict[str, str]:
        """Subject attributes of the device certificate (CN, L, OU, ...); {} without one."""
        return subject_fields(self.device.cert) if self.device else {}

    def ssl_context(self) -> ssl.SSLContext:
        """A Python-ssl client context presenting the device chain (tools and tests only)."""
        if self.device is None:
            raise CredentialError("No device certificate stored; this is a PSK or NoSec device.")
        return client_ssl_context(self.device, list(self.server_ca))

    def tls_context(self, clock: Callable[[], float],
                    on_time: Callable[[int], None]) -> DeviceTlsContext:
        """The board's TLS: the real client's offer, verified at `clock()`, adopting server time."""
        if self.device is None:
            raise TransportError("PSK needs DTLS: the TCP build of the client does certificates "
                                 "only; flash a udp image.")
        return device_tls_context(self.device, list(self.server_ca), clock=clock, on_time=on_time)

    def dtls_context(self, clock: Callable[[], float],
                     on_time: Callable[[int], None]) -> DeviceDtlsContext:
        """The board's DTLS: the compliant UDP build's offer (certificate or PSK)."""
        return device_dtls_context(cred=self.device, server_ca=list(self.server_ca), psk=self.psk,
                                   clock=clock, on_time=on_time)

    def security_context(self, family: str, clock: Callable[[], float],
                         on_time: Callable[[int], None]) -> DeviceTlsContext | DeviceDtlsContext:
        """The TLS or DTLS context for a transport's `tls_family` (harness.transport.registry)."""
        build = {"tls": self.tls_context, "dtls": self.dtls_context}[family]
        return build(clock, on_time)

    def __repr__(self) -> str:  # never show the key
        return (f"ServerCredentials(uri={self.uri!r}, mode={self.mode.name}, "
                f"subject={self.subject!r}, key=<redacted>)")


def read_server_credentials(store, names: tuple[str, str, str, str]) -> ServerCredentials | None:
    """The credentials stored under `names` (uri, cert, key, CA), or None if incomplete.

    Complete means: a coap:// URI (NoSec needs nothing else), a PSK identity and key (when the
    committed security mode is PSK), or certificate, key and server CA.
    """
    values = [store.get(name) for name in names]
    uri_data = values[0]
    if not uri_data:
        return None
    uri_text = uri_data.decode("utf-8", errors="replace").strip("\x00")
    if uri_text.partition("://")[0].lower() == "coap":  # urlsplit raises on a bad IPv6 literal
        return ServerCredentials(uri=uri_text, device=None, server_ca=[])
    if names[0] == items.LWM2M_SERVER_URI and store.get_int(LWM2M_SECURITY_MODE) == SecurityMode.PSK:
        identity, key = values[1], values[2]
        if not identity or not key:
            return None
        return ServerCredentials(uri=uri_text, device=None, server_ca=[],
                                 psk=(identity.decode("utf-8", "replace"), key))
    if any(not value for value in values):
        return None
    uri, cert_data, key_data, ca_data = values
    chain = load_chain(cert_data)
    try:
        key = load_private_key(key_data)
    except HilError:
        raise CredentialError(f"Stored key {names[2]} cannot be parsed; reprovision the device.") from None
    return ServerCredentials(
        uri=uri.decode("utf-8", errors="replace").strip("\x00"),
        device=Credential(cert=chain[0], key=key, chain=chain[1:]),
        server_ca=load_chain(ca_data),
    )


def has_lwm2m_credentials(store) -> bool:
    """True when complete LwM2M credentials are stored (certificate, PSK or NoSec)."""
    try:
        return read_server_credentials(store, LWM2M_ITEMS) is not None
    except CredentialError:
        return True  # present but unusable: registration reports it


def delete_lwm2m_credentials(store) -> None:
    """Remove the LwM2M URI, certificate (or PSK identity), key, CA and mode (re-bootstrap)."""
    for name in (*LWM2M_ITEMS, LWM2M_SECURITY_MODE):
        store.delete(name)


def is_expired(cert: x509.Certificate, now: dt.datetime) -> bool:
    """True when `cert` is past its notAfter at `now`."""
    return now >= cert.not_valid_after_utc


SAVED_TIME = "pal.SavedTime"
"""Runtime item holding the last time taken from a server (the client's saved secure time)."""


def save_time(store, unix: int) -> None:
    """Remember the time taken from a server, like the client's saved secure time."""
    data = int(unix).to_bytes(8, "little")
    if store.get(SAVED_TIME) != data:
        store.put(SAVED_TIME, data, factory=False)


def saved_time(store) -> int | None:
    """The last saved server time, or None."""
    return store.get_int(SAVED_TIME)


def uri_query(uri: str) -> str:
    """The query of a server URI ('' when it has no '?')."""
    return uri.partition("?")[2].partition("#")[0]  # urlsplit raises on a bad IPv6 literal


def query_value(uri: str, key: str) -> str | None:
    """The value of `key` in the URI query (e.g. aid), or None."""
    for part in uri_query(uri).split("&"):
        name, _, value = part.partition("=")
        if name == key and value:
            return value
    return None


def host_port(uri: str, default_port: int) -> tuple[str, int]:
    """Host and port of a coap(s):// URI. The port is read as the real client reads it: its
    leading digits modulo 65536, 0 without any (tests/peers/test_peer_pdmc_malformed_uri.py)."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        raise CredentialError(f"Server URI {uri!r} is malformed; store coaps://host:port?aid=...") from None
    if parts.scheme not in ("coap", "coaps") or not parts.hostname:
        raise CredentialError(f"Server URI {uri!r} is not coap(s)://host:port; fix the stored URI.")
    after_host = parts.netloc.rpartition("@")[2].rpartition("]")[2]
    if ":" not in after_host:
        return parts.hostname, default_port
    digits = re.match(r"\d*", after_host.rpartition(":")[2]).group(0)
    return parts.hostname, int(digits) % 65536 if digits else 0
