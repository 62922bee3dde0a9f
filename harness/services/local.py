"""The in-process local service: harness.cloud on a background thread, driven from the tests.

Accounts, trust and the directory are Python calls on the service's loop; fault injection goes
through the service's admin REST API (like any other client of the service would).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.cloud.events import Event
from harness.cloud.records import Denial, Device, Enrollment, TrustedCertificate
from harness.cloud.runtime import OPERATOR_KEY_FILE, read_operator_key
from harness.cloud.service_thread import ServiceThread
from harness.config import ServiceConfig, Timing
from harness.services.admin_client import AdminClient
from harness.services.admin_faults import AdminFaults
from harness.services.base import (
    FAULTS,
    OWN_TIMINGS,
    DeveloperCertificate,
    Faults,
    Service,
    ServiceAccount,
)


class LocalService(Service):
    """A DeviceManagementService running in this process (one thread with its own loop)."""

    kind = "local (in-process)"
    capabilities = frozenset({FAULTS, OWN_TIMINGS})

    def __init__(self, thread: ServiceThread, make_data_dir: Callable[[], Path] | None = None) -> None:
        self.thread = thread
        self.service = thread.service
        self._make_data_dir = make_data_dir
        self._admin: AdminClient | None = None
        self._others: list[LocalService] = []

    @classmethod
    def start(cls, config: ServiceConfig, data_dir: Path,
              make_data_dir: Callable[[], Path] | None = None) -> LocalService:
        """Start a service with `config` and its state in `data_dir`."""
        thread = ServiceThread(config, data_dir)
        thread.start()
        return cls(thread, make_data_dir)

    def close(self) -> None:
        """Stop the service and every other one started from it."""
        for other in self._others:
            other.close()
        self._others.clear()
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        self.thread.stop()

    def _run(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return self.thread.run(lambda: func(*args, **kwargs))

    # --- capabilities --------------------------------------------------------------------------
    @property
    def admin(self) -> AdminClient:
        """The service's admin API, with the operator key from its data dir."""
        if self._admin is None:
            key = read_operator_key(self.service.data_dir / OPERATOR_KEY_FILE)
            self._admin = AdminClient(self.rest_url, key)
        return self._admin

    @property
    def faults(self) -> Faults:
        """Fault injection through the admin API."""
        return AdminFaults(self.admin)

    def start_another(self, *, standard_account: str | None = None, **timing: Any) -> LocalService:
        """Another local service with these timings (stopped with this one); `standard_account`
        names the account NoSec and PSK devices join when they name none (`--standard-account`)."""
        if self._make_data_dir is None:
            return super().start_another(standard_account=standard_account, **timing)
        base = self.service.config
        merged = Timing.model_validate({**base.timing.model_dump(), **timing})
        changes: dict[str, Any] = {"timing": merged}
        if standard_account is not None:
            changes["standard"] = base.standard.model_copy(update={"account": standard_account})
        other = LocalService.start(base.model_copy(update=changes), self._make_data_dir())
        self._others.append(other)
        return other

    # --- URIs and CA ---------------------------------------------------------------------------
    @property
    def server_ca_der(self) -> bytes:
        """The CA devices trust for both servers (DER)."""
        return self.service.server_ca_der

    @property
    def rest_url(self) -> str:
        """Base URL of the REST API."""
        if self.service.rest is None:
            raise RuntimeError("the service was started without its REST API (start_rest=False).")
        return self.service.rest.url

    def server_uri(self, server: str, kind: str = "tls-record") -> str:
        """The bootstrap or LwM2M server URI for a transport kind."""
        return self.service.bootstrap_uri(kind) if server == "bootstrap" else \
            self.service.lwm2m_uri(kind)

    # --- accounts, trust, enrollment -----------------------------------------------------------
    def create_account(self, name: str, *, device_quota: int = 1000, commercial: bool = False
                       ) -> ServiceAccount:
        """A new account with an API key."""
        api_key = "ak_" + secrets.token_hex(24)
        record = self._run(self.service.create_account, name, admin_api_key=api_key,
                           device_quota=device_quota, commercial=commercial)
        return ServiceAccount(record.id, record.name, record.commercial, record.device_quota, api_key)

    def trusted_certificates(self, account_id: str, service: str | None = None
                             ) -> list[TrustedCertificate]:
        """The account's trusted CA certificates."""
        return self._run(self.service.store.list_trusted_certificates, account_id, service=service)

    def add_trusted_certificate(self, account_id: str, name: str, certificate_pem: str | bytes, *,
                                service: str = "bootstrap", enrollment_mode: bool = False
                                ) -> TrustedCertificate:
        """Trust a CA for the account's bootstrap or LwM2M service."""
        return self._run(self.service.add_trusted_certificate, account_id, name, certificate_pem,
                         service=service, enrollment_mode=enrollment_mode)

    def enroll(self, account_id: str, enrollment_identity: str) -> Enrollment:
        """Add an enrollment identity to the account's list."""
        return self._run(self.service.enroll, account_id, enrollment_identity)

    def developer_certificate(self, account_id: str, transport: str = "tls-record"
                              ) -> DeveloperCertificate:
        """Issue a developer certificate for the account (bootstrap URI of `transport`)."""
        return self._run(self.service.issue_developer_certificate, account_id, kind=transport)

    def add_psk_identity(self, identity: str, key: bytes, account_id: str) -> None:
        """Let a DTLS-PSK device in (admin API `PUT /admin/v1/psk-identities/{identity}`)."""
        self.admin.put_psk(identity, key, account_id)

    def remove_psk_identity(self, identity: str) -> None:
        """Forget a PSK identity (admin API `DELETE /admin/v1/psk-identities/{identity}`)."""
        self.admin.delete_psk(identity)

    # --- directory, denials, requests ----------------------------------------------------------
    def device(self, device_id: str) -> Device | None:
        """The Device Directory entry, or None."""
        return self._run(self.service.device, device_id)

    def devices(self, account_id: str, **filters: Any) -> list[Device]:
        """The account's devices."""
        return self._run(self.service.devices, account_id, **filters)

    def denials(self, account_id: str | None = None) -> list[Denial]:
        """Refused bootstraps and handshakes, oldest first."""
        return self._run(self.service.store.list_denials, account_id=account_id)

    def read(self, device_id: str, path: str) -> tuple[str, int | None, bytes]:
        """Read a path of a registered device: (code, content format, payload)."""
        return self.thread.call(self.service.read(device_id, path))

    def write(self, device_id: str, path: str, payload: bytes,
              content_format: int = 0) -> str:
        """Write a resource of a registered device; the CoAP code."""
        code, _, _ = self.thread.call(self.service.write(device_id, path, payload, content_format))
        return code

    def execute(self, device_id: str, path: str) -> str:
        """Execute a resource of a registered device; the CoAP code."""
        code, _, _ = self.thread.call(self.service.execute(device_id, path))
        return code

    # --- events --------------------------------------------------------------------------------
    def mark(self) -> int:
        """A position in the event stream."""
        return self.service.events.mark()

    def events(self, since: int = 0) -> list[Event]:
        """Events published at or after `since` (recent history)."""
        found, _ = self.service.events.after(since)
        return [e for _, e in found]

    def wait_event(self, event_type: str, *, since: int, timeout: float,
                   where: Callable[[Event], bool] = lambda e: True, what: str = "") -> Event:
        """The first matching event at or after `since`."""
        return self.service.events.wait_for_sync(lambda e: e.type == event_type and where(e),
                                                 timeout, what=what or event_type, since=since)

    def wait_any(self, since: int, timeout: float) -> None:
        """Return when any event at or after `since` exists."""
        self.service.events.wait_for_sync(lambda e: True, timeout, since=since)
