"""Typed sync client of the Device Management REST API (local service or a real one).

Every call states the status it expects; anything else raises ApiError showing the method, URL,
request body and response, with secrets (Authorization, tokens, API keys, private keys) redacted.
"""

from __future__ import annotations

import functools
import json
import re
import ssl
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import httpx
import jwt
from pydantic import BaseModel

from harness import rest_models as models
from harness.errors import HilError
from harness.redact import REDACTED
from harness.redact import redact as redact_text

M = TypeVar("M", bound=BaseModel)
Expect = int | tuple[int, ...]

_SECRET_KEYS = re.compile(r"(authorization|token|secret|password|private|api[_-]?key|key_pem)", re.I)



def redact(value: Any) -> Any:
    """A copy of a JSON-like value with secret fields and secret-looking strings redacted."""
    if isinstance(value, dict):
        return {k: REDACTED if _SECRET_KEYS.search(str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def sign_jwt(private_key: Any, alg: str, app_id: str, lifetime: float = 300.0, **claims: Any) -> str:
    """A JWT for application `app_id` signed with `private_key` (PEM bytes/str or key object)."""
    now = int(time.time())
    payload = {"iss": app_id, "sub": app_id, "iat": now, "exp": now + int(lifetime), **claims}
    return jwt.encode(payload, private_key, algorithm=alg)


class ApiError(HilError):
    """The API answered with another status than the call expected."""

    def __init__(self, method: str, url: str, expected: Expect, status: int | None,
                 request_body: Any, response_text: str) -> None:
        self.method, self.url, self.expected, self.status = method, url, expected, status
        self.request_body = redact(request_body)
        self.response_text = redact_text(response_text)
        try:
            self.error: dict[str, Any] = json.loads(response_text)
        except ValueError:
            self.error = {}
        body = json.dumps(self.request_body)[:2000] if request_body is not None else "(none)"
        super().__init__(
            f"{method} {url} answered {status}, expected {expected}; check the request below.\n"
            f"  request body: {body}\n  response: {self.response_text[:2000]}")

    @property
    def message(self) -> str:
        """The `message` of the API's error body (empty when there was none)."""
        return str(self.error.get("message", ""))


@functools.cache
def _tls_context(verify: bool | str) -> ssl.SSLContext:
    """One TLS context per trust setting for every client (building one loads the whole CA
    bundle: tens of milliseconds per client, on every REST client a test makes)."""
    return httpx.create_ssl_context(verify=verify)


class RestClient:
    """The API by base URL, with an admin API key or an application's JWTs (X-Application-ID)."""

    def __init__(self, base_url: str, api_key: str | None = None, *, application_id: str | None = None,
                 token: str | Callable[[], str] | None = None, timeout: float = 10.0,
                 verify: bool | str = True) -> None:
        if not api_key and not token:
            raise HilError("RestClient needs an API key (ak_...) or a JWT (token=...) with "
                           "application_id; pass one of them.")
        if token and not application_id:
            raise HilError("A JWT needs application_id (sent as X-Application-ID); pass it.")
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._token = token
        self.application_id = application_id
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout,
                                  verify=_tls_context(verify) if verify else False)

    def __repr__(self) -> str:
        kind = "jwt" if self._token else "api_key"
        return f"RestClient({self.base_url!r}, {kind}=<redacted>)"

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()

    def __enter__(self) -> RestClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- plumbing

    def auth_headers(self) -> dict[str, str]:
        """The headers that authenticate a request (never log them)."""
        if self._token:
            token = self._token() if callable(self._token) else self._token
            return {"Authorization": f"Bearer {token}", "X-Application-ID": self.application_id or ""}
        return {"Authorization": f"Bearer {self._api_key}"}

    def request(self, method: str, path: str, *, expect: Expect, json_body: Any = None,
                params: dict[str, Any] | None = None, files: Any = None,
                headers: dict[str, str] | None = None) -> httpx.Response:
        """Send a request; return the response if its status is expected, else raise ApiError."""
        params = {k: v for k, v in (params or {}).items() if v is not None}
        url = f"{self.base_url}{path}"
        try:
            response = self._http.request(method, path, json=json_body, params=params, files=files,
                                          headers={**self.auth_headers(), **(headers or {})})
        except httpx.HTTPError as exc:
            raise ApiError(method, url, expect, None, json_body,
                           f"no response ({type(exc).__name__}: {exc})") from None
        wanted = expect if isinstance(expect, tuple) else (expect,)
        if response.status_code not in wanted:
            raise ApiError(method, str(response.request.url), expect, response.status_code,
                           json_body if files is None else "(multipart upload)", response.text)
        return response

    def _obj(self, model: type[M], method: str, path: str, expect: Expect, **kw: Any) -> M:
        return model.model_validate(self.request(method, path, expect=expect, **kw).json())

    def _list(self, model: type[M], path: str, expect: Expect, **params: Any
              ) -> models.ListResponse[M]:
        response = self.request("GET", path, expect=expect, params=params)
        return models.ListResponse[model].model_validate(response.json())  # type: ignore[valid-type]

    def _iterate(self, model: type[M], path: str, **params: Any) -> Iterator[M]:
        after = None
        while True:
            page = self._list(model, path, 200, limit=1000, after=after, **params)
            yield from page.data
            if not page.has_more or not page.data:
                return
            after = page.data[-1].id  # type: ignore[attr-defined]

    # ---------------------------------------------------------------- enrollments

    def create_enrollment(self, enrollment_identity: str, *, expect: Expect = 201) -> models.Enrollment:
        """POST /v3/device-enrollments."""
        return self._obj(models.Enrollment, "POST", "/v3/device-enrollments", expect,
                         json_body={"enrollment_identity": enrollment_identity})

    def list_enrollments(self, *, limit: int = 50, after: str | None = None, order: str = "ASC",
                         expect: Expect = 200) -> models.ListResponse[models.Enrollment]:
        """GET /v3/device-enrollments (one page)."""
        return self._list(models.Enrollment, "/v3/device-enrollments", expect, limit=limit,
                          after=after, order=order)

    def iter_enrollments(self) -> Iterator[models.Enrollment]:
        """Every enrollment of the account, page by page."""
        return self._iterate(models.Enrollment, "/v3/device-enrollments")

    def get_enrollment(self, enrollment_id: str, *, expect: Expect = 200) -> models.Enrollment:
        """GET /v3/device-enrollments/{id}."""
        return self._obj(models.Enrollment, "GET", f"/v3/device-enrollments/{enrollment_id}", expect)

    def delete_enrollment(self, enrollment_id: str, *, expect: Expect = 204) -> None:
        """DELETE /v3/device-enrollments/{id}."""
        self.request("DELETE", f"/v3/device-enrollments/{enrollment_id}", expect=expect)

    def _bulk_path(self, kind: str) -> str:
        if kind not in ("upload", "delete"):
            raise HilError(f"Bulk kind {kind!r} is unknown; use 'upload' or 'delete'.")
        return f"/v3/device-enrollments-bulk-{kind}s"

    def start_bulk(self, kind: str, csv_text: str | bytes, *, expect: Expect = 201) -> models.BulkResponse:
        """POST a CSV of enrollment identities to the bulk-uploads or bulk-deletes endpoint."""
        data = csv_text.encode() if isinstance(csv_text, str) else csv_text
        files = {"enrollment_identities": ("identities.csv", data, "text/csv")}
        return self._obj(models.BulkResponse, "POST", self._bulk_path(kind), expect, files=files)

    def get_bulk(self, kind: str, job_id: str, *, expect: Expect = 200) -> models.BulkResponse:
        """GET the status of a bulk job."""
        return self._obj(models.BulkResponse, "GET", f"{self._bulk_path(kind)}/{job_id}", expect)

    def wait_bulk(self, kind: str, job_id: str, timeout: float = 30.0, interval: float = 0.05
                  ) -> models.BulkResponse:
        """Poll a bulk job until it is completed (the API has no push for it)."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.get_bulk(kind, job_id)
            if job.status == "completed":
                return job
            if time.monotonic() > deadline:
                raise HilError(f"Bulk {kind} {job_id} is still {job.status} after {timeout:g} s "
                               f"({job.processed_count}/{job.total_count}); wait longer.")
            time.sleep(interval)

    def bulk_report(self, report_url: str, *, expect: Expect = 200) -> str:
        """Download a bulk report CSV (full_report_file or errors_report_file)."""
        path = report_url.removeprefix(self.base_url)
        return self.request("GET", path, expect=expect).text

    # ---------------------------------------------------------------- trusted certificates

    def create_trusted_certificate(self, name: str, certificate: str | bytes, *, service: str = "bootstrap",
                                   status: str = "ACTIVE", enrollment_mode: bool = False,
                                   description: str = "", expect: Expect = 201
                                   ) -> models.TrustedCertificate:
        """POST /v3/trusted-certificates."""
        pem = certificate.decode() if isinstance(certificate, bytes) else certificate
        body = {"name": name, "certificate": pem, "service": service, "status": status,
                "enrollment_mode": enrollment_mode, "description": description}
        return self._obj(models.TrustedCertificate, "POST", "/v3/trusted-certificates", expect,
                         json_body=body)

    def list_trusted_certificates(self, *, limit: int = 50, after: str | None = None,
                                  order: str = "ASC", service: str | None = None, expect: Expect = 200
                                  ) -> models.ListResponse[models.TrustedCertificate]:
        """GET /v3/trusted-certificates (one page)."""
        return self._list(models.TrustedCertificate, "/v3/trusted-certificates", expect, limit=limit,
                          after=after, order=order, service__eq=service)

    def get_trusted_certificate(self, cert_id: str, *, expect: Expect = 200) -> models.TrustedCertificate:
        """GET /v3/trusted-certificates/{id}."""
        return self._obj(models.TrustedCertificate, "GET", f"/v3/trusted-certificates/{cert_id}", expect)

    def update_trusted_certificate(self, cert_id: str, *, expect: Expect = 200, **changes: Any
                                   ) -> models.TrustedCertificate:
        """PUT /v3/trusted-certificates/{id} with the fields to change."""
        return self._obj(models.TrustedCertificate, "PUT", f"/v3/trusted-certificates/{cert_id}",
                         expect, json_body=changes)

    def delete_trusted_certificate(self, cert_id: str, *, expect: Expect = 204) -> None:
        """DELETE /v3/trusted-certificates/{id}."""
        self.request("DELETE", f"/v3/trusted-certificates/{cert_id}", expect=expect)

    # ---------------------------------------------------------------- devices

    def list_devices(self, *, state: str | None = None, endpoint_name: str | None = None,
                     limit: int = 50, after: str | None = None, order: str = "ASC",
                     expect: Expect = 200) -> models.ListResponse[models.DeviceData]:
        """GET /v3/devices (one page), filtered by state and endpoint name."""
        return self._list(models.DeviceData, "/v3/devices", expect, limit=limit, after=after,
                          order=order, state__eq=state, endpoint_name__eq=endpoint_name)

    def get_device(self, device_id: str, *, expect: Expect = 200) -> models.DeviceData:
        """GET /v3/devices/{id}."""
        return self._obj(models.DeviceData, "GET", f"/v3/devices/{device_id}", expect)

    def list_device_events(self, *, device_id: str | None = None, event_type: str | None = None,
                           limit: int = 50, after: str | None = None, order: str = "ASC",
                           expect: Expect = 200) -> models.ListResponse[models.DeviceEvent]:
        """GET /v3/device-events (one page)."""
        return self._list(models.DeviceEvent, "/v3/device-events", expect, limit=limit, after=after,
                          order=order, device_id__eq=device_id, event_type__eq=event_type)

    # ---------------------------------------------------------------- applications and keys

    def create_application(self, name: str, *, description: str = "", expect: Expect = 201
                           ) -> models.Application:
        """POST /v3/applications."""
        return self._obj(models.Application, "POST", "/v3/applications", expect,
                         json_body={"name": name, "description": description})

    def list_applications(self, *, limit: int = 50, after: str | None = None, expect: Expect = 200
                          ) -> models.ListResponse[models.Application]:
        """GET /v3/applications (one page)."""
        return self._list(models.Application, "/v3/applications", expect, limit=limit, after=after)

    def get_application(self, application_id: str, *, expect: Expect = 200) -> models.Application:
        """GET /v3/applications/{id}."""
        return self._obj(models.Application, "GET", f"/v3/applications/{application_id}", expect)

    def update_application(self, application_id: str, *, expect: Expect = 200, **changes: Any
                           ) -> models.Application:
        """PUT /v3/applications/{id} (name, description, status)."""
        return self._obj(models.Application, "PUT", f"/v3/applications/{application_id}", expect,
                         json_body=changes)

    def delete_application(self, application_id: str, *, expect: Expect = 204) -> None:
        """DELETE /v3/applications/{id} (its verification keys go with it)."""
        self.request("DELETE", f"/v3/applications/{application_id}", expect=expect)

    def create_verification_key(self, application_id: str, name: str, certificate: str | bytes, *,
                                description: str = "", expect: Expect = 201) -> models.VerificationKey:
        """POST /v3/applications/{id}/verification-keys with an X.509 PEM certificate."""
        pem = certificate.decode() if isinstance(certificate, bytes) else certificate
        return self._obj(models.VerificationKey, "POST",
                         f"/v3/applications/{application_id}/verification-keys", expect,
                         json_body={"name": name, "certificate": pem, "description": description})

    def list_verification_keys(self, application_id: str, *, expect: Expect = 200
                               ) -> models.ListResponse[models.VerificationKey]:
        """GET /v3/applications/{id}/verification-keys."""
        return self._list(models.VerificationKey, f"/v3/applications/{application_id}/verification-keys",
                          expect)

    def get_verification_key(self, application_id: str, key_id: str, *, expect: Expect = 200
                             ) -> models.VerificationKey:
        """GET /v3/applications/{id}/verification-keys/{key_id}."""
        return self._obj(models.VerificationKey, "GET",
                         f"/v3/applications/{application_id}/verification-keys/{key_id}", expect)

    def update_verification_key(self, application_id: str, key_id: str, *, expect: Expect = 200,
                                **changes: Any) -> models.VerificationKey:
        """PUT .../verification-keys/{key_id} (name, certificate, description, status)."""
        return self._obj(models.VerificationKey, "PUT",
                         f"/v3/applications/{application_id}/verification-keys/{key_id}", expect,
                         json_body=changes)

    def delete_verification_key(self, application_id: str, key_id: str, *, expect: Expect = 204) -> None:
        """DELETE .../verification-keys/{key_id}."""
        self.request("DELETE", f"/v3/applications/{application_id}/verification-keys/{key_id}",
                     expect=expect)

    # ---------------------------------------------------------------- notification channel

    def set_webhook(self, url: str, headers: dict[str, str] | None = None, *, expect: Expect = (200, 204)
                    ) -> None:
        """PUT /v2/notification/callback (the service tests the URL first)."""
        self.request("PUT", "/v2/notification/callback", expect=expect,
                     json_body={"url": url, "headers": headers or {}})

    def get_webhook(self, *, expect: Expect = 200) -> models.Webhook:
        """GET /v2/notification/callback."""
        return self._obj(models.Webhook, "GET", "/v2/notification/callback", expect)

    def delete_webhook(self, *, expect: Expect = 204) -> None:
        """DELETE /v2/notification/callback."""
        self.request("DELETE", "/v2/notification/callback", expect=expect)

    def set_websocket_channel(self, *, expect: Expect = (200, 201)) -> models.WebsocketChannel:
        """PUT /v2/notification/websocket."""
        return self._obj(models.WebsocketChannel, "PUT", "/v2/notification/websocket", expect)

    def get_websocket_channel(self, *, expect: Expect = 200) -> models.WebsocketChannel:
        """GET /v2/notification/websocket."""
        return self._obj(models.WebsocketChannel, "GET", "/v2/notification/websocket", expect)

    def delete_websocket_channel(self, *, expect: Expect = 204) -> None:
        """DELETE /v2/notification/websocket."""
        self.request("DELETE", "/v2/notification/websocket", expect=expect)

    def websocket_url(self) -> str:
        """The ws:// or wss:// URL of /v2/notification/websocket-connect."""
        scheme = "wss" if self.base_url.startswith("https") else "ws"
        return scheme + ":" + self.base_url.split(":", 1)[1] + "/v2/notification/websocket-connect"
