"""A scenario that fails on purpose, to see what a failure looks like in the nightly report.

It runs only with `hil run --fail-on-purpose` (pytest --hil-fail-on-purpose, or
HIL_FAIL_ON_PURPOSE=1); otherwise it is deselected. Nothing in it is faked: the device's CA is
trusted by another account only, so the service really refuses the Bootstrap-Request (4.03,
`Corresponding trusted certificate not in account`), the board really prints the error, and the
test's wait for `Client registered` really runs out. The report's timeline of this test tells
that story on one time axis: console, CoAP wire and the service's decision.
"""

from __future__ import annotations

import pytest

FAIL_FAST = 3.0
"""Seconds the test waits for a registration that cannot come (the refusal takes well under 1 s)."""


@pytest.mark.fail_on_purpose
@pytest.mark.area("onboarding")
@pytest.mark.scenario("onboarding: production, own CA trusted by another account (fails on purpose)")
def test_onboarding_fails_on_purpose_when_another_account_trusts_the_ca(factory, device, other_account):
    """Expects a registration the service must refuse: this test fails, on purpose."""
    ca = factory.own_ca("misfiled-oem")
    factory.trust(ca, other_account)  # the mistake: the CA went to the wrong account
    factory.bootstrap(ca=ca, trust=False)
    registration = device.wait_registered(timeout=FAIL_FAST)
    assert registration.device_id, "the device registered without a device ID"
