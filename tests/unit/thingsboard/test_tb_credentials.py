"""Who a CONNECT is: ThingsBoard's credential types and their combinations, on a real SQLite store."""

from __future__ import annotations

import pytest

from harness import pki
from harness.services.thingsboard import credentials as cr
from harness.services.thingsboard import records as r
from harness.services.thingsboard.store import StoreError, TbStore


@pytest.fixture
def store(tmp_path):
    s = TbStore(tmp_path / "tb.sqlite3")
    yield s
    s.close()


def _device(store: TbStore, name: str, kind: str, cid: str | None = None, value=None) -> str:
    device = store.create_device(name)
    credentials_id, body = cr.normalize(kind, cid, value)
    store.set_credentials(device.id, kind, credentials_id, body)
    return device.id


def test_access_token_is_the_user_name(store):
    device = _device(store, "d", r.ACCESS_TOKEN, "TOKEN-A")
    ok = cr.authenticate(store, "any-client", "TOKEN-A", None, None)
    assert (ok.accepted, ok.device_id, ok.credentials_type) == (True, device, r.ACCESS_TOKEN)
    bad = cr.authenticate(store, "any-client", "TOKEN-B", None, None)
    assert (bad.accepted, bad.reason) == (False, "unknown access token")


@pytest.mark.parametrize(("stored", "client_id", "user", "password", "accepted"), [
    ({"clientId": "c1"}, "c1", None, None, True),                       # client ID only
    ({"clientId": "c1"}, "c2", None, None, False),
    ({"userName": "u1", "password": "p1"}, "x", "u1", "p1", True),      # user name + password
    ({"userName": "u1", "password": "p1"}, "x", "u1", "p2", False),
    ({"userName": "u1", "password": "p1"}, "x", "u1", None, False),
    ({"clientId": "c1", "userName": "u1"}, "c1", "u1", None, True),      # client ID + user name
    ({"clientId": "c1", "userName": "u1", "password": "p"}, "c1", "u1", "p", True),
    ({"clientId": "c1", "userName": "u1", "password": "p"}, "c1", "u1", "q", False),
])
def test_basic_mqtt_credentials_combinations(store, stored, client_id, user, password, accepted):
    _device(store, "basic", r.MQTT_BASIC, value=stored)
    verdict = cr.authenticate(store, client_id, user, password, None)
    assert verdict.accepted is accepted, verdict.reason


def test_basic_credentials_need_a_client_id_or_user_name():
    with pytest.raises(StoreError, match="client id and user name are empty"):
        cr.normalize(r.MQTT_BASIC, None, {"password": "p"})


def test_x509_device_is_known_by_its_certificate(store):
    cred = pki.make_device_cert(pki.make_ca("maker"), "x")
    device = _device(store, "x", r.X509_CERTIFICATE, value=cred.cert_pem.decode())
    assert cr.authenticate(store, "c", None, None, cred.cert).device_id == device
    other = pki.make_device_cert(pki.make_ca("maker"), "x")
    verdict = cr.authenticate(store, "c", None, None, other.cert)
    assert not verdict.accepted and verdict.reason.startswith("unknown certificate")


def test_x509_chain_profile_creates_the_device_named_by_cn(store):
    ca = pki.make_ca("fleet")
    store.create_profile(r.Profile("", "fleet", r.X509_CERTIFICATE_CHAIN,
                                   certificate_pem=ca.cert_pem.decode(),
                                   certificate_regex=r"^dev-(\w+)$", allow_create_by_x509=True))
    verdict = cr.authenticate(store, "c", None, None, pki.make_device_cert(ca, "dev-42").cert)
    assert verdict.accepted
    assert store.device(verdict.device_id).name == "42"
    assert not cr.authenticate(store, "c", None, None, pki.make_device_cert(ca, "nope!").cert).accepted


def test_provision_user_opens_a_provisioning_session(store):
    verdict = cr.authenticate(store, "c", cr.PROVISION_USER, None, None)
    assert verdict.accepted and verdict.provisioning and verdict.device_id is None


def test_credentials_cannot_be_shared_by_two_devices(store):
    _device(store, "a", r.ACCESS_TOKEN, "SAME")
    with pytest.raises(StoreError, match="already registered"):
        _device(store, "b", r.ACCESS_TOKEN, "SAME")


def test_certificate_hash_ignores_pem_line_breaks():
    cred = pki.make_device_cert(pki.make_ca("m"), "h")
    pem = cred.cert_pem.decode()
    assert cr.cert_hash(pem) == cr.cert_hash(pem.replace("\n", "\r\n")) == cr.cert_hash(cred.cert)
