"""What the REAL Device Management Client does with each kind of bootstrap configuration.

The real client (EX 4.13.2, Linux, TCP, NoSec through the service's tcp-length bootstrap URI, as in
test_peer_pdmc_client.py) against a service whose account has a bootstrap configuration
(harness.config.bootstrap_config). Each test pins the client's answers (the service's record of
every request and answer, `operations` in the bootstrap events) and whether it registers. The
virtual board follows these (tests/e2e/test_e2e_bootstrap_config.py runs the same configurations
against it).
"""

from __future__ import annotations

import pytest
from pdmc_kit import ClientProcess, find_kit, link_client

from harness.cloud import bootstrap, bootstrap_sequence
from harness.cloud import events as ev
from harness.cloud.developer import issue_developer_certificate
from harness.cloud.service_thread import ServiceThread
from harness.config import ServiceConfig
from harness.config.bootstrap_config import BootstrapConfig
from harness.devcreds import write_c_file

ONBOARD_TIMEOUT = 40.0
OPERATION_TIMEOUT = 10.0
ERROR = r"^Error details : (.*)$"


def _config(**service: object) -> ServiceConfig:
    return ServiceConfig(transports=["tls-record", "tcp-length"],
                         bootstrap={"tls_record": 0, "tcp_length": 0},
                         lwm2m={"tls_record": 0, "tcp_length": 0}, **service)


class _Run:
    """The service (with `config` on the developer's account, or `service_config` as the
    service's) and the linked real client."""

    def __init__(self, tmp_path, config: dict | None, service_config: dict | None = None) -> None:
        kit, why = find_kit()
        if kit is None:
            pytest.skip(why)
        extra = {} if service_config is None else {"bootstrap_config": service_config}
        self.thread = ServiceThread(_config(**extra), tmp_path / "service", start_rest=False)
        self.svc = self.thread.__enter__()
        account = self.svc.store.create_account("developer")
        if config is not None:
            self.svc.store.bootstrap_configs.put(account.id, BootstrapConfig.model_validate(config))
        cert = issue_developer_certificate(self.svc.store, self.svc.pki, account.id,
                                           self.svc.bootstrap_uri("tls-record"))
        creds = write_c_file(cert.c_credentials(), tmp_path / "mbed_cloud_dev_credentials.c")
        elf = link_client(kit, creds, tmp_path / "client.elf", self.svc.bootstrap_uri("tcp-length"))
        self.mark = self.svc.events.mark()
        self.client = ClientProcess(elf, tmp_path / "run")

    def bootstrap_event(self, kind: str = ev.BOOTSTRAP, timeout: float = ONBOARD_TIMEOUT) -> ev.Event:
        """The bootstrap (or bootstrap-error) event of this run."""
        return self.svc.events.wait_for_sync(lambda e: e.type == kind, timeout, since=self.mark)

    def close(self) -> None:
        """Stop the client, then the service."""
        try:
            self.client.stop()
        finally:
            self.thread.__exit__(None, None, None)


@pytest.mark.parametrize("delete", [["/"], ["/0"], ["/1"], ["/0/0"], ["/0/1"]],
                         ids=["root", "security", "server", "lwm2m-instance", "bootstrap-instance"])
def test_real_client_accepts_every_bootstrap_delete_and_registers(run, delete):
    """Bootstrap-Delete of /, /0, /1 or one security instance (even its bootstrap-server account,
    which OMA Core 5.2.7.5 lets a client refuse) is answered 2.02; the writes then go to /0/0."""
    started = run({"delete": delete})
    started.client.wait_for(r"^Client registered$", ONBOARD_TIMEOUT)
    event = started.bootstrap_event()
    assert event.data["operations"] == [f"DELETE {delete[0]} 2.02", "PUT /0/0 2.04", "PUT /1/0 2.04",
                                        "POST /bs 2.04"]


def test_real_client_ignores_bootstrap_discover_and_never_finishes(run, monkeypatch):
    """A Bootstrap-Discover (GET /0, Accept link-format) gets no answer: the client logs
    `msg was ignored` and the PUT after it gets no answer either; it does not register."""
    monkeypatch.setattr(bootstrap_sequence, "DISCOVER_TIMEOUT", 2.0)
    monkeypatch.setattr(bootstrap, "WRITE_TIMEOUT", 3.0)
    started = run({"discover": ["/0"]})
    failed = started.bootstrap_event(ev.BOOTSTRAP_ERROR)
    assert failed.data["operations"] == ["GET /0 failed (TimeoutError)"]
    assert failed.data["reason"].startswith("PUT /0/0 failed: TimeoutError")
    started.client.wait_for(r"received_from_server_callback - msg was ignored", 1)
    assert "Client registered" not in started.client.console()


def test_real_client_registers_after_bare_resource_list_writes_in_nosec_mode(run):
    """`write: resources`: a bare resource list replaces /0/0 and /1/0 (protocol facts 3.1 point 5),
    which a NoSec account survives (no certificate chain to lose): 2.04, 2.04, registered."""
    started = run({"write": "resources"})
    started.client.wait_for(r"^Client registered$", ONBOARD_TIMEOUT)
    event = started.bootstrap_event()
    assert event.data["operations"] == ["PUT /0/0 2.04", "PUT /1/0 2.04", "POST /bs 2.04"]


def test_real_client_stores_extra_writes_of_device_and_server_resources(run):
    """Extra writes of /3/0/14 (UTC offset) and /1/0/1 (lifetime) are answered 2.04, an unknown
    device resource (/3/0/99) too; the client registers, but has no /3/0/14 to read back (4.04). A PUT of
    /1/0/1 is a bare resource list: /1/0 keeps resource 1 only (its Register lists /1/0 and
    /1/0/1, where the default bootstrap leaves 0, 1, 4, 6, 7, 8), and this build registers with its
    own lifetime (lt=7200) whatever the bootstrap wrote."""
    started = run({"extra_writes": [{"path": "/3/0/14", "value": "+02:00"},
                                    {"path": "/1/0/1", "value": 120},
                                    {"path": "/3/0/99", "value": 1}]})
    started.client.wait_for(r"^Client registered$", ONBOARD_TIMEOUT)
    device_id = started.client.wait_for(r"^Device ID: ([0-9a-f]{32})$", 5).group(1)
    event = started.bootstrap_event()
    assert event.data["operations"] == ["PUT /0/0 2.04", "PUT /1/0 2.04", "PUT /3/0/14 2.04",
                                        "PUT /1/0/1 2.04", "PUT /3/0/99 2.04", "POST /bs 2.04"]
    device = started.svc.device(device_id)
    assert device.lifetime == 7200
    assert sorted(r["path"] for r in device.resources if r["path"].startswith("/1/")) == \
        ["/1/0", "/1/0/1"]
    # the client's trace of the write: it creates (and sets) a dynamic /3/0/13 from it, and
    # this example has no /3/0/14 resource to read
    assert any("create_dynamic_resource(resource_name 13)" in line for line in started.client.lines)
    code, _ct, _payload = started.thread.call(started.svc.read(device_id, "/3/0/14",
                                                               timeout=OPERATION_TIMEOUT))
    assert code == "4.04"


def test_real_client_refuses_a_resource_write_that_empties_its_security_instance(run):
    """A PUT of one resource of /0/0 replaces the instance (a bare resource list): the URI is gone,
    so the client answers 4.00 and reports `BS FIN fails :Invalid security object` (code 2)."""
    started = run({"extra_writes": [{"path": "/0/0/10", "value": 1}]})
    assert started.client.wait_for(ERROR, ONBOARD_TIMEOUT).group(1) == \
        "BS FIN fails :Invalid security object"
    failed = started.bootstrap_event(ev.BOOTSTRAP_ERROR)
    assert failed.data["operations"] == ["PUT /0/0 2.04", "PUT /1/0 2.04", "PUT /0/0/10 4.00"]
    assert "Error occurred : MbedCloudClient::ConnectBootstrapFailed" in started.client.console()
    assert "Error code : 2" in started.client.console()


def test_real_client_acknowledges_a_finish_without_an_account_then_fails_to_store_it(run):
    """`write: none`: Bootstrap-Finish with the client's own empty /0/0 is answered 2.04; the
    client then reports `Re-bootstrapping` (code 2) and `Failed to store LWM2M credentials`
    (ConnectorFailedToStoreCredentials, code 16), and does not register."""
    started = run({"write": "none"})
    assert started.client.wait_for(ERROR, ONBOARD_TIMEOUT).group(1) == "Re-bootstrapping"
    assert started.client.wait_for(r"^Error details : Failed to store LWM2M credentials$", 5)
    console = started.client.console()
    assert "Error occurred : MbedCloudClient::ConnectorFailedToStoreCredentials" in console
    assert "Error code : 16" in console and "Client registered" not in console
    event = started.bootstrap_event()
    assert event.data["operations"] == ["POST /bs 2.04"]


def test_a_service_configuration_applies_to_accounts_without_their_own(run):
    """`service: bootstrap_config:` (lab config) is what an account without its own gets."""
    started = run(None, {"delete": ["/1"], "extra_writes": [{"path": "/1/0/6", "value": False}]})
    started.client.wait_for(r"^Client registered$", ONBOARD_TIMEOUT)
    assert started.bootstrap_event().data["operations"] == [
        "DELETE /1 2.02", "PUT /0/0 2.04", "PUT /1/0 2.04", "PUT /1/0/6 2.04", "POST /bs 2.04"]
