"""The admin API for standard clients: PSK identities (keys never shown) and device certificates."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from harness.pki import load_certificate, subject_fields

KEY = bytes(range(16))


@pytest.fixture(scope="module")
def operator(service) -> dict[str, str]:
    """The operator's Authorization header."""
    key = (Path(service.data_dir) / "operator-key").read_text().strip()
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def aid(base_url, operator) -> str:
    return httpx.post(f"{base_url}/admin/v1/accounts", headers=operator,
                      json={"name": "standard-psk"}).json()["id"]


def test_psk_identity_is_added_listed_without_key_and_removed(base_url, operator, aid, service,
                                                              caplog):
    caplog.set_level(logging.DEBUG)
    put = httpx.put(f"{base_url}/admin/v1/psk-identities/rest-psk-1", headers=operator,
                    json={"key_hex": KEY.hex(), "account_id": aid, "endpoint_name": "ep-1"})
    assert put.status_code == 200, put.text
    assert put.json() == {"identity": "rest-psk-1", "account_id": aid, "endpoint_name": "ep-1"}
    listed = httpx.get(f"{base_url}/admin/v1/psk-identities", headers=operator,
                       params={"account_id": aid}).json()
    assert listed == [put.json()]
    assert KEY.hex() not in put.text + str(listed) + caplog.text
    assert service.store.psk.keys()["rest-psk-1"] == KEY
    gone = httpx.delete(f"{base_url}/admin/v1/psk-identities/rest-psk-1", headers=operator)
    assert gone.status_code == 204
    again = httpx.delete(f"{base_url}/admin/v1/psk-identities/rest-psk-1", headers=operator)
    assert again.status_code == 404 and again.json()["message"].endswith(".")


def test_a_bad_psk_key_gets_one_clear_400(base_url, operator, aid):
    answer = httpx.put(f"{base_url}/admin/v1/psk-identities/x", headers=operator,
                       json={"key_hex": "zz", "account_id": aid})
    assert answer.status_code == 400


def test_device_certificate_names_the_device_it_creates(base_url, operator, aid, service):
    answer = httpx.post(f"{base_url}/admin/v1/accounts/{aid}/device-certificates",
                        headers=operator, json={"endpoint_name": "x509-rest-1"})
    assert answer.status_code == 201, answer.text
    data = answer.json()
    fields = subject_fields(load_certificate(data["certificate_pem"].encode()))
    assert fields["CN"] == "x509-rest-1" and fields["L"] == data["device_id"]
    assert fields["OU"] == aid
    assert service.device(data["device_id"]).endpoint_name == "x509-rest-1"
