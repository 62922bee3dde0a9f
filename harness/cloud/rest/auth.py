"""Authentication: admin API keys (ak_...) and application JWTs (Bearer + X-Application-ID)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header

from harness.cloud.rest.api_keys import API_KEY_PREFIX, OPERATOR_KEY_PREFIX, is_operator_key
from harness.cloud.rest.context import RestContext, get_context
from harness.cloud.rest.errors import ApiProblem, unauthorized
from harness.cloud.rest.jwt_verify import KeyCandidate, verify_application_jwt


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


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header (401 when missing or malformed)."""
    if not authorization:
        raise unauthorized("The Authorization header is missing; send 'Authorization: Bearer <key>'.")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise unauthorized("The Authorization header must be 'Bearer <API key or JWT>'.")
    return token


def _operator_as_account(ctx: RestContext, token: str, account_id: str | None) -> Principal:
    """The operator acting in one account's API (X-Account-ID), e.g. `hil cloud app create`."""
    if not is_operator_key(token, ctx.operator_hash):
        raise unauthorized("The operator key is not valid; read it from the service's data dir "
                           "(operator-key).")
    if not account_id:
        raise unauthorized("The operator key needs the X-Account-ID header naming the account to "
                           "act in; add it, or use one of the account's API keys.")
    if ctx.store.get_account(account_id) is None:
        raise unauthorized(f"Account {account_id[:40]!r} is unknown; check X-Account-ID.")
    return Principal(account_id, "admin")


def authenticate(ctx: RestContext, authorization: str | None, application_id: str | None,
                 account_id: str | None = None) -> Principal:
    """Check the Authorization (+ X-Application-ID) headers; raise a 401 saying what is wrong."""
    token = bearer_token(authorization)
    if token.startswith(OPERATOR_KEY_PREFIX):
        return _operator_as_account(ctx, token, account_id)
    if token.startswith(API_KEY_PREFIX):
        account = ctx.store.account_by_api_key(token)
        owner = account.id if account is not None else ctx.api_keys.account_of(token)
        if owner is None:
            raise unauthorized("The API key is not valid; use one of the account's API keys.")
        return Principal(owner, "admin")
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
    x_account_id: Annotated[str | None, Header()] = None,
) -> Principal:
    """FastAPI dependency: the authenticated caller."""
    return authenticate(ctx, authorization, x_application_id, x_account_id)


def require_operator(
    ctx: Annotated[RestContext, Depends(get_context)],
    authorization: Annotated[str | None, Header()] = None,
) -> None:
    """FastAPI dependency of the admin API: the caller must send the service's operator key."""
    if not is_operator_key(bearer_token(authorization), ctx.operator_hash):
        raise unauthorized("The admin API needs the service's operator key (the operator-key file "
                           "in its data dir); send 'Authorization: Bearer <operator key>'.")


def require_admin(principal: Principal) -> None:
    """403 unless the caller uses the administrator API key."""
    if principal.kind != "admin":
        raise ApiProblem(403, "Only an administrator API key may do this; use the account's ak_ key.")


Caller = Annotated[Principal, Depends(current_principal)]
Ctx = Annotated[RestContext, Depends(get_context)]
