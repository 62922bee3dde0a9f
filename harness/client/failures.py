"""How server answers become `MbedCloudClient` errors in the real client (facts section 2)."""

from __future__ import annotations

from dataclasses import dataclass

from harness.client.console import DETAILS_REGISTRATION_REJECTED
from harness.client.errors import ClientError, cap_details, has_legacy_numbering
from harness.client.wire import TOO_MANY_REQUESTS, reason

_INVALID_PARAMETERS = frozenset({0x82, 0x88, 0x8C, 0x8D, 0x8F})
_NOT_ALLOWED = frozenset({0x81, 0x83, 0x84, 0x85, 0x86})
_QUIET_REREGISTER = frozenset({0xA0, 0xA2, 0xA3, 0xA4})


@dataclass(frozen=True)
class Failure:
    """One reported client error: what the app prints and whether the client retries."""

    error: ClientError
    details: str
    retry: bool = True


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
