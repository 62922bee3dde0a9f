"""Helpers shared by the REST tests (unique module name: imported by path)."""

from __future__ import annotations

import datetime as dt
import secrets

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID


def self_signed(key, *, days: float = 365, start_days_ago: float = 1, dns_names: int = 0) -> str:
    """A self-signed X.509 PEM certificate for `key` (for verification keys)."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"vk-{secrets.token_hex(4)}")])
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=start_days_ago)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(start + dt.timedelta(days=days)))
    if dns_names:
        names = [x509.DNSName(f"host-{i}.example.com") for i in range(dns_names)]
        cert = cert.add_extension(x509.SubjectAlternativeName(names), critical=False)
    cert = cert.sign(key, hashes.SHA256())
    return cert.public_bytes(serialization.Encoding.PEM).decode()

