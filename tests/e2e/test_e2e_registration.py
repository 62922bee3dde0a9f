"""Registration flow: updates, de-registration, expiry, and the registration rate limit.

Behaviour: seed "Device onboarding and connection options" (Registration flow).
"""

from __future__ import annotations

import os

import pytest

from fixtures.cloud import new_account
from harness.boards.kinds.virtual import BACKOFF_ENV
from harness.cloud import events as ev
from harness.config import RateLimit

pytestmark = pytest.mark.area("registration")

SHORT_LIFETIME = {"lifetime": 2, "min_lifetime": 1}
"""Firmware knobs: a 2 s registration lifetime, so the client updates every 1.5 s."""


@pytest.fixture
def short_lived(make_cloud, factory, device):
    """A service writing 2 s lifetimes at bootstrap, with its own account: (factory, device).
    The client asks for its image's lifetime, not the written one: the scenarios set it too."""
    service = make_cloud(lifetime_default=2.0)
    owner = new_account(service, "short-lived")
    return factory.using(service, owner), device.using(service, owner)


@pytest.mark.firmware("factory", **SHORT_LIFETIME)
@pytest.mark.scenario("registration: reg-update without original-ep")
@pytest.mark.seed("onboarding", "The device maintains the registration automatically by sending the "
                  "server registration updates within the agreed lifetime ... The LwM2M server does not "
                  "provide the original device name anymore; the web application works with the new device "
                  "ID.")
def test_registration_update_carries_device_id_but_not_the_original_name(short_lived):
    """"The device maintains the registration automatically by sending the server registration
    updates within the agreed lifetime ... The LwM2M server does not provide the original device
    name anymore; the web application works with the new device ID." """
    factory, device = short_lived
    factory.bootstrap()
    registration = device.wait_registered()
    update = device.wait_event(ev.REG_UPDATE, timeout=10)
    assert update.data["ep"] == registration.device_id
    assert "original-ep" not in update.data
    assert device.directory().state == "registered"


@pytest.mark.firmware("factory", **SHORT_LIFETIME)
@pytest.mark.needs("can_halt")
@pytest.mark.scenario("registration: expiry clears resources")
@pytest.mark.seed("onboarding", "Whenever the client deregisters or its registration session "
                  "expires, the server clears the Resource structure information and message queues.")
def test_registration_expiry_clears_the_resource_structure(short_lived, board):
    """"Whenever the client deregisters or its registration session expires, the server clears
    the Resource structure information and message queues." """
    factory, device = short_lived
    factory.bootstrap()
    registration = device.wait_registered()
    assert device.directory().resources, "a registered device has its resource structure"
    device.checkpoint()
    board.halt()  # the probe stops the core: no more registration updates
    device.wait_event(ev.REGISTRATION_EXPIRED, timeout=10)
    entry = device.directory()
    assert entry.id == registration.device_id
    assert entry.resources == []
    assert entry.state == "deregistered"


@pytest.mark.needs("can_deregister")
@pytest.mark.scenario("registration: de-registration clears resources")
@pytest.mark.seed("onboarding", "The device deregisters itself when it no longer needs connectivity "
                  "... The LwM2M server clears the device queues and resource structures from the server.")
def test_deregistration_clears_resources(factory, device, board):
    """"The device deregisters itself when it no longer needs connectivity ... The LwM2M server
    clears the device queues and resource structures from the server." """
    factory.bootstrap()
    registration = device.wait_registered()
    assert device.directory().resources, "a registered device has its resource structure"
    device.checkpoint()
    board.deregister()  # the application's de-register call
    device.expect("Client unregistered", timeout=10)
    # the server acknowledged the De-register (2.02 Deleted): the client reports no error
    assert [m.group(1) for m in board.seen("error")] == [], "a clean de-registration reported an error"
    event = device.wait_event(ev.DE_REGISTRATION, timeout=10)
    assert event.data["ep"] == registration.device_id
    entry = device.directory()
    assert entry.state == "deregistered"
    assert entry.resources == []


@pytest.mark.firmware("factory", lifetime=1, min_lifetime=1)
@pytest.mark.scenario("registration: rate limit holds a device")
@pytest.mark.seed("onboarding", "If the Device Management Client performs a registration operation "
                  "(register or register-update) more than 10 times within 10 seconds, the operation will "
                  "be put on hold for 60 seconds.")
def test_more_registrations_than_the_limit_in_the_window_are_held(factory, device, make_cloud,
                                                                  board):
    """"If the Device Management Client performs a registration operation (register or
    register-update) more than 10 times within 10 seconds, the operation will be put on hold for
    60 seconds." Shortened here: more than 3 in 10 s -> held for 2 s."""
    limited = make_cloud(rate_limit=RateLimit(count=3, window=10.0, hold=2.0))
    owner = new_account(limited, "rate-limited")
    watched = device.using(limited, owner)
    factory.using(limited, owner).bootstrap()
    registration = watched.wait_registered()
    # the image is built with a 1 s lifetime (its minimum 1 s): it registers with it, not with
    # the service's default the bootstrap server wrote (the real client asks for its build's)
    assert registration.event.data["lt"] == 1, f"registered with lt={registration.event.data['lt']}"
    held = watched.wait_event(ev.RATE_LIMITED, timeout=10)
    assert held.device_id == registration.device_id
    assert held.data["count"] == 3 and held.data["window"] == 10.0 and held.data["hold"] == 2.0
    assert held.data["key"] == registration.device_id, "the limit is counted per device"
    ops = [e for e in limited.events(watched.since)
           if e.device_id == registration.device_id and e.type in (ev.REGISTRATION, ev.REG_UPDATE)]
    assert len(ops) == 3, f"the fourth operation in the window must be held, saw {len(ops)} accepted"
    # nothing is accepted while held; after the hold the device registers again
    watched.checkpoint()
    again = watched.wait_event(ev.REGISTRATION, timeout=10,
                               where=lambda e: e.device_id == registration.device_id)
    assert (again.created_at - held.created_at).total_seconds() >= 2.0 - 0.2
    # while held the client reconnects with its back-off, which starts at its base after a
    # success (the client resets its reconnection time when registered: mbed-client
    # M2MInterfaceImpl::state_registered); checked where the board traces its reconnections and
    # the lab sets the base (HIL_SIM_BACKOFF_BASE)
    delays = [float(m.group(1)) for m in board.seen(r"Client reconnecting in ([\d.]+) s")]
    base = float(os.environ.get(BACKOFF_ENV) or 0)
    if delays and base:
        assert delays[0] == pytest.approx(base, rel=0.15), f"reconnection delays {delays}"
        # and doubles with each failure (mbed-client RECONNECT_INCREMENT_FACTOR): covering the
        # 2 s hold from a 0.2 s base takes a delay of at least 4x the base
        assert max(delays) >= 4 * base * 0.9, f"the back-off does not double: {delays}"
        second = delays[1] if len(delays) > 1 else 2 * base  # doubled, or base again after a success
        assert second == pytest.approx(2 * base, rel=0.15) or second == pytest.approx(base, rel=0.15), \
            f"the back-off does not double: {delays}"


@pytest.mark.firmware("factory", queue_mode=True)
@pytest.mark.scenario("registration: a queue-mode client registers with binding UQ")
def test_queue_mode_firmware_registers_in_queue_mode(factory, device, cloud):
    """A client built for queue mode registers with binding `UQ`; the registration notification
    says so (`q`), and the directory keeps the binding. Its Supported Binding and Modes /3/0/16
    reads the same `UQ` (the real client's /3/0/16 is the binding it registers with: `U` with
    `b=U`, tests/peers/test_peer_pdmc_register_values.py; protocol facts 3 Register: queue mode
    is `UQ`)."""
    factory.bootstrap()
    registration = device.wait_registered()
    assert registration.event.data["q"] is True
    assert device.directory().binding == "UQ"
    assert cloud.read(registration.device_id, "/3/0/16") == ("2.05", 0, b"UQ")


@pytest.mark.firmware("factory", queue_mode=True, endpoint_type="sensor", **SHORT_LIFETIME)
@pytest.mark.scenario("registration: updates keep the queue mode and the endpoint type")
@pytest.mark.seed("onboarding", "The LwM2M server notifies the application server of the "
                  "register_update().")
def test_updates_of_a_queue_mode_device_keep_its_binding_and_endpoint_type(short_lived):
    """"The LwM2M server notifies the application server of the register_update()." A queue-mode
    image of endpoint type `sensor` (et=, protocol-facts §3.1 Register and Update) registers and
    updates with both: each notification says `q` and the type, and the directory keeps them."""
    factory, device = short_lived
    factory.bootstrap()
    registration = device.wait_registered()
    assert (registration.event.data["q"], registration.event.data["ept"]) == (True, "sensor")
    update = device.wait_event(ev.REG_UPDATE, timeout=10,
                               where=lambda e: e.device_id == registration.device_id)
    assert (update.data["q"], update.data["ept"]) == (True, "sensor")
    entry = device.directory()
    assert (entry.binding, entry.endpoint_type) == ("UQ", "sensor")


@pytest.mark.scenario("registration: a client not in queue mode registers with binding U")
def test_default_firmware_registers_without_queue_mode(factory, device):
    """The default image registers with binding `U`: the notification's `q` is false, and its
    endpoint type is the client's default, `default` (protocol-facts §3.1, Register `et=`)."""
    factory.bootstrap()
    registration = device.wait_registered()
    assert registration.event.data["q"] is False
    assert registration.event.data["ept"] == "default"
    assert device.directory().binding == "U"


@pytest.mark.firmware("factory", lifetime=2, min_lifetime=3)
@pytest.mark.scenario("registration: a client's minimum lifetime wins over a shorter one built in")
@pytest.mark.seed("onboarding", "The registration transaction includes a negotiation of the "
                  "registration session lifetime. It is initially configured in the client.")
def test_client_minimum_lifetime_is_the_one_registered_and_kept_by_updates(short_lived):
    """The image is built with 2 s but its minimum is 3 s (the real client's is 60 s,
    protocol-facts: "client minimum 60 s"; this image lowers it to 3), so it registers with
    lt=3, and its Updates (no lt=) keep 3 s, not the 2 s the bootstrap server wrote (the real
    client asks for its build's lifetime whatever /1/0/1 says: tests/peers/
    test_peer_pdmc_wire_queries.py)."""
    factory, device = short_lived
    factory.bootstrap()
    registration = device.wait_registered()
    assert registration.event.data["lt"] == 3, f"registered with lt={registration.event.data['lt']}"
    update = device.wait_event(ev.REG_UPDATE, timeout=10)
    assert update.data["lt"] == 3, f"the update left lt={update.data['lt']}"
    assert device.directory().lifetime == 3


@pytest.mark.firmware("factory", lifetime=2, min_lifetime=1)
@pytest.mark.scenario("registration: the lifetime the client is built with is the one negotiated")
@pytest.mark.seed("onboarding", "The registration transaction includes a negotiation of the "
                  "registration session lifetime. It is initially configured in the client.")
def test_registration_uses_the_lifetime_the_image_is_built_with(make_cloud, factory, device):
    """"It is initially configured in the client": the image is built with 2 s; the bootstrap
    server writes 1 s (shorter) into the Server object, and the client still registers with its
    own 2 s and updates within it, as the real client asks for its build's 7200 s after a
    bootstrap that wrote 60 s (tests/peers/test_peer_pdmc_wire_queries.py)."""
    service = make_cloud(lifetime_default=1.0)
    owner = new_account(service, "built-lifetime")
    factory, device = factory.using(service, owner), device.using(service, owner)
    factory.bootstrap()
    registration = device.wait_registered()
    assert registration.event.data["lt"] == 2, f"registered with lt={registration.event.data['lt']}"
    update = device.wait_event(ev.REG_UPDATE, timeout=10)
    assert update.device_id == registration.device_id
    # an Update without lt= keeps the negotiated lifetime (OMA LwM2M Core 5.3.2, Update: "lt"
    # optional; protocol-facts §3.1: the client sends it only when it changed)
    assert update.data["lt"] == 2, f"the update left lt={update.data['lt']}"
    assert device.directory().lifetime == 2
