"""First-to-Claim troubleshooting: every documented error, seen on the console AND on the service.

Behaviour: seed "First-to-Claim troubleshooting" table, and "Device credentials" (incorrect own
certificate -> MbedCloudClient::ConnectInvalidParameters). The texts reach the device as the
diagnostic payload of the Bootstrap-Request's error response: `<reason>:<message>`
(protocol-facts §2).
"""

from __future__ import annotations

import re

import pytest

from harness.cloud import events as ev
from harness.pki import make_device_cert

pytestmark = pytest.mark.area("troubleshooting")

# The documented messages, quoted from the seed's troubleshooting table (the service sends them
# without the table's closing full stop); never the service's own constants.
NOT_IN_ACCOUNT = "Corresponding trusted certificate not in account"
NOT_ENROLLED = "Enrollment ID not registered"
QUOTA_REACHED = "Account device quota reached"
DUPLICATE_ENDPOINT = "Duplicated device endpoint name"
INTERNAL_ERROR = re.compile(r"^Internal error #(10|[1-9])$")
"""Seed: "Internal error #1 to #10"."""

DETAILS_MAX = 63
"""The client's error_description() is a 64-byte C buffer: at most 63 characters are shown."""


def shown(details: str) -> str:
    """What the console shows of an error description."""
    return details[:DETAILS_MAX]


def _nothing_bootstrapped(cloud, device, account) -> None:
    """The service side of a refusal: no device created and no bootstrap in the account."""
    accepted = [e for e in cloud.events(device.since)
                if e.type in (ev.DEVICE_CREATED, ev.BOOTSTRAP) and e.account_id == account.id]
    assert accepted == [], f"a refused device must not bootstrap: {accepted}"


def _no_device_and_no_bootstrap(cloud, device, account) -> None:
    """The service side of a refused device: the directory stays empty, nothing bootstrapped."""
    assert cloud.devices(account.id) == [], "a refused device must not enter the directory"
    _nothing_bootstrapped(cloud, device, account)


def _denied(cloud, since_count: int, reason: str, **fields: str):
    """The denial recorded for this refusal (the newest one with `reason`, in the account when
    one is given: a shared service also records other workers' refusals)."""
    account = fields.get("account_id")
    new = [d for d in cloud.denials()[since_count:]
           if d.reason == reason and (account is None or d.account_id == account)]
    assert new, f"the service recorded no denial {reason!r}"
    denial = new[-1]
    for name, value in fields.items():
        assert getattr(denial, name) == value, f"denial {name} is {getattr(denial, name)!r}"
    return denial


@pytest.mark.scenario("troubleshooting: Secure Connection Failed (CA not uploaded)")
@pytest.mark.seed("first-to-claim", "Secure Connection Failed. The CA certificate has not "
                  "been uploaded.")
def test_device_from_a_ca_nobody_uploaded_fails_the_secure_connection(factory, device, cloud, account):
    """"Secure Connection Failed. The CA certificate has not been uploaded. Upload the OEM
    provided certificate to your account." The TLS handshake fails: the client reports
    ConnectSecureConnectionFailed and keeps retrying; the service records the refused handshake."""
    before = len(cloud.denials())
    factory.bootstrap(ca=factory.own_ca("unknown-oem"), trust=False)
    error = device.wait_error()
    assert error.name == "ConnectSecureConnectionFailed"
    assert error.code == 12
    assert error.details == "Client in reconnection mode SecureConnectionFailed"
    refused = [d for d in cloud.denials()[before:]
               if d.reason.startswith("Secure connection failed (bootstrap")]
    assert refused, "the service recorded no refused TLS handshake"
    _no_device_and_no_bootstrap(cloud, device, account)


@pytest.mark.scenario("troubleshooting: Corresponding trusted certificate not in account")
@pytest.mark.seed("first-to-claim", "Corresponding trusted certificate not in account. The "
                  "CA certificate is not a trusted CA on your account.")
def test_ca_trusted_by_another_account_only_is_refused(factory, device, cloud, account, other_account):
    """"Corresponding trusted certificate not in account. The CA certificate is not a trusted CA
    on your account. Upload the OEM provided CA certificate to your account as a trusted CA." """
    ca = factory.own_ca()
    factory.trust(ca, other_account)  # the TLS layer knows the CA, the account does not trust it
    before = len(cloud.denials())
    made = factory.bootstrap(ca=ca, trust=False)
    error = device.wait_error()
    assert error.name == "ConnectNotAllowed"
    assert error.details == shown(f"response-forbidden:{NOT_IN_ACCOUNT}")
    _denied(cloud, before, NOT_IN_ACCOUNT, account_id=account.id, endpoint_name=made.endpoint_name)
    _no_device_and_no_bootstrap(cloud, device, account)


@pytest.mark.scenario("troubleshooting: Enrollment ID not registered")
@pytest.mark.seed("first-to-claim", "Enrollment ID not registered. The enrollment identity "
                  "is not found in the database.")
def test_first_to_claim_device_that_nobody_enrolled_is_refused(factory, device, cloud, account):
    """"Enrollment ID not registered. The enrollment identity is not found in the database. Add
    the device to your enrollment list." """
    ca = factory.own_ca("oem")
    factory.trust(ca, enrollment=True)
    before = len(cloud.denials())
    made = factory.bootstrap(ca=ca, first_to_claim=True, trust=False)
    error = device.wait_error()
    assert error.name == "ConnectNotAllowed"
    assert error.details == shown(f"response-forbidden:{NOT_ENROLLED}")
    _denied(cloud, before, NOT_ENROLLED, enrollment_identity=made.enrollment_id)
    _no_device_and_no_bootstrap(cloud, device, account)


@pytest.mark.account(device_quota=1)
@pytest.mark.scenario("troubleshooting: Account device quota reached")
@pytest.mark.seed("first-to-claim", "Account device quota reached. An account-specific "
                  "device limit has been reached and no more devices can be added to the account.")
def test_device_beyond_the_account_quota_is_refused(factory, device, cloud, account, faults):
    """"Account device quota reached. An account-specific device limit has been reached and no
    more devices can be added to the account." """
    existing = faults.add_directory_entry(account.id, "already-here")
    before = len(cloud.denials())
    factory.bootstrap()
    error = device.wait_error()
    assert error.name == "ConnectNotAllowed"
    assert error.details == shown(f"response-forbidden:{QUOTA_REACHED}")
    _denied(cloud, before, QUOTA_REACHED, account_id=account.id)
    assert [d.id for d in cloud.devices(account.id)] == [existing.id]
    _nothing_bootstrapped(cloud, device, account)


@pytest.mark.scenario("troubleshooting: Duplicated device endpoint name")
@pytest.mark.seed("first-to-claim", "Duplicated device endpoint name. A device with the same "
                  "endpoint name exists in system.")
def test_endpoint_name_used_by_a_device_with_another_certificate_is_refused(factory, device, cloud,
                                                                             account, faults):
    """"Duplicated device endpoint name. A device with the same endpoint name exists in system ...
    but with a different certificate. Provision a unique endpoint name." """
    other = make_device_cert(factory.factory_ca, "taken-name")
    existing = faults.add_directory_entry(
        account.id, "taken-name",
        device_key=other.cert.fingerprint(other.cert.signature_hash_algorithm).hex())
    before = len(cloud.denials())
    factory.bootstrap(endpoint_name="taken-name")
    error = device.wait_error()
    assert error.name == "ConnectNotAllowed"
    assert error.details == shown(f"response-forbidden:{DUPLICATE_ENDPOINT}")
    _denied(cloud, before, DUPLICATE_ENDPOINT, endpoint_name="taken-name", account_id=account.id)
    assert [d.id for d in cloud.devices(account.id)] == [existing.id]
    _nothing_bootstrapped(cloud, device, account)


@pytest.mark.parametrize(("stage", "number"), [("directory", 1), ("credentials", 2)])
@pytest.mark.scenario("troubleshooting: Internal error #1 to #10")
@pytest.mark.seed("first-to-claim", "Internal error #1 to #10 If issues persist, contact "
                  "Izuma support and provide the Device Management Client logs and CoAP error code")
def test_internal_error_reaches_the_device_with_its_number(factory, device, cloud, faults, stage,
                                                           number):
    """The service's store fails (a fault the service is put into through its admin API, not a
    text the test supplies): the service answers with its own internal error, numbered within
    #1 to #10 by where it failed; the client reports the 5.00 as ConnectUnknownError, retries,
    and onboards once the store works again."""
    before = len(cloud.denials())
    name = factory.endpoint_name()
    faults.fail_store(stage, count=1, endpoint_name=name)
    factory.bootstrap(endpoint_name=name)
    error = device.wait_error()
    assert error.name == "ConnectUnknownError"
    reason, _, text = error.details.partition(":")
    assert reason == "internal-server-error", error.details
    assert INTERNAL_ERROR.match(text), f"{text!r} is not one of Internal error #1 to #10"
    assert text == f"Internal error #{number}", f"a {stage} failure is reported as {text!r}"
    _denied(cloud, before, text, endpoint_name=name)
    device.wait_registered()  # the retry after back-off succeeds


@pytest.mark.parametrize("image", [
    pytest.param("factory-4.7", marks=pytest.mark.firmware("factory-4.7"), id="4.7"),
    pytest.param("factory", marks=pytest.mark.firmware("factory"), id="4.8+"),
])
@pytest.mark.scenario("troubleshooting: incorrect own certificate -> ConnectInvalidParameters")
@pytest.mark.seed("credentials", "If your certificate is incorrect, Device Management Client will "
                  "not be able to connect to Device Management, and you will receive the error "
                  "MbedCloudClient::ConnectInvalidParameters.")
def test_incorrect_own_certificate_gives_connect_invalid_parameters(factory, device, cloud, account,
                                                                    image):
    """A certificate whose CN is not the endpoint name (the factory skipped verification): the
    bootstrap server answers 4.00. A 4.7 client reports it as the document says,
    ConnectInvalidParameters (3), and stops; clients from 4.8 on number their errors anew and
    report a 4.00 to the Bootstrap-Request as their own invalid-certificate error (4, which the
    example application prints as UNKNOWN; protocol-facts section 2) and retry. Either way the
    device cannot connect and the service keeps it out of the directory."""
    ca = factory.own_ca()
    wrong = make_device_cert(ca, "not-the-endpoint-name")
    before = len(cloud.denials())
    factory.bootstrap(ca=ca, endpoint_name="the-endpoint-name", credential=wrong, verify=False)
    if image == "factory-4.7":
        error = device.wait_error()
        assert error.name == "ConnectInvalidParameters"
        assert error.code == 3
        details = error.details
    else:
        assert device.expect(r"Error occurred : (\S+)").group(1) == "UNKNOWN"
        assert device.expect(r"Error code : (\d+)").group(1) == "4"
        details = device.expect(r"Error details : (.*)").group(1)
    assert details.startswith("bad-request:"), details
    refused = [d for d in cloud.denials()[before:] if d.endpoint_name == "the-endpoint-name"]
    assert refused, "the service recorded no refusal of the incorrect certificate"
    _no_device_and_no_bootstrap(cloud, device, account)
