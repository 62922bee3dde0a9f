"""Developer mode on any board that runs developer images: virtual boards and the real client.

Behaviour: seeds "Device credentials" (developer certificate) and "Device onboarding and
connection options"; the same scenarios run on a native board (the real Device Management
Client, ../shared/peers/pdmc-linux-tcp) through board capabilities, never the kind.
"""

from __future__ import annotations

import dataclasses

import pytest

from harness.cloud import events as ev
from harness.pki import make_bootstrap_device_cert, make_ca
from harness.transport import registry

pytestmark = [pytest.mark.area("developer"), pytest.mark.firmware("developer")]


@pytest.mark.scenario("developer: a restart keeps the device ID")
@pytest.mark.seed("onboarding", "If the credentials exist, the device registers directly with the "
                  "LwM2M server. Otherwise, it connects to the bootstrap server.")
def test_restart_of_a_developer_device_keeps_its_device_id(board, factory, device, cloud):
    """A developer device stores its LwM2M credentials; after a reset it registers again with
    the same device ID and does not bootstrap again."""
    factory.developer()
    first = device.wait_registered()
    # the first bootstrap's completion may be recorded just after the registration it enabled
    device.wait_event(ev.BOOTSTRAP, where=lambda e: e.device_id == first.device_id)
    device.checkpoint()
    board.reset()
    again = device.wait_event(ev.REGISTRATION, where=lambda e: e.device_id == first.device_id)
    assert again.device_id == first.device_id
    assert not [e for e in cloud.events(device.since)  # a shared service serves other boards too
                if e.type == ev.BOOTSTRAP and e.device_id == first.device_id], \
        "a restarted device with stored LwM2M credentials must not bootstrap again"
    assert device.directory().state == "registered"


@pytest.mark.scenario("developer: a factory reset of the board gives a new device ID")
def test_wiping_a_developer_device_gives_a_new_device_id(board, factory, device, account):
    """Factory reset from the board side (storage wiped, same firmware): the developer flow stores
    the compiled-in credentials again, the device bootstraps and gets a NEW device ID."""
    factory.developer()
    first = device.wait_registered()
    device.checkpoint()
    board.factory_reset()
    bootstrap = device.wait_event(ev.BOOTSTRAP, where=lambda e: e.account_id == account.id)
    second = device.wait_registered()
    assert second.device_id != first.device_id
    assert bootstrap.device_id == second.device_id


@pytest.mark.scenario("developer: a factory reset by the server (Execute /3/0/5) gives a new device ID")
def test_factory_reset_by_the_server_gives_a_new_device_id(factory, board, device, account):
    """The service executes Factory Reset (/3/0/5): the client keeps only what the factory (or its
    developer flow) stored; after the reboot that follows (the reference E2E suite reboots; the
    client itself stays registered meanwhile, as the real client does) it bootstraps again and
    gets a NEW device ID, as after wiping the board."""
    factory.developer()
    first = device.wait_registered()
    device.checkpoint()
    code = device.execute("/3/0/5")
    assert code.startswith("2."), f"Execute /3/0/5 answered {code}"
    device.expect(r"Factory reset resource triggered", timeout=10)
    board.reset()
    bootstrap = device.wait_event(ev.BOOTSTRAP, where=lambda e: e.account_id == account.id)
    second = device.wait_registered()
    assert bootstrap.device_id == second.device_id
    assert second.device_id != first.device_id, "the reset device kept its old device ID"


@pytest.mark.scenario("developer: Secure Connection Failed with a certificate from an untrusted CA")
@pytest.mark.seed("first-to-claim", "Secure Connection Failed. The CA certificate has not been "
                  "uploaded")
def test_developer_image_with_an_untrusted_ca_fails_the_secure_connection(board, device, cloud,
                                                                           account):
    """"Secure Connection Failed. The CA certificate has not been uploaded": a developer image
    whose device certificate comes from a CA nobody uploaded fails the TLS handshake; the client
    reports ConnectSecureConnectionFailed (12) and the service records the refused handshake."""
    transport = board.capabilities.client_transport
    if transport is not None and not registry.transport(transport).needs_tls:
        pytest.skip(f"board {board.id}: its client connects over {transport}, without TLS; "
                    "set `transport: tls-record` on the board to run this scenario")
    own = make_bootstrap_device_cert(make_ca("unknown developer CA"), "dev-untrusted")
    credentials = dataclasses.replace(board.developer_certificate.c_credentials(),
                                      endpoint_name="dev-untrusted",
                                      device_cert_der=own.cert_der, private_key_der=own.key_der)
    before = len(cloud.denials())
    device.checkpoint()
    board.flash(board.firmware, developer_credentials=credentials)
    error = device.wait_error()
    assert (error.name, error.code) == ("ConnectSecureConnectionFailed", 12)
    assert error.details.endswith("SecureConnectionFailed")
    assert [d for d in cloud.denials()[before:] if d.reason.startswith("Secure connection failed")], \
        "the service recorded no refused TLS handshake"
    assert not [d for d in cloud.devices(account.id) if d.endpoint_name == "dev-untrusted"], \
        "a refused handshake must not create a device"


@pytest.mark.scenario("developer: directory states cloud_enrolling -> bootstrapped -> registered")
@pytest.mark.seed("onboarding", "For a new device, Device Management creates an entry for the "
                  "device in the Device Directory, assigns it a new device ID and sets its state "
                  "to cloud enrolling.")
def test_developer_device_goes_through_the_directory_states(factory, device, cloud):
    """A new device is created (cloud enrolling), bootstrapped, then registered: the directory
    state each of the service's events carries."""
    factory.developer()
    registration = device.wait_registered()
    for kind in (ev.DEVICE_CREATED, ev.BOOTSTRAP):  # a remote service's stream may still be coming
        device.wait_event(kind, where=lambda e: e.device_id == registration.device_id)
    mine = [e for e in cloud.events(device.since) if e.device_id == registration.device_id]
    states = [e.type for e in mine]
    assert states.index(ev.DEVICE_CREATED) < states.index(ev.BOOTSTRAP) < states.index(ev.REGISTRATION)
    seen = [e.data.get("state") for e in mine
            if e.type in (ev.DEVICE_CREATED, ev.BOOTSTRAP, ev.REGISTRATION)]
    assert seen[:3] == ["cloud_enrolling", "bootstrapped", "registered"], seen
    entry = device.wait_state("registered")
    assert entry.bootstrapped_timestamp is not None and entry.registered_at is not None


@pytest.mark.scenario("developer: server-initiated read and execute")
def test_server_reads_and_executes_on_a_developer_device(factory, device, cloud):
    """The service reads a Device object resource and executes Reboot (/3/0/4): the device
    answers 2.05 with its manufacturer, 2.04 to the execute, and registers again."""
    factory.developer()
    first = device.wait_registered()
    code, _, payload = cloud.read(first.device_id, "/3/0/0")
    assert code == "2.05" and payload, f"read /3/0/0 answered {code} {payload!r}"
    device.reboot()
    again = device.wait_event(ev.REGISTRATION, where=lambda e: e.device_id == first.device_id)
    assert again.device_id == first.device_id


@pytest.mark.scenario("developer: registration event carries ep, original-ep and resources")
def test_developer_registration_event_names_the_device_and_its_resources(factory, device):
    """The registration event gives the device ID (ep), the original endpoint name and the
    device's resources."""
    developer = factory.developer()
    registration = device.wait_registered()
    data = registration.event.data
    assert data["ep"] == registration.device_id
    assert data["original-ep"] == developer.endpoint_name
    paths = {r["path"] for r in data["resources"]}
    assert {"/3/0/0", "/3/0/4", "/3/0/5"} <= paths
