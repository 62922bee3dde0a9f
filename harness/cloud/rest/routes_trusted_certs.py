"""/v3/trusted-certificates: the CAs the bootstrap and LwM2M servers trust (shared store)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from harness import rest_models as models
from harness.cloud.rest import serialize
from harness.cloud.rest.auth import Caller, Ctx
from harness.cloud.rest.context import RestContext
from harness.cloud.rest.errors import bad_request, conflict, not_found
from harness.cloud.store import ConflictError, StoreError
from harness.errors import HilError
from harness.pki import load_certificate_chain

router = APIRouter(tags=["trusted certificates"])
BASE = "/v3/trusted-certificates"


def _check_pem(pem: str) -> None:
    try:
        load_certificate_chain(pem)
    except HilError as exc:
        raise bad_request(f"The certificate is not usable: {exc}", "certificate") from None


def _own(ctx: RestContext, account_id: str, cert_id: str):
    row = ctx.store.get_trusted_certificate(cert_id)
    if row is None or row.account_id != account_id:
        raise not_found("trusted certificate", cert_id)
    return row


@router.post(BASE, status_code=201, response_model=models.TrustedCertificate)
def create_trusted_certificate(body: models.TrustedCertificateRequest, caller: Caller, ctx: Ctx
                               ) -> models.TrustedCertificate:
    """Upload a CA certificate for the bootstrap or LwM2M service (409 duplicate name/subject)."""
    _check_pem(body.certificate)
    try:
        row = ctx.store.add_trusted_certificate(
            caller.account_id, body.name, body.certificate, service=body.service, status=body.status,
            enrollment_mode=body.enrollment_mode, description=body.description)
    except ConflictError as exc:
        raise conflict(str(exc)) from None
    except StoreError as exc:
        raise bad_request(str(exc)) from None
    return serialize.trusted_certificate(row)


@router.get(BASE, response_model=models.ListResponse[models.TrustedCertificate])
def list_trusted_certificates(
    caller: Caller, ctx: Ctx, limit: Annotated[int, Query(ge=2, le=1000)] = 50,
    after: str | None = None, order: str = "ASC", service__eq: str | None = None,
    name__eq: str | None = None, status__eq: str | None = None,
) -> dict:
    """One page of the account's trusted certificates (filters: service, name, status)."""
    rows = ctx.store.list_trusted_certificates(caller.account_id, service=service__eq)
    rows = [r for r in rows if (name__eq is None or r.name == name__eq)
            and (status__eq is None or r.status == status__eq.upper())]
    return serialize.page_of(rows, limit=limit, after=after, order=order, id_of=lambda r: r.id,
                             convert=serialize.trusted_certificate)


@router.get(BASE + "/{cert_id}", response_model=models.TrustedCertificate)
def get_trusted_certificate(cert_id: str, caller: Caller, ctx: Ctx) -> models.TrustedCertificate:
    """One trusted certificate."""
    return serialize.trusted_certificate(_own(ctx, caller.account_id, cert_id))


@router.put(BASE + "/{cert_id}", response_model=models.TrustedCertificate)
def update_trusted_certificate(cert_id: str, body: models.TrustedCertificateUpdate, caller: Caller,
                               ctx: Ctx) -> models.TrustedCertificate:
    """Change name, service, status, enrollment_mode, description or the certificate itself
    (e.g. a renewed CA; 409 if another trusted certificate of the account has its subject)."""
    row = _own(ctx, caller.account_id, cert_id)
    changes = body.model_dump(exclude_none=True, exclude={"certificate", "signature"})
    if body.certificate is not None:
        _check_pem(body.certificate)
        new = load_certificate_chain(body.certificate)[0]
        if new != load_certificate_chain(row.certificate)[0]:
            subject = new.subject.rfc4514_string()
            if any(other.id != row.id and other.subject == subject
                   for other in ctx.store.list_trusted_certificates(row.account_id)):
                raise conflict(f"Another trusted certificate of the account has subject {subject}; "
                               "delete it first or upload a CA with another subject.")
            changes["certificate"] = body.certificate
    if changes.get("name") not in (None, row.name) and any(
            other.name == changes["name"] for other in ctx.store.list_trusted_certificates(row.account_id)):
        raise conflict(f"A trusted certificate named {changes['name']!r} already exists; "
                       "choose another name.")
    try:
        row = ctx.store.update_trusted_certificate(cert_id, **changes) if changes else row
    except ConflictError as exc:
        raise conflict(str(exc)) from None
    except StoreError as exc:
        raise bad_request(str(exc)) from None
    return serialize.trusted_certificate(row)


@router.delete(BASE + "/{cert_id}", status_code=204)
def delete_trusted_certificate(cert_id: str, caller: Caller, ctx: Ctx) -> Response:
    """Delete a trusted certificate: devices under it can no longer bootstrap."""
    _own(ctx, caller.account_id, cert_id)
    ctx.store.delete_trusted_certificate(cert_id)
    return Response(status_code=204)
