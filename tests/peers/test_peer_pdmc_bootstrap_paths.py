"""What the REAL Device Management Client answers to bootstrap requests on paths outside the
usual ones: a Bootstrap-Discover of an instance or a resource, a Bootstrap-Delete of a resource,
Deletes after the writes, and an object-instance write of /1/0 naming resource 9.

Measured with the real client (EX 4.13.2, Linux, TCP, NoSec through the service's tcp-length
bootstrap URI, as in test_peer_pdmc_bootstrap_config.py), then pinned here:
- a Bootstrap-Discover of /0/0, /0/1, /1/0 or /0/0/0 gets no answer, as one of /0 does: the
  client logs `msg was ignored 1` (1 = GET) and the PUT after it is not answered either;
- a Bootstrap-Delete of a resource (/0/0/1, /1/0/1) is answered 4.00 and reported as
  `BS DEL fails :<path>` (ConnectBootstrapFailed, code 2); the client then closes the
  connection, so the service's next write fails;
- no Bootstrap-Delete (/, /0, /1, /0/0) sent after the writes touches /1/0: a value written into
  it before the Delete (Storing = true, over the account's false) is what the registered client
  reads back. Delete / and /0 remove the LwM2M account (`delete m2mserver instance`; Delete
  /0/0 logs `delete bootstrap instance`, Delete /1 nothing); written again, the client
  registers. Without that second write, Bootstrap-Finish is answered 4.00: `No security
  object found for Registration` (code 2);
- an Execute (POST /1/0/8 or /3/0/4) after the writes, which the Bootstrap interface does not
  have, is answered 4.00 and reported as `BS FIN fails :<path>` (code 2); the client closes the
  connection, so the service's Bootstrap-Finish fails;
- an object-instance write of /1/0 naming resource 9 is refused: 4.00, `BS PUT fails :1/0`
  (code 2; its trace: `parse_bootstrap_message - error 1`): the client's /1/0 has resources
  0 to 8 only.
The virtual board follows these: tests/e2e/test_e2e_bootstrap_paths.py.
"""

from __future__ import annotations

import pytest
from test_peer_pdmc_bootstrap_config import ERROR, ONBOARD_TIMEOUT, OPERATION_TIMEOUT

from harness.cloud import bootstrap, bootstrap_sequence
from harness.cloud import events as ev

ACCOUNT_WRITES = ["PUT /0/0 2.04", "PUT /1/0 2.04"]
STORING_TRUE = {"path": "/1/0", "values": {6: True}}
"""Storing (/1/0/6) = true, over the false of the account's /1/0 write."""


def _registered_device_id(started) -> str:
    started.client.wait_for(r"^Client registered$", ONBOARD_TIMEOUT)
    return started.client.wait_for(r"^Device ID: ([0-9a-f]{32})$", 5).group(1)


def _read(started, device_id: str, path: str) -> tuple[str, bytes]:
    code, _ct, payload = started.thread.call(started.svc.read(device_id, path,
                                                              timeout=OPERATION_TIMEOUT))
    return code, bytes(payload)


@pytest.mark.parametrize("path", ["/0/0", "/0/1", "/1/0", "/0/0/0"])
def test_real_client_ignores_a_discover_of_an_instance_or_a_resource(run, monkeypatch, path):
    """GET /0/0, /0/1, /1/0 or /0/0/0 (Accept link-format) before the writes: no answer, the
    trace says `msg was ignored 1`, the PUT after it gets no answer; no registration."""
    monkeypatch.setattr(bootstrap_sequence, "DISCOVER_TIMEOUT", 2.0)
    monkeypatch.setattr(bootstrap, "WRITE_TIMEOUT", 3.0)
    started = run({"discover": [path]})
    failed = started.bootstrap_event(ev.BOOTSTRAP_ERROR)
    assert failed.data["operations"] == [f"GET {path} failed (TimeoutError)"]
    assert failed.data["reason"].startswith("PUT /0/0 failed: TimeoutError")
    started.client.wait_for(r"received_from_server_callback - msg was ignored 1$", 1)
    assert "Client registered" not in started.client.console()


@pytest.mark.parametrize("path", ["/0/0/1", "/1/0/1"])
def test_real_client_refuses_a_delete_of_a_resource(run, path):
    """DELETE /0/0/1 or /1/0/1: 4.00 and `BS DEL fails :<path>` (ConnectBootstrapFailed,
    code 2); the client closes the connection, so the service's first write fails."""
    started = run({"delete": [path]})
    assert started.client.wait_for(ERROR, ONBOARD_TIMEOUT).group(1) == f"BS DEL fails :{path[1:]}"
    failed = started.bootstrap_event(ev.BOOTSTRAP_ERROR)
    assert failed.data["operations"] == [f"DELETE {path} 4.00"]
    assert failed.data["reason"].startswith("PUT /0/0 failed: ConnectionClosedError"), \
        failed.data["reason"]
    console = started.client.console()
    assert "Error occurred : MbedCloudClient::ConnectBootstrapFailed" in console
    assert "Error code : 2" in console and "Client registered" not in console


@pytest.mark.parametrize(("delete", "trace"), [
    ("/0", "delete m2mserver instance"), ("/", "delete m2mserver instance"), ("/1", None),
    ("/0/0", "delete bootstrap instance"),
], ids=["security", "root", "server", "lwm2m-instance"])
def test_real_client_keeps_its_server_instance_through_a_delete_after_the_writes(run, delete, trace):
    """Storing = true written into /1/0, then DELETE <path> (2.02), the account's /0/0 again,
    Bootstrap-Finish: the client registers and /1/0/6 reads `1` (and /1/0/7 the binding `T`):
    no Delete empties /1/0. The trace names what each Delete removed from /0 (none for /1)."""
    started = run({"instance_writes": [STORING_TRUE], "delete_after_writes": [delete],
                   "rewrite_security": True})
    device_id = _registered_device_id(started)
    assert started.bootstrap_event().data["operations"] == [
        *ACCOUNT_WRITES, "PUT /1/0 2.04", f"DELETE {delete} 2.02", "PUT /0/0 2.04", "POST /bs 2.04"]
    assert _read(started, device_id, "/1/0/6") == ("2.05", b"1")
    assert _read(started, device_id, "/1/0/7") == ("2.05", b"T")
    removed = [line.rsplit(" - ", 1)[1] for line in started.client.lines
               if "handle_bootstrap_delete - delete" in line]
    assert removed == ([trace] if trace else [])


def test_real_client_refuses_a_finish_after_a_delete_left_no_account(run):
    """DELETE /0 after the writes, no account written again: Bootstrap-Finish is answered 4.00
    and the client reports `No security object found for Registration` (code 2)."""
    started = run({"delete_after_writes": ["/0"]})
    assert started.client.wait_for(ERROR, ONBOARD_TIMEOUT).group(1) == \
        "No security object found for Registration"
    failed = started.bootstrap_event(ev.BOOTSTRAP_ERROR)
    assert failed.data["operations"] == [*ACCOUNT_WRITES, "DELETE /0 2.02", "POST /bs 4.00"]
    console = started.client.console()
    assert "Error occurred : MbedCloudClient::ConnectBootstrapFailed" in console
    assert "Error code : 2" in console


@pytest.mark.parametrize("values", [{9: 1}, {0: 1, 1: 120, 9: 1}], ids=["alone", "with-others"])
def test_real_client_refuses_a_server_instance_write_naming_resource_9(run, values):
    """PUT /1/0 (object instance) naming resource 9, alone or with 0 and 1: 4.00 and
    `BS PUT fails :1/0` (code 2; its trace: `parse_bootstrap_message - error 1`)."""
    started = run({"instance_writes": [{"path": "/1/0", "values": values}]})
    assert started.client.wait_for(ERROR, ONBOARD_TIMEOUT).group(1) == "BS PUT fails :1/0"
    failed = started.bootstrap_event(ev.BOOTSTRAP_ERROR)
    assert failed.data["operations"] == [*ACCOUNT_WRITES, "PUT /1/0 4.00"]
    console = started.client.console()
    assert "Error code : 2" in console
    assert any(line.endswith("parse_bootstrap_message - error 1") for line in console)
    assert started.client.process.poll() is None, "the client died"


@pytest.mark.parametrize("path", ["/1/0/8", "/3/0/4"])
def test_real_client_refuses_an_execute_during_bootstrap(run, path):
    """POST /1/0/8 (Registration Update Trigger) or /3/0/4 (Reboot) after the writes: 4.00,
    `BS FIN fails :<path>` (code 2), the connection closed before Bootstrap-Finish."""
    started = run({"execute": [path]})
    failed = started.bootstrap_event(ev.BOOTSTRAP_ERROR)
    assert failed.data["operations"] == [*ACCOUNT_WRITES, f"POST {path} 4.00"]
    assert failed.data["reason"].startswith("Bootstrap-Finish POST /bs failed"), failed.data["reason"]
    started.client.wait_for(rf"^Error details : BS FIN fails :{path[1:]}$", 5)
    assert started.client.wait_for(r"^Error code : (\d+)$", 1).group(1) == "2"
