"""Bootstrap configurations against a standard LwM2M client: the DTLS (LwM2M-compliant) image.

A First-to-Claim device of the `factory-dtls` image sends no `mccv=` (its URI has no query), so
the bootstrap server treats it as a standard client (Discover and Delete are its default). Its
account's bootstrap configuration (admin API) replaces that default; the scenario asserts the
client's answers, Discover links included, from the service's bootstrap event and the board's
registration (OMA LwM2M 1.1.1 Core 5.2.7.3 Bootstrap-Discover, 5.2.7.5 Bootstrap-Delete).
"""

from __future__ import annotations

import pytest

from harness.cloud import events as ev
from tests.e2e.bootstrap_configs import configure

pytestmark = [pytest.mark.area("bootstrap-config"), pytest.mark.firmware("factory-dtls")]

AT_START_0 = "</0/0>;ssid=1,</0/1>"
"""/0 of a client before its bootstrap: its own empty LwM2M account (ssid, no URI) at /0/0 and
its bootstrap-server account (no ssid) at /0/1."""
WRITES = ["PUT /0/0 2.04", "PUT /1/0 2.04", "PUT /0/1 2.04", "POST /bs 2.04"]
"""The account, the server object, the claiming account's bootstrap URI, then Finish."""


def _claim(rest, factory, device, account):
    """Provision a First-to-Claim DTLS device, enroll it, wait for its registration and
    bootstrap event; return the event."""
    ca = factory.own_ca("oem")
    rest.create_trusted_certificate(f"oem-{ca.subject['CN']}", ca.cert_pem, service="bootstrap",
                                    enrollment_mode=True)
    made = factory.bootstrap(ca=ca, first_to_claim=True, trust=False)
    rest.create_enrollment(made.enrollment_id)
    device.wait_registered()
    return device.wait_event(ev.BOOTSTRAP, where=lambda e: e.account_id == account.id)


@pytest.mark.scenario("bootstrap config: Bootstrap-Discover of / and /1 on a standard client")
def test_standard_client_answers_discover_of_root_and_server_object(cloud, rest, factory, device,
                                                                    account):
    """Discover `/` lists the objects (`</>;lwm2m="1.0"`, /0 instances, /1/0 with its ssid,
    /3/0); Discover `/1` the server instance. The default Delete then removes the LwM2M account
    the Discover named (/0/0) and /1, and the account goes to /0/0."""
    configure(cloud, account, {"discover": ["/", "/1"]})
    event = _claim(rest, factory, device, account)
    assert event.data["operations"] == [
        f'GET / 2.05 </>;lwm2m="1.0",{AT_START_0},</1/0>;ssid=1,</3/0>',
        "GET /1 2.05 </1/0>;ssid=1",
        "DELETE /0/0 2.02", "DELETE /1 2.02", *WRITES]


@pytest.mark.scenario("bootstrap config: Bootstrap-Delete of / on a standard client")
def test_standard_client_deletes_everything_but_its_bootstrap_account(cloud, rest, factory, device,
                                                                      account):
    """Delete `/` (after a Discover of /0) is answered 2.02: the client keeps its bootstrap-server
    account (/0/1, not named by the Discover's ssid) and takes the new account at /0/0."""
    configure(cloud, account, {"discover": ["/0"], "delete": ["/"]})
    event = _claim(rest, factory, device, account)
    assert event.data["operations"] == [f"GET /0 2.05 {AT_START_0}", "DELETE / 2.02", *WRITES]


@pytest.mark.scenario("bootstrap config: Bootstrap-Discover after the writes")
def test_discover_after_the_writes_shows_the_new_account(cloud, rest, factory, device, account):
    """A Discover of `/` once the writes are done lists the new LwM2M account with its ssid and
    URI at /0/0, the bootstrap-server account at /0/1 and the server instance's ssid (resource 0
    of /1/0, written 1), before Bootstrap-Finish."""
    configure(cloud, account, {"discover_after_writes": ["/"]})
    event = _claim(rest, factory, device, account)
    operations = event.data["operations"]
    assert operations[:3] == [f"GET /0 2.05 {AT_START_0}", "DELETE /0/0 2.02", "DELETE /1 2.02"]
    assert operations[3:6] == WRITES[:3] and operations[-1] == "POST /bs 2.04"
    uri = cloud.lwm2m_uri(account.id, kind="dtls").split("?", 1)[0]
    assert operations[6] == f'GET / 2.05 </>;lwm2m="1.0",</0/0>;ssid=1;uri="{uri}",</0/1>,' \
                            '</1/0>;ssid=1,</3/0>'


@pytest.mark.scenario("bootstrap config: Bootstrap-Delete of the bootstrap-server account")
def test_deleting_the_bootstrap_account_leaves_the_new_account_only(cloud, factory, device, account):
    """Delete `/0/1` removes the bootstrap-server account (OMA Core 5.2.7.5 lets a client refuse;
    this one answers 2.02, as the real client does): a Discover of /0 after the writes lists the
    new LwM2M account at /0/0 only, and the device registers (a production DTLS device: it sends
    `mccv=`, so the configuration alone asks for the Delete and the Discover)."""
    configure(cloud, account, {"delete": ["/0/1"], "discover_after_writes": ["/0"]})
    factory.bootstrap(ca=factory.own_ca())
    device.wait_registered()
    event = device.wait_event(ev.BOOTSTRAP, where=lambda e: e.account_id == account.id)
    uri = cloud.lwm2m_uri(account.id, kind="dtls")
    assert event.data["operations"] == [
        "DELETE /0/1 2.02", "PUT /0/0 2.04", "PUT /1/0 2.04",
        f'GET /0 2.05 </0/0>;ssid=1;uri="{uri}"', "POST /bs 2.04"]
