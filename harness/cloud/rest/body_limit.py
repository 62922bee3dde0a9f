"""Request-size bounds of the REST API: a 413 before a too-large body is read into memory."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.exceptions import HTTPException

from harness.cloud.rest.bulk_csv import MAX_CSV_BYTES
from harness.cloud.rest.errors import ApiProblem

MAX_JSON_BODY = 1024 * 1024
MAX_UPLOAD_BODY = MAX_CSV_BYTES + 1024 * 1024  # the CSV plus multipart framing
UPLOAD_PREFIX = "/v3/device-enrollments-bulk-"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]


def body_limit(path: str) -> int:
    """The largest request body accepted on `path` (bulk CSV uploads get the 10 MB CSV cap)."""
    return MAX_UPLOAD_BODY if path.startswith(UPLOAD_PREFIX) else MAX_JSON_BODY


def _too_large(limit: int) -> str:
    return (f"The request body is larger than the {limit} bytes allowed here; send less "
            "(split a bulk CSV into smaller files).")


class BodyLimitMiddleware:
    """ASGI middleware: 413 for a declared Content-Length over the limit, and for a streamed
    body as soon as it passes the limit (the route's exception handlers answer that one)."""

    def __init__(self, app: Asgi) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass HTTP requests through with their body size checked."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope.get("path", ""))
        declared = dict(scope.get("headers") or ()).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await _send_413(send, limit)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise HTTPException(413, _too_large(limit))
            return message

        await self.app(scope, limited_receive, send)


async def _send_413(send: Send, limit: int) -> None:
    body = json.dumps(ApiProblem(413, _too_large(limit)).body()).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
