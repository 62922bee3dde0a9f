"""The REST API starts with the service and publishes its OpenAPI document."""

from __future__ import annotations

import httpx

from harness.cloud.rest import openapi_doc
from harness.cloud.rest.app import build_app


def test_openapi_lists_the_v3_paths(base_url: str) -> None:
    # The first request builds the document (about 1 s of CPU, several on a loaded machine).
    doc = httpx.get(f"{base_url}/openapi.json", timeout=60).json()
    for path in ("/v3/device-enrollments", "/v3/trusted-certificates", "/v3/devices",
                 "/v3/applications/{application_id}/verification-keys", "/v2/notification/callback"):
        assert path in doc["paths"]


def test_rest_listens_on_loopback(base_url: str) -> None:
    assert base_url.startswith("http://127.0.0.1:")


def test_openapi_is_served_from_one_cached_build(base_url: str) -> None:
    first = httpx.get(f"{base_url}/openapi.json", timeout=60)
    second = httpx.get(f"{base_url}/openapi.json", timeout=60)
    assert first.status_code == second.status_code == 200
    assert first.headers["content-type"] == "application/json"
    assert first.content == second.content
    app = build_app(None)  # type: ignore[arg-type]  # same routes: the process-wide build
    assert openapi_doc.cached(app)[1] == first.content
