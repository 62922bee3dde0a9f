"""The real client's error tables: CoAP code -> MbedCloudClient error, numbering by version."""

from __future__ import annotations

import pytest

from harness.client.errors import (
    ClientError,
    error_from_number,
    error_lines,
    error_number,
    has_legacy_numbering,
)
from harness.client.failures import bootstrap_failure, registration_failure
from harness.client.wire import code_text


@pytest.mark.parametrize(("code", "error", "retry"), [
    (0x80, ClientError.ConnectorInvalidCredentials, True),
    (0x82, ClientError.ConnectInvalidParameters, False),
    (0x88, ClientError.ConnectInvalidParameters, False),
    (0x8C, ClientError.ConnectInvalidParameters, False),
    (0x8D, ClientError.ConnectInvalidParameters, False),
    (0x8F, ClientError.ConnectInvalidParameters, False),
    (0x81, ClientError.ConnectNotAllowed, True),
    (0x83, ClientError.ConnectNotAllowed, True),
    (0x84, ClientError.ConnectNotAllowed, True),
    (0x85, ClientError.ConnectNotAllowed, True),
    (0x86, ClientError.ConnectNotAllowed, True),
    (0xA0, ClientError.ConnectUnknownError, True),
    (0xA3, ClientError.ConnectUnknownError, True),
])
def test_bootstrap_codes_map_to_client_errors(code, error, retry):
    failure = bootstrap_failure(code, b"why")
    assert (failure.error, failure.retry) == (error, retry)
    assert failure.details.endswith(":why")


def test_details_carry_reason_and_payload_capped_at_63():
    assert bootstrap_failure(0x83, b"Enrollment ID not registered").details == \
        "response-forbidden:Enrollment ID not registered"
    long = bootstrap_failure(0x83, b"x" * 200).details
    assert len(long) == 63 and long.startswith("response-forbidden:x")
    assert bootstrap_failure(0xA1, b"").details == "5.01:"
    assert code_text(0x9D) == "4.29"


def test_registration_codes():
    rejected = registration_failure(0x83)
    assert rejected.error is ClientError.ConnectInvalidParameters
    assert rejected.details == "LWM2M server rejected client registration"
    assert registration_failure(0x80).retry is False
    for quiet in (0xA0, 0xA2, 0xA3, 0xA4, 0x9D):
        assert registration_failure(quiet) is None


def test_error_lines_follow_the_example_app():
    lines = error_lines(ClientError.ConnectNotAllowed, "response-forbidden:x")
    assert lines == ["", "Error occurred : MbedCloudClient::ConnectNotAllowed", "Error code : 11",
                     "Error details : response-forbidden:x"]
    # pdmc_example.cpp has no case for code 4, so the real app prints UNKNOWN
    assert error_lines(ClientError.ConnectorInvalidCredentials, "d")[1] == "Error occurred : UNKNOWN"


def test_numbering_before_4_8_shifts_by_one():
    assert error_number(ClientError.ConnectSecureConnectionFailed) == 12
    assert error_number(ClientError.ConnectSecureConnectionFailed, "4.7.1") == 11
    assert error_number(ClientError.ConnectorInvalidCredentials, "4.7.1") == 3
    assert error_from_number(12) is ClientError.ConnectSecureConnectionFailed
    assert error_from_number(11, "4.7.0") is ClientError.ConnectSecureConnectionFailed
    assert error_from_number(99) is None


@pytest.mark.parametrize(("version", "legacy"), [
    ("4.7.1", True), ("4.7", True), ("4.8.0", False), ("4.13.4", False), ("4.10.0-rc1", False),
])
def test_legacy_numbering_is_every_client_before_4_8(version, legacy):
    assert has_legacy_numbering(version) is legacy
    assert (bootstrap_failure(0x80, b"x", version).error is ClientError.ConnectInvalidParameters) is legacy
