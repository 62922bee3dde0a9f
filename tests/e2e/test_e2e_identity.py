"""Device identity: endpoint name uniqueness and device ID overwrite rules, factory reset, renewal.

Behaviour: seed "Device onboarding and connection options" (bootstrap flow, registration flow,
renewing LwM2M credentials); protocol-facts §3 (factory reset keeps production device IDs).
"""

from __future__ import annotations

import pytest

from fixtures.cloud import new_account
from harness.cloud import events as ev

LWM2M_CERT_SECONDS = 2
DUPLICATE_ENDPOINT = "Duplicated device endpoint name"
"""Seed troubleshooting table: "Duplicated device endpoint name." (sent without the full stop)."""


def _onboard_again(board, factory, **options):
    """Make the board factory-new (chip erase + flash) and provision it again."""
    board.flash(board.firmware)
    return factory.bootstrap(**options)


@pytest.mark.area("identity")
@pytest.mark.scenario("identity: bootstrap keeps the device ID of a known device")
@pytest.mark.seed("onboarding", "If the device has onboarded in the past, a new device ID is not "
                  "assigned. Instead, Device Management updates the device's existing Device Directory "
                  "entry.")
def test_bootstrap_reuses_the_device_id_of_a_device_that_onboarded_before(board, factory, device, cloud,
                                                                           account):
    """"If the device has onboarded in the past, a new device ID is not assigned. Instead, Device
    Management updates the device's existing Device Directory entry." """
    made = factory.bootstrap()
    first = device.wait_registered()
    device.checkpoint()
    _onboard_again(board, factory, endpoint_name=made.endpoint_name, credential=made.credential)
    second = device.wait_registered()
    assert second.device_id == first.device_id
    assert len(cloud.devices(account.id)) == 1


@pytest.mark.area("identity")
@pytest.mark.scenario("identity: endpoint name must be unique in the account (bootstrap)")
@pytest.mark.seed("onboarding", "Bootstrap uses the device's endpoint name as the identifier if the "
                  "device does not yet have a device ID ... This means that the endpoint name must be "
                  "unique in the account.")
def test_same_endpoint_name_with_another_certificate_is_refused_at_bootstrap(board, factory, device,
                                                                              cloud, account):
    """"Bootstrap uses the device's endpoint name as the identifier if the device does not yet
    have a device ID ... This means that the endpoint name must be unique in the account." A
    second device with the same name but another certificate is refused."""
    made = factory.bootstrap()
    first = device.wait_registered()
    device.checkpoint()
    _onboard_again(board, factory, endpoint_name=made.endpoint_name)  # new key + certificate
    error = device.wait_error()
    assert error.name == "ConnectNotAllowed"
    assert error.details == f"response-forbidden:{DUPLICATE_ENDPOINT}"
    assert [d.id for d in cloud.devices(account.id)] == [first.device_id]
    assert cloud.denials(account.id)[-1].reason == DUPLICATE_ENDPOINT


@pytest.mark.area("identity")
@pytest.mark.account(commercial=True)
@pytest.mark.scenario("identity: direct LwM2M, the last device with an endpoint name overwrites")
@pytest.mark.seed("onboarding", "The endpoint name individualizes the device. If there are two "
                  "devices with same endpoint name, the last registering device will overwrite the existing "
                  "one ... The device ID stays the same as it is mapped to the endpoint name.")
def test_direct_lwm2m_device_with_the_same_endpoint_name_overwrites_the_existing_one(board, factory,
                                                                                       device, cloud,
                                                                                       account):
    """"The endpoint name individualizes the device. If there are two devices with same endpoint
    name, the last registering device will overwrite the existing one ... The device ID stays the
    same as it is mapped to the endpoint name." """
    made = factory.lwm2m()
    first = device.wait_registered()
    device.checkpoint()
    board.flash(board.firmware)
    factory.lwm2m(endpoint_name=made.endpoint_name, trust=False)  # another key, same name
    second = device.wait_registered()
    assert second.device_id == first.device_id
    assert [d.id for d in cloud.devices(account.id)] == [first.device_id]


@pytest.mark.area("factory-reset")
@pytest.mark.firmware("developer")
@pytest.mark.scenario("factory reset: developer device gets a new device ID")
def test_factory_reset_of_a_developer_device_gives_a_new_device_id(factory, device, cloud, account):
    """E2E test_05: after factory reset + reboot a developer device gets a NEW device ID; its
    LwM2M credentials are erased, so it bootstraps again."""
    factory.developer()
    first = device.wait_registered()
    device.factory_reset()
    device.expect("Factory reset resource triggered", timeout=5)
    bootstrap = device.wait_event(ev.BOOTSTRAP, where=lambda e: e.account_id == account.id)
    second = device.wait_registered()
    assert second.device_id != first.device_id
    assert bootstrap.device_id == second.device_id
    assert bootstrap.data["new_device"] is True
    assert cloud.device(second.device_id).account_id == account.id


@pytest.mark.area("factory-reset")
@pytest.mark.scenario("factory reset: production device keeps its device ID")
def test_factory_reset_of_a_production_device_keeps_its_device_id(factory, device, cloud, account):
    """E2E test_05: a production device keeps the SAME device ID after factory reset + reboot;
    the reset erased its LwM2M credentials, so it bootstraps again first."""
    factory.bootstrap()
    first = device.wait_registered()
    device.factory_reset()
    bootstrap = device.wait_event(ev.BOOTSTRAP, where=lambda e: e.device_id == first.device_id)
    second = device.wait_registered()
    assert second.device_id == first.device_id
    assert bootstrap.data["new_device"] is False
    assert len(cloud.devices(account.id)) == 1


@pytest.mark.area("renewal")
@pytest.mark.scenario("renewal: LwM2M certificate expiry falls back to bootstrap, same device ID")
@pytest.mark.seed("onboarding", "If the certificate validity expires ... Device Management Client "
                  "removes these certificates and falls back to bootstrap mode ... The device ID remains "
                  "the same, so the device does not lose its identity in Device Management.")
def test_expired_lwm2m_certificate_is_renewed_through_bootstrap_with_the_same_device_id(
        make_cloud, factory, device):
    """"If the certificate validity expires ... Device Management Client removes these
    certificates and falls back to bootstrap mode ... The device ID remains the same, so the
    device does not lose its identity in Device Management." """
    service = make_cloud(lwm2m_credential_validity=LWM2M_CERT_SECONDS)
    owner = new_account(service, "renewal")
    watched = device.using(service, owner)
    factory.using(service, owner).bootstrap()
    first = watched.wait_registered()
    watched.checkpoint()
    renewed = watched.wait_event(ev.BOOTSTRAP, timeout=LWM2M_CERT_SECONDS + 10)
    second = watched.wait_registered()
    assert renewed.device_id == first.device_id
    assert renewed.data["new_device"] is False
    assert second.device_id == first.device_id
    assert len(service.devices(owner.id)) == 1



@pytest.mark.area("identity")
@pytest.mark.scenario("identity: a device cannot take over another device's ID at bootstrap")
@pytest.mark.seed("onboarding", "Bootstrap uses the device's endpoint name as the identifier if the "
                  "device does not yet have a device ID.")
@pytest.mark.seed("onboarding", "If the device has onboarded in the past, a new device ID is not "
                  "assigned.")
def test_bootstrap_with_another_devices_id_gets_its_own_id(cloud, account, factory):
    """Light clients: device A onboards; device B (another certificate, another name) presents A's
    device ID in its Bootstrap-Request (iep) and gets a new device ID of its own, while A's entry
    keeps its name; A presenting its own ID keeps it."""
    from light_lwm2m import LabDevice, run

    from harness.pki import make_device_cert

    factory.trust(factory.factory_ca)
    uri = cloud.bootstrap_uri(account.id)

    def light(name: str) -> LabDevice:
        return LabDevice("tls-record", name, credential=make_device_cert(factory.factory_ca, name),
                         server_ca_der=cloud.server_ca_der)

    async def scenario() -> tuple[str, str, str]:
        a, b = light(factory.endpoint_name()), light(factory.endpoint_name())
        try:
            first = (await a.bootstrap(uri)).device_id
            other = (await b.bootstrap(uri, iep=first)).device_id
            again = (await a.bootstrap(uri, iep=first)).device_id
            return str(first), str(other), str(again)
        finally:
            await a.close()
            await b.close()

    first, other, again = run(scenario())
    assert other != first, "a device took over another device's ID by naming it at bootstrap"
    assert again == first, "a device that onboarded before keeps its device ID"
    assert len(cloud.devices(account.id)) == 2
