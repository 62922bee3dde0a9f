"""The FastAPI application of the v3/v2 REST API (OpenAPI at /openapi.json)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from harness.cloud.rest import (
    openapi_doc,
    routes_admin,
    routes_admin_bootstrap,
    routes_admin_observe,
    routes_admin_standard,
    routes_applications,
    routes_devices,
    routes_enrollments,
    routes_notifications,
    routes_trusted_certs,
)
from harness.cloud.rest.auth_first import AuthFirstMiddleware
from harness.cloud.rest.body_limit import BodyLimitMiddleware
from harness.cloud.rest.context import RestContext
from harness.cloud.rest.errors import ApiProblem

log = logging.getLogger(__name__)


def _validation_message(exc: RequestValidationError) -> tuple[str, list[dict[str, str]]]:
    fields, parts = [], []
    for error in exc.errors():
        loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path", "header")]
        name = ".".join(loc) or "body"
        msg = str(error.get("msg", "invalid"))
        fields.append({"name": name, "message": msg})
        parts.append(f"{name}: {msg}")
    return "Invalid request (" + "; ".join(parts) + "); fix these fields and retry.", fields


def build_app(ctx: RestContext) -> FastAPI:
    """A FastAPI app serving the API over the given context."""
    app = FastAPI(title="dm-hil local Device Management API", version="3",
                  description="v3 shapes of the Device Management API, for hardware-in-the-loop tests.")
    app.state.ctx = ctx
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(AuthFirstMiddleware, ctx=ctx)  # added last: runs first

    @app.exception_handler(ApiProblem)
    async def _problem(_: Request, exc: ApiProblem) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        message, fields = _validation_message(exc)
        return JSONResponse(ApiProblem(400, message, fields=fields).body(), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = str(exc.detail)
        if exc.status_code == 404:
            message = f"No such endpoint {request.method} {request.url.path}; see /openapi.json."
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}; see /openapi.json."
        return JSONResponse(ApiProblem(exc.status_code, message).body(), status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        log.error("REST %s %s failed: %s", request.method, request.url.path, type(exc).__name__,
                  exc_info=exc)
        problem = ApiProblem(500, "The local service hit an internal error; see its log.")
        return JSONResponse(problem.body(), status_code=500)

    for module in (routes_enrollments, routes_trusted_certs, routes_devices, routes_applications,
                   routes_notifications, routes_admin, routes_admin_observe,
                   routes_admin_standard, routes_admin_bootstrap):
        app.include_router(module.router)
    openapi_doc.install(app)
    return app
