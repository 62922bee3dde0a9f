"""The device provisioning request: strategies, refusals and the credentials it hands out."""

from __future__ import annotations

import pytest

from harness.services.thingsboard import records as r
from harness.services.thingsboard.provisioning import provision
from harness.services.thingsboard.store import TbStore


@pytest.fixture
def store(tmp_path):
    s = TbStore(tmp_path / "tb.sqlite3")
    s.create_profile(r.Profile("", "new", r.ALLOW_CREATE_NEW_DEVICES, "K1", "S1"))
    s.create_profile(r.Profile("", "pre", r.CHECK_PRE_PROVISIONED_DEVICES, "K2", "S2"))
    yield s
    s.close()


def req(key: str, secret: str, name: str, **extra) -> dict:
    return {"provisionDeviceKey": key, "provisionDeviceSecret": secret, "deviceName": name, **extra}


def test_allow_create_makes_a_device_with_a_generated_token(store):
    response, device_id, _ = provision(store, req("K1", "S1", "d1"))
    assert response["status"] == "SUCCESS" and response["credentialsType"] == "ACCESS_TOKEN"
    assert store.credentials_of(device_id).credentials_id == response["credentialsValue"]
    again, _, reason = provision(store, req("K1", "S1", "d1"))
    assert again == {"status": "FAILURE", "errorMsg": "Failed to provision device!"}
    assert "already exists" in reason


def test_device_supplied_basic_credentials_are_used(store):
    response, device_id, _ = provision(store, req("K1", "S1", "d2", credentialsType="MQTT_BASIC",
                                                  clientId="c", username="u", password="p"))
    assert response["credentialsValue"] == {"clientId": "c", "userName": "u", "password": "p"}
    assert store.credentials_of(device_id).type == r.MQTT_BASIC


def test_wrong_key_or_secret_is_not_found(store):
    for request in (req("K1", "bad", "x"), req("nope", "S1", "x"), {"deviceName": "x"}):
        response, device_id, _ = provision(store, request)
        assert response == {"status": "NOT_FOUND", "errorMsg": "Provision data was not found!"}
        assert device_id is None
    assert store.device_by_name("x") is None


def test_check_pre_provisioned_needs_the_device_and_provisions_it_once(store):
    missing, _, reason = provision(store, req("K2", "S2", "pre"))
    assert missing["status"] == "NOT_FOUND" and "no device" in reason
    device = store.create_device("pre")
    ok, device_id, _ = provision(store, req("K2", "S2", "pre"))
    assert ok["status"] == "SUCCESS" and device_id == device.id
    twice, _, reason = provision(store, req("K2", "S2", "pre"))
    assert twice["status"] == "FAILURE" and "already provisioned" in reason


def test_device_generated_x509_certificate_is_stored(store):
    from harness import pki

    cred = pki.make_device_cert(pki.make_ca("own"), "x509-prov")
    response, device_id, _ = provision(store, req("K1", "S1", "x509-prov", credentialsType="X509_CERTIFICATE",
                                                  hash=cred.cert_pem.decode()))
    assert response["status"] == "SUCCESS" and response["credentialsType"] == "X509_CERTIFICATE"
    assert store.credentials_of(device_id).type == r.X509_CERTIFICATE
