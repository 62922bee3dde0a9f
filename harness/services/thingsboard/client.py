"""A small client of the service's REST subset (ThingsBoard paths), for the CLI and scripts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from harness.errors import HilError

STATE_FILE = "tb-service.json"


class TbRestError(HilError):
    """A REST call the service refused, or a service that cannot be reached."""


def read_state(data_dir: Path) -> dict[str, Any]:
    """The URIs `hil tb serve` wrote into its data dir."""
    path = Path(data_dir) / STATE_FILE
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise TbRestError(f"No running ThingsBoard service found in {data_dir} ({STATE_FILE} is missing); "
                          "start one with `hil tb serve` or pass --url.") from None


class TbRestClient:
    """Log in as the tenant, then call the REST subset; errors are one HilError sentence."""

    def __init__(self, url: str, username: str, password: str, timeout: float = 10.0) -> None:
        self.http = httpx.Client(base_url=url, timeout=timeout)
        response = self._send("POST", "/api/auth/login", json={"username": username, "password": password})
        self.http.headers["X-Authorization"] = f"Bearer {response['token']}"

    def _send(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise TbRestError(f"Cannot reach the ThingsBoard service at {self.http.base_url} ({exc}); "
                              "start it with `hil tb serve` or fix --url.") from None
        if response.status_code >= 400:
            try:
                message = response.json().get("message", response.text)
            except ValueError:
                message = response.text
            raise TbRestError(f"{method} {path} was refused ({response.status_code}): {message}")
        return response.json() if response.content else None

    def close(self) -> None:
        """Close the HTTP client."""
        self.http.close()

    def device(self, name: str) -> dict[str, Any]:
        """GET /api/tenant/devices?deviceName=NAME."""
        return self._send("GET", "/api/tenant/devices", params={"deviceName": name})

    def create_device(self, name: str, access_token: str | None = None) -> dict[str, Any]:
        """POST /api/device[?accessToken=...]."""
        params = {"accessToken": access_token} if access_token else None
        return self._send("POST", "/api/device", json={"name": name, "type": "default"}, params=params)

    def credentials(self, device_id: str) -> dict[str, Any]:
        """GET /api/device/{id}/credentials."""
        return self._send("GET", f"/api/device/{device_id}/credentials")

    def set_credentials(self, device_id: str, kind: str, *, credentials_id: str | None = None,
                        value: Any = None) -> dict[str, Any]:
        """POST /api/device/credentials."""
        body = {"deviceId": {"entityType": "DEVICE", "id": device_id}, "credentialsType": kind,
                "credentialsId": credentials_id, "credentialsValue": value}
        return self._send("POST", "/api/device/credentials", json=body)

    def create_profile(self, name: str, strategy: str, *, key: str | None = None, secret: str | None = None,
                       ca_pem: str | None = None, allow_create: bool = True,
                       regex: str = "(.*)") -> dict[str, Any]:
        """POST /api/deviceProfile with a provisioning configuration."""
        config: dict[str, Any] = {"type": strategy}
        if strategy == "X509_CERTIFICATE_CHAIN":
            config.update(certificateValue=ca_pem, certificateRegExPattern=regex,
                          allowCreateNewDevicesByX509Certificate=allow_create)
        else:
            config["provisionDeviceSecret"] = secret
        body = {"name": name, "provisionDeviceKey": key, "profileData": {"provisionConfiguration": config}}
        return self._send("POST", "/api/deviceProfile", json=body)

    def events(self, device_id: str | None = None) -> list[dict[str, Any]]:
        """GET /api/hil/events (connects accepted/refused with reasons, provisioning)."""
        params = {"deviceId": device_id} if device_id else None
        return self._send("GET", "/api/hil/events", params=params)
