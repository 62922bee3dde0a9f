"""A direct LwM2M device whose certificate expires while it is registered does not fall back to
bootstrap: it has no bootstrap credentials to fall back with (seed "credentials": "The device
cannot fall back to bootstrap."), so it keeps its registration on the session it has, where a
bootstrap-mode device drops its certificate and bootstraps again (seed "onboarding": "If the
certificate validity expires ..., Device Management Client removes these certificates and falls
back to bootstrap mode.", tests/e2e/test_e2e_developer_renewal.py)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from harness.cloud import events as ev

pytestmark = pytest.mark.area("renewal")

VALIDITY = dt.timedelta(seconds=8)
"""The direct LwM2M certificate's validity: long enough to provision, boot and register."""
SHORT_LIFETIME = {"lifetime": 2, "min_lifetime": 1}
"""Firmware knobs: a 2 s registration lifetime, so the client updates every 1.5 s."""
CLOCK_SLACK = dt.timedelta(seconds=2)
"""How far the board's clock may trail the host's: it takes the server's time from the TLS
handshake in whole seconds (docs/tls.md), so it sees the expiry up to a second late."""


@pytest.mark.account(commercial=True)
@pytest.mark.firmware("factory", **SHORT_LIFETIME)
@pytest.mark.scenario("renewal: a direct LwM2M device keeps its registration past its certificate")
@pytest.mark.seed("credentials", "Using direct Device Management LwM2M server credentials (only "
                  "available for commercial accounts): The device cannot fall back to bootstrap.")
def test_a_direct_lwm2m_device_does_not_fall_back_when_its_certificate_expires(factory, device):
    """The device's LwM2M certificate is valid for 8 s: an Update well after that time (by the
    board's clock too) still reaches the service on its session, and the board never reports
    `Re-bootstrapping` nor tries a bootstrap."""
    first = len(device.board.console.lines)  # this scenario's lines only
    made = factory.lwm2m(validity=VALIDITY)
    registration = device.wait_registered()
    expired_at = made.credential.cert.not_valid_after_utc
    device.wait_event(ev.REG_UPDATE, timeout=VALIDITY.total_seconds() + 10,
                      where=lambda e: e.device_id == registration.device_id
                      and e.created_at > expired_at + CLOCK_SLACK)
    fallen = [line for line in device.board.console.lines[first:]
              if re.search(r"Re-bootstrapping|Client bootstrap|Error occurred", line)]
    assert not fallen, f"a direct LwM2M device fell back (or failed) when its certificate expired: {fallen}"
