"""JWT application keys: every allowed algorithm is accepted, every bad token refused with a reason."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from rest_test_support import self_signed

from harness.rest_client import ApiError, RestClient, sign_jwt

_RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)
_CURVES = {"ES256": ec.SECP256R1(), "ES384": ec.SECP384R1(), "ES512": ec.SECP521R1()}


def _client(base_url: str, app, token: str) -> RestClient:
    return RestClient(base_url, application_id=app.id, token=token)


def _refused(base_url: str, headers: dict[str, str]) -> dict:
    response = httpx.get(f"{base_url}/v3/device-enrollments", headers=headers)
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["object"] == "error" and body["code"] == 401
    return body


@pytest.mark.parametrize("alg", ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
                                 "ES256", "ES384", "ES512"])
def test_every_allowed_algorithm_is_accepted(alg: str, make_jwt_app, base_url: str) -> None:
    key = _RSA if alg[0] in "RP" else ec.generate_private_key(_CURVES[alg])
    app = make_jwt_app(key, alg)
    with _client(base_url, app, sign_jwt(key, alg, app.id, 60)) as client:
        listed = client.list_applications()
    assert [a.id for a in listed.data] == [app.id]


def test_token_from_a_callable_is_fresh_per_request(make_jwt_app, base_url: str) -> None:
    app = make_jwt_app()
    calls = []

    def token() -> str:
        calls.append(1)
        return sign_jwt(app.private_key, app.alg, app.id, 60)
    with RestClient(base_url, application_id=app.id, token=token) as client:
        client.list_enrollments()
        client.list_enrollments()
    assert len(calls) == 2


def test_alg_none_is_refused(make_jwt_app, base_url: str) -> None:
    app = make_jwt_app()
    token = jwt.encode({"exp": int(time.time()) + 60}, None, algorithm="none")
    body = _refused(base_url, {"Authorization": f"Bearer {token}", "X-Application-ID": app.id})
    assert "not allowed" in body["message"] and "'none'" in body["message"]
    assert token not in json.dumps(body)


def test_hs256_signed_with_the_public_key_is_refused(make_jwt_app, base_url: str) -> None:
    app = make_jwt_app()
    pem = app.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=")
    payload = base64.urlsafe_b64encode(json.dumps({"exp": int(time.time()) + 60}).encode()).rstrip(b"=")
    sig = base64.urlsafe_b64encode(hmac.new(pem, header + b"." + payload, hashlib.sha256).digest())
    token = (header + b"." + payload + b"." + sig.rstrip(b"=")).decode()
    body = _refused(base_url, {"Authorization": f"Bearer {token}", "X-Application-ID": app.id})
    assert "'HS256' is not allowed" in body["message"]


def test_expired_token_is_refused(make_jwt_app, base_url: str) -> None:
    app = make_jwt_app()
    token = sign_jwt(app.private_key, app.alg, app.id, lifetime=-10)
    body = _refused(base_url, {"Authorization": f"Bearer {token}", "X-Application-ID": app.id})
    assert "expired" in body["message"] and body["type"] == "token_expired"


def test_missing_exp_is_refused(make_jwt_app, base_url: str) -> None:
    app = make_jwt_app()
    token = jwt.encode({"iss": app.id}, app.private_key, algorithm=app.alg)
    body = _refused(base_url, {"Authorization": f"Bearer {token}", "X-Application-ID": app.id})
    assert "no exp claim" in body["message"]


def test_wrong_application_id_is_refused(make_jwt_app, base_url: str) -> None:
    app, other = make_jwt_app(), make_jwt_app()
    token = sign_jwt(app.private_key, app.alg, app.id, 60)
    body = _refused(base_url, {"Authorization": f"Bearer {token}", "X-Application-ID": other.id})
    assert "signature does not match" in body["message"]
    body = _refused(base_url, {"Authorization": f"Bearer {token}", "X-Application-ID": "0" * 32})
    assert "unknown" in body["message"] and body["type"] == "unknown_application"


def test_missing_headers_are_refused(make_jwt_app, base_url: str) -> None:
    app = make_jwt_app()
    token = sign_jwt(app.private_key, app.alg, app.id, 60)
    assert "X-Application-ID" in _refused(base_url, {"Authorization": f"Bearer {token}"})["message"]
    assert "Authorization header is missing" in _refused(base_url, {})["message"]
    assert "not valid" in _refused(base_url, {"Authorization": "Bearer ak_nope"})["message"]
    assert "well-formed" in _refused(base_url, {"Authorization": "Bearer abc",
                                                "X-Application-ID": app.id})["message"]


def test_deactivated_key_is_refused_and_reactivation_restores(make_jwt_app, account, base_url) -> None:
    app = make_jwt_app()
    token = sign_jwt(app.private_key, app.alg, app.id, 60)
    account.admin.update_verification_key(app.id, app.key_id, status="INACTIVE")
    body = _refused(base_url, {"Authorization": f"Bearer {token}", "X-Application-ID": app.id})
    assert "inactive" in body["message"]
    account.admin.update_verification_key(app.id, app.key_id, status="ACTIVE")
    with _client(base_url, app, token) as client:
        assert client.list_enrollments().total_count == 0


def test_expired_verification_key_is_refused(account, base_url: str) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    app = account.admin.create_application("expired-key-app")
    vk = account.admin.create_verification_key(app.id, "old", self_signed(key, days=1, start_days_ago=3))
    assert vk.expired
    token = sign_jwt(key, "ES256", app.id, 60)
    body = _refused(base_url, {"Authorization": f"Bearer {token}", "X-Application-ID": app.id})
    assert "expired certificate" in body["message"]
    with pytest.raises(ApiError) as err:
        account.admin.update_verification_key(app.id, vk.id, status="INACTIVE")
    assert err.value.status == 400 and "expired" in err.value.message
    renewed = account.admin.update_verification_key(app.id, vk.id, certificate=self_signed(key))
    assert not renewed.expired
    with _client(base_url, app, token) as client:
        assert client.list_applications().total_count == 1


def test_third_key_is_refused(make_jwt_app, account) -> None:
    app = make_jwt_app()
    second = ec.generate_private_key(ec.SECP256R1())
    account.admin.create_verification_key(app.id, "second", self_signed(second))
    with pytest.raises(ApiError) as err:
        account.admin.create_verification_key(app.id, "third", self_signed(ec.generate_private_key(
            ec.SECP256R1())))
    assert err.value.status == 400
    assert "2 verification keys" in err.value.message


def test_second_key_signs_too(make_jwt_app, account, base_url: str) -> None:
    app = make_jwt_app()
    second = ec.generate_private_key(ec.SECP384R1())
    account.admin.create_verification_key(app.id, "second", self_signed(second))
    with _client(base_url, app, sign_jwt(second, "ES384", app.id, 60)) as client:
        assert client.list_enrollments().total_count == 0


def test_jwt_callers_cannot_manage_applications(make_jwt_app, base_url: str) -> None:
    app = make_jwt_app()
    with _client(base_url, app, sign_jwt(app.private_key, app.alg, app.id, 60)) as client, \
            pytest.raises(ApiError) as err:
        client.create_application("sneaky")
    assert err.value.status == 403
