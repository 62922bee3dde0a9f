"""A Device Management service started elsewhere (`hil cloud serve`), reached by REST + its URIs only.

The admin API (operator key) gives accounts and API keys, trust, the directory, denials, the event
stream (long poll, mirrored into an EventLog by a background thread) and device requests; the URIs
and server CA come from GET /admin/v1/service. Faults work when the service offers them.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from harness import pki
from harness.cloud.events import Event
from harness.cloud.records import Denial, Device, Enrollment, TrustedCertificate
from harness.cloud.runtime import OPERATOR_KEY_FILE, read_operator_key, service_endpoint
from harness.config import ServiceConfig
from harness.errors import HilError
from harness.rest_client import ApiError
from harness.services.admin_client import AdminClient
from harness.services.admin_faults import AdminFaults
from harness.services.base import (
    FAULTS,
    DeveloperCertificate,
    Faults,
    Service,
    ServiceAccount,
)
from harness.services.event_log import EventLog

log = logging.getLogger(__name__)
POLL_WAIT = 2.0
"""Seconds one long poll of the event stream may wait on the service."""
CATCH_UP = 5.0
"""Seconds `events()` waits for the stream to reach the service's current position."""
LATEST = 2**62
"""An `after` beyond any event: the answer's `next` is the service's current position."""


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def remote_endpoint(config: ServiceConfig, data_dir: Path | None = None) -> tuple[str, str]:
    """(REST URL, operator key) of the remote service a lab config names (`data_dir` overrides)."""
    chosen = data_dir or config.data_dir
    if config.url and not data_dir:
        key_file = config.operator_key_file or (chosen / OPERATOR_KEY_FILE if chosen else None)
        if key_file is None:  # the config validator already refuses this
            raise HilError("service.operator_key_file is missing; point it at the service's "
                           "operator-key file.")
        return config.url, read_operator_key(key_file)
    if chosen is None:
        raise HilError("The remote service has neither service.url nor service.data_dir; give one "
                       "in the lab config.")
    return service_endpoint(chosen)


class RemoteService(Service):
    """A client of a running service's REST API (admin API with the operator key)."""

    kind = "remote"

    def __init__(self, url: str, operator_key: str) -> None:
        self.url = url.rstrip("/")
        self.admin = AdminClient(self.url, operator_key)
        try:
            info = self.admin.service_info()
        except ApiError as exc:
            self.admin.close()
            raise HilError(f"The service at {self.url} did not answer its admin API ({exc.status}): "
                           "check service.url and the operator key, and that `hil cloud serve` "
                           "runs.") from None
        self._uris: dict[str, dict[str, str]] = {"bootstrap": info["bootstrap"],
                                                 "lwm2m": info["lwm2m"]}
        self._server_ca = pki.load_certificate(info["server_ca_pem"].encode())
        self.capabilities = frozenset({FAULTS} if "faults" in info.get("capabilities", ()) else ())
        self._log = EventLog()
        self._stop = threading.Event()
        self._poller = AdminClient(self.url, operator_key, timeout=POLL_WAIT + 10)
        self._log.extend([], self._poller.events(LATEST)["next"], 0)
        self._thread = threading.Thread(target=self._poll, name="remote-service-events", daemon=True)
        self._thread.start()

    def __repr__(self) -> str:
        return f"RemoteService({self.url!r})"

    def _poll(self) -> None:
        """Mirror the service's event stream until closed."""
        while not self._stop.is_set():
            try:
                answer = self._poller.events(self._log.next, POLL_WAIT)
            except HilError as exc:
                if self._stop.is_set():
                    return
                log.warning("event stream of %s: %s", self.url, str(exc).splitlines()[0])
                self._stop.wait(0.5)  # the service restarting: try again shortly
                continue
            self._log.extend(answer["events"], answer["next"], answer["oldest"])

    def close(self) -> None:
        """Stop following the event stream and close the connections."""
        self._stop.set()
        self._thread.join(POLL_WAIT + 5)
        self._poller.close()
        self.admin.close()

    @property
    def faults(self) -> Faults:
        """Fault injection through the admin API (when the service offers it)."""
        if FAULTS not in self.capabilities:
            return super().faults
        return AdminFaults(self.admin)

    # --- URIs and CA ---------------------------------------------------------------------------
    @property
    def server_ca_der(self) -> bytes:
        """The CA devices trust for both servers (DER)."""
        return _der(self._server_ca)

    @property
    def rest_url(self) -> str:
        """Base URL of the REST API."""
        return self.url

    def server_uri(self, server: str, kind: str = "tls-record") -> str:
        """The URI the service announced for `server` and transport `kind`."""
        uris = self._uris[server]
        if kind not in uris:
            raise HilError(f"The service at {self.url} has no {server} listener for {kind} (it has "
                           f"{', '.join(uris) or 'none'}); add {kind} to service.transports where it "
                           "is started.")
        return uris[kind]

    # --- accounts, trust, enrollment -----------------------------------------------------------
    def create_account(self, name: str, *, device_quota: int = 1000, commercial: bool = False
                       ) -> ServiceAccount:
        """A new account and an API key of it."""
        account = self.admin.create_account(name, device_quota=device_quota, commercial=commercial)
        key = self.admin.create_api_key(account.id, "hil-tests")
        return ServiceAccount(account.id, account.name, account.commercial, account.device_quota,
                              key.key)

    def trusted_certificates(self, account_id: str, service: str | None = None
                             ) -> list[TrustedCertificate]:
        """The account's trusted CA certificates."""
        return self.admin.trusted_certificates(account_id, service)

    def add_trusted_certificate(self, account_id: str, name: str, certificate_pem: str | bytes, *,
                                service: str = "bootstrap", enrollment_mode: bool = False
                                ) -> TrustedCertificate:
        """Trust a CA for the account's bootstrap or LwM2M service."""
        return self.admin.add_trusted_certificate(account_id, name, certificate_pem, service=service,
                                                  enrollment_mode=enrollment_mode)

    def enroll(self, account_id: str, enrollment_identity: str) -> Enrollment:
        """Add an enrollment identity to the account's list."""
        return self.admin.enroll(account_id, enrollment_identity)

    def developer_certificate(self, account_id: str, transport: str = "tls-record"
                              ) -> DeveloperCertificate:
        """Issue a developer certificate for the account (bootstrap URI of `transport`)."""
        return self.admin.developer_certificate(account_id, transport=transport)

    def add_psk_identity(self, identity: str, key: bytes, account_id: str) -> None:
        """Let a DTLS-PSK device in (admin API `PUT /admin/v1/psk-identities/{identity}`)."""
        self.admin.put_psk(identity, key, account_id)

    def remove_psk_identity(self, identity: str) -> None:
        """Forget a PSK identity (admin API `DELETE /admin/v1/psk-identities/{identity}`)."""
        self.admin.delete_psk(identity)

    # --- directory, denials, requests ----------------------------------------------------------
    def device(self, device_id: str) -> Device | None:
        """The Device Directory entry, or None."""
        return self.admin.device(device_id)

    def devices(self, account_id: str, **filters: Any) -> list[Device]:
        """The account's devices."""
        return self.admin.devices(account_id, **filters)

    def denials(self, account_id: str | None = None) -> list[Denial]:
        """Refused bootstraps and handshakes, oldest first."""
        return self.admin.denials(account_id)

    def read(self, device_id: str, path: str) -> tuple[str, int | None, bytes]:
        """Read a path of a registered device: (code, content format, payload)."""
        return self.admin.device_request(device_id, "GET", path)

    def write(self, device_id: str, path: str, payload: bytes,
              content_format: int = 0) -> str:
        """Write a resource of a registered device; the CoAP code."""
        code, _, _ = self.admin.device_request(device_id, "PUT", path, payload, content_format)
        return code

    def execute(self, device_id: str, path: str) -> str:
        """Execute a resource of a registered device; the CoAP code."""
        code, _, _ = self.admin.device_request(device_id, "POST", path)
        return code

    # --- events --------------------------------------------------------------------------------
    def mark(self) -> int:
        """The service's current position in its event stream."""
        with contextlib.suppress(HilError):
            return int(self.admin.events(LATEST)["next"])
        return self._log.next

    def events(self, since: int = 0) -> list[Event]:
        """Events numbered `since` or later, up to the service's position now."""
        if not self._log.caught_up(self.mark(), CATCH_UP):
            log.warning("the event stream of %s lags; events may be missing", self.url)
        return self._log.since(since)

    def wait_event(self, event_type: str, *, since: int, timeout: float,
                   where: Callable[[Event], bool] = lambda e: True, what: str = "") -> Event:
        """The first matching event numbered `since` or later."""
        return self._log.wait_for(lambda e: e.type == event_type and where(e), timeout, since=since,
                                  what=what or event_type)

    def wait_any(self, since: int, timeout: float) -> None:
        """Return when any event numbered `since` or later has been fetched."""
        self._log.wait_for(lambda e: True, timeout, since=since, what="any event")
