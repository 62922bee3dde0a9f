"""Typed rows of the service's store: accounts, trusted certificates, enrollments, devices, events."""

from __future__ import annotations

import datetime as dt
import secrets
import time
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any, Generic, TypeVar

T = TypeVar("T")


def new_id() -> str:
    """A fresh 32-hex-character id, shaped like the real service's account and device ids: the
    creation time in milliseconds (12 hex digits) first, then 80 random bits. Ids made later sort
    later, so the store's indexes on them grow at one end instead of touching a random page per
    new row (which made each registration cost more the more devices were registered). Ids made
    close together share their first digits: a short form of an id is its end, never its start."""
    return f"{time.time_ns() // 1_000_000:012x}{secrets.token_hex(10)}"


def utcnow() -> dt.datetime:
    """The current time, timezone-aware UTC, whole milliseconds."""
    now = dt.datetime.now(dt.UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class DeviceState(StrEnum):
    """Device directory states (the v3 API's `state`)."""

    UNENROLLED = "unenrolled"
    CLOUD_ENROLLING = "cloud_enrolling"
    BOOTSTRAPPED = "bootstrapped"
    REGISTERED = "registered"
    DEREGISTERED = "deregistered"


class ExecutionMode(IntEnum):
    """Device execution mode values: 1 developer, 5 production (0 unknown)."""

    UNKNOWN = 0
    DEVELOPER = 1
    PRODUCTION = 5


@dataclass(frozen=True)
class Account:
    """A tenant account: `id` is the aid the devices carry."""

    id: str
    name: str
    device_quota: int
    commercial: bool
    admin_key_hash: str | None
    created_at: dt.datetime


@dataclass(frozen=True)
class TrustedCertificate:
    """A CA certificate an account trusts for the bootstrap or LwM2M service."""

    id: str
    account_id: str
    name: str
    service: str  # "bootstrap" | "lwm2m"
    status: str  # "ACTIVE" | "INACTIVE"
    enrollment_mode: bool
    certificate: str  # PEM
    subject: str
    issuer: str
    fingerprint: str  # hex SHA-256 of the DER
    valid_from: dt.datetime
    valid_to: dt.datetime
    description: str
    created_at: dt.datetime
    updated_at: dt.datetime

    @property
    def active(self) -> bool:
        """True when the certificate is ACTIVE."""
        return self.status == "ACTIVE"


@dataclass(frozen=True)
class Enrollment:
    """One entry of an account's First-to-Claim enrollment list."""

    id: str
    account_id: str
    enrollment_identity: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    claimed_at: dt.datetime | None
    enrolled_device_id: str | None


@dataclass(frozen=True)
class DeveloperCertificateRecord:
    """A developer certificate the service issued to an account (no key kept)."""

    id: str
    account_id: str
    fingerprint: str
    name: str
    created_at: dt.datetime


@dataclass(frozen=True)
class Device:
    """A Device Directory entry."""

    id: str
    account_id: str
    endpoint_name: str
    state: DeviceState
    device_key: str | None = None  # bootstrap cert fingerprint (hex)
    ca_id: str | None = None  # trusted certificate id (or "developer")
    mechanism: str = "connector"
    execution_mode: int = 0
    developer_certificate_id: str | None = None
    lwm2m_mode: str = "bootstrap"  # "bootstrap" | "direct"
    bootstrapped_timestamp: dt.datetime | None = None
    bootstrap_expiration_date: dt.datetime | None = None
    connector_expiration_date: dt.datetime | None = None
    lifetime: int | None = None
    registration_location: str | None = None
    endpoint_type: str | None = None
    binding: str | None = None
    resources: list[dict[str, Any]] = field(default_factory=list)
    registered_at: dt.datetime | None = None
    last_seen: dt.datetime | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


@dataclass(frozen=True)
class EventRecord:
    """A persisted device event (v3 device-events shape)."""

    id: int
    device_id: str | None
    account_id: str | None
    event_type: str
    data: dict[str, Any]
    state_change: bool
    created_at: dt.datetime


@dataclass(frozen=True)
class Denial:
    """A rejected Bootstrap-Request, kept for troubleshooting."""

    id: int
    reason: str
    endpoint_name: str | None
    account_id: str | None
    enrollment_identity: str | None
    fingerprint: str | None
    trusted_certificate_id: str | None
    created_at: dt.datetime


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a paginated list (v3 list shape)."""

    data: list[T]
    has_more: bool
    total_count: int
    limit: int
    after: str | None
    order: str
