"""The admin API, part 3: standard LwM2M clients (the operator key only).

GET    /admin/v1/psk-identities[?account_id]         PSK identities (never their keys)
PUT    /admin/v1/psk-identities/{identity}           let a DTLS PSK device in (key in hex)
DELETE /admin/v1/psk-identities/{identity}           forget it
POST   /admin/v1/accounts/{aid}/device-certificates  an X.509 LwM2M certificate for a standard
                                                     DTLS client (certificate, key, server CA)
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field

from harness.cloud.records import DeviceState
from harness.cloud.rest.auth import Ctx, require_operator
from harness.cloud.rest.errors import ApiProblem
from harness.cloud.rest.routes_admin import store_errors

router = APIRouter(prefix="/admin/v1", tags=["admin"], dependencies=[Depends(require_operator)])


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PskKeyBody(_Body):
    """PUT /admin/v1/psk-identities/{identity}."""

    key_hex: str = Field(pattern=r"^([0-9A-Fa-f]{2}){8,64}$")
    account_id: str | None = None
    """Default: the service's standard account."""
    endpoint_name: str | None = None

    def __repr__(self) -> str:  # never show the key
        return f"PskKeyBody(account_id={self.account_id!r}, key=<redacted>)"


class NewDeviceCertificate(_Body):
    """POST /admin/v1/accounts/{aid}/device-certificates."""

    endpoint_name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")


def _psk_json(record: Any) -> dict[str, Any]:
    return {"identity": record.identity, "account_id": record.account_id,
            "endpoint_name": record.endpoint_name}


@router.get("/psk-identities")
def list_psk(ctx: Ctx, account_id: str | None = None) -> list[dict[str, Any]]:
    """PSK identities (the keys stay in the service)."""
    return [_psk_json(r) for r in ctx.store.psk.list(account_id)]


@router.put("/psk-identities/{identity}")
def put_psk(identity: str, body: PskKeyBody, ctx: Ctx) -> dict[str, Any]:
    """Add or replace the key of a PSK identity."""
    if not 0 < len(identity) <= 128:
        raise ApiProblem(400, "A PSK identity has 1 to 128 characters.")
    with store_errors():
        ctx.service.add_psk(identity, bytes.fromhex(body.key_hex), body.account_id,
                            body.endpoint_name)
    record = ctx.store.psk.get(identity)
    return _psk_json(record)


@router.delete("/psk-identities/{identity}", status_code=204)
def delete_psk(identity: str, ctx: Ctx) -> Response:
    """Forget a PSK identity (its next handshake fails)."""
    if not ctx.store.psk.delete(identity):
        raise ApiProblem(404, f"No PSK identity {identity[:40]!r}; list /admin/v1/psk-identities.")
    return Response(status_code=204)


@router.post("/accounts/{account_id}/device-certificates", status_code=201)
def device_certificate(account_id: str, body: NewDeviceCertificate, ctx: Ctx) -> dict[str, Any]:
    """A directory entry and its LwM2M certificate (CN endpoint, OU account, L device id)."""
    if ctx.store.get_account(account_id) is None:
        raise ApiProblem(404, f"No account {account_id[:40]!r}; list /admin/v1/accounts.")
    service = ctx.service
    with store_errors():
        device = ctx.store.create_device(account_id, body.endpoint_name,
                                         state=DeviceState.UNENROLLED, lwm2m_mode="bootstrap")
        validity = dt.timedelta(seconds=service.config.timing.lwm2m_credential_validity)
        cred = service.pki.issue_lwm2m_credential(body.endpoint_name, account_id, device.id,
                                                  validity)
        ctx.store.update_device(device.id,
                                connector_expiration_date=cred.cert.not_valid_after_utc)
    return {"device_id": device.id, "account_id": account_id,
            "endpoint_name": body.endpoint_name, "certificate_pem": cred.chain_pem.decode(),
            "private_key_pem": cred.key_pem.decode(),
            "server_ca_pem": service.server_ca_pem.decode()}
