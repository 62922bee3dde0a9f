"""The admin API, part 4: an account's bootstrap configuration (the operator key only).

GET    /admin/v1/accounts/{aid}/bootstrap-config   the account's (or the service's, `"source"`)
PUT    /admin/v1/accounts/{aid}/bootstrap-config   set it (harness.config.bootstrap_config)
DELETE /admin/v1/accounts/{aid}/bootstrap-config   back to the service's
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response

from harness.cloud.rest.auth import Ctx, require_operator
from harness.cloud.rest.errors import ApiProblem
from harness.config.bootstrap_config import BootstrapConfig

router = APIRouter(prefix="/admin/v1", tags=["admin"], dependencies=[Depends(require_operator)])


def _check_account(ctx: Ctx, account_id: str) -> None:
    if ctx.store.get_account(account_id) is None:
        raise ApiProblem(404, f"No account {account_id[:40]!r}; list /admin/v1/accounts for the ids.")


@router.get("/accounts/{account_id}/bootstrap-config")
def get_bootstrap_config(account_id: str, ctx: Ctx) -> dict[str, Any]:
    """The configuration the account's bootstraps follow, and whose it is."""
    _check_account(ctx, account_id)
    own = ctx.store.bootstrap_configs.get(account_id)
    service = getattr(getattr(ctx.service, "bootstrap", None), "default_config", BootstrapConfig())
    config = own or service
    return {**config.model_dump(mode="json"), "source": "account" if own else "service"}


@router.put("/accounts/{account_id}/bootstrap-config")
def put_bootstrap_config(account_id: str, body: BootstrapConfig, ctx: Ctx) -> dict[str, Any]:
    """Set the account's configuration (unknown keys and bad paths are a 400 naming them)."""
    _check_account(ctx, account_id)
    ctx.store.bootstrap_configs.put(account_id, body)
    config = body
    return {**config.model_dump(mode="json"), "source": "account"}


@router.delete("/accounts/{account_id}/bootstrap-config", status_code=204)
def delete_bootstrap_config(account_id: str, ctx: Ctx) -> Response:
    """Back to the service's configuration."""
    _check_account(ctx, account_id)
    ctx.store.bootstrap_configs.delete(account_id)
    return Response(status_code=204)
