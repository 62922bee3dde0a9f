"""First-to-Claim enrollment IDs: `A-` + the certificate's SHA-256 fingerprint."""

from __future__ import annotations

import re

from cryptography import x509

from harness.pki.parsing import CertificateError, fingerprint_sha256

ENROLLMENT_ID_PREFIX = "A-"
_ENROLLMENT_ID_RE = re.compile(r"^A-([0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){31})$")


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

