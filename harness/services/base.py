"""What a test needs from a Device Management service: the one interface the fixtures use.

Accounts (with an API key), trusted CAs, enrollments, developer certificates, the URIs and CA
devices are provisioned with, the device directory, refused bootstraps, the event stream and
requests to registered devices. Capabilities a service may lack (`faults`, `own-timings`) are
asked for by name; a scenario that needs one skips with `missing(capability)` as the reason.
"""

from __future__ import annotations

import abc
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.client.wire import with_aid
from harness.cloud.events import Event, EventTimeout
from harness.cloud.records import Denial, Device, Enrollment, TrustedCertificate
from harness.devcreds import DeveloperCertificate
from harness.errors import HilError

__all__ = ["CapabilityMissing", "DeveloperCertificate", "Denial", "Device", "Enrollment", "Event",
           "EventTimeout", "Faults", "Service", "ServiceAccount", "TrustedCertificate", "with_aid"]

FAULTS = "faults"
"""Fault injection: error answers to Bootstrap-Requests, device records put into the directory."""
OWN_TIMINGS = "own-timings"
"""Another service with its own timings (lifetimes, rate limit, credential validity) on demand."""


class CapabilityMissing(HilError):
    """The service cannot do this (e.g. fault injection on a service started elsewhere)."""


@dataclass(frozen=True)
class ServiceAccount:
    """An account of the service with one of its API keys (never shown in a repr)."""

    __test__ = False

    id: str
    name: str
    commercial: bool
    device_quota: int
    api_key: str

    def __repr__(self) -> str:  # assertion messages print reprs
        return (f"ServiceAccount(id={self.id!r}, name={self.name!r}, commercial={self.commercial}, "
                f"quota={self.device_quota}, api_key=<redacted>)")


class Faults(abc.ABC):
    """Fault injection (a capability of the local service, reached through its admin API)."""

    @abc.abstractmethod
    def inject_bootstrap_error(self, code: str = "5.00", text: str = "Internal error #1",
                               count: int = 1, endpoint_name: str | None = None) -> None:
        """Answer the next `count` Bootstrap-Requests (of `endpoint_name`, or any: on a service
        shared by test workers, name it) with `code` and `text`."""

    @abc.abstractmethod
    def fail_store(self, stage: str = "directory", count: int = 1,
                   endpoint_name: str | None = None) -> None:
        """Make the service's store fail at `stage` ("directory" or "credentials") for the next
        `count` Bootstrap-Requests (of `endpoint_name`, or any)."""

    @abc.abstractmethod
    def fail_lwm2m_handshakes(self, count: int = 1) -> None:
        """Make the LwM2M server refuse the next `count` TLS handshakes, as if it no longer
        trusted the devices' certificates (it cannot tell devices apart before verifying them,
        so on a shared service any device's handshake may take the fault)."""

    @abc.abstractmethod
    def add_directory_entry(self, account_id: str, endpoint_name: str, *,
                            device_key: str | None = None) -> Device:
        """Put a device record straight into the directory (fill a quota, take a name)."""


class Service(abc.ABC):
    """A Device Management service as the tests see it."""

    kind: str = "service"
    capabilities: frozenset[str] = frozenset()

    # --- lifecycle and capabilities ------------------------------------------------------------
    @abc.abstractmethod
    def close(self) -> None:
        """Stop the service (local) or disconnect from it (remote)."""

    def can(self, capability: str) -> bool:
        """Whether the service offers `capability` (FAULTS, OWN_TIMINGS)."""
        return capability in self.capabilities

    def missing(self, capability: str) -> str:
        """Why a scenario needing `capability` cannot run here (a skip reason)."""
        what = {FAULTS: "fault injection", OWN_TIMINGS: "a service started with its own timings"}
        return (f"needs {what.get(capability, capability)}, a capability of the in-process local "
                f"service; the lab's service is {self.kind}")

    @property
    def faults(self) -> Faults:
        """The fault injection of the service (CapabilityMissing when it has none)."""
        raise CapabilityMissing(self.missing(FAULTS))

    def start_another(self, **timing: Any) -> Service:
        """Another service like this one with other timings (and `standard_account=NAME`: the
        account NoSec and PSK devices join when they name none); CapabilityMissing when impossible."""
        raise CapabilityMissing(self.missing(OWN_TIMINGS))

    # --- what devices are provisioned with -----------------------------------------------------
    @property
    @abc.abstractmethod
    def server_ca_der(self) -> bytes:
        """The CA devices trust for both servers (DER)."""

    @property
    @abc.abstractmethod
    def rest_url(self) -> str:
        """Base URL of the REST API (v3)."""

    @abc.abstractmethod
    def server_uri(self, server: str, kind: str = "tls-record") -> str:
        """The URI of the `bootstrap` or `lwm2m` server for a transport kind, without aid."""

    def bootstrap_uri(self, account_id: str | None = None, kind: str = "tls-record") -> str:
        """The bootstrap server URI, with `?aid=` when an account is given (not for First-to-Claim)."""
        uri = self.server_uri("bootstrap", kind)
        return with_aid(uri, account_id) if account_id else uri

    def lwm2m_uri(self, account_id: str, kind: str = "tls-record") -> str:
        """The LwM2M server URI with `?aid=` (direct LwM2M provisioning)."""
        return with_aid(self.server_uri("lwm2m", kind), account_id)

    # --- accounts, trust, enrollment -----------------------------------------------------------
    @abc.abstractmethod
    def create_account(self, name: str, *, device_quota: int = 1000, commercial: bool = False
                       ) -> ServiceAccount:
        """A new account with an API key."""

    @abc.abstractmethod
    def trusted_certificates(self, account_id: str, service: str | None = None
                             ) -> list[TrustedCertificate]:
        """The account's trusted CA certificates (optionally of one service)."""

    @abc.abstractmethod
    def add_trusted_certificate(self, account_id: str, name: str, certificate_pem: str | bytes, *,
                                service: str = "bootstrap", enrollment_mode: bool = False
                                ) -> TrustedCertificate:
        """Trust a CA for the account's bootstrap or LwM2M service."""

    @abc.abstractmethod
    def enroll(self, account_id: str, enrollment_identity: str) -> Enrollment:
        """Add an enrollment identity (A-...) to the account's enrollment list."""

    @abc.abstractmethod
    def developer_certificate(self, account_id: str, transport: str = "tls-record"
                              ) -> DeveloperCertificate:
        """Issue a developer certificate for the account (bootstrap URI of `transport`)."""

    @abc.abstractmethod
    def add_psk_identity(self, identity: str, key: bytes, account_id: str) -> None:
        """Let a DTLS-PSK device with `identity` and `key` in, into `account_id` (admin API)."""

    @abc.abstractmethod
    def remove_psk_identity(self, identity: str) -> None:
        """Forget a PSK identity (admin API); its next handshake fails."""

    # --- directory, denials, device requests ---------------------------------------------------
    @abc.abstractmethod
    def device(self, device_id: str) -> Device | None:
        """The Device Directory entry of `device_id`, or None."""

    @abc.abstractmethod
    def devices(self, account_id: str, **filters: Any) -> list[Device]:
        """The account's devices (filters: state, endpoint_name)."""

    @abc.abstractmethod
    def denials(self, account_id: str | None = None) -> list[Denial]:
        """Refused bootstraps and handshakes (optionally of one account), oldest first."""

    @abc.abstractmethod
    def read(self, device_id: str, path: str) -> tuple[str, int | None, bytes]:
        """Read (GET) a path of a registered device: (CoAP code, content format, payload)."""

    @abc.abstractmethod
    def write(self, device_id: str, path: str, payload: bytes,
              content_format: int = 0) -> str:
        """Write (PUT) `payload` in `content_format` (0 text, 11542 TLV) to a resource of a
        registered device; the CoAP code, e.g. "2.04"."""

    @abc.abstractmethod
    def execute(self, device_id: str, path: str) -> str:
        """Execute (POST) a resource of a registered device; the CoAP code, e.g. "2.04"."""

    # --- events --------------------------------------------------------------------------------
    @abc.abstractmethod
    def mark(self) -> int:
        """A position in the event stream; pass it as `since` to only see later events."""

    @abc.abstractmethod
    def events(self, since: int = 0) -> list[Event]:
        """Events published at or after `since` (from the recent history)."""

    @abc.abstractmethod
    def wait_event(self, event_type: str, *, since: int, timeout: float,
                   where: Callable[[Event], bool] = lambda e: True, what: str = "") -> Event:
        """The first event of `event_type` at or after `since` matching `where` (EventTimeout)."""

    @abc.abstractmethod
    def wait_any(self, since: int, timeout: float) -> None:
        """Return when an event at or after `since` exists (EventTimeout after `timeout`)."""

    def wait_until(self, check: Callable[[], Any], timeout: float, what: str) -> Any:
        """Re-check `check()` after every service event until it returns a truthy value."""
        deadline = time.monotonic() + timeout
        while True:
            since = self.mark()
            result = check()
            if result:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise EventTimeout(f"{what} did not happen within {timeout:g} s")
            with contextlib.suppress(EventTimeout):
                self.wait_any(since, remaining)

    def recent_events_text(self, count: int = 15) -> str:
        """The last service events, one line each (for failure messages)."""
        last = self.events(max(0, self.mark() - count))[-count:]
        return "\n".join(f"  | {e.brief()}" for e in last) or "  | (no events)"
