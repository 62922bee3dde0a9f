"""First-to-Claim by enrollment list, and ownership transfer.

Behaviour: seed "First-to-Claim by enrollment list" (process, account administration, device
onboarding, transferring ownership).
"""

from __future__ import annotations

import hashlib
import time

import pytest

from fixtures.cloud import new_account, rest_client_for
from harness.cloud import events as ev
from harness.cloud.wiretap import traces

LWM2M_CERT_SECONDS = 2


def _oem_ca_for(rest, factory):
    """The OEM's CA, uploaded by the account admin as trusted for enrollment (REST)."""
    ca = factory.own_ca("oem")
    rest.create_trusted_certificate(f"oem-{ca.subject['CN']}", ca.cert_pem, service="bootstrap",
                                    enrollment_mode=True)
    return ca


@pytest.mark.area("first-to-claim")
@pytest.mark.scenario("first-to-claim: enrollment ID from the device certificate; claimed; aid")
@pytest.mark.seed("first-to-claim", "The fingerprint is calculated as SHA256 hash of the DER format "
                  "of the device bootstrap certificate ... Add the version prefix A-")
@pytest.mark.seed("first-to-claim", "the bootstrap server checks the device against the existing "
                  "enrollments. If it finds a match, it assigns the device to the account.")
@pytest.mark.parametrize("image", [
    pytest.param("factory", marks=pytest.mark.firmware("factory"), id="tls"),
    # the client's LwM2M-compliant UDP build over DTLS: a First-to-Claim URI has no query, so the
    # client sends no mccv= and the bootstrap server treats it as a standard LwM2M client
    # (Bootstrap-Discover, Bootstrap-Delete, then its writes)
    pytest.param("factory-dtls", marks=pytest.mark.firmware("factory-dtls"), id="dtls"),
])
def test_enrolled_device_is_claimed_by_the_account_that_enrolled_it(rest, factory, device, account,
                                                                    image):
    """"The fingerprint is calculated as SHA256 hash of the DER format of the device bootstrap
    certificate ... Add the version prefix A-" ... "the bootstrap server checks the device against
    the existing enrollments. If it finds a match, it assigns the device to the account." """
    start = time.time()
    ca = _oem_ca_for(rest, factory)
    made = factory.bootstrap(ca=ca, first_to_claim=True, trust=False)
    digest = hashlib.sha256(made.credential.cert_der).digest()
    assert made.enrollment_id == "A-" + ":".join(f"{b:02X}" for b in digest)
    assert "aid=" not in made.uri, "a First-to-Claim device is provisioned without an account"
    enrollment = rest.create_enrollment(made.enrollment_id)
    registration = device.wait_registered()
    assert device.directory().account_id == account.id
    claimed = rest.get_enrollment(enrollment.id)
    assert claimed.claimed_at is not None
    assert claimed.enrolled_device_id == registration.device_id
    bootstrap = device.wait_event(ev.BOOTSTRAP)
    assert bootstrap.data["first_to_claim"] is True
    wire = {(r.direction, r.code, r.path) for t in traces() for r in t.between(start, time.time())[0]
            if r.server == "bootstrap"}
    if image == "factory-dtls" and wire:  # a local service: its wire trace
        # a standard client's bootstrap (OMA LwM2M 1.1.1 Core 5.2.7.3 and 5.2.7.5): the client
        # answers Bootstrap-Discover of /0 with its instances, and deletes the LwM2M server
        # account (/0/0, found by its ssid) and /1 on request
        assert {("out", "GET", "/0"), ("in", "2.05", "/0")} <= wire, sorted(wire)
        assert {("out", "DELETE", "/0/0"), ("in", "2.02", "/0/0"),
                ("out", "DELETE", "/1"), ("in", "2.02", "/1")} <= wire, sorted(wire)


@pytest.mark.area("first-to-claim")
@pytest.mark.scenario("first-to-claim: later bootstraps reach the claiming account")
@pytest.mark.seed("first-to-claim", "The process also writes the account ID (as aid) to the device, "
                  "so that following bootstraps will automatically reach the correct account.")
def test_claimed_device_bootstraps_into_its_account_without_the_enrollment(make_cloud, factory, device):
    """"The process also writes the account ID (as aid) to the device, so that following
    bootstraps will automatically reach the correct account." The enrollment is cancelled after
    the claim; the renewal bootstrap still lands in the account."""
    service = make_cloud(lwm2m_credential_validity=LWM2M_CERT_SECONDS)
    owner = new_account(service, "ftc-owner")
    rest, _ = rest_client_for(service, owner)
    with rest:
        made_factory = factory.using(service, owner)
        ca = _oem_ca_for(rest, made_factory)
        made = made_factory.bootstrap(ca=ca, first_to_claim=True, trust=False)
        enrollment = rest.create_enrollment(made.enrollment_id)
        watched = device.using(service, owner)
        first = watched.wait_registered()
        rest.delete_enrollment(enrollment.id)
        watched.checkpoint()
        again = watched.wait_event(ev.BOOTSTRAP, timeout=LWM2M_CERT_SECONDS + 10)
    assert again.device_id == first.device_id
    assert again.data["account_id"] == owner.id
    assert again.data["first_to_claim"] is False, "the second bootstrap carries the learned aid"


@pytest.mark.area("first-to-claim")
@pytest.mark.scenario("first-to-claim: bulk enrollment by CSV")
@pytest.mark.seed("first-to-claim", "Both the portal and the REST API provide bulk handling of the "
                  "enrollments using a .csv file. See /v3/device-enrollments-bulk-uploads")
def test_bulk_enrollment_csv_lets_the_device_claim(rest, factory, device, account):
    """"Both the portal and the REST API provide bulk handling of the enrollments using a .csv
    file. See /v3/device-enrollments-bulk-uploads"."""
    ca = _oem_ca_for(rest, factory)
    made = factory.bootstrap(ca=ca, first_to_claim=True, trust=False)
    job = rest.start_bulk("upload", f"enrollment_identity\n{made.enrollment_id}\n")
    done = rest.wait_bulk("upload", job.id, timeout=10)
    assert (done.total_count, done.errors_count) == (1, 0)
    registration = device.wait_registered()
    assert device.directory().account_id == account.id
    claimed = [e for e in rest.list_enrollments().data if e.enrollment_identity == made.enrollment_id]
    assert [e.enrolled_device_id for e in claimed] == [registration.device_id]


@pytest.mark.area("ownership")
@pytest.mark.scenario("ownership transfer: cancel, factory reset, new owner enrolls")
@pytest.mark.seed("first-to-claim", "Remove the enrollment ID of the device from your account's "
                  "enrollment ... your device application needs to call factory reset ... The new owner can "
                  "then claim device ownership by adding its enrollment identity to their Device Management "
                  "account's enrollment list.")
def test_ownership_of_a_first_to_claim_device_moves_to_the_new_owner(rest, factory, device, cloud,
                                                                       account, other_account):
    """"Remove the enrollment ID of the device from your account's enrollment ... your device
    application needs to call factory reset ... The new owner can then claim device ownership by
    adding its enrollment identity to their Device Management account's enrollment list." """
    ca = _oem_ca_for(rest, factory)
    made = factory.bootstrap(ca=ca, first_to_claim=True, trust=False)
    enrollment = rest.create_enrollment(made.enrollment_id)
    first = device.wait_registered()
    rest.delete_enrollment(enrollment.id)  # 1. the old owner cancels the enrollment
    new_owner, _ = rest_client_for(cloud, other_account)
    with new_owner:  # 3. the new owner gets the CA and the enrollment identity
        new_owner.create_trusted_certificate("oem", ca.cert_pem, service="bootstrap",
                                             enrollment_mode=True)
        new_owner.create_enrollment(made.enrollment_id)
        device.factory_reset()  # 2. back to the original, unassigned state
        moved = device.wait_registered()
        assert new_owner.list_enrollments().data[0].enrolled_device_id == moved.device_id
    entry = cloud.device(moved.device_id)
    assert entry is not None and entry.account_id == other_account.id
    assert moved.device_id != first.device_id
    assert [d.id for d in cloud.devices(other_account.id)] == [moved.device_id]


@pytest.mark.area("ownership")
@pytest.mark.scenario("ownership transfer: only devices made for claiming")
@pytest.mark.seed("first-to-claim", "Remember that ownership transfer only works on devices that "
                  "were originally manufactured for ownership claiming.")
def test_a_device_not_made_for_claiming_cannot_be_transferred(factory, device, cloud, account,
                                                              other_account):
    """"Remember that ownership transfer only works on devices that were originally manufactured
    for ownership claiming." A device provisioned with the account id stays in that account."""
    ca = factory.own_ca()
    made = factory.bootstrap(ca=ca)  # pre-assigned: aid in the bootstrap URI
    first = device.wait_registered()
    new_owner, _ = rest_client_for(cloud, other_account)
    with new_owner:
        new_owner.create_trusted_certificate("oem", ca.cert_pem, service="bootstrap",
                                             enrollment_mode=True)
        new_owner.create_enrollment(made.enrollment_id)
        device.factory_reset()
        again = device.wait_registered()
        assert new_owner.list_enrollments().data[0].claimed_at is None
    assert again.device_id == first.device_id
    assert cloud.device(again.device_id).account_id == account.id
    assert cloud.devices(other_account.id) == []


@pytest.mark.area("first-to-claim")
@pytest.mark.scenario("first-to-claim: upload the CA only once")
@pytest.mark.seed("first-to-claim", "Upload the CA certificate as one of the trusted CAs, and mark "
                  "it for enrollment. Note that you only need to do this once for each CA.")
def test_the_oem_ca_is_uploaded_once_and_keeps_serving_its_devices(rest, factory, device, account):
    """A second upload of the same CA is refused (409), and the first upload keeps working: a
    device of that CA is claimed through it."""
    ca = _oem_ca_for(rest, factory)
    rest.request("POST", "/v3/trusted-certificates", expect=409,
                 json_body={"name": "oem-again", "certificate": ca.cert_pem.decode(),
                            "service": "bootstrap", "enrollment_mode": True})
    uploaded = [c for c in rest.list_trusted_certificates().data if c.subject and "oem" in c.subject]
    assert len(uploaded) == 1, f"the CA is trusted once: {[c.name for c in uploaded]}"
    made = factory.bootstrap(ca=ca, first_to_claim=True, trust=False)
    rest.create_enrollment(made.enrollment_id)
    device.wait_registered()
    assert device.directory().account_id == account.id


@pytest.mark.area("first-to-claim")
@pytest.mark.scenario("first-to-claim: enrolling after a refusal and restarting onboards the device")
@pytest.mark.seed("first-to-claim", "If the server cannot find the device on the enrollment list, it "
                  "rejects the device (which then fails to complete onboarding). Add the device's "
                  "enrollment identity to the enrollment list and restart to device to initiate "
                  "another bootstrap attempt.")
def test_refused_device_onboards_after_enrollment_and_restart(rest, factory, device, account, board):
    """Refused with "Enrollment ID not registered" first; once the identity is enrolled, a
    restart bootstraps the device into the account."""
    ca = _oem_ca_for(rest, factory)
    made = factory.bootstrap(ca=ca, first_to_claim=True, trust=False)
    error = device.wait_error()
    assert error.details.endswith("Enrollment ID not registered"), error.details
    rest.create_enrollment(made.enrollment_id)
    device.checkpoint()
    board.reset()
    registration = device.wait_registered()
    assert registration.endpoint_name == made.endpoint_name
    assert device.directory().account_id == account.id
