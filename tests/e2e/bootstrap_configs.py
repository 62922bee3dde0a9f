"""Setting an account's bootstrap configuration from an e2e scenario (admin API, local or remote)."""

from __future__ import annotations

from typing import Any

import pytest


def configure(cloud: Any, account: Any, config: dict[str, Any]) -> dict[str, Any]:
    """PUT the account's bootstrap configuration over the admin API; the stored configuration."""
    admin = getattr(cloud, "admin", None)
    if admin is None:
        pytest.skip(f"{type(cloud).__name__} has no admin API to set a bootstrap configuration")
    path = f"/admin/v1/accounts/{account.id}/bootstrap-config"
    stored = admin.rest.request("PUT", path, expect=200, json_body=config).json()
    assert stored["source"] == "account", stored
    return stored
