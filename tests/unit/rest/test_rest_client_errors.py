"""The typed client: expected statuses, ApiError contents, redaction of secrets."""

from __future__ import annotations

import logging

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from harness.errors import HilError
from harness.pki import make_ca
from harness.redact import REDACTED
from harness.rest_client import ApiError, RestClient, redact, sign_jwt


def test_api_error_shows_request_and_response_without_secrets(account) -> None:
    ca = make_ca("leaky")
    body = {"name": "x", "certificate": ca.key_pem.decode(), "service": "bootstrap",
            "private_key": "p", "note": f"my key {account.api_key}"}
    with pytest.raises(ApiError) as err:
        account.admin.request("POST", "/v3/trusted-certificates", expect=201, json_body=body)
    text = str(err.value)
    assert "POST http://127.0.0.1:" in text and "answered 400, expected 201" in text
    key_body = ca.key_pem.decode().splitlines()[1:-1]
    assert not any(line in text for line in key_body), "private key material in the error"
    assert account.api_key not in text and '"p"' not in text
    assert '"name": "x"' in text and REDACTED in text
    assert err.value.error["code"] == 400


def test_redact_hides_jwts_and_nested_secrets() -> None:
    token = sign_jwt(ec.generate_private_key(ec.SECP256R1()), "ES256", "app", 60)
    cleaned = redact({"a": [f"Bearer {token}"], "headers": {"Authorization": "x"}, "ok": 1})
    assert cleaned == {"a": [f"Bearer {REDACTED}"], "headers": {"Authorization": REDACTED}, "ok": 1}


def test_client_needs_credentials_and_hides_them(base_url: str) -> None:
    with pytest.raises(HilError):
        RestClient(base_url)
    with pytest.raises(HilError):
        RestClient(base_url, token="t")
    with RestClient(base_url, "ak_secret") as client:
        assert "ak_secret" not in repr(client)


def test_unexpected_status_and_unreachable_service(account) -> None:
    with pytest.raises(ApiError) as err:
        account.admin.list_enrollments(expect=204)
    assert err.value.status == 200
    with RestClient("http://127.0.0.1:9", "ak_x", timeout=2) as dead, pytest.raises(ApiError) as err:
        dead.list_devices()
    assert err.value.status is None and "no response" in str(err.value)


def test_tokens_never_reach_the_logs(make_jwt_app, base_url: str, caplog) -> None:
    app = make_jwt_app()
    token = sign_jwt(app.private_key, app.alg, app.id, -5)
    caplog.set_level(logging.DEBUG)
    with RestClient(base_url, application_id=app.id, token=token) as client, \
            pytest.raises(ApiError) as err:
        client.list_devices()
    assert err.value.status == 401 and "expired" in err.value.message
    assert token not in caplog.text and token not in str(err.value)
