"""The REST API starts with the service and publishes its OpenAPI document."""

from __future__ import annotations

import httpx


def test_openapi_lists_the_v3_paths(base_url: str) -> None:
    doc = httpx.get(f"{base_url}/openapi.json").json()
    for path in ("/v3/device-enrollments", "/v3/trusted-certificates", "/v3/devices",
                 "/v3/applications/{application_id}/verification-keys", "/v2/notification/callback"):
        assert path in doc["paths"]


def test_rest_listens_on_loopback(base_url: str) -> None:
    assert base_url.startswith("http://127.0.0.1:")
