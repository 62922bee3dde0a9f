"""Run the REST app with uvicorn as a task in the service's event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from typing import Any

import uvicorn

from harness.cloud.events import EventBus
from harness.cloud.rest.api_keys import ApiKeyStorage, key_hash
from harness.cloud.rest.app import build_app
from harness.cloud.rest.context import RestContext
from harness.cloud.rest.notifications import NotificationHub, RetryPolicy
from harness.cloud.rest.storage import RestStorage
from harness.cloud.store import Store
from harness.errors import HilError

log = logging.getLogger(__name__)
START_TIMEOUT = 10.0


class RestServer:
    """The running REST API: `url` to call it, `stop()` to end it."""

    def __init__(self, server: uvicorn.Server, task: asyncio.Task[None], ctx: RestContext,
                 bus: EventBus | None, sock: socket.socket) -> None:
        self._server = server
        self._task = task
        self.ctx = ctx
        self._bus = bus
        self._sock = sock
        host, port = sock.getsockname()[:2]
        self.host, self.port = host, port
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{port}"

    async def stop(self) -> None:
        """Stop serving, stop notification delivery, close the REST tables (idempotent)."""
        if self._bus is not None:
            self._bus.remove_listener(self.ctx.hub.on_event)
            self._bus = None
        self._server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(asyncio.shield(self._task), 5)
        if not self._task.done():
            self._task.cancel()
        for task in list(self.ctx.bulk_tasks):
            task.cancel()
        await self.ctx.hub.close()
        self.ctx.storage.close()
        self.ctx.api_keys.close()
        self._sock.close()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise HilError(f"The REST API cannot listen on {host}:{port} ({exc.strerror}); free the port "
                       "or set service.rest_port to 0.") from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


async def start_rest_server(store: Store, bus: EventBus | None, host: str = "127.0.0.1",
                            port: int = 0, policy: RetryPolicy | None = None, *,
                            service: Any = None, operator_key: str | None = None) -> RestServer:
    """Serve the API over `store` in the running loop; notifications are fed from `bus`.

    With `service` and `operator_key` the admin API (/admin/v1) serves the operator too.
    """
    storage = RestStorage(store.path)
    ctx = RestContext(store=store, storage=storage, hub=NotificationHub(storage, policy),
                      api_keys=ApiKeyStorage(store.path), service=service,
                      operator_hash=key_hash(operator_key) if operator_key else None)
    sock = _bind(host, port)
    config = uvicorn.Config(build_app(ctx), log_level="warning", access_log=False, lifespan="off",
                            ws="websockets-sansio", ws_ping_interval=None)
    server = uvicorn.Server(config)
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]), name="rest api")
    async with asyncio.timeout(START_TIMEOUT):
        while not server.started:
            if task.done():
                task.result()
                raise HilError("The REST API stopped while starting; see the service log.")
            await asyncio.sleep(0.01)
    if bus is not None:
        bus.add_listener(ctx.hub.on_event)
    log.info("REST API listening on %s:%s", *sock.getsockname()[:2])
    return RestServer(server, task, ctx, bus, sock)
