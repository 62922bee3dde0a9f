"""An image built with an empty endpoint type: its Register and Update carry no `et` at all.

Behaviour: the real client's, measured in tests/peers/test_peer_pdmc_empty_endpoint_type.py (the
kit's client built with an empty MBED_CLOUD_CLIENT_ENDPOINT_TYPE: Register
`ep&lt&lwm2m=1.0&d&b=U&aid&mccv`, and after a cut lifetime an Update with no query), as the
4.13.2 sources say (`M2MNsdlInterface::create_endpoint` keeps a non-empty type only; sn_nsdl.c
writes `et=` only for a type of non-zero length). protocol-facts §3 "Register"
(`et=<type, default "default">`) is the type of a build that sets none, not of an empty one.

The virtual board sent `et=default` for such an image until this scenario pinned the real
client's behaviour.
"""

from __future__ import annotations

import time

import pytest
from cryptography.x509.oid import NameOID

from fixtures.cloud import new_account
from harness.cloud import events as ev
from harness.cloud.wiretap import traces

pytestmark = pytest.mark.area("wire")

SHORT_LIFETIME = 2
"""Seconds the service grants (its cap): the first Update (at 75 %) comes within the test."""


def _lwm2m_posts(start: float) -> list:
    """The POSTs the service's LwM2M server received since `start` (first blocks, oldest first)."""
    records = [r for trace in traces() for r in trace.between(start, time.time())[0]]
    return sorted((r for r in records if r.server == "lwm2m" and r.direction == "in"
                   and r.code == "POST" and (not r.block1 or r.block1.startswith("0/"))),
                  key=lambda r: r.t)


@pytest.mark.firmware("factory", endpoint_type="", min_lifetime=1)
@pytest.mark.scenario("wire: an image with an empty endpoint type sends no et")
def test_an_image_with_an_empty_endpoint_type_sends_no_et(board, make_cloud, factory, device):
    """The image's manifest sets an empty endpoint type; the service grants 2 s. The Register
    has no `et` parameter and the first Update has no query, as the real client built so."""
    if not traces():
        pytest.skip("the lab's service runs outside the test process (remote): it has no "
                    "in-process wire trace to read the board's CoAP queries from")
    service = make_cloud(lifetime_max=float(SHORT_LIFETIME))
    owner = new_account(service, "empty-type")
    watched = device.using(service, owner)
    start = time.time()
    made = factory.using(service, owner).bootstrap()
    name = str(made.credential.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)
    registration = watched.wait_registered()
    watched.wait_event(ev.REG_UPDATE, timeout=10)
    posts = _lwm2m_posts(start)
    registers = [r.query for r in posts if r.path == "/rd" and f"ep={name}&" in r.query]
    assert registers, f"no Register of {name}"
    assert not [p for p in registers[0].split("&") if p.split("=", 1)[0] == "et"], registers[0]
    updates = [r for r in posts if r.path == f"/rd/{owner.id}/{registration.device_id}"]
    assert updates, f"no Update of {registration.device_id}"
    assert updates[0].query == "", updates[0]
