"""Request bodies are bounded: 413 with the v3 error body, declared or streamed."""

from __future__ import annotations

import httpx

BIG = 2 * 1024 * 1024


def _headers(account) -> dict[str, str]:
    return {"Authorization": f"Bearer {account.api_key}", "Content-Type": "application/json"}


def test_declared_body_over_the_limit_is_413(account, base_url) -> None:
    body = b'{"enrollment_identity": "' + b"A" * BIG + b'"}'
    response = httpx.post(f"{base_url}/v3/device-enrollments", content=body,
                          headers=_headers(account), timeout=10)
    error = response.json()
    assert response.status_code == 413 and error["code"] == 413
    assert error["object"] == "error" and "larger than" in error["message"]


def test_streamed_body_over_the_limit_is_413(account, base_url) -> None:
    def chunks():
        yield b'{"enrollment_identity": "'
        for _ in range(BIG // 65536):
            yield b"A" * 65536
        yield b'"}'

    response = httpx.post(f"{base_url}/v3/device-enrollments", content=chunks(),
                          headers=_headers(account), timeout=10)
    assert "content-length" not in response.request.headers  # really chunked
    assert response.status_code == 413 and response.json()["type"] == "payload_too_large"


def test_small_body_still_reaches_the_route(account, base_url) -> None:
    response = httpx.post(f"{base_url}/v3/device-enrollments", json={"enrollment_identity": "A-x"},
                          headers=_headers(account), timeout=10)
    assert response.status_code == 400 and response.json()["fields"][0]["name"] == "enrollment_identity"
