"""REST edges: strangers get a 401 before any body check, NumericDate claims are numbers, and
the OpenAPI document lists the error statuses the API returns (and no 422 it never returns)."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest

BIG = 2 * 1024 * 1024


@pytest.mark.parametrize("body", [b"{not json", b'{"enrollment_identity": "' + b"A" * BIG + b'"}'])
@pytest.mark.parametrize("auth", [None, "Bearer ak_not_a_key", "Basic abc"])
def test_bad_bodies_from_strangers_are_401_first(base_url, body, auth) -> None:
    headers = {"Content-Type": "application/json", **({"Authorization": auth} if auth else {})}
    response = httpx.post(f"{base_url}/v3/device-enrollments", content=body, headers=headers,
                          timeout=10)
    assert response.status_code == 401, response.text
    assert response.json()["code"] == 401


def test_admin_api_strangers_are_401_before_the_body(base_url) -> None:
    response = httpx.post(f"{base_url}/admin/v1/accounts", content=b"{not json",
                          headers={"Authorization": "Bearer op_wrong"}, timeout=10)
    assert response.status_code == 401


def test_a_malformed_body_from_the_account_is_still_400(account, base_url) -> None:
    response = httpx.post(f"{base_url}/v3/device-enrollments", content=b"{not json",
                          headers={"Authorization": f"Bearer {account.api_key}",
                                   "Content-Type": "application/json"}, timeout=10)
    assert response.status_code == 400 and response.json()["code"] == 400


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
def test_numericdate_claims_as_strings_are_refused(make_jwt_app, base_url, claim) -> None:
    app = make_jwt_app()
    claims = {"iss": app.id, "exp": int(time.time()) + 60, "iat": int(time.time()) - 1}
    claims[claim] = str(claims.get(claim, int(time.time()) - 1))
    token = jwt.encode(claims, app.private_key, algorithm=app.alg)
    response = httpx.get(f"{base_url}/v3/device-enrollments",
                         headers={"Authorization": f"Bearer {token}", "X-Application-ID": app.id})
    assert response.status_code == 401, response.text
    assert "not a number" in response.json()["message"]


def test_openapi_lists_the_error_statuses_and_no_422(base_url) -> None:
    document = httpx.get(f"{base_url}/openapi.json", timeout=10).json()
    assert "422" not in str([op["responses"].keys() for p in document["paths"].values()
                             for op in p.values()])
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            statuses = set(operation["responses"])
            if path.startswith(("/v2/", "/v3/", "/admin/")):
                assert {"401", "403"} <= statuses, (method, path)
            if "{" in path:
                assert "404" in statuses, (method, path)
            if operation.get("requestBody"):
                assert {"400", "413"} <= statuses, (method, path)
    assert document["components"]["schemas"]["Error"]["required"][:2] == ["object", "code"]
