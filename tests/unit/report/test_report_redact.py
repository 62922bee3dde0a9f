"""redact(): secrets disappear, ordinary console and log lines stay as they are."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.report import REDACTED, redact


def _pem(key, fmt: serialization.PrivateFormat, password: bytes | None = None) -> str:
    """Serialize a private key to PEM text."""
    enc = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, fmt, enc).decode()


EC_KEY = ec.generate_private_key(ec.SECP256R1())
PEMS = {
    "pkcs8": _pem(EC_KEY, serialization.PrivateFormat.PKCS8),
    "sec1": _pem(EC_KEY, serialization.PrivateFormat.TraditionalOpenSSL),
    "encrypted": _pem(EC_KEY, serialization.PrivateFormat.PKCS8, b"pw"),
    "rsa": _pem(rsa.generate_private_key(65537, 1024), serialization.PrivateFormat.TraditionalOpenSSL),
    "openssh": _pem(EC_KEY, serialization.PrivateFormat.OpenSSH),
}


def _body_lines(pem: str) -> list[str]:
    """The base64 lines of a PEM block (what must not survive)."""
    return [line for line in pem.splitlines() if line and not line.startswith("-----")]


@pytest.mark.parametrize("kind", sorted(PEMS))
def test_pem_private_key_block_is_removed(kind: str) -> None:
    pem = PEMS[kind]
    out = redact(f"[INFO] loading key\n{pem}[INFO] key loaded\n")
    assert all(line not in out for line in _body_lines(pem))
    assert REDACTED in out
    assert out.startswith("[INFO] loading key\n-----BEGIN ")
    assert out.endswith("PRIVATE KEY-----\n[INFO] key loaded\n")


def test_truncated_pem_key_is_removed_and_following_log_kept() -> None:
    header, *body = PEMS["pkcs8"].splitlines()[:-1]
    text = f"{header}\n" + "\n".join(body[:2]) + "\nError occurred : MbedCloudClient::X\n"
    out = redact(text)
    assert body[0] not in out and body[1] not in out
    assert out == f"{header}\n{REDACTED}\nError occurred : MbedCloudClient::X\n"


def test_certificates_are_kept() -> None:
    cert = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n"
    assert redact(cert) == cert


def test_jwt_is_removed() -> None:
    token = jwt.encode({"sub": "app", "aid": "016f"}, "k" * 32, algorithm="HS256")
    out = redact(f"issued application key {token} for account")
    assert token not in out
    assert out == f"issued application key {REDACTED} for account"


@pytest.mark.parametrize(
    "line",
    [
        "Authorization: Bearer abc.DEF-123_x",
        "GET /v3/devices headers={'Authorization': 'Bearer abc.DEF-123_x'}",
        "curl -H 'authorization: bearer abc.DEF-123_x' http://127.0.0.1:8080/v3/devices",
    ],
)
def test_bearer_tokens_are_removed(line: str) -> None:
    out = redact(line)
    assert "abc.DEF-123_x" not in out
    assert f"earer {REDACTED}" in out


def test_basic_authorization_header_is_removed() -> None:
    assert redact("Authorization: Basic dXNlcjpwYXNz") == f"Authorization: Basic {REDACTED}"


def test_api_key_is_removed_anywhere() -> None:
    key = "ak_1MDE2ZTlkYWQ4YWM0MDI0MjBhMDE0MDAwMDAwMDAwMDA"
    out = redact(f"using key {key} at https://api.example")
    assert key not in out and "ak_1MDE" not in out
    assert out == f"using key {REDACTED} at https://api.example"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("password=hunter2 user=bob", f"password={REDACTED} user=bob"),
        ("WIFI_PASSWORD: 's3 cret'", f"WIFI_PASSWORD: '{REDACTED}'"),
        ('{"client_secret": "abc", "name": "x"}', f'{{"client_secret": "{REDACTED}", "name": "x"}}'),
        ("https://admin:pw123@host/x", f"https://admin:{REDACTED}@host/x"),
        ("?token=xyz&aid=0123", f"?token={REDACTED}&aid=0123"),
    ],
)
def test_labelled_passwords_and_tokens_are_removed(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "PSK key: 0a1b2c3d4e5f60718293a4b5c6d7e8f9",
        "psk_secret 0a:1b:2c:3d:4e:5f:60:71:82:93",
        "mbed.BootstrapDevicePrivateKey 3077020101042012ab34cd56ef7890aa",
        "secret = MHcCAQEEIBs1aGVsbG8wNDAw",
    ],
)
def test_blobs_after_key_or_secret_labels_are_removed(text: str) -> None:
    out = redact(text)
    assert out.endswith(REDACTED)
    assert not any(ch.isdigit() for ch in out.split()[-1])


@pytest.mark.parametrize(
    "line",
    [
        "Client registered",
        "Endpoint Name: 0176ab3f1c2d0a580a01091a00000000",
        "Device ID: 0176ab3f1c2d0a580a01091a00000000",
        "Error occurred : MbedCloudClient::ConnectSecureConnectionFailed",
        "Error details : response-forbidden:Enrollment ID not registered",
        "Key name: mbed.BootstrapDevicePrivateKey",
        "coaps://bootstrap.local:5684?aid=0176ab3f1c2d0a580a01091a00000000",
        "A-35:e7:72:a6:c2:5a:d4:b5:0a:9b:9f:86:bb:5e:65:a4:46:05:f4:1b:1b:84:23:d5:86:d1:8a:b3:a8:e7:3c:d9",
        "7 passed, 1 failed; tokens: 5 token_count=4 passed=3",
    ],
)
def test_ordinary_lines_are_unchanged(line: str) -> None:
    assert redact(line) == line


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab:=_- \n\"'key/+pw0123456789eyJ.Bearer"), max_size=80))
def test_redact_is_idempotent(text: str) -> None:
    once = redact(text)
    assert redact(once) == once


def test_empty_text() -> None:
    assert redact("") == ""


@pytest.mark.parametrize(
    "text",
    ["eyJ" + "a." * 50_000, "a_" * 50_000 + "key", "x://" + "a.b-" * 25_000, "token" * 20_000],
    ids=["dotted", "underscored", "url", "labels"],
)
def test_long_tokens_take_linear_time(text: str) -> None:
    # A quadratic pattern needs minutes on these 100 kB lines; linear ones need milliseconds.
    start = time.perf_counter()
    redact(text)
    assert time.perf_counter() - start < 2.0
