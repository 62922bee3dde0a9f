"""Authentication before anything else: a caller without valid credentials gets its 401 before
the body is read, parsed or size-checked (so a 400 or 413 never tells a stranger anything)."""

from __future__ import annotations

import json

from harness.cloud.rest.auth import authenticate, require_operator
from harness.cloud.rest.body_limit import Asgi, Receive, Scope, Send
from harness.cloud.rest.context import RestContext
from harness.cloud.rest.errors import ApiProblem

ACCOUNT_API = ("/v2/", "/v3/")
ADMIN_API = "/admin/"


class AuthFirstMiddleware:
    """ASGI middleware: HTTP requests to the account API (/v2, /v3) and the admin API (/admin)
    authenticate first; the routes' own dependencies then decide what the caller may do."""

    def __init__(self, app: Asgi, ctx: RestContext) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer 401 at once for missing or bad credentials; else pass the request on."""
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path.startswith(ACCOUNT_API) or path.startswith(ADMIN_API):
            headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                       for k, v in scope.get("headers") or ()}
            try:
                if path.startswith(ADMIN_API):
                    require_operator(self.ctx, headers.get("authorization"))
                else:
                    authenticate(self.ctx, headers.get("authorization"),
                                 headers.get("x-application-id"), headers.get("x-account-id"))
            except ApiProblem as problem:
                await _send_problem(send, problem)
                return
        await self.app(scope, receive, send)


async def _send_problem(send: Send, problem: ApiProblem) -> None:
    body = json.dumps(problem.body()).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if problem.status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": problem.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
