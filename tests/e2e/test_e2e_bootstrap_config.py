"""Bootstrap configurations (per account, over the admin API) against virtual boards.

Each configuration (harness.config.bootstrap_config) is set on the test's account before the
board is provisioned; the scenario then asserts both sides: the board registers (or reports the
error the real client reports) and the service's bootstrap event lists every request with the
client's answer. The answers are the real Device Management Client's, measured in
tests/peers/test_peer_pdmc_bootstrap_config.py (the virtual board follows them).
"""

from __future__ import annotations

import pytest

from tests.e2e.bootstrap_configs import (
    ACCOUNT_WRITES,
    bootstrap_event,
    check_refused_resource_write,
    configure,
)

pytestmark = pytest.mark.area("bootstrap-config")

CHAIN_LOST = "Client cannot connect anymore Failed to read credentials"
"""The real client's details when registration finds its certificate chain gone (code 17)."""


@pytest.mark.scenario("bootstrap config: Bootstrap-Delete of /, /0, /1 and one instance")
@pytest.mark.parametrize("delete", ["/", "/0", "/1", "/0/0", "/0/1"])
def test_production_device_registers_after_each_bootstrap_delete(cloud, account, factory, device,
                                                                  delete):
    """OMA LwM2M Core 5.2.7.5 Bootstrap-Delete before the writes: the Device Management Client
    answers 2.02 to every one of them, takes its account at /0/0 and registers."""
    configure(cloud, account, {"delete": [delete]})
    made = factory.bootstrap(ca=factory.own_ca())
    registration = device.wait_registered()
    assert registration.endpoint_name == made.endpoint_name
    event = bootstrap_event(device)
    assert event.data["operations"] == [f"DELETE {delete} 2.02", *ACCOUNT_WRITES, "POST /bs 2.04"]


@pytest.mark.scenario("bootstrap config: account written as bare resource lists")
def test_bare_resource_list_writes_cost_the_device_its_certificate_chain(cloud, account, factory,
                                                                         device):
    """`write: resources`: the client answers 2.04 and replaces /0/0 with the resources listed,
    dropping its certificate-chain resources 12-14 (protocol facts 3.1 point 5): registration
    then fails for good, code 17 `Client cannot connect anymore Failed to read credentials`."""
    configure(cloud, account, {"write": "resources"})
    factory.bootstrap(ca=factory.own_ca())
    error = device.wait_error()
    assert (error.name, error.code, error.details) == \
        ("ConnectorFailedToReadCredentials", 17, CHAIN_LOST)
    assert bootstrap_event(device).data["operations"] == [*ACCOUNT_WRITES, "POST /bs 2.04"]


@pytest.mark.scenario("bootstrap config: extra writes of /3/0/14 and /1/0/1")
def test_extra_writes_are_answered_and_the_device_registers(cloud, account, factory, device):
    """Extra Bootstrap-Writes after the account (UTC offset, lifetime): each answered 2.04, then
    Bootstrap-Finish and the registration. (The real client's Register then lists /1/0/1 as the
    only server resource; the virtual board lists its fixed set: not asserted here.)"""
    configure(cloud, account, {"extra_writes": [{"path": "/3/0/14", "value": "+02:00"},
                                                {"path": "/1/0/1", "value": 3600}]})
    factory.bootstrap(ca=factory.own_ca())
    device.wait_registered()
    assert bootstrap_event(device).data["operations"] == [
        *ACCOUNT_WRITES, "PUT /3/0/14 2.04", "PUT /1/0/1 2.04", "POST /bs 2.04"]


@pytest.mark.scenario("bootstrap config: a write the client refuses")
def test_a_resource_write_that_empties_the_security_instance_fails_the_bootstrap(cloud, account,
                                                                                 factory, device):
    """A PUT of /0/0/10 alone replaces /0/0 with that one resource: the client answers 4.00, the
    service reports the refused step and sends no Bootstrap-Finish, and the board reports
    `BS FIN fails :Invalid security object` (ConnectBootstrapFailed, code 2)."""
    check_refused_resource_write(cloud, account, factory, device, "/0/0/10", 1)


@pytest.mark.scenario("bootstrap config: Bootstrap-Finish without an account")
def test_a_finish_without_an_account_is_acknowledged_and_the_device_rebootstraps(cloud, account,
                                                                                 factory, device):
    """`write: none`: the client acknowledges Bootstrap-Finish (it checks /0 after security writes,
    and none came), finds no LwM2M account to store and reports `Re-bootstrapping`
    (ConnectBootstrapFailed, code 2), as the real client does."""
    configure(cloud, account, {"write": "none"})
    factory.bootstrap(ca=factory.own_ca())
    error = device.wait_error()
    assert (error.name, error.code, error.details) == ("ConnectBootstrapFailed", 2, "Re-bootstrapping")
    assert bootstrap_event(device).data["operations"] == ["POST /bs 2.04"]
