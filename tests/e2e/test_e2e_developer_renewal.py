"""A developer device (credentials compiled into its image) renews its LwM2M credentials.

The service finds a developer device again only by the device ID the client sends in its
Bootstrap-Request (`iep=`, protocol facts §3 "Bootstrap"): its developer certificate is shared by
no other device, but the directory entry is keyed by the device ID.
"""

from __future__ import annotations

import pytest

from fixtures.cloud import new_account
from harness.cloud import events as ev

pytestmark = [pytest.mark.area("developer"), pytest.mark.firmware("developer")]

LWM2M_CERT_SECONDS = 2
"""The LwM2M certificate validity of the service these scenarios start (the real one: 30 days)."""


@pytest.mark.scenario("renewal: a developer device falls back to bootstrap and keeps its device ID")
@pytest.mark.seed("onboarding", "If the certificate validity expires ... Device Management Client "
                  "removes these certificates and falls back to bootstrap mode ... The device ID remains "
                  "the same, so the device does not lose its identity in Device Management.")
def test_developer_device_renews_expired_lwm2m_credentials_with_the_same_device_id(
        make_cloud, board, device):
    """A developer image for a service whose LwM2M certificates expire after 2 s: the device
    bootstraps again with its stored device ID and keeps it; the directory holds one device."""
    service = make_cloud(lwm2m_credential_validity=LWM2M_CERT_SECONDS)
    owner = new_account(service, "developer-renewal")
    watched = device.using(service, owner)
    dev = board.flash_developer(service, owner)
    first = watched.wait_registered()
    watched.checkpoint()
    renewed = watched.wait_event(ev.BOOTSTRAP, timeout=LWM2M_CERT_SECONDS + 10)
    second = watched.wait_registered()
    assert renewed.device_id == first.device_id == second.device_id
    data = renewed.data
    assert (data["ep"], data["original-ep"], data["account_id"]) == (
        first.device_id, dev.endpoint_name, owner.id)
    assert (data["new_device"], data["first_to_claim"], data["mode"]) == (False, False, "certificate")
    assert [d.id for d in service.devices(owner.id)] == [first.device_id]
