"""Onboarding: developer and production credentials, own CA and factory CA, bootstrap and direct LwM2M.

Behaviour: seeds "Device credentials" and "Device onboarding and connection options".
"""

from __future__ import annotations

import pytest

from harness.cloud import events as ev

pytestmark = pytest.mark.area("onboarding")


@pytest.mark.firmware("developer")
@pytest.mark.scenario("onboarding: developer certificate")
def test_developer_certificate_device_bootstraps_and_registers(board, factory, device, cloud, account):
    """"During development, you can use the Developer certificate option. It uses the bootstrap
    onboarding and a certificate obtained from Device Management Portal (and compiled into the
    binary), without requiring the factory tools." """
    developer = factory.developer()
    registration = device.wait_registered()
    entry = device.directory()
    assert entry.account_id == account.id
    assert entry.endpoint_name == developer.endpoint_name
    assert entry.execution_mode == 1, "a developer device runs in developer execution mode (1)"
    assert registration.event.data["original-ep"] == developer.endpoint_name
    assert registration.event.data["mode"] == "bootstrap"


@pytest.mark.scenario("onboarding: production, own CA, bootstrap")
def test_production_device_with_own_ca_bootstraps_into_the_account(factory, device, account):
    """"Device Management offers a CA (as part of FCU) but also supports using an existing (third
    party) CA." Production credentials from the customer's own CA onboard through bootstrap."""
    own_ca = factory.own_ca()
    made = factory.bootstrap(ca=own_ca)
    registration = device.wait_registered()
    assert registration.endpoint_name == made.endpoint_name
    entry = device.directory()
    assert entry.account_id == account.id
    assert entry.execution_mode == 5, "a production device runs in production execution mode (5)"
    assert entry.lwm2m_mode == "bootstrap"


@pytest.mark.scenario("onboarding: production, factory CA, bootstrap")
def test_production_device_with_factory_ca_bootstraps_into_the_account(factory, device, account):
    """"FCU as certificate authority": bootstrap, production, with the factory tool's CA."""
    made = factory.bootstrap()
    registration = device.wait_registered()
    assert registration.endpoint_name == made.endpoint_name
    entry = device.directory()
    assert entry.account_id == account.id
    assert entry.state == "registered"


@pytest.mark.account(commercial=True)
@pytest.mark.scenario("onboarding: direct LwM2M, commercial account")
def test_direct_lwm2m_registers_without_bootstrap_on_a_commercial_account(factory, device, account,
                                                                           cloud):
    """"Using direct Device Management LwM2M server credentials (only available for commercial
    accounts)": the device registers straight to the LwM2M server, no bootstrap."""
    made = factory.lwm2m()
    registration = device.wait_registered()
    assert registration.endpoint_name == made.endpoint_name
    assert registration.event.data["mode"] == "direct"
    assert not [e for e in cloud.events(device.since)
                if e.type == ev.BOOTSTRAP and e.account_id == account.id], \
        "a direct LwM2M device must not bootstrap"
    assert device.directory().account_id == account.id


@pytest.mark.scenario("onboarding: direct LwM2M refused on a non-commercial account")
def test_direct_lwm2m_is_refused_on_a_non_commercial_account(factory, device, account, cloud):
    """"Direct LwM2M mode ... is available only for commercial accounts"; the registration is
    rejected and the client reports ConnectInvalidParameters."""
    assert not account.commercial
    factory.lwm2m()
    error = device.wait_error()
    assert error.name == "ConnectInvalidParameters"
    assert error.details == "LWM2M server rejected client registration"
    assert cloud.devices(account.id) == [], "a refused direct registration must not create a device"
    accepted = [e for e in cloud.events(device.since)
                if e.type in (ev.DEVICE_CREATED, ev.REGISTRATION) and e.account_id == account.id]
    assert accepted == [], f"a refused direct registration must not register: {accepted}"
    denials = [d.reason for d in cloud.denials(account.id)]
    assert "Register refused: Direct LwM2M registration needs a commercial account" in denials


@pytest.mark.scenario("onboarding: directory states")
def test_device_appears_in_the_directory_bootstrapped_then_registered(factory, device, cloud, account,
                                                                      rest):
    """"For a new device, Device Management creates an entry for the device in the Device
    Directory, assigns it a new device ID and sets its state to cloud enrolling" ... then
    bootstrapped, then registered once the registration flow completes."""
    factory.bootstrap()
    registration = device.wait_registered()
    states = [e.type for e in cloud.events(device.since) if e.device_id == registration.device_id]
    assert states.index(ev.DEVICE_CREATED) < states.index(ev.BOOTSTRAP) < states.index(ev.REGISTRATION)
    entry = device.wait_state("registered")
    assert entry.bootstrapped_timestamp is not None
    assert entry.registered_at is not None
    listed = rest.get_device(registration.device_id)  # the Device Directory API (v3)
    assert (listed.state, listed.endpoint_name) == ("registered", registration.endpoint_name)


@pytest.mark.scenario("onboarding: registration event carries ep, original-ep and resources")
def test_registration_event_has_device_id_original_name_and_resources(factory, device):
    """"The LwM2M server provides both the original device name (oep) and the new device ID (ep)
    to the application server ... The notification includes the device's Resource structure." """
    made = factory.bootstrap()
    registration = device.wait_registered()
    data = registration.event.data
    assert data["ep"] == registration.device_id
    assert data["original-ep"] == made.endpoint_name
    paths = {r["path"] for r in data["resources"]}
    assert {"/3/0/0", "/3/0/4", "/3/0/5"} <= paths
