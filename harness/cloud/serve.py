"""`hil cloud serve`: run the service standalone, say where it listens and how to call its REST API."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from pathlib import Path

from rich.console import Console

from harness.cloud.runtime import OPERATOR_KEY_FILE, RUNTIME_FILE
from harness.cloud.service import DeviceManagementService
from harness.config import ServiceConfig


def describe_service(service: DeviceManagementService) -> str:
    """The URIs of a running service, how to reach its REST API, the server CA devices trust."""
    lines = ["Device Management service (local)", f"  data dir: {service.data_dir}"]
    for kind in service.bootstrap_server.bound if service.bootstrap_server else ():
        lines.append(f"  bootstrap {kind:<10} {service.bootstrap_uri(kind)}")
    for kind in service.lwm2m_server.bound if service.lwm2m_server else ():
        lines.append(f"  lwm2m     {kind:<10} {service.lwm2m_uri(kind)}")
    rest = getattr(service.rest, "url", None)
    if rest:
        data_dir = service.data_dir
        lines += [
            f"  rest api             {rest}  (OpenAPI: {rest}/docs)",
            f"  operator key         {data_dir / OPERATOR_KEY_FILE}  (admin API /admin/v1; keep "
            "it private)",
            "Call the REST API with an account's API key:",
            f"  hil cloud account create my-account --data-dir {data_dir}",
            f"  KEY=$(hil cloud api-key create --account my-account --data-dir {data_dir})",
            f'  curl -H "Authorization: Bearer $KEY" {rest}/v3/devices',
        ]
    lines.append("Server CA to provision (mbed.BootstrapServerCACert / mbed.LwM2MServerCACert):")
    lines.append(service.server_ca_pem.decode().rstrip())
    return "\n".join(lines)


def write_runtime_file(service: DeviceManagementService) -> Path:
    """Write `<data_dir>/service.json`: where the running service listens (for the bench commands)."""
    info = {
        "pid": os.getpid(),
        "bootstrap": {k: service.bootstrap_uri(k) for k in service.bootstrap_server.bound},
        "lwm2m": {k: service.lwm2m_uri(k) for k in service.lwm2m_server.bound},
        "rest": getattr(service.rest, "url", None),
    }
    path = Path(service.data_dir) / RUNTIME_FILE
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(info, indent=2) + "\n")
    tmp.replace(path)  # readers never see half a file
    return path


async def serve(config: ServiceConfig, data_dir: Path | None, console: Console,
                stop: asyncio.Event | None = None, ready: asyncio.Event | None = None) -> None:
    """Run the service until `stop` is set (or the task is cancelled); `ready` is set once up."""
    service = DeviceManagementService(config, data_dir)
    await service.start()
    runtime = write_runtime_file(service)
    try:
        console.print(describe_service(service), highlight=False, markup=False, soft_wrap=True)
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
