"""Reading certificates and keys (PEM or DER) and asking them questions: who issued, which key."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from typing import Protocol, TypeVar

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from harness.errors import HilError

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
"""notBefore of server chains that a factory-new device (clock 0) accepts (docs/tls.md)."""


class CertificateError(HilError):
    """A certificate, key or enrollment ID that cannot be used."""


def valid_at_epoch(cert: x509.Certificate) -> bool:
    """True when `cert` is already valid at UNIX time 0 (a factory-new device's clock)."""
    return cert.not_valid_before_utc <= EPOCH



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

