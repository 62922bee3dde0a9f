"""/v3/applications and /v3/applications/{id}/verification-keys (JWT verification keys)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from harness import rest_models as models
from harness.cloud.rest import serialize
from harness.cloud.rest.auth import Caller, Ctx, require_admin
from harness.cloud.rest.context import RestContext
from harness.cloud.rest.errors import bad_request, not_found
from harness.cloud.rest.storage import Application, VerificationKey
from harness.cloud.rest.verification_certs import parse_verification_cert

router = APIRouter(tags=["applications"])
BASE = "/v3/applications"
Limit = Annotated[int, Query(ge=2, le=1000)]


def _own_app(ctx: RestContext, account_id: str, application_id: str) -> Application:
    app = ctx.storage.get_application(application_id)
    if app is None or app.account_id != account_id:
        raise not_found("application", application_id)
    return app


def _own_key(ctx: RestContext, app: Application, key_id: str) -> VerificationKey:
    key = ctx.storage.get_verification_key(key_id)
    if key is None or key.application_id != app.id:
        raise not_found("verification key", key_id)
    return key


@router.post(BASE, status_code=201, response_model=models.Application)
def create_application(body: models.ApplicationRequest, caller: Caller, ctx: Ctx) -> models.Application:
    """Create an application (administrator key only)."""
    require_admin(caller)
    return serialize.application(ctx.storage.create_application(
        caller.account_id, body.name, body.description, body.status))


@router.get(BASE, response_model=models.ListResponse[models.Application])
def list_applications(caller: Caller, ctx: Ctx, limit: Limit = 50, after: str | None = None,
                      order: str = "ASC") -> dict:
    """One page of the account's applications."""
    rows = ctx.storage.list_applications(caller.account_id)
    return serialize.page_of(rows, limit=limit, after=after, order=order, id_of=lambda r: r.id,
                             convert=serialize.application)


@router.get(BASE + "/{application_id}", response_model=models.Application)
def get_application(application_id: str, caller: Caller, ctx: Ctx) -> models.Application:
    """One application."""
    return serialize.application(_own_app(ctx, caller.account_id, application_id))


@router.put(BASE + "/{application_id}", response_model=models.Application)
def update_application(application_id: str, body: models.ApplicationUpdate, caller: Caller, ctx: Ctx
                       ) -> models.Application:
    """Rename, re-describe or (de)activate an application (administrator key only)."""
    require_admin(caller)
    _own_app(ctx, caller.account_id, application_id)
    return serialize.application(ctx.storage.update_application(application_id, **body.model_dump()))


@router.delete(BASE + "/{application_id}", status_code=204)
async def delete_application(application_id: str, caller: Caller, ctx: Ctx) -> Response:
    """Delete an application with its verification keys and channel (administrator key only)."""
    require_admin(caller)
    _own_app(ctx, caller.account_id, application_id)
    ctx.storage.delete_application(application_id)
    ctx.hub.channel_removed(f"app:{application_id}")
    return Response(status_code=204)


# ---------------------------------------------------------------- verification keys

KEYS = BASE + "/{application_id}/verification-keys"


@router.post(KEYS, status_code=201, response_model=models.VerificationKey)
def create_verification_key(application_id: str, body: models.VerificationKeyRequest, caller: Caller,
                            ctx: Ctx) -> models.VerificationKey:
    """Upload a verification key certificate (at most two per application; unique name)."""
    require_admin(caller)
    app = _own_app(ctx, caller.account_id, application_id)
    cert = parse_verification_cert(body.certificate)
    return serialize.verification_key(
        ctx.storage.add_verification_key(app, body.name, cert, body.description))


@router.get(KEYS, response_model=models.ListResponse[models.VerificationKey])
def list_verification_keys(application_id: str, caller: Caller, ctx: Ctx, limit: Limit = 50,
                           after: str | None = None, order: str = "ASC") -> dict:
    """The application's verification keys."""
    app = _own_app(ctx, caller.account_id, application_id)
    rows = ctx.storage.list_verification_keys(app.id)
    return serialize.page_of(rows, limit=limit, after=after, order=order, id_of=lambda r: r.id,
                             convert=serialize.verification_key)


@router.get(KEYS + "/{key_id}", response_model=models.VerificationKey)
def get_verification_key(application_id: str, key_id: str, caller: Caller, ctx: Ctx
                         ) -> models.VerificationKey:
    """One verification key."""
    app = _own_app(ctx, caller.account_id, application_id)
    return serialize.verification_key(_own_key(ctx, app, key_id))


@router.put(KEYS + "/{key_id}", response_model=models.VerificationKey)
def update_verification_key(application_id: str, key_id: str, body: models.VerificationKeyUpdate,
                            caller: Caller, ctx: Ctx) -> models.VerificationKey:
    """Rename, update the certificate or description, deactivate or reactivate a key."""
    require_admin(caller)
    app = _own_app(ctx, caller.account_id, application_id)
    key = _own_key(ctx, app, key_id)
    cert = parse_verification_cert(body.certificate) if body.certificate is not None else None
    still_expired = cert.expired() if cert is not None else key.expired()
    if body.status is not None and body.status != key.status and still_expired:
        raise bad_request(f"Verification key {key.name!r} has an expired certificate, so its status "
                          "cannot change; update the certificate to one valid now, or delete the key.",
                          "status")
    return serialize.verification_key(ctx.storage.update_verification_key(
        key, name=body.name, description=body.description, status=body.status, cert=cert))


@router.delete(KEYS + "/{key_id}", status_code=204)
def delete_verification_key(application_id: str, key_id: str, caller: Caller, ctx: Ctx) -> Response:
    """Delete a verification key; JWTs it signed stop working."""
    require_admin(caller)
    app = _own_app(ctx, caller.account_id, application_id)
    ctx.storage.delete_verification_key(_own_key(ctx, app, key_id).id)
    return Response(status_code=204)
