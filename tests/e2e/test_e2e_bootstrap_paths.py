"""Bootstrap requests on paths outside the usual ones, against virtual boards: a Bootstrap-Discover
of an instance or a resource, a Bootstrap-Delete of a resource, a Delete after the writes, and an
object-instance write of /1/0 naming resource 9.

The answers are the real Device Management Client's, measured in
tests/peers/test_peer_pdmc_bootstrap_paths.py. Discover scenarios run on the standard-client
(DTLS) image, whose client answers Bootstrap-Discover: the real client (TCP) ignores every
Discover, of an instance or a resource too, so it never lists anything for one.
"""

from __future__ import annotations

import pytest

from harness.cloud import events as ev
from tests.e2e.bootstrap_configs import ACCOUNT_WRITES, bootstrap_event, configure

pytestmark = pytest.mark.area("bootstrap-config")

OUTCOME = r"Error details : (.*)|Client registered"
"""The board's console line that ends its bootstrap: an error report or its registration."""


def _bootstrap_failed(device, details: str) -> None:
    """The bootstrap ends in `details`, reported as ConnectBootstrapFailed (code 2), and the
    device does not register (a registration ends the wait at once)."""
    line = device.expect(OUTCOME)
    assert line.group(0) != "Client registered", \
        f"the device registered; the real client reports `{details}`"
    assert line.group(1).strip() == details
    assert device.board.seen(r"^Error occurred : MbedCloudClient::ConnectBootstrapFailed$")
    assert device.board.seen(r"^Error code : 2$")


@pytest.mark.firmware("factory-dtls")
@pytest.mark.scenario("bootstrap config: Bootstrap-Discover of an instance or a resource")
@pytest.mark.parametrize("path", ["/0/0", "/0/1", "/1/0", "/0/0/0"])
def test_a_discover_of_an_instance_or_a_resource_lists_nothing(cloud, account, factory, device,
                                                               path):
    """OMA LwM2M 1.1.1 Core 5.2.7.3: a Bootstrap-Discover names the root or one object. A
    Discover of /0/0, /0/1, /1/0 or /0/0/0 gets no link list: the real client ignores it
    (test_real_client_ignores_a_discover_of_an_instance_or_a_resource); the standard-client
    image, which answers Discover of /, /0 and /1, answers it 4.05. The writes then go on and
    the device registers."""
    configure(cloud, account, {"discover": [path]})
    factory.bootstrap(ca=factory.own_ca())
    device.wait_registered()
    assert bootstrap_event(device).data["operations"] == [
        f"GET {path} 4.05", *ACCOUNT_WRITES, "POST /bs 2.04"]


@pytest.mark.scenario("bootstrap config: Bootstrap-Delete of a resource")
@pytest.mark.parametrize("path", ["/0/0/1", "/1/0/1"])
def test_a_delete_of_a_resource_fails_the_bootstrap(cloud, account, factory, device, path):
    """DELETE /0/0/1 or /1/0/1 (Bootstrap-Delete names an object or an instance, OMA Core
    5.2.7.5): the real client answers 4.00 and reports `BS DEL fails :<path>`
    (ConnectBootstrapFailed, code 2), then closes the connection, so the service's first write
    fails (test_real_client_refuses_a_delete_of_a_resource)."""
    configure(cloud, account, {"delete": [path]})
    factory.bootstrap(ca=factory.own_ca())
    _bootstrap_failed(device, f"BS DEL fails :{path[1:]}")
    failed = bootstrap_event(device, ev.BOOTSTRAP_ERROR)
    assert failed.data["operations"] == [f"DELETE {path} 4.00"]
    assert failed.data["reason"].startswith("PUT /0/0 failed"), failed.data["reason"]


@pytest.mark.scenario("bootstrap config: an Execute during bootstrap")
@pytest.mark.parametrize("path", ["/1/0/8", "/3/0/4"])
def test_an_execute_during_bootstrap_fails_the_bootstrap(cloud, account, factory, device, path):
    """POST /1/0/8 or /3/0/4 after the writes (the Bootstrap interface has no Execute, OMA Core
    5.2.7): the real client answers 4.00, reports `BS FIN fails :<path>` (ConnectBootstrapFailed,
    code 2) and closes the connection, so the service's Bootstrap-Finish fails
    (test_real_client_refuses_an_execute_during_bootstrap)."""
    configure(cloud, account, {"execute": [path]})
    factory.bootstrap(ca=factory.own_ca())
    _bootstrap_failed(device, f"BS FIN fails :{path[1:]}")
    failed = bootstrap_event(device, ev.BOOTSTRAP_ERROR)
    assert failed.data["operations"] == [*ACCOUNT_WRITES, f"POST {path} 4.00"]
    assert failed.data["reason"].startswith("Bootstrap-Finish POST /bs failed"), failed.data["reason"]


@pytest.mark.firmware("factory-dtls")
@pytest.mark.scenario("bootstrap config: Bootstrap-Delete after the writes")
@pytest.mark.parametrize("delete", ["/0", "/", "/1"])
def test_a_delete_after_the_writes_keeps_the_server_instance(cloud, account, factory, device,
                                                             delete):
    """The real client keeps /1/0 as written through a Delete of /0, / or /1 after the writes:
    the value written into it before the Delete is read back once it registers
    (test_real_client_keeps_its_server_instance_through_a_delete_after_the_writes). Here /1/0/0
    (Short Server ID) is written 5, then deleted, and a Discover of / lists /1/0 with ssid=5
    (and no LwM2M account after Delete / or /0); the account written again, the device
    registers."""
    configure(cloud, account, {"instance_writes": [{"path": "/1/0", "values": {0: 5}}],
                               "delete_after_writes": [delete], "discover_after_writes": ["/"],
                               "rewrite_security": True})
    factory.bootstrap(ca=factory.own_ca())
    device.wait_registered()
    operations = bootstrap_event(device).data["operations"]
    assert operations[:4] == [*ACCOUNT_WRITES, "PUT /1/0 2.04", f"DELETE {delete} 2.02"]
    assert operations[5:] == ["PUT /0/0 2.04", "POST /bs 2.04"]
    links = operations[4].removeprefix("GET / 2.05 ").split(",")
    assert "</1/0>;ssid=5" in links, links
    if delete != "/1":
        assert links[1] == "</0/1>" and links[2].startswith("</1/0>"), links


@pytest.mark.scenario("bootstrap config: Bootstrap-Finish after a Delete removed the account")
def test_a_finish_after_a_delete_removed_the_account_is_refused(cloud, account, factory, device):
    """DELETE /0 after the writes and no account written again: the real client answers
    Bootstrap-Finish 4.00 and reports `No security object found for Registration`
    (ConnectBootstrapFailed, code 2) (test_real_client_refuses_a_finish_after_a_delete_left_no_account)."""
    configure(cloud, account, {"delete_after_writes": ["/0"]})
    factory.bootstrap(ca=factory.own_ca())
    _bootstrap_failed(device, "No security object found for Registration")
    assert bootstrap_event(device, ev.BOOTSTRAP_ERROR).data["operations"] == [
        *ACCOUNT_WRITES, "DELETE /0 2.02", "POST /bs 4.00"]


@pytest.mark.scenario("bootstrap config: a server instance write naming resource 9")
@pytest.mark.parametrize("values", [{9: 1}, {0: 1, 1: 120, 9: 1}], ids=["alone", "with-others"])
def test_a_server_instance_write_naming_resource_9_fails_the_bootstrap(cloud, account, factory,
                                                                       device, values):
    """PUT /1/0 with an object instance naming resource 9: the real client's /1/0 has resources
    0 to 8, so it answers 4.00 and reports `BS PUT fails :1/0` (ConnectBootstrapFailed, code 2)
    (test_real_client_refuses_a_server_instance_write_naming_resource_9)."""
    configure(cloud, account, {"instance_writes": [{"path": "/1/0", "values": values}]})
    factory.bootstrap(ca=factory.own_ca())
    _bootstrap_failed(device, "BS PUT fails :1/0")
    assert bootstrap_event(device, ev.BOOTSTRAP_ERROR).data["operations"] == [
        *ACCOUNT_WRITES, "PUT /1/0 4.00"]
