"""The admin API, part 1: what the service is and who uses it (the operator key only).

GET  /admin/v1/service                                   URIs per transport, server CA, capabilities
GET|POST /admin/v1/accounts, PUT /admin/v1/accounts/{aid} accounts (name, device_quota, commercial)
GET|POST /admin/v1/accounts/{aid}/api-keys               API keys; the key is in the POST answer only
GET|POST /admin/v1/accounts/{aid}/trusted-certificates   trusted CAs; PUT /admin/v1/trusted-certificates/{id}
POST /admin/v1/accounts/{aid}/enrollments                an enrollment identity
POST /admin/v1/accounts/{aid}/developer-certificates     a developer certificate (with its key)
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from typing import Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from harness.cloud.rest.auth import Ctx, require_operator
from harness.cloud.rest.errors import ApiProblem, bad_request, conflict
from harness.cloud.store import ConflictError, NotFoundError, StoreError
from harness.errors import HilError

router = APIRouter(prefix="/admin/v1", tags=["admin"], dependencies=[Depends(require_operator)])
SQLITE_INT_MAX = 2**63 - 1
"""The largest integer the store keeps (a larger device_quota is a 400, not an overflow)."""
CAPABILITIES = ["accounts", "faults", "device-requests", "events"]
"""What the admin API of this local service offers (a real service offers none of it)."""


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewAccount(_Body):
    """POST /admin/v1/accounts."""

    name: str = Field(min_length=1, max_length=200)
    device_quota: int = Field(1000, ge=0, le=SQLITE_INT_MAX)
    commercial: bool = False


class AccountChange(_Body):
    """PUT /admin/v1/accounts/{aid}."""

    name: str | None = Field(None, min_length=1, max_length=200)
    device_quota: int | None = Field(None, ge=0, le=SQLITE_INT_MAX)
    commercial: bool | None = None


class NewApiKey(_Body):
    """POST /admin/v1/accounts/{aid}/api-keys."""

    name: str = Field("api-key", min_length=1, max_length=100)


class NewTrustedCertificate(_Body):
    """POST /admin/v1/accounts/{aid}/trusted-certificates."""

    name: str = Field(min_length=1, max_length=100)
    certificate: str
    service: Literal["bootstrap", "lwm2m"] = "bootstrap"
    enrollment_mode: bool = False
    status: Literal["ACTIVE", "INACTIVE"] = "ACTIVE"
    description: str = ""


class TrustedCertificateChange(_Body):
    """PUT /admin/v1/trusted-certificates/{id}."""

    enrollment_mode: bool | None = None
    status: Literal["ACTIVE", "INACTIVE"] | None = None


class NewEnrollment(_Body):
    """POST /admin/v1/accounts/{aid}/enrollments."""

    enrollment_identity: str


class NewDeveloperCertificate(_Body):
    """POST /admin/v1/accounts/{aid}/developer-certificates."""

    endpoint_name: str | None = None
    transport: str = "tls-record"


def as_json(record: Any) -> dict[str, Any]:
    """A store record (dataclass) as a JSON object."""
    return dataclasses.asdict(record)


@contextlib.contextmanager
def store_errors() -> Iterator[None]:
    """Store and service errors as the API's 404 / 409 / 400 answers."""
    try:
        yield
    except NotFoundError as exc:
        raise ApiProblem(404, str(exc)) from None
    except ConflictError as exc:
        raise conflict(str(exc)) from None
    except (StoreError, HilError) as exc:
        if isinstance(exc, ApiProblem):
            raise
        raise bad_request(str(exc)) from None


def _account(ctx: Ctx, account_id: str) -> Any:
    account = ctx.store.get_account(account_id)
    if account is None:
        raise ApiProblem(404, f"No account {account_id[:40]!r}; list /admin/v1/accounts for the ids.")
    return account


def _account_json(account: Any) -> dict[str, Any]:
    data = as_json(account)
    data.pop("admin_key_hash", None)
    return data


@router.get("/service")
def service_info(ctx: Ctx) -> dict[str, Any]:
    """Where devices reach the service (URIs per transport), the CA they trust, what it offers."""
    service = ctx.service
    if service is None or service.bootstrap_server is None or service.lwm2m_server is None:
        raise ApiProblem(503, "The service is not running its CoAP servers; start it first.")
    return {
        "bootstrap": {k: service.bootstrap_uri(k) for k in service.bootstrap_server.bound},
        "lwm2m": {k: service.lwm2m_uri(k) for k in service.lwm2m_server.bound},
        "server_ca_pem": service.server_ca_pem.decode(),
        "capabilities": CAPABILITIES,
    }


@router.get("/accounts")
def list_accounts(ctx: Ctx) -> list[dict[str, Any]]:
    """Every account, oldest first."""
    return [_account_json(a) for a in ctx.store.list_accounts()]


@router.post("/accounts", status_code=201)
def create_account(body: NewAccount, ctx: Ctx) -> dict[str, Any]:
    """A new account (fresh aid)."""
    with store_errors():
        return _account_json(ctx.store.create_account(body.name, device_quota=body.device_quota,
                                                      commercial=body.commercial))


@router.put("/accounts/{account_id}")
def update_account(account_id: str, body: AccountChange, ctx: Ctx) -> dict[str, Any]:
    """Change an account's name, quota or commercial flag."""
    _account(ctx, account_id)
    changes = body.model_dump(exclude_none=True)
    with store_errors():
        return _account_json(ctx.store.update_account(account_id, **changes) if changes
                             else ctx.store.get_account(account_id))


@router.post("/accounts/{account_id}/api-keys", status_code=201)
def create_api_key(account_id: str, body: NewApiKey, ctx: Ctx) -> dict[str, Any]:
    """A new API key of the account; the answer is the only place the key ever appears."""
    _account(ctx, account_id)
    record, key = ctx.api_keys.create(account_id, body.name)
    return {**as_json(record), "key": key}


@router.get("/accounts/{account_id}/api-keys")
def list_api_keys(account_id: str, ctx: Ctx) -> list[dict[str, Any]]:
    """The account's API keys: id, name, created_at (never the key)."""
    _account(ctx, account_id)
    return [as_json(r) for r in ctx.api_keys.list(account_id)]


@router.get("/accounts/{account_id}/trusted-certificates")
def list_trusted(account_id: str, ctx: Ctx, service: str | None = None) -> list[dict[str, Any]]:
    """The account's trusted CA certificates (optionally of one service)."""
    _account(ctx, account_id)
    return [as_json(t) for t in ctx.store.list_trusted_certificates(account_id, service=service)]


@router.post("/accounts/{account_id}/trusted-certificates", status_code=201)
def add_trusted(account_id: str, body: NewTrustedCertificate, ctx: Ctx) -> dict[str, Any]:
    """Trust a CA certificate for the account's bootstrap or LwM2M service."""
    _account(ctx, account_id)
    with store_errors():
        return as_json(ctx.store.add_trusted_certificate(
            account_id, body.name, body.certificate, service=body.service, status=body.status,
            enrollment_mode=body.enrollment_mode, description=body.description))


@router.put("/trusted-certificates/{cert_id}")
def update_trusted(cert_id: str, body: TrustedCertificateChange, ctx: Ctx) -> dict[str, Any]:
    """Change a trusted certificate's enrollment mode or status."""
    with store_errors():
        return as_json(ctx.store.update_trusted_certificate(cert_id,
                                                            **body.model_dump(exclude_none=True)))


@router.post("/accounts/{account_id}/enrollments", status_code=201)
def enroll(account_id: str, body: NewEnrollment, ctx: Ctx) -> dict[str, Any]:
    """Add an enrollment identity (A-...) to the account's enrollment list."""
    _account(ctx, account_id)
    with store_errors():
        return as_json(ctx.store.add_enrollment(account_id, body.enrollment_identity))


@router.post("/accounts/{account_id}/developer-certificates", status_code=201)
def developer_certificate(account_id: str, body: NewDeveloperCertificate, ctx: Ctx) -> dict[str, Any]:
    """Issue a developer certificate: certificate, private key, bootstrap URI (with aid), server CA."""
    _account(ctx, account_id)
    with store_errors():
        dev = ctx.service.issue_developer_certificate(account_id, body.endpoint_name,
                                                      kind=body.transport)
    return {"id": dev.id, "account_id": dev.account_id, "endpoint_name": dev.endpoint_name,
            "certificate_pem": dev.credential.cert_pem.decode(),
            "private_key_pem": dev.credential.key_pem.decode(),
            "bootstrap_uri": dev.bootstrap_uri, "server_ca_pem": dev.server_ca_pem.decode()}
