"""The OpenAPI document as the API answers: the error statuses each operation can return (with
the v3 error body), and no FastAPI 422 (validation errors are answered 400)."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "required": ["object", "code", "type", "message"],
    "properties": {
        "object": {"type": "string", "enum": ["error"]},
        "code": {"type": "integer"},
        "type": {"type": "string"},
        "message": {"type": "string"},
        "request_id": {"type": "string"},
        "fields": {"type": "array", "items": {"type": "object", "properties": {
            "name": {"type": "string"}, "message": {"type": "string"}}}},
    },
}
_DESCRIPTIONS = {"400": "Invalid request", "401": "Missing or invalid credentials",
                 "403": "Not allowed for this caller", "404": "No such object",
                 "409": "Conflicts with an existing object", "413": "Request body too large"}
_AUTHENTICATED = ("/v2/", "/v3/", "/admin/")
_NAMES_AN_OBJECT_IN_THE_BODY = {"/admin/v1/faults/directory-entries"}
_CHANNELS = {"/v2/notification/callback", "/v2/notification/websocket"}  # GET/DELETE: 404 if unset
_AUTH_HEADERS = {"authorization", "x-application-id", "x-account-id"}
SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer",
               "description": "An account's API key (ak_...), an application's JWT (with "
                              "X-Application-ID) or, on /admin/v1, the operator key (op_...)."},
    "applicationId": {"type": "apiKey", "in": "header", "name": "X-Application-ID",
                      "description": "The application whose verification keys sign the JWT."},
    "accountId": {"type": "apiKey", "in": "header", "name": "X-Account-ID",
                  "description": "The account the operator key acts in (v3 and v2 only)."},
}
_ACCOUNT_SECURITY = [{"bearer": []}, {"bearer": [], "applicationId": []},
                     {"bearer": [], "accountId": []}]


def _error_statuses(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    statuses = []
    if operation.get("requestBody") or operation.get("parameters"):
        statuses.append("400")
    if path.startswith(_AUTHENTICATED):
        statuses += ["401", "403"]
    if "{" in path or path in _NAMES_AN_OBJECT_IN_THE_BODY or (
            path in _CHANNELS and method in ("get", "delete")):
        statuses.append("404")  # no such object, or no such channel
    if method in ("post", "put"):
        statuses.append("409")
    if operation.get("requestBody"):
        statuses.append("413")
    return statuses


_ORDER = {"type": "string", "default": "ASC", "title": "Order",
          "pattern": "^([Aa][Ss][Cc]|[Dd][Ee][Ss][Cc])$", "description": "ASC or DESC, any case"}


def _declare_order(operation: dict[str, Any]) -> None:
    """The list `order` parameter takes ASC or DESC only (checked by the handler)."""
    for param in operation.get("parameters", []):
        if param.get("in") == "query" and param.get("name") == "order":
            param["schema"] = dict(_ORDER)


def _declare_security(path: str, operation: dict[str, Any]) -> None:
    """The credential headers as security requirements, not as optional parameters."""
    params = [p for p in operation.get("parameters", [])
              if not (p.get("in") == "header" and p.get("name", "").lower() in _AUTH_HEADERS)]
    if len(params) != len(operation.get("parameters", [])):
        operation["parameters"] = params
        if not params:
            del operation["parameters"]
    if path.startswith("/admin/"):
        operation["security"] = [{"bearer": []}]
    elif path.startswith(_AUTHENTICATED):
        operation["security"] = _ACCOUNT_SECURITY


def document(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document with the error responses it really returns."""
    schema = get_openapi(title=app.title, version=app.version, description=app.description,
                         routes=app.routes)
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    schema["components"]["securitySchemes"] = SECURITY_SCHEMES
    ref = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            _declare_security(path, operation)
            _declare_order(operation)
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            for status in _error_statuses(path, method, operation):
                responses.setdefault(status, {"description": _DESCRIPTIONS[status], **ref})
    return schema


_CACHE: dict[tuple, tuple[dict[str, Any], bytes]] = {}
_CACHE_LOCK = threading.Lock()


def _signature(app: FastAPI) -> tuple:
    routes = tuple((r.path, tuple(sorted(r.methods or ())), r.name) for r in app.routes
                   if isinstance(r, APIRoute))
    return app.title, app.version, app.description, routes


def cached(app: FastAPI) -> tuple[dict[str, Any], bytes]:
    """`document(app)` and its JSON, built once per process for apps with the same routes."""
    key = _signature(app)
    with _CACHE_LOCK:
        if key not in _CACHE:
            schema = document(app)
            _CACHE[key] = schema, json.dumps(schema, separators=(",", ":")).encode()
        return _CACHE[key]


def install(app: FastAPI) -> None:
    """Serve `document(app)` at /openapi.json: built once, off the event loop, then cached.

    Building takes about a second of CPU (several on a loaded machine); in a worker thread it
    does not stall the CoAP and REST traffic the same loop serves.
    """
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = cached(app)[0]
        return app.openapi_schema

    async def openapi_json(_: Request) -> Response:
        body = await asyncio.to_thread(lambda: cached(app)[1])
        return Response(body, media_type="application/json")

    app.openapi = openapi  # type: ignore[method-assign]
    url = app.openapi_url
    app.router.routes[:] = [r for r in app.router.routes
                            if not (isinstance(r, Route) and r.path == url)]
    if url:
        app.add_route(url, openapi_json, include_in_schema=False)
