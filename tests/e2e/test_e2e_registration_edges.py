"""Registration edges: the standard account of NoSec devices, a registration another device's
certificate cannot touch, and a De-register the service no longer knows.

Behaviour: docs/standard-clients.md ("Standard mode"), the LwM2M registration interface (OMA LwM2M
Core 5.3: Update and De-register address the location the Register answered), and the real
client's error report (protocol-facts §2: `ConnectorUnregistrationFailed`, 14 from 4.8.0, 13
before; the example app has no case for it and prints `UNKNOWN`).
"""

from __future__ import annotations

import asyncio
import json
import queue
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from aiocoap.numbers.codes import Code
from light_lwm2m import LabDevice, run

from fixtures.cloud import new_account
from harness.cloud import events as ev

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "rest"))
from rest_test_support import Receiver  # noqa: E402 - tests/unit/rest/rest_test_support.py

pytestmark = pytest.mark.area("registration")

COAP_CLIENT = shutil.which("coap-client-openssl") or shutil.which("coap-client-notls")
STANDARD_ACCOUNT = "standard"
"""docs/standard-clients.md: `hil cloud serve --standard-account standard`."""

UNREGISTRATION_FAILED_LINES = {
    "modern": ["Error occurred : UNKNOWN", "Error code : 14", "Error details : Unregistration failed"],
    "legacy": ["Error occurred : UNKNOWN", "Error code : 13", "Error details : Unregistration failed"],
}
"""The example app's report of `ConnectorUnregistrationFailed` (protocol-facts §2: 14 for clients
>= 4.8.0, 13 for <= 4.7.x; `pdmc_error_handler()` has no case for it, so the name is `UNKNOWN`;
the details are the client's "Unregistration failed", a string of libmbedclient.a)."""


def _coap_register(uri: str) -> subprocess.CompletedProcess[str]:
    """One CON POST /rd with a link-format body, as the documented coap-client command sends it."""
    return subprocess.run([str(COAP_CLIENT), "-m", "post", "-t", "40", "-e", "</3/0>,</1/0>", uri],
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.skipif(COAP_CLIENT is None, reason="libcoap's coap-client is not installed "
                    "(apt-get install libcoap3-bin)")
@pytest.mark.scenario("standard clients: a NoSec client without aid= joins the standard account")
def test_nosec_register_without_aid_joins_the_standard_account(make_cloud):
    """docs/standard-clients.md: "`hil cloud serve --standard-account NAME`: the account (created
    if missing) that NoSec and PSK devices join when they name none." libcoap's coap-client
    registers over udp NoSec without `aid=` and lands in that account, registered as NoSec; with
    `aid=` of another account it lands there instead."""
    service = make_cloud(standard_account=STANDARD_ACCOUNT)
    admin = getattr(service, "admin", None)
    if admin is None:
        pytest.skip(f"{type(service).__name__} has no admin API to look the standard account up")
    standard = admin.account_named(STANDARD_ACCOUNT)
    assert standard is not None, f"the service did not create the standard account {STANDARD_ACCOUNT!r}"
    udp = service.server_uri("lwm2m", "udp")
    if not udp.startswith("coap://"):
        pytest.skip(f"the lab's service serves no udp LwM2M ({udp}); add udp to service.transports")
    name = f"nosec-std-{uuid.uuid4().hex[:8]}"
    since = service.mark()
    done = _coap_register(f"{udp}/rd?ep={name}&lt=300&lwm2m=1.1&b=U")
    assert done.returncode == 0, f"the NoSec Register without aid= was refused: {done}"
    registered = service.wait_event(ev.REGISTRATION, since=since, timeout=10,
                                    where=lambda e: e.data.get("original-ep") == name)
    assert registered.account_id == standard.id
    assert registered.data["mode"] == "nosec"
    assert [d.endpoint_name for d in service.devices(standard.id)] == [name]
    # a NoSec device that names its account joins that one, not the standard account
    other = new_account(service, "names-its-account")
    named = f"{name}-aid"
    since = service.mark()
    done = _coap_register(f"{udp}/rd?ep={named}&lt=300&lwm2m=1.1&b=U&aid={other.id}")
    assert done.returncode == 0, done
    joined = service.wait_event(ev.REGISTRATION, since=since, timeout=10,
                                where=lambda e: e.data.get("original-ep") == named)
    assert joined.account_id == other.id


async def _registered_with_a_developer_certificate(cloud, account, lifetime: int = 3600
                                                   ) -> LabDevice:
    """A light device bootstrapped with a fresh developer certificate (its LwM2M certificate
    names its own device id) and registered."""
    dc = cloud.developer_certificate(account.id)
    dev = LabDevice("tls-record", dc.endpoint_name, credential=dc.credential,
                    server_ca_der=dc.server_ca_der)
    provisioned = await dev.bootstrap(dc.bootstrap_uri)
    await dev.switch_to_lwm2m(provisioned)
    response = await dev.register(provisioned.lwm2m_uri, lifetime=lifetime)
    assert response.code == Code.CREATED, f"Register answered {response.code}"
    assert dev.device_id == provisioned.device_id, "the location names the device of the certificate"
    return dev


@pytest.mark.scenario("registration: another device's certificate cannot update or de-register")
def test_update_and_deregister_with_another_devices_certificate_are_refused(cloud, account):
    """Devices A and B each hold an LwM2M certificate issued at bootstrap (L = own device id). B
    sends an Update and a De-register to A's registration location: both get 4.03 and the
    sentence saying whose registration it is; A stays registered and its own Update still works."""
    async def scenario() -> tuple[str, list[tuple[str, str]], str]:
        a = await _registered_with_a_developer_certificate(cloud, account)
        b = await _registered_with_a_developer_certificate(cloud, account)
        try:
            b.location = a.location  # B addresses A's registration with B's certificate
            answers = []
            for response in (await b.update(lifetime=120), await b.deregister()):
                answers.append((str(response.code.dotted), response.payload.decode()))
            own = await a.update()
            return str(a.device_id), answers, str(own.code.dotted)
        finally:
            await a.close()
            await b.close()

    a_id, answers, own_update = run(scenario())
    assert answers == [("4.03", "This registration belongs to another device")] * 2, answers
    entry = cloud.device(a_id)
    assert entry is not None and entry.state == "registered", entry
    assert entry.lifetime == 3600, "the refused Update must not change A's lifetime"
    assert own_update == "2.04"


@pytest.mark.needs("can_deregister")
@pytest.mark.scenario("registration: a De-register of an expired registration is reported failed")
def test_deregister_after_the_service_expired_the_registration_reports_the_failure(
        make_cloud, factory, device, board):
    """The service grants at most 2 s, below the client's 60 s minimum: the client ignores a
    Max-Age under 60 (protocol-facts §3.1 Register: "reads a Max-Age >= 60 as the granted
    lifetime") and keeps its own lifetime, so the service expires the registration long before
    the client's first Update. The application's de-register then meets 4.04 instead of 2.02
    (OMA LwM2M Core 5.3.3: De-register is answered 2.02 Deleted), and the example app reports
    the failure before it prints that the client unregistered."""
    service = make_cloud(lifetime_max=2.0, lifetime_default=2.0)
    owner = new_account(service, "expired-first")
    watched = device.using(service, owner)
    factory.using(service, owner).bootstrap()
    registration = watched.wait_registered()
    assert registration.event.data["lt"] == 2, f"the service granted lt={registration.event.data['lt']}"
    watched.wait_event(ev.REGISTRATION_EXPIRED, timeout=10)
    watched.checkpoint()
    board.deregister()  # the application's de-register call
    with watched.waiting("the de-register's console lines"):
        said = board.console.readlines_until("^Client unregistered - Exiting application$",
                                             10 * watched.scale)
    numbering = "legacy" if _before_4_8(board.image.client_version) else "modern"
    # between the de-register call and `Client unregistered`: the error report, and only that
    assert [line for line in said if line.startswith("Error ")] == \
        UNREGISTRATION_FAILED_LINES[numbering], said
    # the service saw no De-register of a registration it no longer had
    assert [e for e in service.events(watched.since) if e.type == ev.DE_REGISTRATION] == []
    assert watched.directory().state == "deregistered"


def _before_4_8(version: str) -> bool:
    """Whether a client of `version` predates 4.8.0 (protocol-facts §2: the numbering changed)."""
    parts = [int("".join(c for c in p if c.isdigit()) or 0) for p in version.split(".")[:3]]
    return tuple(parts) < (4, 8, 0)


class Notifications:
    """What the account's webhook received (the notification channel, not the service's internal
    event bus); the service may batch several kinds into one notification."""

    def __init__(self, receiver) -> None:
        self.receiver = receiver
        self.seen: dict[str, list] = {}

    def entry(self, key: str, device_id: str, tries: int = 20) -> object:
        """The `key` entry of `device_id`, from what came so far or the next notifications."""
        for read in range(tries + 1):
            for entry in self.seen.get(key, []):
                if entry == device_id or (isinstance(entry, dict) and entry.get("ep") == device_id):
                    return entry
            if read < tries:
                try:
                    body = self.receiver.next(timeout=10)[1]
                except queue.Empty:
                    break
                for name, items in json.loads(body).items():
                    self.seen.setdefault(name, []).extend(items)
        raise AssertionError(f"the webhook got no {key} entry of {device_id}; it got {self.seen}")


@pytest.mark.area("notifications")
@pytest.mark.scenario("notifications: a registration update and a de-registration reach the webhook")
@pytest.mark.seed("onboarding", "The LwM2M server notifies the application server of the "
                  "register_update().")
def test_registration_update_and_deregistration_reach_the_webhook(cloud, account, rest):
    """"The LwM2M server notifies the application server of the register_update()." A device's
    Update adding a resource reaches the account's webhook as `reg-updates` (the device id as `ep`,
    no `original-ep`, the resource structure with the new resource), and its De-register as
    `de-registrations`."""
    receiver = Receiver()
    try:
        rest.set_webhook(receiver.url)
        receiver.next()  # the service checks the URL with an empty notification first

        async def scenario() -> tuple[str, str, str]:
            dev = await _registered_with_a_developer_certificate(cloud, account)
            try:
                updated = await dev.update(links='</3/0/13>;rt="time"')
                deleted = await dev.deregister()
                return str(dev.device_id), str(updated.code.dotted), str(deleted.code.dotted)
            finally:
                await dev.close()

        device_id, updated, deleted = run(scenario())
        assert (updated, deleted) == ("2.04", "2.02")
        notifications = Notifications(receiver)
        update = notifications.entry("reg-updates", device_id)
        gone = notifications.entry("de-registrations", device_id)
    finally:
        receiver.close()
    assert isinstance(update, dict) and "original-ep" not in update, update
    assert {"/3/0/0", "/3/0/13"} <= {r["path"] for r in update["resources"]}, update
    assert gone == device_id


@pytest.mark.area("notifications")
@pytest.mark.scenario("registration: updates within the lifetime keep a registration; then it expires")
@pytest.mark.seed("onboarding", "The device maintains the registration automatically by sending the "
                  "server registration updates within the agreed lifetime")
@pytest.mark.seed("onboarding", "Whenever the client deregisters or its registration session "
                  "expires, the server clears the Resource structure information and message queues.")
def test_updates_keep_a_registration_over_many_lifetimes_and_silence_expires_it(cloud, account,
                                                                                rest,
                                                                                hil_timeout_scale):
    """A device registered for 2 s updates every 0.8 s for three lifetimes: it is never expired.
    Then it falls silent: the service expires it within its lifetime (plus the expiry check),
    clears its resource structure and tells the webhook (`registrations-expired`)."""
    receiver = Receiver()
    try:
        rest.set_webhook(receiver.url)
        receiver.next()
        since = cloud.mark()

        async def scenario() -> tuple[str, object, list[str]]:
            dev = await _registered_with_a_developer_certificate(cloud, account, lifetime=2)
            codes: list[str] = []
            try:
                granted = getattr(cloud.device(str(dev.device_id)), "lifetime", None)
                if granted != 2:  # a service without the test timings (lifetime_min 60 s)
                    return str(dev.device_id), granted, codes
                for _ in range(8):  # 9 operations in 6.4 s: under the documented 10 in 10 s
                    await asyncio.sleep(0.8)  # the device's update period, not a wait for an event
                    codes.append(str((await dev.update()).code.dotted))
                return str(dev.device_id), granted, codes
            finally:
                await dev.close()

        device_id, granted, codes = run(scenario())
        if granted != 2:
            pytest.skip(f"the service granted lt={granted}, not 2 s: this scenario needs a "
                        "service with the test timings (lifetime_min 1 s)")
        assert codes == ["2.04"] * 8, f"an Update within the lifetime was refused: {codes}"
        kept = [e for e in cloud.events(since)
                if e.type == ev.REGISTRATION_EXPIRED and e.device_id == device_id]
        assert kept == [], "a registration updated within its lifetime must not expire"
        silent_at = time.monotonic()
        cloud.wait_event(ev.REGISTRATION_EXPIRED, since=since, timeout=10,
                         where=lambda e: e.device_id == device_id)
        waited = time.monotonic() - silent_at
        expired = Notifications(receiver).entry("registrations-expired", device_id)
    finally:
        receiver.close()
    assert waited < 2.0 + 1.5 * hil_timeout_scale, \
        f"expired {waited:.1f} s after the last Update, lifetime 2 s"
    assert expired == device_id
    entry = cloud.device(device_id)
    assert entry is not None and (entry.state, entry.resources) == ("deregistered", [])
