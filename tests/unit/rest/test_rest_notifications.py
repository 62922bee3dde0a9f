"""Notification channel: a webhook receiver and a websocket client on loopback get registrations."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from rest_test_support import Receiver
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from harness.cloud import events as ev
from harness.rest_client import ApiError, RestClient, sign_jwt

REGISTRATION = {"ep": "dev-1", "original-ep": "my-sensor", "ept": "default", "q": False, "lt": 300,
                "resources": [{"path": "/3/0/0", "rt": "manufacturer", "obs": False},
                              {"path": "/3303/0/5700", "rt": "temp", "ct": 11542, "obs": True}]}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    yield rec
    rec.close()


def _publish(service_thread, event_type: str, account_id: str, data: dict) -> None:
    service = service_thread.service
    service_thread.run(lambda: service.events.publish(ev.Event(event_type, data.get("ep"), account_id,
                                                               data)))


def test_webhook_is_tested_then_gets_registrations(account, receiver, service_thread) -> None:
    account.admin.set_webhook(receiver.url, {"x-secret": "s3cret"})
    method, body, headers = receiver.next()
    assert (method, body) == ("PUT", b"")
    assert headers["x-secret"] == "s3cret"
    assert account.admin.get_webhook().url == receiver.url
    assert account.admin.get_webhook().headers == {"x-secret": "<redacted>"}
    _publish(service_thread, ev.REGISTRATION, account.id, REGISTRATION)
    _, body, headers = receiver.next()
    payload = json.loads(body)
    assert headers["content-type"] == "application/json"
    assert payload["registrations"] == [{
        "ep": "dev-1", "original-ep": "my-sensor", "ept": "default", "q": False,
        "resources": [{"path": "/3/0/0", "rt": "manufacturer", "obs": False},
                      {"path": "/3303/0/5700", "rt": "temp", "ct": 11542, "obs": True}]}]


def test_webhook_gets_updates_and_deregistrations(account, receiver, service_thread) -> None:
    account.admin.set_webhook(receiver.url)
    receiver.next()
    _publish(service_thread, ev.REG_UPDATE, account.id, {**REGISTRATION, "original-ep": None})
    _publish(service_thread, ev.DE_REGISTRATION, account.id, {"ep": "dev-1"})
    _publish(service_thread, ev.REGISTRATION_EXPIRED, account.id, {"ep": "dev-2"})
    got: dict = {}
    while len(got) < 3:
        for key, items in json.loads(receiver.next()[1]).items():
            got.setdefault(key, []).extend(items)
    assert "original-ep" not in got["reg-updates"][0] and got["reg-updates"][0]["ep"] == "dev-1"
    assert got["de-registrations"] == ["dev-1"]
    assert got["registrations-expired"] == ["dev-2"]


def test_webhook_retries_with_back_off(account, service_thread) -> None:
    rec = Receiver(statuses=[200, 500, 503])  # test PUT ok, then two failures
    try:
        account.admin.set_webhook(rec.url)
        rec.next()
        _publish(service_thread, ev.REGISTRATION, account.id, REGISTRATION)
        bodies = [rec.next()[1] for _ in range(3)]
        assert bodies[0] == bodies[1] == bodies[2]
        assert json.loads(bodies[2])["registrations"][0]["ep"] == "dev-1"
    finally:
        rec.close()


def test_webhook_that_fails_the_test_is_refused(account) -> None:
    rec = Receiver(statuses=[404])
    try:
        with pytest.raises(ApiError) as err:
            account.admin.set_webhook(rec.url)
        assert err.value.status == 400 and "404" in err.value.message
    finally:
        rec.close()
    with pytest.raises(ApiError) as err:
        account.admin.set_webhook(rec.url)  # nothing listens any more
    assert err.value.status == 400 and "could not be reached" in err.value.message
    with pytest.raises(ApiError) as err:
        account.admin.get_webhook()
    assert err.value.status == 404


def test_other_accounts_events_are_not_delivered(account, receiver, service_thread) -> None:
    account.admin.set_webhook(receiver.url)
    receiver.next()
    _publish(service_thread, ev.REGISTRATION, "someone-else", REGISTRATION)
    _publish(service_thread, ev.DE_REGISTRATION, account.id, {"ep": "mine"})
    assert json.loads(receiver.next()[1]) == {"de-registrations": ["mine"]}


def test_delete_webhook_stops_delivery(account, receiver) -> None:
    account.admin.set_webhook(receiver.url)
    receiver.next()
    account.admin.delete_webhook()
    with pytest.raises(ApiError) as err:
        account.admin.delete_webhook()
    assert err.value.status == 404


def test_websocket_gets_registrations_with_api_key_subprotocol(account, service_thread) -> None:
    assert account.admin.set_websocket_channel().status == "disconnected"
    _publish(service_thread, ev.REGISTRATION, account.id, REGISTRATION)  # queued while offline
    assert account.admin.get_websocket_channel().queue_size == 1
    with connect(account.admin.websocket_url(), subprotocols=["wss", f"pelion_{account.api_key}"],
                 open_timeout=5) as ws:
        assert ws.subprotocol == "wss"
        payload = json.loads(ws.recv(timeout=5))
        assert payload["registrations"][0]["original-ep"] == "my-sensor"
        _publish(service_thread, ev.DE_REGISTRATION, account.id, {"ep": "dev-1"})
        assert json.loads(ws.recv(timeout=5)) == {"de-registrations": ["dev-1"]}


def test_websocket_with_jwt_headers(make_jwt_app, base_url, service_thread, account) -> None:
    app = make_jwt_app()
    token = sign_jwt(app.private_key, app.alg, app.id, 60)
    with RestClient(base_url, application_id=app.id, token=token) as client:
        client.set_websocket_channel()
        with connect(client.websocket_url(), additional_headers=client.auth_headers(),
                     open_timeout=5) as ws:
            _publish(service_thread, ev.REGISTRATION, account.id, REGISTRATION)
            assert json.loads(ws.recv(timeout=5))["registrations"][0]["ep"] == "dev-1"


def test_websocket_refusals_close_with_1008(account) -> None:
    url = account.admin.websocket_url()
    with connect(url, additional_headers=account.admin.auth_headers(), open_timeout=5) as ws, \
            pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=5)
    assert closed.value.rcvd.code == 1008 and "PUT /v2/notification/websocket" in closed.value.rcvd.reason
    with connect(url, additional_headers={"Authorization": "Bearer ak_wrong"}, open_timeout=5) as ws, \
            pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=5)
    assert closed.value.rcvd.code == 1008 and "not valid" in closed.value.rcvd.reason


def test_switching_to_webhook_closes_the_websocket(account, receiver) -> None:
    account.admin.set_websocket_channel()
    with connect(account.admin.websocket_url(), additional_headers=account.admin.auth_headers(),
                 open_timeout=5) as ws:
        account.admin.set_webhook(receiver.url)
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
    with pytest.raises(ApiError) as err:
        account.admin.get_websocket_channel()
    assert err.value.status == 404


def test_payload_merge_keeps_order() -> None:
    from harness.cloud.rest.notification_payloads import merge
    assert merge([{"de-registrations": ["a"]}, {"de-registrations": ["b"]}, {"registrations": []}]) == {
        "de-registrations": ["a", "b"], "registrations": []}
