"""What the REAL Device Management Client does with bootstrap writes of /0/0/11 (Client Hold-Off
Time) and of /0/0/3 (the device certificate) with a value that is not a certificate, as one
resource (extra_writes: a bare resource list) and in an object instance of /0/0
(instance_writes).

Measured with the real client (EX 4.13.2, Linux, TCP, NoSec through the service's tcp-length
bootstrap URI, as in test_peer_pdmc_bootstrap_config.py), then pinned here:
- PUT /0/0/11 = 0 is handled like PUT /0/0/7: the client's /0/0 has no resource 11, so the
  bare resource list replaces /0/0 (its trace then validates instance 0 with security mode 0 and
  an empty URI); answered 4.00 and reported as `BS FIN fails :Invalid security object`
  (ConnectBootstrapFailed, code 2); the client does not register;
- PUT /0/0/3 with a short string (not a certificate) is never answered: the client stores the
  value (its trace: `set_value - res: 0/0/3`) and then dies of SIGSEGV; the service reports the
  step as failed (connection closed) after the account's two writes. The virtual board does not
  model the crash (tests/e2e/test_e2e_bootstrap_bad_writes.py);
- an object-instance write of /0/0 naming resource 11 is refused: 4.00, `BS PUT fails :0/0`
  (code 2; its trace: `parse_bootstrap_message - error 1`): the client's /0/0 has no
  resource 11;
- an object-instance write of /0/0 naming resource 3 with a short string is refused when it is
  parsed, at the write: `pal_x509CertParse failed`, 4.00, `BS PUT fails :0/0` (code 2); no
  crash, no Bootstrap-Finish.
"""

from __future__ import annotations

import signal

import pytest
from test_peer_pdmc_bootstrap_config import ERROR, ONBOARD_TIMEOUT

from harness.cloud import events as ev

ACCOUNT_WRITES = ["PUT /0/0 2.04", "PUT /1/0 2.04"]


def test_real_client_refuses_a_hold_off_time_write(run):
    """PUT /0/0/11: 4.00 and `BS FIN fails :Invalid security object` (code 2), no registration;
    the trace shows /0/0 replaced (security mode 0, URI empty)."""
    started = run({"extra_writes": [{"path": "/0/0/11", "value": 0}]})
    assert started.client.wait_for(ERROR, ONBOARD_TIMEOUT).group(1) == \
        "BS FIN fails :Invalid security object"
    failed = started.bootstrap_event(ev.BOOTSTRAP_ERROR)
    assert failed.data["operations"] == [*ACCOUNT_WRITES, "PUT /0/0/11 4.00"]
    console = started.client.console()
    assert "Error occurred : MbedCloudClient::ConnectBootstrapFailed" in console
    assert "Error code : 2" in console
    assert not any(line == "Client registered" for line in console)
    assert any(line.endswith("validate_security_object - uri: ") for line in console), \
        "the replaced /0/0 kept its URI"


def test_real_client_dies_storing_a_device_certificate_that_is_not_one(run):
    """PUT /0/0/3 = a short string: no answer; the client stores it, then dies of SIGSEGV; the
    service's bootstrap fails on that step with the connection closed."""
    started = run({"extra_writes": [{"path": "/0/0/3", "value": "not a cert"}]})
    failed = started.bootstrap_event(ev.BOOTSTRAP_ERROR)
    assert failed.data["operations"] == ACCOUNT_WRITES
    assert failed.data["reason"].startswith("PUT /0/0/3 failed: ConnectionClosedError"), \
        failed.data["reason"]
    assert started.client.process.wait(10) == -signal.SIGSEGV
    console = started.client.console()
    assert console[-1].endswith("M2MResourceBase::set_value - res: 0/0/3"), console[-3:]


@pytest.mark.parametrize(("values", "trace"), [
    ({11: 0}, "parse_bootstrap_message - error 1"),
    ({3: "not a cert"}, "pal_x509CertParse failed"),
], ids=["hold-off-time", "not-a-certificate"])
def test_real_client_refuses_a_security_instance_write_of_these(run, values, trace):
    """PUT /0/0 (object instance) of resource 11, or of resource 3 = a short string: 4.00 and
    `BS PUT fails :0/0` (ConnectBootstrapFailed, code 2)."""
    started = run({"instance_writes": [{"path": "/0/0", "values": values}]})
    assert started.client.wait_for(ERROR, ONBOARD_TIMEOUT).group(1) == "BS PUT fails :0/0"
    failed = started.bootstrap_event(ev.BOOTSTRAP_ERROR)
    assert failed.data["operations"] == [*ACCOUNT_WRITES, "PUT /0/0 4.00"]
    console = started.client.console()
    assert "Error code : 2" in console
    assert any(line.endswith(trace) for line in console), trace
    assert started.client.process.poll() is None, "the client died"
