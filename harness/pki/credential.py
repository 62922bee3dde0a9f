"""A certificate with its key and CA chain, in the encodings devices and servers want."""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from harness.pki.parsing import CertificateError, PrivateKey, subject_fields


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

