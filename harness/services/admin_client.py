"""A typed client of the local service's admin API (/admin/v1), authenticated by its operator key.

Used by the remote service seam, by the local service's fault injection, by `hil provision` and by
the `hil cloud account|api-key|app` commands. The operator key and API keys never appear in a repr,
a log or an error message (RestClient redacts them).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import typing
from typing import Any, TypeVar

from cryptography.hazmat.primitives import serialization

from harness import pki
from harness.cloud.events import Event
from harness.cloud.records import Account, Denial, Device, DeviceState, Enrollment, TrustedCertificate
from harness.devcreds import DeveloperCertificate
from harness.rest_client import RestClient

R = TypeVar("R")
ADMIN = "/admin/v1"


def from_json(cls: type[R], data: dict[str, Any]) -> R:
    """A record dataclass from its admin-API JSON (ISO times parsed, unknown keys ignored, fields
    the API does not send, like key hashes, None)."""
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                values[f.name] = None
            continue
        value = data[f.name]
        if isinstance(value, str) and "datetime" in str(hints.get(f.name)):
            value = dt.datetime.fromisoformat(value)
        elif f.name == "state" and cls is Device and value is not None:
            value = DeviceState(value)
        values[f.name] = value
    return cls(**values)


def event_from_json(data: dict[str, Any]) -> tuple[int, Event]:
    """(sequence number, Event) from the admin event stream."""
    created = dt.datetime.fromisoformat(data["created_at"])
    return int(data["seq"]), Event(data["type"], data.get("device_id"), data.get("account_id"),
                                   data.get("data") or {}, created)


@dataclasses.dataclass(frozen=True)
class IssuedKey:
    """A new API key: shown once (the service keeps only its hash)."""

    id: str
    account_id: str
    name: str
    key: str

    def __repr__(self) -> str:
        return (f"IssuedKey(id={self.id!r}, account_id={self.account_id!r}, name={self.name!r}, "
                "key=<redacted>)")


class AdminClient:
    """The admin API of a running local service (operator key)."""

    def __init__(self, base_url: str, operator_key: str, *, timeout: float = 10.0) -> None:
        self.rest = RestClient(base_url, operator_key, timeout=timeout)
        self.base_url = self.rest.base_url

    def __repr__(self) -> str:
        return f"AdminClient({self.base_url!r}, operator_key=<redacted>)"

    def close(self) -> None:
        """Close the HTTP connections."""
        self.rest.close()

    def __enter__(self) -> AdminClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, expect: int = 200, **kw: Any) -> Any:
        response = self.rest.request(method, ADMIN + path, expect=expect, **kw)
        return response.json() if response.content else None

    def as_account(self, account_id: str) -> RestClient:
        """A v3 client acting in one account (operator key + X-Account-ID)."""
        return _AccountClient(self.base_url, self.rest, account_id)

    # --- the service -------------------------------------------------------------------------
    def service_info(self) -> dict[str, Any]:
        """URIs per transport (bootstrap, lwm2m), server_ca_pem, capabilities."""
        return self._call("GET", "/service")

    # --- accounts and keys ---------------------------------------------------------------------
    def create_account(self, name: str, *, device_quota: int = 1000, commercial: bool = False
                       ) -> Account:
        """A new account."""
        body = {"name": name, "device_quota": device_quota, "commercial": commercial}
        return from_json(Account, self._call("POST", "/accounts", 201, json_body=body))

    def accounts(self) -> list[Account]:
        """Every account."""
        return [from_json(Account, a) for a in self._call("GET", "/accounts")]

    def account_named(self, name: str) -> Account | None:
        """The first account called `name`, or None."""
        return next((a for a in self.accounts() if a.name == name), None)

    def update_account(self, account_id: str, **changes: Any) -> Account:
        """Change name, device_quota or commercial."""
        return from_json(Account, self._call("PUT", f"/accounts/{account_id}", json_body=changes))

    def create_api_key(self, account_id: str, name: str = "api-key") -> IssuedKey:
        """A new API key of the account (the key is in the answer only)."""
        data = self._call("POST", f"/accounts/{account_id}/api-keys", 201, json_body={"name": name})
        return IssuedKey(data["id"], data["account_id"], data["name"], data["key"])

    def api_keys(self, account_id: str) -> list[dict[str, Any]]:
        """The account's keys: id, name, created_at (never the key)."""
        return self._call("GET", f"/accounts/{account_id}/api-keys")

    # --- trust, enrollment, developer certificates ----------------------------------------------
    def trusted_certificates(self, account_id: str, service: str | None = None
                             ) -> list[TrustedCertificate]:
        """The account's trusted CAs."""
        rows = self._call("GET", f"/accounts/{account_id}/trusted-certificates",
                          params={"service": service})
        return [from_json(TrustedCertificate, t) for t in rows]

    def add_trusted_certificate(self, account_id: str, name: str, certificate_pem: str | bytes, *,
                                service: str = "bootstrap", enrollment_mode: bool = False
                                ) -> TrustedCertificate:
        """Trust a CA for the account's bootstrap or LwM2M service."""
        pem = certificate_pem.decode() if isinstance(certificate_pem, bytes) else certificate_pem
        body = {"name": name, "certificate": pem, "service": service,
                "enrollment_mode": enrollment_mode}
        return from_json(TrustedCertificate, self._call(
            "POST", f"/accounts/{account_id}/trusted-certificates", 201, json_body=body))

    def update_trusted_certificate(self, cert_id: str, **changes: Any) -> TrustedCertificate:
        """Change enrollment_mode or status of a trusted CA."""
        return from_json(TrustedCertificate, self._call("PUT", f"/trusted-certificates/{cert_id}",
                                                        json_body=changes))

    def enroll(self, account_id: str, enrollment_identity: str) -> Enrollment:
        """Add an enrollment identity to the account's list."""
        return from_json(Enrollment, self._call("POST", f"/accounts/{account_id}/enrollments", 201,
                                                json_body={"enrollment_identity": enrollment_identity}))

    def developer_certificate(self, account_id: str, endpoint_name: str | None = None, *,
                              transport: str = "tls-record") -> DeveloperCertificate:
        """A developer certificate: certificate and key, bootstrap URI (with aid) of `transport`,
        server CA."""
        data = self._call("POST", f"/accounts/{account_id}/developer-certificates", 201,
                          json_body={"endpoint_name": endpoint_name, "transport": transport})
        credential = pki.Credential(pki.load_certificate(data["certificate_pem"].encode()),
                                    pki.load_private_key(data["private_key_pem"].encode()))
        server_ca = pki.load_certificate(data["server_ca_pem"].encode())
        return DeveloperCertificate(data["id"], data["account_id"], data["endpoint_name"], credential,
                                    data["bootstrap_uri"], data["server_ca_pem"].encode(),
                                    server_ca.public_bytes(serialization.Encoding.DER))

    # --- standard clients: PSK identities, X.509 device certificates -------------------------
    def put_psk(self, identity: str, key: bytes, account_id: str | None = None,
                endpoint_name: str | None = None) -> dict[str, Any]:
        """Let a DTLS PSK device in (account: the service's standard account by default)."""
        return self._call("PUT", f"/psk-identities/{identity}", 200, json_body={
            "key_hex": key.hex(), "account_id": account_id, "endpoint_name": endpoint_name})

    def psk_identities(self, account_id: str | None = None) -> list[dict[str, Any]]:
        """PSK identities (no keys)."""
        return self._call("GET", "/psk-identities", params={"account_id": account_id})

    def delete_psk(self, identity: str) -> None:
        """Forget a PSK identity (its next handshake fails)."""
        self._call("DELETE", f"/psk-identities/{identity}", 204)

    def device_certificate(self, account_id: str, endpoint_name: str) -> dict[str, Any]:
        """An X.509 LwM2M certificate (PEM chain, key, server CA) for a standard DTLS client."""
        return self._call("POST", f"/accounts/{account_id}/device-certificates", 201,
                          json_body={"endpoint_name": endpoint_name})

    # --- directory, denials, events, device requests ----------------------------------------
    def devices(self, account_id: str | None = None, **filters: Any) -> list[Device]:
        """Directory entries (filters: state, endpoint_name)."""
        params = {"account_id": account_id, **{k: str(v) for k, v in filters.items() if v}}
        return [from_json(Device, d) for d in self._call("GET", "/devices", params=params)]

    def device(self, device_id: str) -> Device | None:
        """One directory entry, or None."""
        response = self.rest.request("GET", f"{ADMIN}/devices/{device_id}", expect=(200, 404))
        return from_json(Device, response.json()) if response.status_code == 200 else None

    def denials(self, account_id: str | None = None) -> list[Denial]:
        """Refused bootstraps and handshakes, oldest first."""
        return [from_json(Denial, d) for d in self._call("GET", "/denials",
                                                         params={"account_id": account_id})]

    def events(self, after: int, wait: float = 0.0) -> dict[str, Any]:
        """One answer of the event stream: events (seq, Event), next, oldest."""
        data = self._call("GET", "/events", params={"after": after, "wait": wait})
        data["events"] = [event_from_json(e) for e in data["events"]]
        return data

    def device_request(self, device_id: str, method: str, uri: str, payload: bytes = b"",
                       content_format: int | None = None, timeout: float = 30.0
                       ) -> tuple[str, int | None, bytes]:
        """A CoAP request to a registered device: (code, content format, payload)."""
        body = {"method": method, "uri": uri, "payload_b64": base64.b64encode(payload).decode(),
                "content_format": content_format, "timeout": timeout}
        data = self._call("POST", f"/devices/{device_id}/requests", json_body=body)
        return data["code"], data["content_format"], base64.b64decode(data["payload_b64"])

    # --- faults --------------------------------------------------------------------------------
    def inject_bootstrap_error(self, code: str = "5.00", text: str = "Internal error #1",
                               count: int = 1, endpoint_name: str | None = None) -> None:
        """The next `count` Bootstrap-Requests (of `endpoint_name`, or any) are answered with
        `code` + `text`."""
        self._call("POST", "/faults/bootstrap-errors", 204,
                   json_body={"code": code, "text": text, "count": count,
                              "endpoint_name": endpoint_name})

    def fail_store(self, stage: str = "directory", count: int = 1,
                   endpoint_name: str | None = None) -> None:
        """The store fails at `stage` for the next `count` Bootstrap-Requests (of `endpoint_name`)."""
        self._call("POST", "/faults/store-failures", 204,
                   json_body={"stage": stage, "count": count, "endpoint_name": endpoint_name})

    def fail_lwm2m_handshakes(self, count: int = 1) -> None:
        """The LwM2M server refuses the next `count` TLS handshakes (of any device)."""
        self._call("POST", "/faults/lwm2m-handshake-failures", 204, json_body={"count": count})

    def add_directory_entry(self, account_id: str, endpoint_name: str, *,
                            device_key: str | None = None) -> Device:
        """A device record put straight into the directory."""
        body = {"account_id": account_id, "endpoint_name": endpoint_name, "device_key": device_key}
        return from_json(Device, self._call("POST", "/faults/directory-entries", 201, json_body=body))


class _AccountClient(RestClient):
    """A RestClient sending the operator key with X-Account-ID (acts in one account's v3 API)."""

    def __init__(self, base_url: str, operator: RestClient, account_id: str) -> None:
        super().__init__(base_url, operator._api_key)  # noqa: SLF001 - same credentials, new header
        self.account_id = account_id

    def auth_headers(self) -> dict[str, str]:
        """The operator key and the account it acts in."""
        return {**super().auth_headers(), "X-Account-ID": self.account_id}
