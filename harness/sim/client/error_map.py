"""How server answers and transport failures become `MbedCloudClient` errors (facts section 2)."""

from __future__ import annotations

from dataclasses import dataclass

from harness.sim.console_text import (
    DETAILS_REGISTRATION_REJECTED,
    ClientError,
    cap_details,
    has_legacy_numbering,
)

REASONS: dict[int, str] = {
    0x80: "bad-request",
    0x81: "response-unauthorized",
    0x82: "bad-option",
    0x83: "response-forbidden",
    0x84: "not-found",
    0x85: "method-not-allowed",
    0x86: "not-acceptable",
    0x88: "request-entity-incomplete",
    0x8C: "precondition-failed",
    0x8D: "request-entity-too-large",
    0x8F: "unsupported-content-format",
    0xA0: "internal-server-error",
    0xA2: "bad-gateway",
    0xA3: "service-unavailable",
    0xA4: "gateway-timeout",
    0xA5: "proxying-not-supported",
}
"""mbed-client's reason text per CoAP response code (class << 5 | detail)."""

_INVALID_PARAMETERS = frozenset({0x82, 0x88, 0x8C, 0x8D, 0x8F})
_NOT_ALLOWED = frozenset({0x81, 0x83, 0x84, 0x85, 0x86})
_QUIET_REREGISTER = frozenset({0xA0, 0xA2, 0xA3, 0xA4})
TOO_MANY_REQUESTS = 0x9D


@dataclass(frozen=True)
class Failure:
    """One reported client error: what the app prints and whether the client retries."""

    error: ClientError
    details: str
    retry: bool = True


def code_text(code: int) -> str:
    """A CoAP code in dotted form (0x83 -> '4.03')."""
    return f"{code >> 5}.{code & 0x1F:02d}"


def reason(code: int) -> str:
    """mbed-client's reason word for a response code (dotted code when it has none)."""
    return REASONS.get(code, code_text(code))


def bootstrap_failure(code: int, payload: bytes, client_version: str = "4.13.4") -> Failure:
    """The error a Bootstrap-Request answered with `code` + diagnostic `payload` produces."""
    text = payload.decode("utf-8", errors="replace")
    details = cap_details(f"{reason(code)}:{text}")
    if code == 0x80 and has_legacy_numbering(client_version):
        # clients before 4.8.0 have no InvalidCertificates: 4.00 is InvalidParameters there
        return Failure(ClientError.ConnectInvalidParameters, details, retry=False)
    if code == 0x80:
        return Failure(ClientError.ConnectorInvalidCredentials, details)
    if code in _INVALID_PARAMETERS:
        return Failure(ClientError.ConnectInvalidParameters, details, retry=False)
    if code in _NOT_ALLOWED:
        return Failure(ClientError.ConnectNotAllowed, details)
    return Failure(ClientError.ConnectUnknownError, details)


def registration_failure(code: int) -> Failure | None:
    """The error a Register answered with `code` produces; None = re-register quietly."""
    if code in (0x80, 0x83):
        return Failure(ClientError.ConnectInvalidParameters, DETAILS_REGISTRATION_REJECTED,
                       retry=False)
    if code in _QUIET_REREGISTER or code == TOO_MANY_REQUESTS:
        return None
    return Failure(ClientError.ConnectUnknownError, cap_details(f"{reason(code)}:"))
