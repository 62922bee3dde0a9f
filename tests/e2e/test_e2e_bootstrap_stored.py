"""Bootstrap writes of the Device object's stored resources and of a security resource the
client has not got, against virtual boards; what the board does afterwards.

The answers are the real Device Management Client's, measured in
tests/peers/test_peer_pdmc_bootstrap_stored.py. Protocol facts 3.1: "/3/0/13, 14, 15 (time, UTC
offset, timezone) are stored". The real client keeps a written UTC offset or timezone only where
it already has one (a developer device has none: the write is answered 2.04 and the Read stays
4.04), and its Current Time reads as its own clock, never the written value. A factory-provisioned
device holds the offset and timezone its factory stored; the bootstrap's values replace them.
The real client has no Access Control object (/2): a bootstrap write to it is refused.
"""

from __future__ import annotations

import time

import pytest

from harness.cloud import events as ev
from tests.e2e.bootstrap_configs import (
    ACCOUNT_WRITES,
    bootstrap_event,
    check_refused_resource_write,
    configure,
)

pytestmark = pytest.mark.area("bootstrap-config")

TEXT = 0
"""CoAP Content-Format text/plain."""
STORED_FACT = "/3/0/13, 14, 15 (time, UTC offset, timezone) are stored"
"""Protocol facts 3.1, quoted."""
WRITTEN_TIME = 1_600_000_000
STORED_WRITES = [{"path": "/3/0/13", "value": WRITTEN_TIME},
                 {"path": "/3/0/14", "value": "+02:00"},
                 {"path": "/3/0/15", "value": "Europe/Helsinki"}]
STORED_OPERATIONS = [*ACCOUNT_WRITES, "PUT /3/0/13 2.04", "PUT /3/0/14 2.04", "PUT /3/0/15 2.04",
                     "POST /bs 2.04"]
CLOCK_SLACK = 60
"""Seconds a device's clock (taken from the service's TLS handshake) may differ from the host's."""


def _assert_clock(cloud, device_id: str) -> None:
    """/3/0/13 reads as the device's running clock, not the time the bootstrap wrote."""
    code, ct, clock = cloud.read(device_id, "/3/0/13")
    assert (code, ct) == ("2.05", TEXT), (code, ct, clock)
    assert abs(int(clock) - time.time()) < CLOCK_SLACK, \
        f"/3/0/13 {clock!r} is not the device's clock (the bootstrap wrote {WRITTEN_TIME})"


@pytest.mark.scenario("bootstrap config: time, UTC offset and timezone written at bootstrap")
def test_bootstrap_writes_replace_the_factory_stored_offset_and_timezone(cloud, account, factory,
                                                                           device, board):
    """Protocol facts 3.1: "/3/0/13, 14, 15 (time, UTC offset, timezone) are stored". A
    factory-provisioned device answers each write 2.04; it then reads the written UTC offset and
    timezone (in place of its factory's), still after a restart (stored), and its Current Time
    is its clock."""
    configure(cloud, account, {"extra_writes": STORED_WRITES})
    factory.bootstrap(ca=factory.own_ca())
    device_id = device.wait_registered().device_id
    assert bootstrap_event(device).data["operations"] == STORED_OPERATIONS, STORED_FACT
    for _start in ("first start", "restart"):
        assert cloud.read(device_id, "/3/0/14") == ("2.05", TEXT, b"+02:00"), _start
        assert cloud.read(device_id, "/3/0/15") == ("2.05", TEXT, b"Europe/Helsinki"), _start
        _assert_clock(cloud, device_id)
        device.checkpoint()
        board.reset()
        device.wait_event(ev.REGISTRATION, where=lambda e: e.device_id == device_id)


@pytest.mark.firmware("developer")
@pytest.mark.scenario("bootstrap config: UTC offset and timezone written to a developer device")
def test_a_developer_device_answers_offset_and_timezone_writes_but_has_neither(
        cloud, account, factory, device, board):
    """A developer device has no stored UTC offset or timezone: the bootstrap's writes of
    /3/0/13, 14 and 15 are answered 2.04, it registers, and /3/0/14 and /3/0/15 still read 4.04
    Not Found while /3/0/13 reads its clock, as the real client does (measured:
    tests/peers/test_peer_pdmc_bootstrap_stored.py). The configuration applies from the device's
    next bootstrap: after a factory reset of the board."""
    configure(cloud, account, {"extra_writes": STORED_WRITES})
    factory.developer()
    device.wait_registered()
    device.checkpoint()
    board.factory_reset()
    bootstrap = device.wait_event(ev.BOOTSTRAP, where=lambda e: e.account_id == account.id)
    assert bootstrap.data["operations"] == STORED_OPERATIONS
    device_id = device.wait_registered().device_id
    for path in ("/3/0/14", "/3/0/15"):
        assert cloud.read(device_id, path)[0] == "4.04", f"{path} exists after a bootstrap write"
    _assert_clock(cloud, device_id)


@pytest.mark.scenario("bootstrap config: a write of a security resource the client has not got")
def test_a_write_of_a_security_resource_the_instance_lacks_fails_the_bootstrap(cloud, account,
                                                                                factory, device):
    """PUT /0/0/7 (a resource the client's /0/0 has not got) is a bare resource list: it
    replaces /0/0, so the client answers 4.00 and reports the validation failure
    `BS FIN fails :Invalid security object` (ConnectBootstrapFailed, code 2), as the real client
    does; the service sends no Bootstrap-Finish and reports the refused step."""
    check_refused_resource_write(cloud, account, factory, device, "/0/0/7", 1)


@pytest.mark.scenario("bootstrap config: a Device object instance write of the current time")
def test_an_instance_write_of_the_current_time_is_taken_and_the_clock_runs_on(cloud, account,
                                                                              factory, device):
    """PUT /3/0 with an object-instance TLV naming /3/0/13 only (instance_writes) is answered
    2.04 and the device registers, as the real client does; /3/0/13 then reads as the device's
    clock, not the written time."""
    configure(cloud, account, {"instance_writes": [{"path": "/3/0",
                                                    "values": {13: WRITTEN_TIME}}]})
    factory.bootstrap(ca=factory.own_ca())
    device_id = device.wait_registered().device_id
    assert bootstrap_event(device).data["operations"] == [*ACCOUNT_WRITES, "PUT /3/0 2.04",
                                                     "POST /bs 2.04"]
    _assert_clock(cloud, device_id)


@pytest.mark.scenario("bootstrap config: a write to the Access Control object")
@pytest.mark.parametrize(("config", "path"), [
    ({"extra_writes": [{"path": "/2/0/3", "value": 1}]}, "2/0/3"),
    ({"instance_writes": [{"path": "/2/0", "values": {0: 1, 1: 0, 3: 1}}]}, "2/0"),
], ids=["resource", "instance"])
def test_a_write_to_access_control_fails_the_bootstrap(cloud, account, factory, device, config,
                                                       path):
    """The real client has no Access Control object (/2): a Bootstrap-Write of /2/0/3 (owner) or
    of the instance /2/0 is answered 4.00 and reported as `BS PUT fails :<path>`
    (ConnectBootstrapFailed, code 2); the service sends no Bootstrap-Finish."""
    configure(cloud, account, config)
    factory.bootstrap(ca=factory.own_ca())
    error = device.wait_error()
    assert (error.name, error.code, error.details) == \
        ("ConnectBootstrapFailed", 2, f"BS PUT fails :{path}")
    failed = bootstrap_event(device, ev.BOOTSTRAP_ERROR)
    assert failed.data["operations"] == [*ACCOUNT_WRITES, f"PUT /{path} 4.00"]



@pytest.mark.firmware("factory-dtls")
@pytest.mark.scenario("bootstrap config: Bootstrap-Discover after the writes names what was written")
def test_discover_after_the_writes_lists_the_written_uri_and_short_server_ids(cloud, account,
                                                                              factory, device):
    """OMA LwM2M 1.1.1 Core 5.2.7.3: a Discover answer carries `ssid` on the LwM2M server's
    security and server instances and `uri` on its security instance. On the standard-client
    (DTLS) image, after Delete /0/1, the account (/0/0 with Short Server ID 1 and the LwM2M URI)
    and a write of /1/0/0 = 5 (the server instance's Short Server ID), Discover /0, /1 and /
    list exactly those values, before Bootstrap-Finish. (The real Device Management Client
    ignores Discover: tests/peers/test_peer_pdmc_bootstrap_config.py.)"""
    configure(cloud, account, {"delete": ["/0/1"],
                               "extra_writes": [{"path": "/1/0/0", "value": 5}],
                               "discover_after_writes": ["/0", "/1", "/"]})
    factory.bootstrap(ca=factory.own_ca())
    event = bootstrap_event(device)
    uri = cloud.lwm2m_uri(account.id, kind="dtls")
    security = f'</0/0>;ssid=1;uri="{uri}"'
    assert event.data["operations"] == [
        "DELETE /0/1 2.02", *ACCOUNT_WRITES, "PUT /1/0/0 2.04",
        f"GET /0 2.05 {security}", "GET /1 2.05 </1/0>;ssid=5",
        f'GET / 2.05 </>;lwm2m="1.0",{security},</1/0>;ssid=5,</3/0>', "POST /bs 2.04"]
