"""Certificates for a Device Management lab: CAs, server and device certs, enrollment IDs."""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from harness.errors import HilError

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

BOOTSTRAP_CERT_VALIDITY = dt.timedelta(days=30 * 365)
CA_VALIDITY = dt.timedelta(days=40 * 365)
SERVER_CERT_VALIDITY = dt.timedelta(days=5 * 365)
ENROLLMENT_ID_PREFIX = "A-"
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
"""notBefore of server chains that a factory-new device (clock 0) accepts (docs/tls.md)."""
_ENROLLMENT_ID_RE = re.compile(r"^A-([0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){31})$")


class CertificateError(HilError):
    """A certificate, key or enrollment ID that cannot be used."""


@dataclass
class Credential:
    """A certificate with its private key and the chain of CAs above it (leaf first)."""

    cert: x509.Certificate
    key: PrivateKey
    chain: list[x509.Certificate] = field(default_factory=list)

    @property
    def cert_der(self) -> bytes:
        """The certificate in DER."""
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def cert_pem(self) -> bytes:
        """The certificate in PEM."""
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def chain_pem(self) -> bytes:
        """The certificate followed by its CA chain, in PEM."""
        return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in [self.cert, *self.chain])

    @property
    def key_der(self) -> bytes:
        """The private key as unencrypted PKCS#8 DER (keep it in memory or a caller-owned dir)."""
        return self.key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    @property
    def key_pem(self) -> bytes:
        """The private key as unencrypted PKCS#8 PEM (keep it in memory or a caller-owned dir)."""
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    @property
    def subject(self) -> dict[str, str]:
        """Subject attributes by short name (CN, OU, L, O, ...)."""
        return subject_fields(self.cert)

    def __repr__(self) -> str:  # never show the key
        return f"Credential(subject={self.cert.subject.rfc4514_string()!r}, key=<redacted>)"


def new_private_key(key_type: str = "ec", *, bits: int = 2048) -> PrivateKey:
    """Make a private key: EC P-256 (default) or RSA of `bits` (>= 2048)."""
    if key_type == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "rsa":
        if bits < 2048:
            raise CertificateError(f"RSA keys need at least 2048 bits, got {bits}; use bits>=2048.")
        return rsa.generate_private_key(public_exponent=65537, key_size=bits)
    raise CertificateError(f"Unknown key type {key_type!r}; use 'ec' or 'rsa'.")


def _name(cn: str, **attrs: str) -> x509.Name:
    oids = {"O": NameOID.ORGANIZATION_NAME, "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
            "L": NameOID.LOCALITY_NAME, "C": NameOID.COUNTRY_NAME}
    parts = [x509.NameAttribute(oids[k], v) for k, v in attrs.items() if v]
    return x509.Name([*parts, x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _sign(
    subject: x509.Name,
    public_key,
    issuer: Credential | None,
    signing_key: PrivateKey,
    validity: dt.timedelta,
    extensions: list[tuple[x509.ExtensionType, bool]],
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
) -> x509.Certificate:
    start = not_before or (_now() - dt.timedelta(minutes=5))
    end = not_after or (start + validity)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    for ext, critical in extensions:
        builder = builder.add_extension(ext, critical=critical)
    return builder.sign(signing_key, hashes.SHA256())


def _epoch_span(from_epoch: bool, validity: dt.timedelta
                ) -> tuple[dt.datetime | None, dt.datetime | None]:
    """(not_before, not_after) for _sign: from 1970 to now + validity, or the defaults."""
    return (EPOCH, _now() + validity) if from_epoch else (None, None)


def valid_at_epoch(cert: x509.Certificate) -> bool:
    """True when `cert` is already valid at UNIX time 0 (a factory-new device's clock)."""
    return cert.not_valid_before_utc <= EPOCH


def make_ca(
    common_name: str,
    *,
    parent: Credential | None = None,
    key_type: str = "ec",
    organization: str = "dm-hil lab",
    validity: dt.timedelta = CA_VALIDITY,
    valid_from_epoch: bool = False,
) -> Credential:
    """Make a root CA, or an intermediate CA signed by `parent`.

    `valid_from_epoch`: notBefore 1970-01-01, notAfter now + `validity` (valid at device time 0).
    """
    key = new_private_key(key_type)
    cert = _sign(
        _name(common_name, O=organization),
        key.public_key(),
        parent,
        parent.key if parent else key,
        validity,
        [
            (x509.BasicConstraints(ca=True, path_length=None), True),
            (x509.KeyUsage(digital_signature=True, content_commitment=False,
                           key_encipherment=False, data_encipherment=False, key_agreement=False,
                           key_cert_sign=True, crl_sign=True, encipher_only=False,
                           decipher_only=False), True),
        ],
        *_epoch_span(valid_from_epoch, validity),
    )
    chain = [parent.cert, *parent.chain] if parent else []
    return Credential(cert, key, chain)


def _leaf_usage() -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                         data_encipherment=False, key_agreement=True, key_cert_sign=False,
                         crl_sign=False, encipher_only=False, decipher_only=False)


def make_server_cert(
    ca: Credential,
    common_name: str,
    *,
    dns_names: list[str] | None = None,
    ip_addresses: list[str] | None = None,
    validity: dt.timedelta = SERVER_CERT_VALIDITY,
    valid_from_epoch: bool = False,
) -> Credential:
    """Make a TLS server certificate with subjectAltNames (DNS and IP).

    `valid_from_epoch`: notBefore 1970-01-01, notAfter now + `validity` (valid at device time 0).
    """
    key = new_private_key()
    dns = dns_names if dns_names is not None else ["localhost"]
    ips = ip_addresses if ip_addresses is not None else ["127.0.0.1", "::1"]
    san = [x509.DNSName(d) for d in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    cert = _sign(
        _name(common_name),
        key.public_key(),
        ca,
        ca.key,
        validity,
        [
            (x509.BasicConstraints(ca=False, path_length=None), True),
            (_leaf_usage(), True),
            (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False),
            (x509.SubjectAlternativeName(san), False),
        ],
        *_epoch_span(valid_from_epoch, validity),
    )
    return Credential(cert, key, [ca.cert, *ca.chain])


def make_device_cert(
    ca: Credential,
    endpoint_name: str,
    *,
    organizational_unit: str | None = None,
    locality: str | None = None,
    validity: dt.timedelta = BOOTSTRAP_CERT_VALIDITY,
    not_before: dt.datetime | None = None,
    client_auth: bool = True,
    key: PrivateKey | None = None,
) -> Credential:
    """Make a device certificate: CN = endpoint name, optional OU / L, EKU clientAuth."""
    key = key or new_private_key()
    extensions: list[tuple[x509.ExtensionType, bool]] = [
        (x509.BasicConstraints(ca=False, path_length=None), True),
        (_leaf_usage(), True),
    ]
    if client_auth:
        extensions.append((x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False))
    cert = _sign(
        _name(endpoint_name, OU=organizational_unit or "", L=locality or ""),
        key.public_key(),
        ca,
        ca.key,
        validity,
        extensions,
        not_before=not_before,
    )
    return Credential(cert, key, [ca.cert, *ca.chain])


def make_bootstrap_device_cert(
    ca: Credential, endpoint_name: str, *, validity: dt.timedelta = BOOTSTRAP_CERT_VALIDITY,
    client_auth: bool = True,
) -> Credential:
    """Make a factory bootstrap certificate (CN = endpoint name, 30 years by default)."""
    return make_device_cert(ca, endpoint_name, validity=validity, client_auth=client_auth)


def make_lwm2m_device_cert(
    ca: Credential,
    endpoint_name: str,
    account_id: str,
    device_id: str,
    validity: dt.timedelta,
    *,
    key: PrivateKey | None = None,
) -> Credential:
    """Make an LwM2M device certificate: CN endpoint, OU account id, L device id.

    It starts now (not back-dated like the others), so a short `validity` means just that.
    """
    return make_device_cert(ca, endpoint_name, organizational_unit=account_id,
                            locality=device_id, validity=validity, key=key, not_before=_now())


def subject_fields(cert: x509.Certificate) -> dict[str, str]:
    """The subject's attributes keyed by short name (CN, OU, L, O, C)."""
    short = {NameOID.COMMON_NAME: "CN", NameOID.ORGANIZATIONAL_UNIT_NAME: "OU",
             NameOID.LOCALITY_NAME: "L", NameOID.ORGANIZATION_NAME: "O",
             NameOID.COUNTRY_NAME: "C"}
    return {short[a.oid]: str(a.value) for a in cert.subject if a.oid in short}


def fingerprint_sha256(cert: x509.Certificate | bytes) -> bytes:
    """SHA-256 over the certificate's DER encoding."""
    if isinstance(cert, bytes):
        cert = load_certificate(cert)
    return cert.fingerprint(hashes.SHA256())


def enrollment_id(cert: x509.Certificate | bytes) -> str:
    """The First-to-Claim enrollment ID: `A-` + colon-separated uppercase SHA-256 fingerprint."""
    return ENROLLMENT_ID_PREFIX + fingerprint_sha256(cert).hex(":").upper()


def parse_enrollment_id(text: str) -> bytes:
    """Validate an enrollment ID and return its 32-byte fingerprint."""
    value = text.strip()
    if not value.startswith(ENROLLMENT_ID_PREFIX):
        raise CertificateError(
            f"Enrollment ID {value[:16]!r}... must start with the version prefix 'A-'; "
            "add it in front of the SHA-256 fingerprint."
        )
    if len(value) != 97:
        raise CertificateError(
            f"Enrollment ID has {len(value) - 2} characters after 'A-', expected 95 "
            "(32 hex bytes separated by colons); copy the whole fingerprint."
        )
    match = _ENROLLMENT_ID_RE.match(value)
    if not match:
        raise CertificateError(
            "Enrollment ID is not 32 colon-separated hex bytes after 'A-'; "
            "use the output of `openssl x509 -fingerprint -sha256`."
        )
    return bytes.fromhex(match.group(1).replace(":", ""))


def normalize_enrollment_id(text: str) -> str:
    """Canonical (uppercase) form of a valid enrollment ID."""
    return ENROLLMENT_ID_PREFIX + parse_enrollment_id(text).hex(":").upper()


def load_certificate(data: bytes) -> x509.Certificate:
    """Load one certificate from PEM or DER, with a clear error if it is neither."""
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError as exc:
        raise CertificateError(
            f"Not a valid X.509 certificate ({exc}); give a PEM or DER certificate file."
        ) from None


def load_certificate_chain(pem: bytes | str) -> list[x509.Certificate]:
    """Load every certificate of a PEM chain (leaf first), with a clear error if none."""
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        certs = []
    if not certs:
        raise CertificateError(
            "No PEM certificate found; give the certificate as '-----BEGIN CERTIFICATE-----' text."
        )
    return certs


def load_private_key(data: bytes, password: bytes | None = None) -> PrivateKey:
    """Load a private key from PEM or DER."""
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            key = serialization.load_pem_private_key(data, password)
        else:
            key = serialization.load_der_private_key(data, password)
    except (ValueError, TypeError) as exc:
        raise CertificateError(
            f"Not a usable private key ({exc}); give a PEM or DER EC/RSA key and its password."
        ) from None
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise CertificateError("Only EC and RSA private keys are supported; make an EC P-256 key.")
    return key


def key_matches_cert(key: PrivateKey, cert: x509.Certificate) -> bool:
    """True when the private key belongs to the certificate's public key."""
    pub = serialization.PublicFormat.SubjectPublicKeyInfo
    enc = serialization.Encoding.DER
    return key.public_key().public_bytes(enc, pub) == cert.public_key().public_bytes(enc, pub)


def is_self_signed(cert: x509.Certificate) -> bool:
    """True when the certificate is issued by itself and verifies with its own key."""
    if cert.issuer != cert.subject:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def issued_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    """True when `ca` signed `cert`."""
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):  # name, key type or signature mismatch
        return False
    return True


class HasCertificate(Protocol):
    """A record holding a certificate as PEM text (a trusted certificate of a service)."""

    certificate: str


R = TypeVar("R", bound=HasCertificate)


def first_issuer(cert: x509.Certificate, records: Iterable[R]) -> R | None:
    """The first of `records` whose certificate (PEM) signed `cert`: which trusted CA issued it."""
    for record in records:
        if issued_by(cert, _parsed_ca(record.certificate)):
            return record
    return None


@functools.lru_cache(maxsize=256)
def _parsed_ca(pem: str) -> x509.Certificate:
    """A trusted CA's certificate, parsed once per distinct PEM (a change gives a new PEM)."""
    return load_certificate(pem.encode())

