"""Transport: the board onboards over the transport its firmware is built for.

Behaviour: "Device onboarding and connection options" - the client's TCP build uses TLS
(tls-record), its "LwM2M compliant" UDP build DTLS 1.2 (protocol-facts §3 and §3.1 point 6).
On the default lab this runs over tls-record; on labs/dtls.yaml over dtls.
"""

from __future__ import annotations

import pytest

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
