"""The device provisioning request (`/provision/request`) and its response, as ThingsBoard answers.

Strategies: ALLOW_CREATE_NEW_DEVICES (a new device name is created; an existing one fails) and
CHECK_PRE_PROVISIONED_DEVICES (the device must already exist and be provisioned only once).
The device may send its own credentials (credentialsType + token | clientId/username/password |
hash); without them the service generates an access token.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from harness.services.thingsboard import credentials as cr
from harness.services.thingsboard import records as r
from harness.services.thingsboard.store import StoreError, TbStore

REQUEST_TOPIC = "/provision/request"
RESPONSE_TOPIC = "/provision/response"
NOT_FOUND = "NOT_FOUND"
FAILURE = "FAILURE"
SUCCESS = "SUCCESS"


class ProvisionFailed(Exception):
    """A refused request: `status` (NOT_FOUND | FAILURE) and the reason for the event log."""

    def __init__(self, status: str, error_msg: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.error_msg = error_msg
        self.reason = reason


def _device_credentials(request: dict[str, Any]) -> tuple[str, str, str | None]:
    """(type, credentialsId, credentialsValue) from the request, or a generated access token."""
    kind = request.get("credentialsType")
    if kind == r.ACCESS_TOKEN:
        token, _ = cr.normalize(r.ACCESS_TOKEN, request.get("token"), None)
        return r.ACCESS_TOKEN, token, None
    if kind == r.MQTT_BASIC:
        body = {"clientId": request.get("clientId"), "userName": request.get("username"),
                "password": request.get("password")}
        cid, value = cr.normalize(r.MQTT_BASIC, None, body)
        return r.MQTT_BASIC, cid, value
    if kind == r.X509_CERTIFICATE:
        cid, value = cr.normalize(r.X509_CERTIFICATE, None, request.get("hash"))
        return r.X509_CERTIFICATE, cid, value
    return r.ACCESS_TOKEN, cr.new_access_token(), None


def _response_value(kind: str, cid: str, value: str | None) -> Any:
    if kind == r.ACCESS_TOKEN:
        return cid
    if kind == r.MQTT_BASIC:
        return json.loads(value or "{}")
    return cid


def provision(store: TbStore, request: dict[str, Any]) -> tuple[dict[str, Any], str | None, str]:
    """Handle one request: (response JSON, device id or None, reason for the event log)."""
    key, secret = request.get("provisionDeviceKey"), request.get("provisionDeviceSecret")
    try:
        profile = store.profile_by_key(key) if isinstance(key, str) and key else None
        if profile is None or profile.provision_type in (r.DISABLED, r.X509_CERTIFICATE_CHAIN):
            raise ProvisionFailed(NOT_FOUND, "Provision data was not found!",
                                  "no device profile has this provisionDeviceKey")
        if not isinstance(secret, str) or not secrets.compare_digest(secret, profile.provision_secret or ""):
            raise ProvisionFailed(NOT_FOUND, "Provision data was not found!",
                                  f"wrong provisionDeviceSecret for profile {profile.name!r}")
        name = request.get("deviceName") or f"device-{secrets.token_hex(4)}"
        existing = store.device_by_name(name)
        if profile.provision_type == r.ALLOW_CREATE_NEW_DEVICES and existing is not None:
            raise ProvisionFailed(FAILURE, "Failed to provision device!",
                                  f"strategy ALLOW_CREATE_NEW_DEVICES: device {name!r} already exists")
        if profile.provision_type == r.CHECK_PRE_PROVISIONED_DEVICES:
            if existing is None:
                raise ProvisionFailed(NOT_FOUND, "Failed to provision device!",
                                      f"strategy CHECK_PRE_PROVISIONED_DEVICES: no device {name!r}")
            if existing.provisioned:
                raise ProvisionFailed(FAILURE, "Failed to provision device!",
                                      f"strategy CHECK_PRE_PROVISIONED_DEVICES: {name!r} is already "
                                      "provisioned")
        try:
            kind, cid, value = _device_credentials(request)
        except StoreError as exc:
            raise ProvisionFailed(FAILURE, "Failed to provision device!", f"bad credentials: {exc}") from None
        device = existing or store.create_device(name, profile_id=profile.id)
        try:
            store.set_credentials(device.id, kind, cid, value)
        except StoreError as exc:
            if existing is None:
                store.delete_device(device.id)
            raise ProvisionFailed(FAILURE, "Failed to provision device!", str(exc)) from None
        store.mark_provisioned(device.id)
    except ProvisionFailed as exc:
        return {"status": exc.status, "errorMsg": exc.error_msg}, None, exc.reason
    response = {"status": SUCCESS, "credentialsType": kind,
                "credentialsValue": _response_value(kind, cid, value)}
    return response, device.id, f"provisioned {name!r} ({profile.provision_type}, {kind})"
