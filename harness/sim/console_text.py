"""What the example application and the client print on the console (the "pdmc" dialect).

Lines follow PelionIoT/mbed-cloud-client-example (`source/pdmc_example.cpp`,
`source/application_init.cpp`) and the `MbedCloudClient::Error` numbering of client >= 4.8.0
(protocol-facts.md section 2). Trace lines use the mbed-trace layout `[LEVEL][group]: text`.
The harness reads these names and regexes too, so real and virtual boards parse alike.
"""

from __future__ import annotations

import re
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

# The example app's pdmc_error_handler() switch has no case for these two, so it prints UNKNOWN.
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


# --- application lines (pdmc_example.cpp / application_init.cpp) ------------------------------
START_CLIENT = "Start Device Management Client"
STARTING_DEVELOPER_FLOW = "Starting developer flow"
DEVELOPER_CREDENTIALS_EXIST = "Developer credentials already exist, continuing.."
APPLICATION_READY = "Application ready. Build at: {build}"
PDMC_VERSION = "PDMC version {version}"
NETWORK_READY = "Network initialized, registering..."
REGISTERED = "Client registered"
ENDPOINT_NAME = "Endpoint Name: {name}"
DEVICE_ID = "Device ID: {device_id}"
REGISTRATION_UPDATED = "Client registration updated"
UNREGISTERED = "Client unregistered - Exiting application"
FACTORY_RESET_TRIGGERED = "Factory reset resource triggered"
SETUP_FAILED = "PDMC setup failed"

# --- mbed-trace lines of the client library (group mClt) --------------------------------------
TRACE_BOOTSTRAP_START = "[INFO][mClt]: Client bootstrapping to {uri}"
TRACE_BOOTSTRAPPED = "[INFO][mClt]: Client bootstrapped"
TRACE_REGISTERING = "[INFO][mClt]: Client registering to {uri}"
TRACE_UPDATING = "[INFO][mClt]: Client updating registration"
TRACE_REBOOTSTRAP = "[INFO][mClt]: Client re-bootstrapping in {delay:.1f} s"
TRACE_RETRY = "[INFO][mClt]: Client reconnecting in {delay:.1f} s"
TRACE_REBOOT = "[INFO][mClt]: Reboot requested by server"

# --- error descriptions (ConnectorClient.cpp, m2minterfaceimpl.cpp, m2mnsdlinterface.cpp) -----
DETAILS_SECURE_RETRY = "Client in reconnection mode SecureConnectionFailed"
DETAILS_NETWORK_RETRY = "Client in reconnection mode NetworkError"
DETAILS_REGISTRATION_REJECTED = "LWM2M server rejected client registration"
DETAILS_REBOOTSTRAP = "Re-bootstrapping"
DETAILS_NO_SECURITY_OBJECT = "No security object found for Registration"
DETAILS_STORE_FAILED = "Failed to store LWM2M credentials"
DETAILS_READ_FAILED = "Failed to read credentials from storage"
DETAILS_BS_PUT_FAILED = "BS PUT fails :{path}"
DETAILS_BS_DELETE_FAILED = "BS DEL fails :{path}"
DETAILS_BS_FINISH_FAILED = "BS FIN fails :{reason}"

# --- the dialect: regexes a harness uses to read a board running this application ------------
DIALECT: dict[str, str] = {
    "registered": r"^Client registered\s*$",
    "endpoint_name": r"^Endpoint Name: (?P<endpoint_name>\S+)\s*$",
    "device_id": r"^Device I[Dd]: (?P<device_id>\S+)\s*$",
    "registration_updated": r"^Client registration updated\s*$",
    "unregistered": r"^Client unregistered",
    "error_name": r"^Error occurred : (?:MbedCloudClient::)?(?P<error_name>\S+)\s*$",
    "error_code": r"^Error code : (?P<error_code>-?\d+)\s*$",
    "error_details": r"^Error details : (?P<error_details>.*?)\s*$",
    "bootstrapped": r"^\[INFO\]\[mClt\]: Client bootstrapped\s*$",
    "factory_reset": r"^Factory reset resource triggered\s*$",
}
"""Named regexes (one per console event) of this dialect; compile with re.MULTILINE."""


def compiled_dialect() -> dict[str, re.Pattern[str]]:
    """The DIALECT regexes compiled (per line)."""
    return {name: re.compile(pattern) for name, pattern in DIALECT.items()}
