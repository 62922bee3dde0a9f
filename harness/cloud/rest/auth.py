"""Authentication: admin API keys (ak_...) and application JWTs (Bearer + X-Application-ID)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header

from harness.cloud.rest.context import RestContext, get_context
from harness.cloud.rest.errors import ApiProblem, unauthorized
from harness.cloud.rest.jwt_verify import KeyCandidate, verify_application_jwt

API_KEY_PREFIX = "ak_"


@dataclass(frozen=True)
class Principal:
    """Who is calling: an account's administrator key or one of its applications."""

    account_id: str
    kind: str  # "admin" | "application"
    application_id: str | None = None

    @property
    def owner(self) -> str:
        """The notification-channel owner: one channel per key / application."""
        return f"app:{self.application_id}" if self.application_id else f"admin:{self.account_id}"


def authenticate(ctx: RestContext, authorization: str | None, application_id: str | None
                 ) -> Principal:
    """Check the Authorization (+ X-Application-ID) headers; raise a 401 saying what is wrong."""
    if not authorization:
        raise unauthorized("The Authorization header is missing; send 'Authorization: Bearer <key>'.")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise unauthorized("The Authorization header must be 'Bearer <API key or JWT>'.")
    if token.startswith(API_KEY_PREFIX):
        account = ctx.store.account_by_api_key(token)
        if account is None:
            raise unauthorized("The API key is not valid; use the account's administrator key.")
        return Principal(account.id, "admin")
    if not application_id:
        raise unauthorized("A JWT needs the X-Application-ID header naming the application whose "
                           "verification key signed it; add the header.")
    app = ctx.storage.get_application(application_id)
    if app is None:
        raise unauthorized(f"Application {application_id[:40]!r} is unknown; check X-Application-ID.",
                           "unknown_application")
    if app.status != "ACTIVE":
        raise unauthorized(f"Application {app.id} is inactive; reactivate it to use its JWTs.")
    keys = [KeyCandidate(k.id, k.name, k.status, k.certificate)
            for k in ctx.storage.list_verification_keys(app.id)]
    verify_application_jwt(token, app.id, keys)
    return Principal(app.account_id, "application", app.id)


def current_principal(
    ctx: Annotated[RestContext, Depends(get_context)],
    authorization: Annotated[str | None, Header()] = None,
    x_application_id: Annotated[str | None, Header()] = None,
) -> Principal:
    """FastAPI dependency: the authenticated caller."""
    return authenticate(ctx, authorization, x_application_id)


def require_admin(principal: Principal) -> None:
    """403 unless the caller uses the administrator API key."""
    if principal.kind != "admin":
        raise ApiProblem(403, "Only an administrator API key may do this; use the account's ak_ key.")


Caller = Annotated[Principal, Depends(current_principal)]
Ctx = Annotated[RestContext, Depends(get_context)]
