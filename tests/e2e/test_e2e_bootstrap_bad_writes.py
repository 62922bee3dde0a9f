"""Bootstrap writes of /0/0/11 (Client Hold-Off Time) and of /0/0/3 (the device certificate) with
a value that is not a certificate, against virtual boards.

The answers are the real Device Management Client's, measured in
tests/peers/test_peer_pdmc_bootstrap_bad_writes.py: its /0/0 has no resource 11, and it parses a
certificate written in an object instance of /0/0 at the write (the virtual board took such a
write and failed at Bootstrap-Finish until this scenario pinned it).
"""

from __future__ import annotations

import pytest

from harness.cloud import events as ev
from tests.e2e.bootstrap_configs import (
    ACCOUNT_WRITES,
    check_refused_resource_write,
    configure,
)

pytestmark = pytest.mark.area("bootstrap-config")

BS_PUT_FAILS = "BS PUT fails :0/0"
"""The real client's details when it refuses an object-instance write of /0/0 (code 2)."""
OUTCOME = r"Error details : (.*)|Client registered"
"""The board's console line that ends its bootstrap: an error report or its registration."""


def _refused(device, details: str, operations: list[str]) -> None:
    """The bootstrap ends in `details` (ConnectBootstrapFailed, code 2), no registration, and
    the service's bootstrap-error event lists `operations`."""
    line = device.expect(OUTCOME)
    assert line.group(0) != "Client registered", \
        f"the device registered; the real client reports `{details}`"
    assert line.group(1).strip() == details
    failed = device.wait_event(ev.BOOTSTRAP_ERROR,
                               where=lambda e: e.account_id == device.account.id)
    assert failed.data["operations"] == operations


@pytest.mark.scenario("bootstrap config: a write of the Client Hold-Off Time resource")
def test_a_hold_off_time_write_replaces_the_security_instance(cloud, account, factory, device):
    """PUT /0/0/11 (one resource: a bare resource list) replaces /0/0 with resource 11 alone, so
    the client answers 4.00 and reports `BS FIN fails :Invalid security object`
    (ConnectBootstrapFailed, code 2) and does not register, as the real client does
    (test_real_client_refuses_a_hold_off_time_write)."""
    check_refused_resource_write(cloud, account, factory, device, "/0/0/11", 0)


@pytest.mark.scenario("bootstrap config: a security instance write naming the Hold-Off Time")
def test_a_security_instance_write_of_the_hold_off_time_is_refused(cloud, account, factory,
                                                                    device):
    """PUT /0/0 with an object instance naming resource 11: the real client's /0/0 has no
    resource 11, so it answers 4.00 and reports `BS PUT fails :0/0` (code 2)
    (test_real_client_refuses_a_security_instance_write_of_these[hold-off-time])."""
    configure(cloud, account, {"instance_writes": [{"path": "/0/0", "values": {11: 0}}]})
    factory.bootstrap(ca=factory.own_ca())
    _refused(device, BS_PUT_FAILS, [*ACCOUNT_WRITES, "PUT /0/0 4.00"])


@pytest.mark.scenario("bootstrap config: a security instance write of a certificate that is not one")
def test_a_device_certificate_that_is_not_one_is_refused_at_the_write(cloud, account, factory,
                                                                      device):
    """PUT /0/0 with an object instance naming resource 3 = a short string: the real client
    parses it at the write (`pal_x509CertParse failed`), answers 4.00 and reports
    `BS PUT fails :0/0` (code 2)
    (test_real_client_refuses_a_security_instance_write_of_these[not-a-certificate]). (As one
    resource, PUT /0/0/3, the real client dies of SIGSEGV before answering:
    test_real_client_dies_storing_a_device_certificate_that_is_not_one; not modelled.)"""
    configure(cloud, account, {"instance_writes": [{"path": "/0/0",
                                                    "values": {3: "not a cert"}}]})
    factory.bootstrap(ca=factory.own_ca())
    _refused(device, BS_PUT_FAILS, [*ACCOUNT_WRITES, "PUT /0/0 4.00"])
