"""The OpenAPI document as the API answers: the error statuses each operation can return (with
the v3 error body), and no FastAPI 422 (validation errors are answered 400)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

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


def _error_statuses(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    statuses = []
    if operation.get("requestBody") or operation.get("parameters"):
        statuses.append("400")
    if path.startswith(_AUTHENTICATED):
        statuses += ["401", "403"]
    if "{" in path:
        statuses.append("404")
    if method in ("post", "put"):
        statuses.append("409")
    if operation.get("requestBody"):
        statuses.append("413")
    return statuses


def document(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document with the error responses it really returns."""
    schema = get_openapi(title=app.title, version=app.version, description=app.description,
                         routes=app.routes)
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    ref = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            for status in _error_statuses(path, method, operation):
                responses.setdefault(status, {"description": _DESCRIPTIONS[status], **ref})
    return schema


def install(app: FastAPI) -> None:
    """Serve `document(app)` (built once) at /openapi.json."""
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(app)
        return app.openapi_schema
    app.openapi = openapi  # type: ignore[method-assign]
