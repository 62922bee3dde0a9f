"""A device falls back to bootstrap to renew its LwM2M credentials, and keeps its device ID.

A developer device (credentials compiled into its image) is found again only by the device ID the
client sends in its Bootstrap-Request (`iep=`, protocol facts §3 "Bootstrap"). A refused LwM2M
handshake makes a device in bootstrap mode drop its LwM2M credentials and bootstrap again.
"""

from __future__ import annotations

import pytest

from fixtures.cloud import new_account
from harness.cloud import events as ev
from harness.services.base import FAULTS

REBOOTSTRAP_TIMEOUT = 110.0
"""Seconds to wait for the second bootstrap: the real client waits a random 20-100 s first."""


@pytest.mark.area("developer")
@pytest.mark.firmware("developer")
@pytest.mark.timeout(REBOOTSTRAP_TIMEOUT + 120)
@pytest.mark.scenario("renewal: a developer device refused by the LwM2M server bootstraps again, same ID")
@pytest.mark.seed("onboarding", "If the certificate validity expires or the system thinks that the "
                  "device's security is compromised, Device Management Client removes these "
                  "certificates and falls back to bootstrap mode ... The device ID remains the same, "
                  "so the device does not lose its identity in Device Management.")
def test_developer_device_refused_at_restart_bootstraps_again_with_the_same_device_id(
        make_cloud, board, device):
    """A registered developer device restarts and the LwM2M server refuses its TLS handshake (as
    it refuses an expired LwM2M certificate): the client drops its LwM2M credentials, bootstraps
    again with its stored device ID (`iep=`) and keeps it; the directory holds one device. The
    real client waits a random 20-100 s before it bootstraps again (measured: "bootstrap_again in
    55 seconds"), hence the long timeout; a virtual board's lab back-off is short."""
    service = make_cloud()
    if not service.can(FAULTS):
        pytest.skip(service.missing(FAULTS))
    owner = new_account(service, "developer-renewal")
    watched = device.using(service, owner)
    dev = board.flash_developer(service, owner)
    first = watched.wait_registered()
    watched.wait_event(ev.BOOTSTRAP, where=lambda e: e.device_id == first.device_id)
    watched.checkpoint()
    service.faults.fail_lwm2m_handshakes(1)
    board.reset()
    renewed = watched.wait_event(ev.BOOTSTRAP, timeout=REBOOTSTRAP_TIMEOUT)
    second = watched.wait_event(ev.REGISTRATION, where=lambda e: e.device_id == first.device_id)
    assert renewed.device_id == first.device_id == second.device_id
    data = renewed.data
    assert (data["ep"], data["original-ep"], data["account_id"]) == (
        first.device_id, dev.endpoint_name, owner.id)
    assert (data["new_device"], data["first_to_claim"], data["mode"]) == (False, False, "certificate")
    assert [d.id for d in service.devices(owner.id)] == [first.device_id]


@pytest.mark.area("renewal")
@pytest.mark.scenario("renewal: a refused LwM2M handshake makes the device bootstrap again")
@pytest.mark.seed("onboarding", "If the certificate validity expires or the system thinks that the "
                  "device's security is compromised, Device Management Client removes these "
                  "certificates and falls back to bootstrap mode.")
def test_refused_lwm2m_handshake_makes_the_device_bootstrap_again_with_its_id(
        make_cloud, factory, device):
    """The LwM2M server refuses the device's first TLS handshake (a fault of a service of the
    test's own: the server cannot tell devices apart before verifying them, so on a shared service
    another board could take it). The client drops its LwM2M credentials, bootstraps again with
    its device ID and registers (mbed-cloud-client `ConnectorClient::error`: SecureConnectionFailed
    during registration in bootstrap mode)."""
    service = make_cloud()
    if not service.can(FAULTS):
        pytest.skip(service.missing(FAULTS))
    owner = new_account(service, "handshake-refused")
    watched = device.using(service, owner)
    service.faults.fail_lwm2m_handshakes(1)
    factory.using(service, owner).bootstrap()
    registration = watched.wait_registered()
    device_id = registration.device_id
    mine = [e for e in service.events(watched.since)
            if e.device_id == device_id or (e.type == ev.REGISTRATION_ERROR and e.device_id is None)]
    kinds = [e.type for e in mine]
    assert kinds.count(ev.BOOTSTRAP) == 2, kinds
    refused = next(e for e in mine if e.type == ev.REGISTRATION_ERROR)
    assert refused.data["code"] == "tls" and "lwm2m" in refused.data["reason"], refused.data
    first, again = (e for e in mine if e.type == ev.BOOTSTRAP)
    assert kinds.index(ev.BOOTSTRAP) < kinds.index(ev.REGISTRATION_ERROR) < kinds.index(
        ev.REGISTRATION), kinds
    assert first.device_id == again.device_id == device_id
    assert (first.data["new_device"], again.data["new_device"]) == (True, False)
    assert [d.id for d in service.devices(owner.id)] == [device_id]
