"""Documented numbers, asserted with the document's own values: the registration rate limit
(count, window AND hold), the developer certificate's 100 devices, and the resource structure
a registration update adds to.

These drive the service with a light LwM2M client over the real transports (many endpoints, exact
timing); the numbers are literals quoted from the seed, never constants of the service.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from aiocoap import Message
from aiocoap.numbers.codes import Code
from light_lwm2m import BootstrapFailed, LabDevice, run

from harness.cloud import events as ev
from harness.config import RateLimit

pytestmark = pytest.mark.area("registration")

DOCUMENTED_COUNT = 10
DOCUMENTED_WINDOW_S = 10.0
DOCUMENTED_HOLD_S = 60.0
"""Seed: "more than 10 times within 10 seconds, the operation will be put on hold for 60 seconds"."""

DOCUMENTED_DEVELOPER_DEVICES = 100
"""Seed: "a developer certificate, which can support up to 100 devices"."""

RATE_TIME_SCALE = 0.05
"""The rate limit's window and hold are scaled by this (times --hil-timeout-scale): 0.5 s and 3 s."""


def _developer_board(cloud, account):
    """A light device holding a fresh developer certificate of the account (its endpoint name)."""
    dc = cloud.developer_certificate(account.id)
    return dc, LabDevice("tls-record", dc.endpoint_name, credential=dc.credential,
                         server_ca_der=dc.server_ca_der)


async def _registered(cloud, account) -> LabDevice:
    """A light device bootstrapped with a developer certificate and registered."""
    dc, dev = _developer_board(cloud, account)
    provisioned = await dev.bootstrap(dc.bootstrap_uri)
    await dev.switch_to_lwm2m(provisioned)
    response = await dev.register(provisioned.lwm2m_uri, lifetime=3600)
    assert response.code == Code.CREATED, f"Register answered {response.code}"
    return dev


@pytest.mark.scenario("registration: rate limit count, window and hold")
@pytest.mark.seed("onboarding", "If the Device Management Client performs a registration operation "
                  "(register or register-update) more than 10 times within 10 seconds, the "
                  "operation will be put on hold for 60 seconds.")
def test_rate_limit_counts_within_the_window_and_holds_for_the_hold(make_cloud, account,
                                                                    hil_record, hil_timeout_scale):
    """The documented 10 operations / 10 s -> 60 s hold, with the window and the hold scaled by the
    same factor (recorded as the `rate_limit.scale` property): operations spread over less than
    the window count together; once the window has passed they no longer do; the hold refuses
    operations for its whole length and ends after it."""
    scale = RATE_TIME_SCALE * hil_timeout_scale
    window, hold = DOCUMENTED_WINDOW_S * scale, DOCUMENTED_HOLD_S * scale
    hil_record.set("rate_limit.scale", scale)
    hil_record.set("rate_limit", f"more than {DOCUMENTED_COUNT} in {window:g} s -> held {hold:g} s "
                   f"(documented: {DOCUMENTED_WINDOW_S:g} s -> {DOCUMENTED_HOLD_S:g} s)")
    limited = make_cloud(rate_limit=RateLimit(count=DOCUMENTED_COUNT, window=window, hold=hold))
    owner = limited.create_account("rate-limit", commercial=False)

    async def scenario() -> None:
        dev = await _registered(limited, owner)
        try:
            # the Register was operation 1; wait out its window
            await asyncio.sleep(window * 1.2)
            # window: DOCUMENTED_COUNT operations spread over 80 % of the window are all accepted...
            start = time.monotonic()
            step = 0.8 * window / (DOCUMENTED_COUNT - 1)
            for i in range(DOCUMENTED_COUNT):
                await asyncio.sleep(max(0.0, start + i * step - time.monotonic()))
                code = (await dev.update()).code
                assert code == Code.CHANGED, f"operation {i + 1} of {DOCUMENTED_COUNT} answered {code}"
            # ... and one more inside the same window is the one put on hold
            assert time.monotonic() - start < window, "the lab was too slow to stay in the window"
            held_at = time.monotonic()
            assert (await dev.update()).code == Code.TOO_MANY_REQUESTS, \
                f"operation {DOCUMENTED_COUNT + 1} within the window must be put on hold"
            # hold: still refused just before it ends...
            await asyncio.sleep(max(0.0, held_at + 0.8 * hold - time.monotonic()))
            assert (await dev.update()).code == Code.TOO_MANY_REQUESTS, \
                f"the hold must last {hold:g} s, it ended before {0.8 * hold:g} s"
            # ... and over once it has passed
            await asyncio.sleep(max(0.0, held_at + 1.1 * hold - time.monotonic()))
            assert (await dev.update()).code == Code.CHANGED, \
                f"the hold must end after {hold:g} s, still held at {1.1 * hold:g} s"
            # a window that has passed does not count: DOCUMENTED_COUNT again, then a pause of a
            # window, then DOCUMENTED_COUNT more are all accepted
            for _ in range(DOCUMENTED_COUNT - 1):
                assert (await dev.update()).code == Code.CHANGED
            await asyncio.sleep(window * 1.1)
            for i in range(DOCUMENTED_COUNT):
                code = (await dev.update()).code
                assert code == Code.CHANGED, \
                    f"operations of a window that has passed still counted (operation {i + 1})"
        finally:
            await dev.close()

    run(scenario(), timeout=30 + 3 * hold)
    held = [e for e in limited.events(0) if e.type == ev.RATE_LIMITED]
    assert len(held) == 1, f"exactly one hold, saw {len(held)}"


@pytest.mark.area("onboarding")
@pytest.mark.scenario("onboarding: developer certificate supports up to 100 devices")
@pytest.mark.seed("credentials", "Developer mode: Based on a developer certificate, which can "
                  "support up to 100 devices.")
def test_developer_certificate_onboards_100_devices_and_refuses_the_101st(cloud, account):
    """100 endpoints bootstrap through one developer certificate; the 101st is refused and does
    not enter the directory (a light client: 101 bootstraps over one TLS connection)."""
    dc = cloud.developer_certificate(account.id)

    async def scenario() -> tuple[list[str | None], BootstrapFailed]:
        # the same certificate without a device id is a new device each time: one connection
        # bootstraps 100 of them (what 100 boards built with it would do, without 100 handshakes)
        dev = LabDevice("tls-record", dc.endpoint_name, credential=dc.credential,
                        server_ca_der=dc.server_ca_der)
        try:
            ids = [(await dev.bootstrap(dc.bootstrap_uri)).device_id
                   for _ in range(DOCUMENTED_DEVELOPER_DEVICES)]
            with pytest.raises(BootstrapFailed) as refused:
                await dev.bootstrap(dc.bootstrap_uri)
            return ids, refused.value
        finally:
            await dev.close()

    ids, refused = run(scenario(), timeout=120)
    assert len(set(ids)) == DOCUMENTED_DEVELOPER_DEVICES
    assert refused.code == "4.03", f"the 101st device was answered {refused.code} {refused.text}"
    entries = cloud.devices(account.id)
    assert len(entries) == DOCUMENTED_DEVELOPER_DEVICES
    assert {e.id for e in entries} == set(ids), "only the 100 accepted devices are in the directory"


@pytest.mark.scenario("registration: update adds to and removes from the resource structure")
@pytest.mark.seed("onboarding", "The device registers with the LwM2M server using its LwM2M "
                  "credentials and provides its resource structure.")
@pytest.mark.seed("onboarding", "Registration updates include a delta of the Resource structure, "
                  "which the device application can change.")
@pytest.mark.seed("onboarding", "The registration update includes the full Resource structure.")
def test_registration_update_applies_a_delta_to_the_resource_structure(cloud, account):
    """Register with a structure, then Update with a delta (one resource added, one removed with
    `;d`, one changed): the directory and the update notification hold the full new structure."""
    links = '</1/0>,</3/0>,</3/0/0>;rt="manufacturer",</3/0/4>,</3/0/5>'
    delta = '</3303/0/5700>;rt="temperature";obs,</3/0/4>;d,</3/0/0>;rt="maker"'
    since = cloud.mark()

    async def scenario() -> str:
        dc, dev = _developer_board(cloud, account)
        provisioned = await dev.bootstrap(dc.bootstrap_uri)
        await dev.switch_to_lwm2m(provisioned)
        try:
            assert (await dev.register(provisioned.lwm2m_uri, links=links)).code == Code.CREATED
            assert (await dev.update(links=delta)).code == Code.CHANGED
            return str(dev.device_id)
        finally:
            await dev.close()

    device_id = run(scenario())
    registered = cloud.wait_event(ev.REGISTRATION, since=since, timeout=5,
                                  where=lambda e: e.device_id == device_id)
    assert {r["path"] for r in registered.data["resources"]} == \
        {"/1/0", "/3/0", "/3/0/0", "/3/0/4", "/3/0/5"}
    update = cloud.wait_event(ev.REG_UPDATE, since=since, timeout=5,
                              where=lambda e: e.device_id == device_id)
    expected = {"/1/0", "/3/0", "/3/0/0", "/3/0/5", "/3303/0/5700"}
    assert {r["path"] for r in update.data["resources"]} == expected, \
        "the update notification carries the full structure: added kept, `;d` removed"
    stored = {r["path"]: r for r in cloud.device(device_id).resources}
    assert set(stored) == expected
    assert stored["/3/0/0"]["rt"] == "maker", "a changed link replaces the registered one"
    assert stored["/3303/0/5700"]["rt"] == "temperature" and stored["/3303/0/5700"]["obs"] is True
    assert stored["/3/0/5"]["rt"] == "" and stored["/1/0"]["path"] == "/1/0"


@pytest.mark.scenario("registration: the resource structure is RFC 6690 link-format")
@pytest.mark.seed("onboarding", "Device Management Connect implements the CoAP Resource directory to "
                  "store the device's Resource structure (see RFC 6690).")
def test_register_with_a_structure_that_is_not_link_format_is_refused(cloud, account):
    """A Register whose payload is declared as another content-format than link-format (40) is
    refused with 4.15, one whose link-format is broken with 4.00, and neither registers anything;
    the same structure as link-format registers."""
    from harness.lwm2m.ids import ContentFormat

    async def scenario() -> tuple[Code, Message, Code]:
        dc, dev = _developer_board(cloud, account)
        provisioned = await dev.bootstrap(dc.bootstrap_uri)
        await dev.switch_to_lwm2m(provisioned)
        try:
            base, _, query = provisioned.lwm2m_uri.partition("?")
            uri = f"{base}/rd?ep={dev.endpoint_name}&b=U&lwm2m=1.0&lt=300&{query}"
            links = b'</1/0>,</3/0>,</3/0/0>'
            wrong = await dev.request(Code.POST, uri, payload=links,
                                      content_format=ContentFormat.TEXT)
            broken = await dev.request(Code.POST, uri, payload=b'</1/0>,</3/0',
                                       content_format=ContentFormat.LINK_FORMAT)
            right = await dev.request(Code.POST, uri, payload=links,
                                      content_format=ContentFormat.LINK_FORMAT)
            return wrong.code, broken, right.code
        finally:
            await dev.close()

    since = cloud.mark()
    wrong, broken, right = run(scenario())
    assert wrong == Code.UNSUPPORTED_CONTENT_FORMAT, f"a text/plain structure was answered {wrong}"
    assert broken.code == Code.BAD_REQUEST, f"an unterminated link was answered {broken.code}"
    assert broken.payload.decode().startswith("Link-format payload is malformed"), broken.payload
    assert right == Code.CREATED
    assert len([e for e in cloud.events(since) if e.type == ev.REGISTRATION
                and e.account_id == account.id]) == 1
