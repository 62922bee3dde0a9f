"""Request and response shapes of the v3 API (pydantic); the typed client parses the same models."""

from __future__ import annotations

import re
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

T = TypeVar("T")


class _Response(BaseModel):
    """A response object: unknown fields from a real service are kept, not refused."""

    model_config = ConfigDict(extra="allow")


class _Request(BaseModel):
    """A request body: unknown fields are refused with a clear 400."""

    model_config = ConfigDict(extra="forbid")


class _AccountObject(_Response):
    """An object an account owns: its type name, id, etag and account."""

    object: str
    id: str
    etag: str = ""
    account_id: str


class ListResponse(_Response, Generic[T]):
    """The v3 list shape."""

    object: str = "list"
    limit: int
    after: str | None = None
    order: str = "ASC"
    has_more: bool
    total_count: int
    data: list[T]


# ---------------------------------------------------------------- enrollments

class EnrollmentRequest(_Request):
    """POST /v3/device-enrollments."""

    enrollment_identity: str = Field(description="A- followed by 32 colon-separated hex bytes")


class Enrollment(_AccountObject):
    """An enrollment identity of the account."""

    object: str = "enrollment"
    created_at: str
    expires_at: str | None = None
    claimed_at: str | None = None
    enrollment_identity: str
    enrolled_device_id: str | None = None


class BulkResponse(_AccountObject):
    """A bulk enrollment upload or delete job."""

    object: str = "enrollment-identity-bulk-uploads"
    created_at: str
    status: Literal["new", "processing", "completed"]
    total_count: int
    processed_count: int
    errors_count: int
    completed_at: str | None = None
    full_report_file: str | None = None
    errors_report_file: str | None = None


# ---------------------------------------------------------------- trusted certificates

class TrustedCertificateRequest(_Request):
    """POST /v3/trusted-certificates."""

    certificate: str = Field(description="PEM chain; the first certificate is the trusted CA")
    name: str = Field(min_length=1, max_length=100)
    service: Literal["bootstrap", "lwm2m"]
    status: Literal["ACTIVE", "INACTIVE"] = "ACTIVE"
    enrollment_mode: bool = False
    description: str = Field("", max_length=500)
    signature: str | None = Field(None, description="deprecated; ignored")


class TrustedCertificateUpdate(_Request):
    """PUT /v3/trusted-certificates/{id}: every field optional."""

    certificate: str | None = None
    name: str | None = Field(None, min_length=1, max_length=100)
    service: Literal["bootstrap", "lwm2m"] | None = None
    status: Literal["ACTIVE", "INACTIVE"] | None = None
    enrollment_mode: bool | None = None
    description: str | None = Field(None, max_length=500)
    signature: str | None = None


class TrustedCertificate(_AccountObject):
    """A trusted CA certificate."""

    object: str = "trusted-cert"
    name: str
    service: str
    status: str
    enrollment_mode: bool
    certificate: str
    certificate_fingerprint: str
    issuer: str
    subject: str
    validity: str
    valid: bool
    description: str = ""
    device_execution_mode: int = 0
    owner_id: str | None = None
    created_at: str
    updated_at: str


# ---------------------------------------------------------------- devices

class DeviceData(_Response):
    """A Device Directory entry."""

    object: str = "device"
    id: str
    account_id: str
    endpoint_name: str
    state: str
    device_key: str | None = None
    ca_id: str | None = None
    issuer_fingerprint: str | None = None
    mechanism: str = "connector"
    device_execution_mode: int = 0
    bootstrapped_timestamp: str | None = None
    bootstrap_expiration_date: str | None = None
    connector_expiration_date: str | None = None
    enrolment_list_timestamp: str | None = None
    endpoint_type: str | None = None
    lifetime: int | None = None
    host_gateway: str = ""
    created_at: str | None = None
    updated_at: str | None = None


class DeviceEvent(_Response):
    """A device event."""

    object: str = "device-event"
    id: str
    device_id: str | None
    event_type: str
    event_type_category: str = ""
    state_change: bool
    data: dict[str, Any]
    date_time: str


# ---------------------------------------------------------------- applications and keys

class ApplicationRequest(_Request):
    """POST /v3/applications."""

    name: str = Field(min_length=1, max_length=100)
    description: str = Field("", max_length=500)
    status: Literal["ACTIVE", "INACTIVE"] = "ACTIVE"


class ApplicationUpdate(_Request):
    """PUT /v3/applications/{id}."""

    name: str | None = Field(None, min_length=1, max_length=100)
    description: str | None = Field(None, max_length=500)
    status: Literal["ACTIVE", "INACTIVE"] | None = None


class Application(_AccountObject):
    """An application; its verification keys verify JWTs sent with X-Application-ID."""

    object: str = "application"
    name: str
    description: str = ""
    status: str
    created_at: str
    updated_at: str


class VerificationKeyRequest(_Request):
    """POST /v3/applications/{id}/verification-keys."""

    name: str = Field(min_length=1, max_length=100)
    certificate: str = Field(description="X.509 PEM, RSA >= 2048 or EC >= 256 bits, <= 2,000 chars")
    description: str = Field("", max_length=500)


class VerificationKeyUpdate(_Request):
    """PUT /v3/applications/{id}/verification-keys/{key_id}."""

    name: str | None = Field(None, min_length=1, max_length=100)
    certificate: str | None = None
    description: str | None = Field(None, max_length=500)
    status: Literal["ACTIVE", "INACTIVE"] | None = None


class VerificationKey(_AccountObject):
    """A verification key of an application (the certificate, never a private key)."""

    object: str = "verification-key"
    application_id: str
    name: str
    description: str = ""
    certificate: str
    certificate_fingerprint: str
    key_type: str
    key_bits: int
    status: str
    valid_from: str
    expiration: str
    expired: bool
    created_at: str
    updated_at: str


# ---------------------------------------------------------------- notifications

_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_HEADER_VALUE = re.compile(r"[\x20-\x7e\t]*")


class WebhookRequest(_Request):
    """PUT /v2/notification/callback."""

    url: str = Field(min_length=8, max_length=2048)
    headers: dict[str, str] = Field(default_factory=dict)
    serialization: dict[str, Any] | None = None

    @field_validator("headers")
    @classmethod
    def _http_headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if not _HEADER_NAME.fullmatch(name) or not _HEADER_VALUE.fullmatch(text):
                raise ValueError(f"header {name[:40]!r} is not a valid HTTP header; use an ASCII "
                                 "token as its name and printable ASCII as its value")
        return value


class Webhook(_Response):
    """GET /v2/notification/callback (header values are not returned)."""

    url: str
    headers: dict[str, str] = Field(default_factory=dict)


class WebsocketChannel(_Response):
    """The websocket channel of a credential."""

    queue_size: int = 0
    status: Literal["connected", "disconnected"] = "disconnected"
