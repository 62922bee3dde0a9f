"""Constants and helpers shared by the provisioning tests (imported by name)."""

from __future__ import annotations

from typing import Any

import cbor2

from harness.provisioning import Bundle, FactoryDevice, Response
from harness.provisioning.frame import FtcdStatus

ENDPOINT = "ep-0001"
AID = "016c8d1e1c6a0a580a01020000000000"
BS_URI = f"coaps://127.0.0.1:5684?aid={AID}"


def run(device: FactoryDevice, bundle: Bundle | dict[str, Any] | bytes) -> Response:
    """Hand one bundle to the device and decode its response (transport must be SUCCESS)."""
    if isinstance(bundle, Bundle):
        data = bundle.to_cbor()
    elif isinstance(bundle, dict):
        data = cbor2.dumps(bundle)
    else:
        data = bundle
    status, message = device.handle(data)
    assert status == FtcdStatus.SUCCESS, f"transport status {status!r}"
    assert message is not None
    return Response.from_cbor(message)


def key_der(key: Any) -> bytes:
    """A private key as unencrypted PKCS#8 DER."""
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def self_signed_device_cert(endpoint: str, days: int) -> Any:
    """A self-signed clientAuth device certificate (CN = endpoint) as a pki.Credential."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    from harness import pki

    key = pki.new_private_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, endpoint)])
    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(start + dt.timedelta(days=days))
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False)
            .sign(key, hashes.SHA256()))
    return pki.Credential(cert, key)
