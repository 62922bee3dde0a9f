"""The lifetime a client keeps when the service grants less than it asked.

Behaviour: seed "Device onboarding and connection options" (Registration flow); protocol-facts
§3.1 (Register): the client "reads a Max-Age ≥60 as the granted lifetime (non-standard)".
"""

from __future__ import annotations

import pytest

from fixtures.cloud import new_account
from harness.cloud import events as ev

pytestmark = pytest.mark.area("registration")

ASKED = 4
"""The lifetime the image is built with, the one the client asks for at Register (the real client
asks for its build's, whatever the bootstrap server wrote to /1/0/1)."""
GRANTED = 2.0
"""The most the service grants (its Max-Age): the image's minimum lifetime, so Max-Age == minimum."""
LATE = 2.5
"""An Update gap above this is late: the client updates at 75 % of its lifetime, 1.5 s of the 2 s
granted, or 3 s if it kept the 4 s it asked for; 2.5 s lies between, with 1 s of slack for load."""


@pytest.mark.firmware("factory", lifetime=ASKED, min_lifetime=int(GRANTED))
@pytest.mark.scenario("registration: a granted lifetime equal to the client's minimum is kept")
@pytest.mark.seed("onboarding", "The registration transaction includes a negotiation of the "
                  "registration session lifetime. It is initially configured in the client.")
def test_a_lifetime_granted_at_the_clients_minimum_is_the_one_it_updates_within(make_cloud, factory,
                                                                                device):
    """The client asks for 4 s, the service grants 2 s, which is this image's minimum lifetime
    (the real client's is 60 s): a Max-Age at the minimum counts ("≥60"), so the client updates
    within 2 s and the service never expires the registration over three lifetimes."""
    service = make_cloud(lifetime_max=GRANTED)
    owner = new_account(service, "granted-minimum")
    factory, device = factory.using(service, owner), device.using(service, owner)
    factory.bootstrap()
    registration = device.wait_registered()
    assert registration.event.data["lt"] == GRANTED, f"granted lt={registration.event.data['lt']}"
    previous = registration.event
    for n in range(3):
        update = device.wait_event(
            ev.REG_UPDATE, timeout=10,
            where=lambda e, after=previous.created_at: e.device_id == registration.device_id
            and e.created_at > after)
        gap = (update.created_at - previous.created_at).total_seconds()
        assert gap < LATE, (f"update {n + 1} came {gap:.2f} s after the last: the client did not "
                            f"keep the {GRANTED} s granted")
        previous = update
    assert device.directory().state == "registered"
