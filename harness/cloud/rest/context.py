"""What every REST handler needs: the service store, the REST tables, the notification hub."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from starlette.websockets import WebSocket

from harness.cloud.rest.api_keys import ApiKeyStorage
from harness.cloud.rest.notifications import NotificationHub
from harness.cloud.rest.storage import RestStorage
from harness.cloud.store import Store


@dataclass
class RestContext:
    """Shared state of the REST app (one per service)."""

    store: Store
    storage: RestStorage
    hub: NotificationHub
    api_keys: ApiKeyStorage
    operator_hash: str | None = None
    service: Any = None
    """The running service (admin API: URIs, events, faults, device operations)."""
    bulk_tasks: set[asyncio.Task[None]] = field(default_factory=set)


def get_context(request: Request) -> RestContext:
    """FastAPI dependency: the app's RestContext."""
    return request.app.state.ctx


def ws_context(websocket: WebSocket) -> RestContext:
    """The RestContext seen from a websocket handler."""
    return websocket.app.state.ctx
