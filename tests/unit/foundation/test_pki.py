"""PKI: certificates verify with openssl, enrollment IDs match openssl's fingerprint."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization

from harness import pki

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


@pytest.fixture(scope="module")
def ca():
    return pki.make_ca("dm-hil test root")


def openssl(*args: str, stdin: bytes | None = None) -> str:
    out = subprocess.run(["openssl", *args], input=stdin, capture_output=True, check=True, timeout=30)
    return out.stdout.decode()


def test_enrollment_id_equals_openssl_sha256_fingerprint(ca, tmp_path):
    device = pki.make_bootstrap_device_cert(ca, "ep-0001")
    pem = tmp_path / "device.pem"
    pem.write_bytes(device.cert_pem)
    out = openssl("x509", "-noout", "-fingerprint", "-sha256", "-in", str(pem))
    fingerprint = out.strip().split("=", 1)[1]
    assert pki.enrollment_id(device.cert) == "A-" + fingerprint
    assert len(pki.enrollment_id(device.cert)) == 97


def test_chain_verifies_with_openssl(ca, tmp_path):
    inter = pki.make_ca("factory intermediate", parent=ca)
    device = pki.make_bootstrap_device_cert(inter, "ep-0002")
    (tmp_path / "root.pem").write_bytes(ca.cert_pem)
    (tmp_path / "inter.pem").write_bytes(inter.cert_pem)
    (tmp_path / "dev.pem").write_bytes(device.cert_pem)
    out = openssl("verify", "-CAfile", str(tmp_path / "root.pem"), "-untrusted",
                  str(tmp_path / "inter.pem"), "-purpose", "sslclient", str(tmp_path / "dev.pem"))
    assert out.strip().endswith("OK")


def test_server_cert_verifies_for_tls_server_with_san(ca, tmp_path):
    server = pki.make_server_cert(ca, "bootstrap.local")
    (tmp_path / "root.pem").write_bytes(ca.cert_pem)
    (tmp_path / "srv.pem").write_bytes(server.cert_pem)
    out = openssl("verify", "-CAfile", str(tmp_path / "root.pem"), "-purpose", "sslserver",
                  "-verify_ip", "127.0.0.1", str(tmp_path / "srv.pem"))
    assert out.strip().endswith("OK")


def test_bootstrap_cert_fields(ca):
    cert = pki.make_bootstrap_device_cert(ca, "ep-0003").cert
    assert pki.subject_fields(cert) == {"CN": "ep-0003"}
    life = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert life >= dt.timedelta(days=30 * 365)
    assert pki.issued_by(cert, ca.cert) and not pki.is_self_signed(cert)


def test_lwm2m_cert_carries_account_and_device_id(ca):
    cred = pki.make_lwm2m_device_cert(ca, "ep-4", "0" * 32, "dev1", dt.timedelta(hours=1))
    assert cred.subject == {"CN": "ep-4", "OU": "0" * 32, "L": "dev1"}
    assert pki.key_matches_cert(cred.key, cred.cert)


def test_rsa_ca_and_minimum_size():
    assert pki.make_ca("rsa root", key_type="rsa").key.key_size == 2048
    with pytest.raises(pki.CertificateError, match="at least 2048 bits"):
        pki.new_private_key("rsa", bits=1024)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("B-" + ":".join(["AA"] * 32), "version prefix 'A-'"),
        ("A-" + ":".join(["AA"] * 31), "expected 95"),
        ("A-" + ":".join(["ZZ"] * 32), "32 colon-separated hex bytes"),
    ],
)
def test_bad_enrollment_ids(text, reason):
    with pytest.raises(pki.CertificateError, match=reason):
        pki.parse_enrollment_id(text)


def test_enrollment_id_normalizes_case(ca):
    eid = pki.enrollment_id(pki.make_bootstrap_device_cert(ca, "ep-5").cert)
    assert pki.normalize_enrollment_id("A-" + eid[2:].lower()) == eid


def test_credential_repr_hides_the_key(ca):
    assert "PRIVATE" not in repr(ca) and "redacted" in repr(ca)


def test_an_encrypted_key_loads_with_its_password(ca):
    encrypted = ca.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.BestAvailableEncryption(b"secret-pass"))
    loaded = pki.load_private_key(encrypted, b"secret-pass")
    assert pki.key_matches_cert(loaded, ca.cert)


def test_garbage_certificate_is_a_clear_error():
    with pytest.raises(pki.CertificateError, match="Not a valid X.509 certificate"):
        pki.load_certificate(b"not a cert")
