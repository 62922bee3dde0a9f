"""The bench commands on a running `hil cloud serve` (through its admin API, never its files):
accounts, API keys, applications with verification keys, the directory, developer certificates.

API keys are printed once, on stdout alone (so `KEY=$(hil cloud api-key create ...)` works), and
never written anywhere else.
"""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from harness.cloud.records import Account, Device
from harness.cloud.runtime import service_endpoint
from harness.devcreds import write_c_file
from harness.errors import HilError
from harness.rest_client import ApiError
from harness.services.admin_client import AdminClient


def admin_for(data_dir: Path) -> AdminClient:
    """The admin API of the service running on `data_dir`."""
    url, key = service_endpoint(Path(data_dir))
    return AdminClient(url, key)


def _console() -> Console:
    # piped into a file or grep: full rows, not the 80 columns rich assumes off a terminal
    return Console(width=None if sys.stdout.isatty() else 220)


def find_account(admin: AdminClient, name_or_id: str) -> Account:
    """The account with this name or id (a clear error listing the names otherwise)."""
    accounts = admin.accounts()
    for account in accounts:
        if name_or_id in (account.name, account.id):
            return account
    shown = [a.name for a in accounts[-10:]]
    more = f" and {len(accounts) - 10} older" if len(accounts) > 10 else ""
    names = (", ".join(shown) + more) or "none yet"
    raise HilError(f"No account {name_or_id!r} on this service (accounts: {names}); create it with "
                   f"`hil cloud account create {name_or_id}`.")


def account_create(data_dir: Path, name: str, *, device_quota: int, commercial: bool) -> Account:
    """Create an account; print its id."""
    with admin_for(data_dir) as admin:
        if admin.account_named(name) is not None:
            raise HilError(f"An account named {name!r} exists already; choose another name or use "
                           "it (`hil cloud account list`).")
        account = admin.create_account(name, device_quota=device_quota, commercial=commercial)
    print(f"account {account.name}: id {account.id} (quota {account.device_quota}, "
          f"{'commercial' if account.commercial else 'not commercial'})")
    return account


def account_list(data_dir: Path) -> list[Account]:
    """Print the accounts."""
    with admin_for(data_dir) as admin:
        accounts = admin.accounts()
    table = Table(title=f"Accounts ({len(accounts)})")
    for column in ("id", "name", "quota", "commercial", "created"):
        table.add_column(column, no_wrap=column == "id")
    for a in accounts:
        table.add_row(a.id, a.name, str(a.device_quota), "yes" if a.commercial else "no",
                      a.created_at.strftime("%Y-%m-%d %H:%M:%S"))
    _console().print(table)
    return accounts


def api_key_create(data_dir: Path, account: str, name: str) -> None:
    """Make an API key and print it once (stdout, alone); the note goes to stderr."""
    with admin_for(data_dir) as admin:
        target = find_account(admin, account)
        issued = admin.create_api_key(target.id, name)
    print(issued.key)
    print(f"API key {issued.id} ({name}) of account {target.name}: shown once, the service keeps "
          "only its hash; use it as 'Authorization: Bearer <key>'.", file=sys.stderr)


def api_key_list(data_dir: Path, account: str) -> None:
    """Print the account's API keys (never the keys)."""
    with admin_for(data_dir) as admin:
        target = find_account(admin, account)
        keys = admin.api_keys(target.id)
    table = Table(title=f"API keys of {target.name} ({len(keys)})")
    for column in ("id", "name", "created"):
        table.add_column(column)
    for k in keys:
        table.add_row(k["id"], k["name"], k["created_at"])
    _console().print(table)


def app_create(data_dir: Path, account: str, name: str, description: str = "") -> str:
    """Create an application in the account; print its id."""
    with admin_for(data_dir) as admin, admin.as_account(find_account(admin, account).id) as api:
        app = api.create_application(name, description=description)
    print(f"application {app.name}: id {app.id}")
    return app.id


def app_add_key(data_dir: Path, account: str, app_id: str, cert_file: Path, name: str) -> str:
    """Add a verification key (an X.509 certificate in PEM) to an application; print its id."""
    try:
        pem = Path(cert_file).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise HilError(f"Cannot read the certificate {cert_file} ({exc}); give a PEM file.") from None
    with admin_for(data_dir) as admin, admin.as_account(find_account(admin, account).id) as api:
        try:
            key = api.create_verification_key(app_id, name, pem)
        except ApiError as exc:
            raise HilError(f"The service refused the verification key: {exc.message or exc.status}")\
                from None
    print(f"verification key {key.name}: id {key.id} (application {app_id})")
    return key.id


def app_list(data_dir: Path, account: str) -> None:
    """Print the account's applications and their verification keys."""
    with admin_for(data_dir) as admin, admin.as_account(find_account(admin, account).id) as api:
        apps = api.list_applications(limit=1000).data
        table = Table(title=f"Applications ({len(apps)})")
        for column in ("id", "name", "status", "verification keys"):
            table.add_column(column)
        for app in apps:
            keys = api.list_verification_keys(app.id).data
            table.add_row(app.id, app.name, app.status, ", ".join(k.name for k in keys) or "-")
    _console().print(table)


def devices_table(devices: list[Device]) -> Table:
    """A rich table of Device Directory entries."""
    table = Table(title=f"Device Directory ({len(devices)} devices)")
    for column in ("device id", "account", "endpoint name", "state", "mode", "binding",
                   "lifetime", "last seen"):
        table.add_column(column, no_wrap=column in ("device id", "account"))
    for d in devices:
        mode = {1: "developer", 5: "production"}.get(d.execution_mode, "-")
        table.add_row(d.id, d.account_id, d.endpoint_name, str(d.state),
                      f"{mode}/{d.lwm2m_mode}", d.binding or "-", str(d.lifetime or "-"),
                      d.last_seen.strftime("%Y-%m-%d %H:%M:%S") if d.last_seen else "-")
    return table


def list_devices(data_dir: Path, account: str | None = None, state: str | None = None,
                 console: Console | None = None) -> list[Device]:
    """Print the Device Directory of the running service."""
    with admin_for(data_dir) as admin:
        account_id = find_account(admin, account).id if account else None
        devices = admin.devices(account_id, state=state)
    (console or _console()).print(devices_table(devices))
    return devices


def write_developer_certificate(data_dir: Path, out: Path, account_name: str = "developer") -> Path:
    """Issue a developer certificate from the running service and write it as a C file."""
    with admin_for(data_dir) as admin:
        account = admin.account_named(account_name) or admin.create_account(account_name)
        dev = admin.developer_certificate(account.id)
    return write_c_file(dev.c_credentials(), out)
