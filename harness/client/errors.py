"""The real client's error enum (`MbedCloudClient::Error`) per client version, and how the
example application prints an error (protocol-facts.md section 2).

Numbering of client >= 4.8.0; clients before 4.8.0 lack ConnectorInvalidCredentials, so their
numbers from 4 on are one lower. The virtual board prints with these, and the fixtures and the
report judge every board (real or virtual) by them.
"""

from __future__ import annotations

from enum import IntEnum


class ClientError(IntEnum):
    """`MbedCloudClient::Error` values (= `M2MInterface::Error`), numbering of client >= 4.8.0."""

    ConnectErrorNone = 0
    ConnectAlreadyExists = 1
    ConnectBootstrapFailed = 2
    ConnectInvalidParameters = 3
    ConnectorInvalidCredentials = 4
    ConnectNotRegistered = 5
    ConnectTimeout = 6
    ConnectNetworkError = 7
    ConnectResponseParseFailed = 8
    ConnectUnknownError = 9
    ConnectMemoryConnectFail = 10
    ConnectNotAllowed = 11
    ConnectSecureConnectionFailed = 12
    ConnectDnsResolvingFailed = 13
    ConnectorUnregistrationFailed = 14
    ESTEnrollmentFailed = 15
    ConnectorFailedToStoreCredentials = 16
    ConnectorFailedToReadCredentials = 17


LEGACY_NUMBERING_BEFORE = (4, 8, 0)
"""Clients older than this version lack ConnectorInvalidCredentials (numbers 4.. shift by one)."""

# The example app's pdmc_error_handler() switch has no case for these, so it prints UNKNOWN.
_APP_UNNAMED = frozenset({ClientError.ConnectorInvalidCredentials,
                          ClientError.ConnectorUnregistrationFailed,
                          ClientError.ESTEnrollmentFailed})
UNKNOWN_ERROR_NAME = "UNKNOWN"
ERROR_DETAILS_MAX = 63
"""error_description() is a 64-byte C buffer: at most 63 characters reach the console."""


def has_legacy_numbering(client_version: str) -> bool:
    """Whether a client of `client_version` predates 4.8.0 (no ConnectorInvalidCredentials)."""
    return _version_tuple(client_version) < LEGACY_NUMBERING_BEFORE


def error_number(error: ClientError, client_version: str = "4.13.4") -> int:
    """The number a client of `client_version` reports for `error` (4.8.0 inserted code 4)."""
    if not has_legacy_numbering(client_version) or error < 4:
        return int(error)
    if error is ClientError.ConnectorInvalidCredentials:
        return int(ClientError.ConnectInvalidParameters)
    return int(error) - 1


def error_from_number(number: int, client_version: str = "4.13.4") -> ClientError | None:
    """The error a client of `client_version` means by `number`, or None if unknown."""
    modern = not has_legacy_numbering(client_version)
    for error in ClientError:
        if (modern or error is not ClientError.ConnectorInvalidCredentials) \
                and error_number(error, client_version) == number:
            return error
    return None


def _version_tuple(version: str) -> tuple[int, ...]:
    parts = []
    for piece in version.split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def app_error_name(error: ClientError) -> str:
    """The name the example app prints for `error` (`MbedCloudClient::<Name>` or `UNKNOWN`)."""
    if error in _APP_UNNAMED:
        return UNKNOWN_ERROR_NAME
    return f"MbedCloudClient::{error.name}"


def cap_details(details: str) -> str:
    """Cut an error description to what the client's 64-byte buffer holds."""
    return details[:ERROR_DETAILS_MAX]


def error_lines(error: ClientError, details: str, client_version: str = "4.13.4") -> list[str]:
    """The example app's error report: a blank line, then occurred / code / details lines."""
    return [
        "",
        f"Error occurred : {app_error_name(error)}",
        f"Error code : {error_number(error, client_version)}",
        f"Error details : {cap_details(details)}",
    ]
