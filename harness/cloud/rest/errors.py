"""REST API errors: the v3 error body {object, code, type, message} and its exception."""

from __future__ import annotations

from typing import Any

from harness.errors import HilError

_TYPES = {
    400: "validation_error",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    409: "duplicate",
    413: "payload_too_large",
    422: "validation_error",
    500: "internal_error",
}


class ApiProblem(HilError):
    """A request the API refuses: HTTP status + one sentence saying why and what to do."""

    def __init__(self, status: int, message: str, *, type_: str | None = None,
                 fields: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type_ or _TYPES.get(status, "error")
        self.fields = fields or []

    def body(self) -> dict[str, Any]:
        """The JSON error body of the v3 API."""
        body: dict[str, Any] = {"object": "error", "code": self.status, "type": self.type,
                                "message": self.message, "request_id": ""}
        if self.fields:
            body["fields"] = self.fields
        return body


def bad_request(message: str, field: str | None = None) -> ApiProblem:
    """400 with an optional offending field."""
    fields = [{"name": field, "message": message}] if field else None
    return ApiProblem(400, message, fields=fields)


def not_found(what: str, ident: str) -> ApiProblem:
    """404 naming the object kind and id."""
    return ApiProblem(404, f"No {what} with id {ident!r} in this account; list them to find the id.")


def conflict(message: str) -> ApiProblem:
    """409 duplicate."""
    return ApiProblem(409, message)


def unauthorized(message: str, type_: str = "unauthorized") -> ApiProblem:
    """401: the credentials are missing or not accepted."""
    return ApiProblem(401, message, type_=type_)
