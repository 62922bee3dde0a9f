"""The error tables: CoAP code -> MbedCloudClient error, console lines, numbering by version."""

from __future__ import annotations

import re

import pytest

from harness.sim.client.error_map import bootstrap_failure, code_text, registration_failure
from harness.sim.client.settings import Backoff, ClientSettings
from harness.sim.console_text import (
    ClientError,
    compiled_dialect,
    error_from_number,
    error_lines,
    error_number,
    has_legacy_numbering,
)


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


def test_dialect_reads_the_lines_the_client_prints():
    dialect = compiled_dialect()
    assert dialect["device_id"].match("Device ID: 016f00").group("device_id") == "016f00"
    assert dialect["device_id"].match("Device Id: 016f00")  # older example apps
    match = dialect["error_name"].match("Error occurred : MbedCloudClient::ConnectNotAllowed")
    assert match.group("error_name") == "ConnectNotAllowed"
    assert dialect["error_code"].match("Error code : 12\r").group("error_code") == "12"
    assert all(isinstance(p, re.Pattern) for p in dialect.values())


def test_backoff_doubles_with_jitter_and_cap():
    backoff = Backoff(1.0, 5.0)
    delays = [backoff.next_delay() for _ in range(5)]
    assert 0.9 <= delays[0] <= 1.1 and 1.8 <= delays[1] <= 2.2 and 3.6 <= delays[2] <= 4.4
    assert all(d <= 5.5 for d in delays[3:])
    backoff.reset()
    assert backoff.next_delay() <= 1.1
    assert all(20 <= Backoff(10.0, 100.0).rebootstrap_delay() <= 100 for _ in range(50))


def test_settings_from_manifest_and_environment():
    settings = ClientSettings.from_firmware({"client_version": "4.12.0", "transport": "udp"},
                                            {"HIL_SIM_BACKOFF_BASE": "0.5"})
    assert (settings.client_version, settings.transport, settings.backoff_base) == ("4.12.0", "udp", 0.5)
    assert settings.lifetime == 86400 and settings.min_lifetime == 60
    with pytest.raises(Exception, match="transport"):
        ClientSettings.from_firmware({"transport": "sms"}, {})
    with pytest.raises(Exception, match="number"):
        ClientSettings.from_firmware({}, {"HIL_SIM_BACKOFF_BASE": "soon"})
