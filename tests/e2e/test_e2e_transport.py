"""Transport: the board onboards over the transport its firmware is built for.

Behaviour: "Device onboarding and connection options" - the client's TCP build uses TLS
(tls-record), its "LwM2M compliant" UDP build DTLS 1.2 (protocol-facts §3 and §3.1 point 6).
On the default lab this runs over tls-record; on labs/dtls.yaml over dtls.
"""

from __future__ import annotations

import pytest

from harness.cloud import events as ev
from harness.transport import kind_for

pytestmark = pytest.mark.area("onboarding")


@pytest.mark.scenario("onboarding: over the firmware's transport (TLS or DTLS)")
def test_device_onboards_over_the_transport_of_its_firmware(board, factory, device, account):
    """A production device bootstraps and registers over its image's secure transport, and the
    service knows it by its certificate (never as NoSec)."""
    made = factory.bootstrap()
    registration = device.wait_registered()
    assert registration.endpoint_name == made.endpoint_name
    assert registration.event.data["transport"] == board.secure_kind
    assert registration.event.data["mode"] == "bootstrap"
    assert device.directory().account_id == account.id


@pytest.mark.firmware("factory")
@pytest.mark.scenario("onboarding: a NoSec device (coap:// URI) bootstraps and registers in its account")
def test_nosec_device_bootstraps_and_registers_over_coap(factory, device, cloud, account):
    """A device whose factory bundle names a coap:// bootstrap URI (with aid) has no security:
    its TCP build frames CoAP with the 4-byte length (protocol-facts §3.1 point 6, NoSec), the
    bootstrap server writes a coap:// LwM2M URI, and the device registers there as NoSec into the
    account of `aid`."""
    name = factory.nosec_bootstrap()
    registration = device.wait_registered()
    assert registration.endpoint_name == name
    assert registration.event.data["mode"] == "nosec"
    assert registration.event.data["transport"] == kind_for(factory.board.image.transport, "coap")
    bootstrap = device.wait_event(ev.BOOTSTRAP, where=lambda e: e.device_id == registration.device_id)
    assert bootstrap.data["mode"] == "nosec" and bootstrap.account_id == account.id
    assert device.directory().account_id == account.id
