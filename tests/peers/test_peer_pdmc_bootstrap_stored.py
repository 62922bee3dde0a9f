"""What the REAL Device Management Client does with bootstrap writes of /3/0/13-15 and of a
security resource its instance has not got.

Measured with the real client (EX 4.13.2, Linux, TCP, NoSec through the service's tcp-length
bootstrap URI, as in test_peer_pdmc_bootstrap_config.py), then pinned here; the virtual board
follows it (tests/e2e/test_e2e_bootstrap_stored.py):
- extra writes of /3/0/13 (current time), /3/0/14 (UTC offset) and /3/0/15 (timezone) are each
  answered 2.04 and the client registers; its Register lists /3/0/13 but neither /3/0/14 nor
  /3/0/15, a Read of those two is 4.04 (a developer device has no stored offset or timezone, and
  the bootstrap write does not create them), and /3/0/13 reads as the client's clock, not the
  written value;
- a write of /0/0/7 (a resource the client's /0/0 has not got) is a bare resource list: it
  replaces /0/0 (the URI is gone), so it is answered 4.00 and reported as the validation failure
  `BS FIN fails :Invalid security object` (code 2), not as `BS PUT fails`; at its retry the
  client's /0/0 still lacks the account's resources, so the account's PUT /0/0 is refused
  (4.00, `BS PUT fails :0/0`);
- a write to the Access Control object (/2/0/3 one resource, or /2/0 an object instance) is
  refused: 4.00 and `BS PUT fails :<path>` (code 2), the client has no /2;
- an object-instance write of /3/0 is taken when it names only /3/0/13 (2.04, the client
  registers), refused when it names a resource the client has not got (/3/0/14 on a developer
  device) or a read-only one (/3/0/1): 4.00, `BS PUT fails :3/0`. (The virtual board takes every
  /3/0 instance write: not modelled.)
"""

from __future__ import annotations

import pytest
from test_peer_pdmc_bootstrap_config import ERROR, ONBOARD_TIMEOUT, OPERATION_TIMEOUT, _Run

from harness.cloud import events as ev

WRITTEN_TIME = 1_600_000_000


def _read(started: _Run, device_id: str, path: str) -> tuple[str, int | None, bytes]:
    return started.thread.call(started.svc.read(device_id, path, timeout=OPERATION_TIMEOUT))


def test_real_client_accepts_time_offset_and_timezone_writes_but_keeps_neither(run):
    """/3/0/13, 14, 15 written at bootstrap: 2.04 each, registered; /3/0/14 and 15 absent
    (Register and Read 4.04), /3/0/13 present and not the written time."""
    started = run({"extra_writes": [{"path": "/3/0/13", "value": WRITTEN_TIME},
                                    {"path": "/3/0/14", "value": "+02:00"},
                                    {"path": "/3/0/15", "value": "Europe/Helsinki"}]})
    started.client.wait_for(r"^Client registered$", ONBOARD_TIMEOUT)
    device_id = started.client.wait_for(r"^Device ID: ([0-9a-f]{32})$", 5).group(1)
    assert started.bootstrap_event().data["operations"] == [
        "PUT /0/0 2.04", "PUT /1/0 2.04", "PUT /3/0/13 2.04", "PUT /3/0/14 2.04",
        "PUT /3/0/15 2.04", "POST /bs 2.04"]
    paths = {r["path"] for r in started.svc.device(device_id).resources}
    assert "/3/0/13" in paths and not paths & {"/3/0/14", "/3/0/15"}, sorted(paths)
    assert _read(started, device_id, "/3/0/14")[0] == "4.04"
    assert _read(started, device_id, "/3/0/15")[0] == "4.04"
    code, _ct, clock = _read(started, device_id, "/3/0/13")
    assert code == "2.05" and clock.isdigit() and int(clock) != WRITTEN_TIME, clock


def test_real_client_replaces_its_security_instance_with_a_resource_it_lacks(run):
    """PUT /0/0/7: 4.00 and `BS FIN fails :Invalid security object`; the retry's PUT /0/0 is
    then refused (`BS PUT fails :0/0`): the instance kept only what the bare list named."""
    started = run({"extra_writes": [{"path": "/0/0/7", "value": 1}]})
    assert started.client.wait_for(ERROR, ONBOARD_TIMEOUT).group(1) == \
        "BS FIN fails :Invalid security object"
    failed = started.bootstrap_event(ev.BOOTSTRAP_ERROR)
    assert failed.data["operations"] == ["PUT /0/0 2.04", "PUT /1/0 2.04", "PUT /0/0/7 4.00"]
    console = started.client.console()
    assert "Error occurred : MbedCloudClient::ConnectBootstrapFailed" in console
    assert "Error code : 2" in console
    retry = started.svc.events.wait_for_sync(
        lambda e: e.type == ev.BOOTSTRAP_ERROR and e is not failed, ONBOARD_TIMEOUT,
        since=started.mark)
    assert retry.data["operations"] == ["PUT /0/0 4.00"]
    assert started.client.wait_for(r"^Error details : (BS PUT fails :0/0)$", 10)


@pytest.mark.parametrize(("config", "path"), [
    ({"extra_writes": [{"path": "/2/0/3", "value": 1}]}, "2/0/3"),
    ({"instance_writes": [{"path": "/2/0", "values": {0: 1, 1: 0, 3: 1}}]}, "2/0"),
    ({"instance_writes": [{"path": "/3/0", "values": {14: "+02:00"}}]}, "3/0"),
    ({"instance_writes": [{"path": "/3/0", "values": {1: "x"}}]}, "3/0"),
], ids=["acl-resource", "acl-instance", "device-absent-resource", "device-read-only"])
def test_real_client_refuses_access_control_and_some_device_instance_writes(run, config, path):
    """/2 writes and /3/0 instance writes of an absent or read-only resource: 4.00 and
    `BS PUT fails :<path>` (ConnectBootstrapFailed, code 2)."""
    started = run(config)
    assert started.client.wait_for(ERROR, ONBOARD_TIMEOUT).group(1) == f"BS PUT fails :{path}"
    failed = started.bootstrap_event(ev.BOOTSTRAP_ERROR)
    assert failed.data["operations"] == ["PUT /0/0 2.04", "PUT /1/0 2.04", f"PUT /{path} 4.00"]
    assert "Error code : 2" in started.client.console()


def test_real_client_takes_a_device_instance_write_of_the_current_time(run):
    """PUT /3/0 with an object instance of /3/0/13 only: 2.04, and the client registers."""
    started = run({"instance_writes": [{"path": "/3/0", "values": {13: WRITTEN_TIME}}]})
    started.client.wait_for(r"^Client registered$", ONBOARD_TIMEOUT)
    assert started.bootstrap_event().data["operations"] == [
        "PUT /0/0 2.04", "PUT /1/0 2.04", "PUT /3/0 2.04", "POST /bs 2.04"]
