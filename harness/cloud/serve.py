"""`hil cloud serve` and `hil cloud devices`: run the service standalone, list the directory."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from harness.cloud.ca import ServicePki
from harness.cloud.developer import issue_developer_certificate
from harness.cloud.records import Device
from harness.cloud.service import DeviceManagementService
from harness.cloud.store import Store
from harness.config import ServiceConfig
from harness.devcreds import write_c_file
from harness.errors import HilError


def describe_service(service: DeviceManagementService) -> str:
    """The URIs of a running service and the server CA devices must trust (PEM)."""
    lines = ["Device Management service (local)", f"  data dir: {service.data_dir}"]
    for kind in service.bootstrap_server.bound if service.bootstrap_server else ():
        lines.append(f"  bootstrap {kind:<10} {service.bootstrap_uri(kind)}")
    for kind in service.lwm2m_server.bound if service.lwm2m_server else ():
        lines.append(f"  lwm2m     {kind:<10} {service.lwm2m_uri(kind)}")
    rest = getattr(service.rest, "url", None)
    if rest:
        lines.append(f"  rest api             {rest}")
    lines.append("Server CA to provision (mbed.BootstrapServerCACert / mbed.LwM2MServerCACert):")
    lines.append(service.server_ca_pem.decode().rstrip())
    return "\n".join(lines)


RUNTIME_FILE = "service.json"


def write_runtime_file(service: DeviceManagementService) -> Path:
    """Write `<data_dir>/service.json`: where the running service listens (for `hil provision`)."""
    info = {
        "pid": os.getpid(),
        "bootstrap": {k: service.bootstrap_uri(k) for k in service.bootstrap_server.bound},
        "lwm2m": {k: service.lwm2m_uri(k) for k in service.lwm2m_server.bound},
        "rest": getattr(service.rest, "url", None),
    }
    path = Path(service.data_dir) / RUNTIME_FILE
    path.write_text(json.dumps(info, indent=2) + "\n")
    return path


def read_runtime_file(data_dir: Path) -> dict[str, Any]:
    """The URIs of the service running on `data_dir`, or a clear error if none runs."""
    path = Path(data_dir) / RUNTIME_FILE
    try:
        info = json.loads(path.read_text())
        os.kill(int(info["pid"]), 0)
    except (OSError, ValueError, KeyError):
        raise HilError(f"No local Device Management service is running on {data_dir}; start "
                       f"`hil cloud serve --data-dir {data_dir}` in another terminal.") from None
    return info


async def serve(config: ServiceConfig, data_dir: Path | None, console: Console,
                stop: asyncio.Event | None = None, ready: asyncio.Event | None = None) -> None:
    """Run the service until `stop` is set (or the task is cancelled); `ready` is set once up."""
    service = DeviceManagementService(config, data_dir)
    await service.start()
    runtime = write_runtime_file(service)
    try:
        console.print(describe_service(service), highlight=False, markup=False)
        console.print("Serving; press Ctrl-C to stop.")
        if ready is not None:
            ready.set()
        await (stop or asyncio.Event()).wait()
    finally:
        runtime.unlink(missing_ok=True)
        await service.stop()


def run_service_forever(config: ServiceConfig, data_dir: Path | None = None,
                        console: Console | None = None) -> None:
    """Start the service, print its URIs and server CA, and serve until Ctrl-C."""
    console = console or Console()
    if data_dir is None and config.data_dir is None:
        console.print("No data_dir configured: the directory lives in a temp dir and is deleted "
                      "on exit; set service.data_dir in the lab config to keep it.")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(config, data_dir, console))
    console.print("Stopped.")


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


def list_devices(data_dir: Path, account_id: str | None = None, state: str | None = None,
                 console: Console | None = None) -> list[Device]:
    """Print the Device Directory stored in `data_dir` (works while the service runs)."""
    if not (Path(data_dir) / "service.sqlite3").exists():
        raise HilError(f"No service store in {data_dir}; point --data-dir at the service's "
                       "data_dir (service.data_dir in the lab config).")
    store = Store.open(Path(data_dir))
    try:
        devices = store.list_devices(account_id, state=state)
    finally:
        store.close()
    # piped into a file or grep: full rows, not the 80 columns rich assumes off a terminal
    (console or Console(width=None if sys.stdout.isatty() else 220)).print(devices_table(devices))
    return devices


def _bootstrap_uri(config: ServiceConfig, data_dir: Path) -> str:
    """The tls-record bootstrap URI of the service on `data_dir`: running, or its fixed port."""
    if (Path(data_dir) / RUNTIME_FILE).exists():
        uri = read_runtime_file(data_dir)["bootstrap"].get("tls-record")
        if uri:
            return uri
    if config.bootstrap.tls_record:
        return f"coaps://{config.host}:{config.bootstrap.tls_record}"
    raise HilError(f"The bootstrap port is picked at start (service.bootstrap.tls_record is 0) and "
                   f"no service runs on {data_dir}; start `hil cloud serve --data-dir {data_dir}` "
                   "first, or set a fixed port in the lab config.")


def write_developer_certificate(config: ServiceConfig, data_dir: Path, out: Path,
                                account_name: str = "developer") -> Path:
    """Issue a developer certificate from the service on `data_dir` and write it as a C file."""
    uri = _bootstrap_uri(config, data_dir)
    pki = ServicePki.load_or_create(Path(data_dir), config.host)
    store = Store.open(Path(data_dir))
    try:
        account = next((a for a in store.list_accounts() if a.name == account_name), None)
        account = account or store.create_account(account_name)
        cert = issue_developer_certificate(store, pki, account.id, uri)
    finally:
        store.close()
    return write_c_file(cert.c_credentials(), out)
