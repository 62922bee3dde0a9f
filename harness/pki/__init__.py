"""Certificates for a Device Management lab: CAs, server and device certs, enrollment IDs.

credential: a certificate with its key and chain; issuing: making CAs and certificates;
parsing: reading PEM/DER and checking issuers and keys; enrollment: First-to-Claim IDs.
"""

from harness.pki.credential import Credential, new_private_key
from harness.pki.enrollment import (
    ENROLLMENT_ID_PREFIX,
    enrollment_id,
    normalize_enrollment_id,
    parse_enrollment_id,
)
from harness.pki.issuing import (
    BOOTSTRAP_CERT_VALIDITY,
    CA_VALIDITY,
    SERVER_CERT_VALIDITY,
    make_bootstrap_device_cert,
    make_ca,
    make_device_cert,
    make_lwm2m_device_cert,
    make_server_cert,
)
from harness.pki.parsing import (
    EPOCH,
    CertificateError,
    HasCertificate,
    PrivateKey,
    fingerprint_sha256,
    first_issuer,
    is_self_signed,
    issued_by,
    key_matches_cert,
    load_certificate,
    load_certificate_chain,
    load_private_key,
    subject_fields,
    valid_at_epoch,
)

__all__ = [
    "BOOTSTRAP_CERT_VALIDITY", "CA_VALIDITY", "ENROLLMENT_ID_PREFIX", "EPOCH",
    "SERVER_CERT_VALIDITY", "CertificateError", "Credential", "HasCertificate", "PrivateKey",
    "enrollment_id", "fingerprint_sha256", "first_issuer", "is_self_signed", "issued_by",
    "key_matches_cert", "load_certificate", "load_certificate_chain", "load_private_key",
    "make_bootstrap_device_cert", "make_ca", "make_device_cert", "make_lwm2m_device_cert",
    "make_server_cert", "new_private_key", "normalize_enrollment_id", "parse_enrollment_id",
    "subject_fields", "valid_at_epoch",
]
