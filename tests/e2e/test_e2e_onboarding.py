"""Onboarding: developer and production credentials, own CA and factory CA, bootstrap and direct LwM2M.

Behaviour: seeds "Device credentials" and "Device onboarding and connection options".
"""

from __future__ import annotations

import pytest

from harness.cloud import events as ev

pytestmark = pytest.mark.area("onboarding")


@pytest.mark.firmware("developer")
@pytest.mark.scenario("onboarding: developer certificate")
@pytest.mark.seed("onboarding", "During development, you can use the Developer certificate option. "
                  "It uses the bootstrap onboarding and a certificate obtained from Device Management "
                  "Portal (and compiled into the binary), without requiring the factory tools.")
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
@pytest.mark.seed("credentials", "Device Management offers a CA (as part of FCU) but also supports "
                  "using an existing (third party) CA.")
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
@pytest.mark.seed("credentials", "FCU as certificate authority")
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
@pytest.mark.seed("credentials", "Using direct Device Management LwM2M server credentials (only "
                  "available for commercial accounts)")
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
@pytest.mark.seed("onboarding", "Direct LwM2M mode: The device bypasses the bootstrap service and "
                  "registers directly with the LwM2M server, using factory-injected LwM2M "
                  "credentials. This mode is available only for commercial accounts")
@pytest.mark.seed("credentials", "Using direct Device Management LwM2M server credentials (only "
                  "available for commercial accounts): The device cannot fall back to bootstrap.")
def test_direct_lwm2m_is_refused_on_a_non_commercial_account(factory, device, account, cloud):
    """The registration is rejected and the client reports ConnectInvalidParameters; having no
    bootstrap credentials, it never falls back to a Bootstrap-Request."""
    assert not account.commercial
    made = factory.lwm2m()
    error = device.wait_error()
    assert error.name == "ConnectInvalidParameters"
    assert error.details == "LWM2M server rejected client registration"
    assert cloud.devices(account.id) == [], "a refused direct registration must not create a device"
    accepted = [e for e in cloud.events(device.since)
                if e.type in (ev.DEVICE_CREATED, ev.REGISTRATION) and e.account_id == account.id]
    assert accepted == [], f"a refused direct registration must not register: {accepted}"
    denials = [d.reason for d in cloud.denials(account.id)]
    assert any(r.startswith("Register refused:") for r in denials), denials
    bootstraps = [e for e in cloud.events(device.since)
                  if e.type in (ev.BOOTSTRAP, ev.BOOTSTRAP_ERROR, ev.DEVICE_CREATED)
                  and e.data.get("original-ep") == made.endpoint_name]
    assert bootstraps == [], f"a direct LwM2M device cannot fall back to bootstrap: {bootstraps}"
    assert not device.board.seen(r"Client bootstrap"), \
        "the console shows a bootstrap attempt of a direct LwM2M device"
    # it stays down after the refusal: the board prints nothing more (no `Re-bootstrapping`, no
    # other report) until it is reset, i.e. every line before the next boot banner
    device.board.board.reset()  # the bare reset: the console cursor stays after the error
    after = device.board.console.readlines_until(device.board.pattern("boot"), 30 * device.scale)
    assert not [line for line in after[:-1] if line.startswith("Error ") or "bootstrap" in line], \
        f"after its refusal a direct LwM2M device printed: {after[:-1]}"


@pytest.mark.scenario("onboarding: directory states")
@pytest.mark.seed("onboarding", "For a new device, Device Management creates an entry for the "
                  "device in the Device Directory, assigns it a new device ID and sets its state "
                  "to cloud enrolling.")
@pytest.mark.seed("onboarding", "When the device successfully bootstraps, it starts the "
                  "registration flow.")
def test_device_appears_in_the_directory_bootstrapped_then_registered(factory, device, cloud, account,
                                                                      rest):
    """The directory entry passes through cloud_enrolling -> bootstrapped -> registered: each
    transition is observed in the directory state the service's events carry."""
    factory.bootstrap()
    registration = device.wait_registered()
    for kind in (ev.DEVICE_CREATED, ev.BOOTSTRAP):  # a remote service's stream may still be coming
        device.wait_event(kind, where=lambda e: e.device_id == registration.device_id)
    mine = [e for e in cloud.events(device.since) if e.device_id == registration.device_id]
    types = [e.type for e in mine]
    assert types.index(ev.DEVICE_CREATED) < types.index(ev.BOOTSTRAP) < types.index(ev.REGISTRATION)
    states = [e.data.get("state") for e in mine
              if e.type in (ev.DEVICE_CREATED, ev.BOOTSTRAP, ev.REGISTRATION)]
    assert states[:3] == ["cloud_enrolling", "bootstrapped", "registered"], \
        f"directory states seen by the events: {states}"
    entry = device.wait_state("registered")
    assert entry.bootstrapped_timestamp is not None
    assert entry.registered_at is not None
    listed = rest.get_device(registration.device_id)  # the Device Directory API (v3)
    assert (listed.state, listed.endpoint_name) == ("registered", registration.endpoint_name)


@pytest.mark.scenario("onboarding: registration event carries ep, original-ep and resources")
@pytest.mark.seed("onboarding", "The LwM2M server provides both the original device name (oep) and "
                  "the new device ID (ep) to the application server ... The notification includes the "
                  "device's Resource structure.")
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
    # as the real client registers its device object (tests/peers/test_peer_pdmc_client.py): the
    # manufacturer, set once, is not observable; the error code is
    obs = {r["path"]: r.get("obs") for r in data["resources"]}
    assert obs["/3/0/0"] is False and obs["/3/0/11"] is True, obs


@pytest.mark.scenario("onboarding: a rebooted device registers with its stored LwM2M credentials")
@pytest.mark.seed("onboarding", "Device Management Client's setup() API checks whether there are "
                  "LwM2M server credentials available. If the credentials exist, the device "
                  "registers directly with the LwM2M server.")
@pytest.mark.seed("onboarding", "Currently, Device Management implements bootstrapping at two "
                  "stages: ... Automatically, on the first power on.")
def test_rebooted_device_registers_without_bootstrapping_again(factory, device, cloud, board):
    """After a reset the bootstrap-mode device registers straight away with the LwM2M credentials
    it stored: no Bootstrap-Request reaches the service and the console shows no bootstrap."""
    made = factory.bootstrap()
    first = device.wait_registered()
    # the first bootstrap's completion may be recorded just after the registration it enabled
    device.wait_event(ev.BOOTSTRAP, where=lambda e: e.device_id == first.device_id)
    bootstrapped_before = len(board.seen("Client bootstrapped"))
    device.checkpoint()
    board.reset()
    again = device.wait_registered()
    assert again.device_id == first.device_id
    assert len(board.seen("Client bootstrapped")) == bootstrapped_before, \
        "the rebooted device bootstrapped again"
    bootstraps = [e for e in cloud.events(device.since)
                  if e.type in (ev.BOOTSTRAP, ev.BOOTSTRAP_ERROR, ev.DEVICE_CREATED)
                  and (e.device_id == first.device_id
                       or e.data.get("original-ep") == made.endpoint_name)]
    assert bootstraps == [], f"a Bootstrap-Request after the reboot: {bootstraps}"
    assert again.event.data["mode"] == "bootstrap", "registered with the bootstrapped credentials"


@pytest.mark.account(commercial=True)
@pytest.mark.scenario("onboarding: developer credentials cannot register directly")
@pytest.mark.seed("credentials", "Credentials Bootstrap Direct LwM2M Own CA FCU CA Development "
                  "credentials [x] Production credentials")
def test_developer_credentials_cannot_be_used_for_direct_lwm2m(cloud, account):
    """The credentials table: development credentials support bootstrap only. A developer
    certificate presented straight to the LwM2M server (a light client) is not registered."""
    from aiocoap.numbers.codes import Code
    from light_lwm2m import LabDevice, run

    dc = cloud.developer_certificate(account.id)
    since = cloud.mark()

    async def scenario():
        dev = LabDevice("tls-record", dc.endpoint_name, credential=dc.credential,
                        server_ca_der=dc.server_ca_der)
        try:
            return (await dev.register(cloud.lwm2m_uri(account.id))).code
        except Exception as exc:  # noqa: BLE001 - a refused handshake is a refusal too
            return exc
        finally:
            await dev.close()

    answer = run(scenario())
    assert answer != Code.CREATED, "a developer certificate registered directly to the LwM2M server"
    assert cloud.devices(account.id) == []
    assert not [e for e in cloud.events(since) if e.type == ev.REGISTRATION
                and e.account_id == account.id]
