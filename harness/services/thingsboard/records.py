"""The service's records in ThingsBoard's JSON shapes (Device, DeviceCredentials, DeviceProfile)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

ACCESS_TOKEN = "ACCESS_TOKEN"
MQTT_BASIC = "MQTT_BASIC"
X509_CERTIFICATE = "X509_CERTIFICATE"
CREDENTIALS_TYPES = (ACCESS_TOKEN, MQTT_BASIC, X509_CERTIFICATE)

ALLOW_CREATE_NEW_DEVICES = "ALLOW_CREATE_NEW_DEVICES"
CHECK_PRE_PROVISIONED_DEVICES = "CHECK_PRE_PROVISIONED_DEVICES"
X509_CERTIFICATE_CHAIN = "X509_CERTIFICATE_CHAIN"
DISABLED = "DISABLED"
PROVISION_TYPES = (DISABLED, ALLOW_CREATE_NEW_DEVICES, CHECK_PRE_PROVISIONED_DEVICES, X509_CERTIFICATE_CHAIN)


def entity_id(kind: str, value: str) -> dict[str, str]:
    """ThingsBoard's id object: {"entityType": kind, "id": uuid}."""
    return {"entityType": kind, "id": value}


@dataclass(frozen=True)
class Device:
    """A device of the directory."""

    id: str
    name: str
    type: str
    created_ms: int
    profile_id: str | None = None
    provisioned: bool = False
    label: str | None = None

    def to_json(self) -> dict[str, Any]:
        """ThingsBoard's Device JSON."""
        out: dict[str, Any] = {"id": entity_id("DEVICE", self.id), "createdTime": self.created_ms,
                               "name": self.name, "type": self.type, "label": self.label}
        if self.profile_id:
            out["deviceProfileId"] = entity_id("DEVICE_PROFILE", self.profile_id)
        return out


@dataclass(frozen=True)
class Credentials:
    """A device's credentials: credentialsId is what the broker looks the device up by."""

    id: str
    device_id: str
    type: str
    credentials_id: str
    value: str | None = field(default=None, repr=False)

    def basic(self) -> dict[str, str | None]:
        """The MQTT_BASIC value as a dict (clientId, userName, password)."""
        data = json.loads(self.value or "{}")
        return {k: data.get(k) or None for k in ("clientId", "userName", "password")}

    def to_json(self) -> dict[str, Any]:
        """ThingsBoard's DeviceCredentials JSON."""
        return {"id": {"id": self.id}, "deviceId": entity_id("DEVICE", self.device_id),
                "credentialsType": self.type, "credentialsId": self.credentials_id,
                "credentialsValue": self.value}


@dataclass(frozen=True)
class Profile:
    """A device profile's provisioning configuration."""

    id: str
    name: str
    provision_type: str
    provision_key: str | None = None
    provision_secret: str | None = field(default=None, repr=False)
    certificate_pem: str | None = None
    certificate_regex: str = "(.*)"
    allow_create_by_x509: bool = False

    def to_json(self) -> dict[str, Any]:
        """ThingsBoard's DeviceProfile JSON (the provisioning part)."""
        config: dict[str, Any] = {"type": self.provision_type}
        if self.provision_type == X509_CERTIFICATE_CHAIN:
            config.update(certificateValue=self.certificate_pem,
                          certificateRegExPattern=self.certificate_regex,
                          allowCreateNewDevicesByX509Certificate=self.allow_create_by_x509)
        else:
            config["provisionDeviceSecret"] = self.provision_secret
        return {"id": entity_id("DEVICE_PROFILE", self.id), "name": self.name,
                "provisionType": self.provision_type, "provisionDeviceKey": self.provision_key,
                "profileData": {"provisionConfiguration": config}}


@dataclass(frozen=True)
class Event:
    """Something the service did: a connect accepted or refused (with the reason), a provisioning."""

    id: int
    ts_ms: int
    type: str
    device_id: str | None
    client_id: str | None
    credentials_type: str | None
    transport: str | None
    code: int | None
    reason: str

    def to_json(self) -> dict[str, Any]:
        """The event as JSON (no secrets are ever stored in events)."""
        return {"id": self.id, "ts": self.ts_ms, "type": self.type, "deviceId": self.device_id,
                "clientId": self.client_id, "credentialsType": self.credentials_type,
                "transport": self.transport, "code": self.code, "reason": self.reason}
