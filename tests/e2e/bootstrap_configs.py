"""Setting an account's bootstrap configuration from an e2e scenario (admin API, local or remote)."""

from __future__ import annotations

from typing import Any

import pytest

from harness.cloud import events as ev

ACCOUNT_WRITES = ["PUT /0/0 2.04", "PUT /1/0 2.04"]
"""The service's writes of the LwM2M account (object-instance TLV), both acknowledged."""
BS_FIN_INVALID = "BS FIN fails :Invalid security object"
"""The real client's details when a write leaves a security instance unusable (code 2)."""


def configure(cloud: Any, account: Any, config: dict[str, Any]) -> dict[str, Any]:
    """PUT the account's bootstrap configuration over the admin API; the stored configuration."""
    admin = getattr(cloud, "admin", None)
    if admin is None:
        pytest.skip(f"{type(cloud).__name__} has no admin API to set a bootstrap configuration")
    path = f"/admin/v1/accounts/{account.id}/bootstrap-config"
    stored = admin.rest.request("PUT", path, expect=200, json_body=config).json()
    assert stored["source"] == "account", stored
    return stored


def bootstrap_event(device: Any, kind: str = ev.BOOTSTRAP) -> ev.Event:
    """The device's account's next bootstrap event of `kind`."""
    return device.wait_event(kind, where=lambda e: e.account_id == device.account.id)


def check_refused_resource_write(cloud: Any, account: Any, factory: Any, device: Any,
                                 path: str, value: int) -> None:
    """A one-resource write of `path` after the account replaces the security instance: the
    client answers 4.00 and reports `BS FIN fails :Invalid security object`
    (ConnectBootstrapFailed, code 2); the service reports the refused step, sends no Finish."""
    configure(cloud, account, {"extra_writes": [{"path": path, "value": value}]})
    factory.bootstrap(ca=factory.own_ca())
    error = device.wait_error()
    assert (error.name, error.code, error.details) == ("ConnectBootstrapFailed", 2, BS_FIN_INVALID)
    failed = bootstrap_event(device, ev.BOOTSTRAP_ERROR)
    assert failed.data["operations"] == [*ACCOUNT_WRITES, f"PUT {path} 4.00"]
    assert failed.data["reason"].startswith(f"PUT {path} answered 4.00")
