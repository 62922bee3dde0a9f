"""The admin API (/admin/v1): only the operator key opens it; API keys are shown once."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import httpx
import pytest

from harness.cloud import events as ev


@pytest.fixture(scope="module")
def operator(service) -> dict[str, str]:
    """The operator's Authorization header (key from the data dir)."""
    key = (Path(service.data_dir) / "operator-key").read_text().strip()
    return {"Authorization": f"Bearer {key}"}


def test_operator_key_file_is_private(service):
    path = Path(service.data_dir) / "operator-key"
    assert path.stat().st_mode & 0o077 == 0
    assert path.read_text().startswith("op_")


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer op_wrong"},
                                     {"Authorization": "Basic abc"}])
def test_admin_api_refuses_anything_but_the_operator_key(base_url, headers):
    answer = httpx.get(f"{base_url}/admin/v1/accounts", headers=headers)
    assert answer.status_code == 401
    assert answer.json()["message"].endswith(".")


def test_an_account_api_key_does_not_open_the_admin_api(base_url, account):
    answer = httpx.get(f"{base_url}/admin/v1/accounts",
                       headers={"Authorization": f"Bearer {account.api_key}"})
    assert answer.status_code == 401 and "operator key" in answer.json()["message"]


def test_api_key_is_shown_once_works_and_is_never_listed_or_logged(base_url, operator, caplog):
    caplog.set_level(logging.DEBUG)
    made = httpx.post(f"{base_url}/admin/v1/accounts", headers=operator, json={"name": "keys"})
    assert made.status_code == 201
    aid = made.json()["id"]
    assert "admin_key_hash" not in made.json()
    issued = httpx.post(f"{base_url}/admin/v1/accounts/{aid}/api-keys", headers=operator,
                        json={"name": "ci"}).json()
    key = issued["key"]
    assert key.startswith("ak_")
    devices = httpx.get(f"{base_url}/v3/devices", headers={"Authorization": f"Bearer {key}"})
    assert devices.status_code == 200
    listed = httpx.get(f"{base_url}/admin/v1/accounts/{aid}/api-keys", headers=operator)
    assert [k["name"] for k in listed.json()] == ["ci"] and key not in listed.text
    assert key not in caplog.text


def test_operator_acts_in_an_account_with_x_account_id(base_url, operator, account):
    headers = {**operator, "X-Account-ID": account.id}
    made = httpx.post(f"{base_url}/v3/applications", headers=headers, json={"name": "by-operator"})
    assert made.status_code == 201
    mine = account.admin.list_applications().data
    assert [a.name for a in mine] == ["by-operator"]
    without = httpx.get(f"{base_url}/v3/applications", headers=operator)
    assert without.status_code == 401 and "X-Account-ID" in without.json()["message"]
    unknown = httpx.get(f"{base_url}/v3/applications", headers={**operator, "X-Account-ID": "nope"})
    assert unknown.status_code == 401


def test_event_stream_long_poll_wakes_on_a_new_event(base_url, operator, service):
    start = httpx.get(f"{base_url}/admin/v1/events", headers=operator,
                      params={"after": 2**62}).json()["next"]
    timer = threading.Timer(0.3, service.events.publish,
                            (ev.Event(ev.REG_UPDATE, "dev-1", "acc", {"ep": "dev-1"}),))
    began = time.monotonic()
    timer.start()
    answer = httpx.get(f"{base_url}/admin/v1/events", headers=operator,
                       params={"after": start, "wait": 8}, timeout=15).json()
    timer.join()
    assert time.monotonic() - began < 5, "the long poll must end when the event comes"
    assert [(e["seq"], e["type"]) for e in answer["events"]] == [(start, ev.REG_UPDATE)]
    assert answer["next"] == start + 1
    empty = httpx.get(f"{base_url}/admin/v1/events", headers=operator,
                      params={"after": answer["next"], "wait": 0.2}).json()
    assert empty["events"] == [] and empty["next"] == answer["next"]


def test_admin_api_bad_input_is_a_clear_400_or_404(base_url, operator):
    bad = httpx.post(f"{base_url}/admin/v1/faults/bootstrap-errors", headers=operator,
                     json={"code": "2.05"})
    assert bad.status_code == 400 and "code" in bad.json()["message"]
    missing = httpx.get(f"{base_url}/admin/v1/devices/{'0' * 32}", headers=operator)
    assert missing.status_code == 404
    nobody = httpx.post(f"{base_url}/admin/v1/accounts/nobody/api-keys", headers=operator, json={})
    assert nobody.status_code == 404 and "/admin/v1/accounts" in nobody.json()["message"]
    offline = httpx.post(f"{base_url}/admin/v1/devices/{'0' * 32}/requests", headers=operator,
                         json={"method": "POST", "uri": "/3/0/4"})
    assert offline.status_code == 400 and "no live registration" in offline.json()["message"]
    huge = httpx.post(f"{base_url}/admin/v1/accounts", headers=operator,
                      json={"name": "huge", "device_quota": 2**70})  # beyond SQLite's integers
    assert huge.status_code == 400 and "device_quota" in huge.json()["message"]
