"""The Service interface behaves alike in-process (local) and over REST (remote, `hil cloud serve`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness import pki
from harness.cloud import events as ev
from harness.config import ServiceConfig
from harness.errors import HilError
from harness.redact import redact
from harness.services.base import FAULTS, OWN_TIMINGS, CapabilityMissing, Service
from harness.services.local import LocalService
from harness.services.remote import RemoteService

CONFIG = ServiceConfig(transports=["tls-record", "udp"])


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalService]:
    """An in-process service."""
    service = LocalService.start(CONFIG, tmp_path_factory.mktemp("svc"),
                                 make_data_dir=lambda: tmp_path_factory.mktemp("other"))
    yield service
    service.close()


@pytest.fixture(scope="module")
def remote(local: LocalService) -> Iterator[RemoteService]:
    """The same service seen through its REST API and operator key only."""
    key = (Path(local.service.data_dir) / "operator-key").read_text().strip()
    service = RemoteService(local.rest_url, key)
    yield service
    service.close()


@pytest.fixture(params=["local", "remote"])
def service(request: pytest.FixtureRequest) -> Service:
    """Each implementation of the seam."""
    return request.getfixturevalue(request.param)


def test_accounts_come_with_a_working_api_key_that_no_repr_shows(service):
    account = service.create_account("acme", device_quota=3, commercial=True)
    assert (account.device_quota, account.commercial) == (3, True)
    assert account.api_key not in repr(account)
    answer = httpx.get(f"{service.rest_url}/v3/devices",
                       headers={"Authorization": f"Bearer {account.api_key}"})
    assert answer.status_code == 200 and answer.json()["data"] == []


def test_trust_enrollment_and_uris(service):
    account = service.create_account("trusting")
    ca = pki.make_ca("seam CA")
    added = service.add_trusted_certificate(account.id, "seam", ca.cert_pem, enrollment_mode=True)
    listed = service.trusted_certificates(account.id, "bootstrap")
    assert [t.id for t in listed] == [added.id] and listed[0].enrollment_mode
    assert service.trusted_certificates(account.id, "lwm2m") == []
    identity = pki.enrollment_id(pki.make_bootstrap_device_cert(ca, "ep-1").cert)
    assert service.enroll(account.id, identity).enrollment_identity == identity
    assert service.bootstrap_uri(account.id).endswith(f"?aid={account.id}")
    assert service.bootstrap_uri().startswith("coaps://127.0.0.1:")
    assert service.lwm2m_uri(account.id, "udp").startswith("coap://127.0.0.1:")


def test_a_transport_the_remote_service_lacks_is_one_clear_error(remote):
    with pytest.raises(HilError, match="no bootstrap listener for tcp-length .*add tcp-length"):
        remote.server_uri("bootstrap", "tcp-length")


def test_developer_certificate_carries_key_uri_and_server_ca(service):
    account = service.create_account("developer")
    dev = service.developer_certificate(account.id)
    assert dev.account_id == account.id and dev.bootstrap_uri.endswith(f"?aid={account.id}")
    assert dev.server_ca_der == service.server_ca_der
    assert "key=<redacted>" in repr(dev)
    assert dev.c_credentials().private_key_der == dev.credential.key_der


def test_faults_and_the_directory(service):
    account = service.create_account("faulty", device_quota=1)
    entry = service.faults.add_directory_entry(account.id, "taken", device_key="ab" * 32)
    assert [d.id for d in service.devices(account.id)] == [entry.id]
    assert service.device(entry.id).endpoint_name == "taken"
    assert service.device("0" * 32) is None
    assert service.devices(account.id, state="registered") == []
    service.faults.inject_bootstrap_error("5.00", "Internal error #3", endpoint_name="nobody-else")


def test_events_are_seen_from_a_mark_and_waits_end_on_them(service, local):
    since = service.mark()
    local.service.events.publish(ev.Event(ev.REGISTRATION, "dev-9", "acc", {"ep": "dev-9"}))
    got = service.wait_event(ev.REGISTRATION, since=since, timeout=10,
                             where=lambda e: e.device_id == "dev-9")
    assert got.data == {"ep": "dev-9"}
    assert [e.device_id for e in service.events(since)] == ["dev-9"]
    later = service.mark()
    with pytest.raises(ev.EventTimeout, match="a deregistration"):
        service.wait_event(ev.DE_REGISTRATION, since=later, timeout=0.3, what="a deregistration")
    assert "registration device=dev-9" in service.recent_events_text()


def test_capabilities_say_what_is_missing_and_why(local, remote):
    assert local.can(FAULTS) and local.can(OWN_TIMINGS)
    assert remote.can(FAULTS) and not remote.can(OWN_TIMINGS)
    with pytest.raises(CapabilityMissing, match="own timings.*the lab's service is remote"):
        remote.start_another(lifetime_default=2.0)
    other = local.start_another(lifetime_default=2.0)
    assert other.service.config.timing.lifetime_default == 2.0
    assert other.rest_url != local.rest_url


def test_a_wrong_operator_key_is_one_clear_error(local):
    with pytest.raises(HilError, match="did not answer its admin API \\(401\\)"):
        RemoteService(local.rest_url, "op_" + "0" * 48)


def test_the_operator_key_is_redacted_like_an_api_key(local, remote):
    key = (Path(local.service.data_dir) / "operator-key").read_text().strip()
    assert key not in redact(f"curl -H 'X-Key: {key}' and {key}")
    assert key not in repr(remote) + repr(remote.admin) + repr(remote.admin.rest)
