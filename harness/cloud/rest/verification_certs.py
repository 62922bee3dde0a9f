"""Checks on a verification-key certificate: X.509 PEM, RSA >= 2048 or EC >= 256, <= 2,000 chars."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from harness.cloud.rest.errors import bad_request

MAX_PEM_CHARS = 2000
MIN_RSA_BITS = 2048
MIN_EC_BITS = 256


@dataclass(frozen=True)
class VerificationCert:
    """A parsed, acceptable verification-key certificate."""

    pem: str
    cert: x509.Certificate
    key_type: str  # "RSA" | "EC"
    key_bits: int
    fingerprint: str
    valid_from: dt.datetime
    valid_to: dt.datetime

    def expired(self, now: dt.datetime | None = None) -> bool:
        """True when the certificate is past its notAfter (or not yet valid)."""
        now = now or dt.datetime.now(dt.UTC)
        return not (self.valid_from <= now <= self.valid_to)


def parse_verification_cert(pem: str) -> VerificationCert:
    """Validate a verification-key certificate, raising a 400 ApiProblem saying what is wrong."""
    text = (pem or "").strip()
    if len(text) > MAX_PEM_CHARS:
        raise bad_request(
            f"The certificate has {len(text)} characters, more than the {MAX_PEM_CHARS} allowed; "
            "upload only the one X.509 PEM certificate (no chain, no comments).", "certificate")
    if not text.startswith("-----BEGIN CERTIFICATE-----"):
        raise bad_request("The certificate is not X.509 PEM; give the text starting with "
                          "'-----BEGIN CERTIFICATE-----'.", "certificate")
    try:
        certs = x509.load_pem_x509_certificates(text.encode())
    except ValueError:
        raise bad_request("The certificate PEM cannot be parsed; upload a valid X.509 PEM "
                          "certificate.", "certificate") from None
    if len(certs) != 1:
        raise bad_request("Upload exactly one certificate as the verification key, not a chain.",
                          "certificate")
    cert = certs[0]
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        key_type, bits, minimum = "RSA", key.key_size, MIN_RSA_BITS
    elif isinstance(key, ec.EllipticCurvePublicKey):
        key_type, bits, minimum = "EC", key.curve.key_size, MIN_EC_BITS
    else:
        raise bad_request("The certificate's key is neither RSA nor EC; make an RSA (>= 2048 bits) "
                          "or EC (>= 256 bits) key.", "certificate")
    if bits < minimum:
        raise bad_request(f"The certificate's {key_type} key has {bits} bits, fewer than the "
                          f"{minimum} required; make a stronger key.", "certificate")
    return VerificationCert(
        pem=text + "\n",
        cert=cert,
        key_type=key_type,
        key_bits=bits,
        fingerprint=cert.fingerprint(hashes.SHA256()).hex(),
        valid_from=cert.not_valid_before_utc,
        valid_to=cert.not_valid_after_utc,
    )
