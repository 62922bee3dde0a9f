"""The notification channel and the REST API's JWT keys, seen from a board's registration.

Behaviour: seeds "Device onboarding and connection options" (registration flow, step 2) and
"JWT keys" (verification keys, the `exp` claim).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import jwt
import pytest
from websockets.sync.client import connect

from fixtures.cloud import rest_client_for
from harness.pki import make_ca
from harness.rest_client import RestClient, sign_jwt

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "rest"))
from rest_test_support import Receiver  # noqa: E402 - tests/unit/rest/rest_test_support.py

pytestmark = pytest.mark.area("notifications")


@pytest.mark.scenario("notifications: a board's registration reaches the webhook and the websocket")
@pytest.mark.seed("onboarding", "The LwM2M server uses the Event notification channel to notify the "
                  "application server of the registered device.")
@pytest.mark.seed("onboarding", "The LwM2M server provides both the original device name (oep) and "
                  "the new device ID (ep) to the application server.")
@pytest.mark.seed("jwt", "Pelion Device Management uses the uploaded certificate and its matching "
                  "public key to verify REST API requests based on JWT.")
def test_board_registration_is_notified_to_webhook_and_websocket(cloud, account, rest, factory,
                                                                 device):
    """One application sets a webhook, another opens a websocket channel (one channel per key),
    both over REST calls authenticated with JWTs signed by uploaded verification keys; the board's
    registration reaches both with ep, original-ep and the resource structure."""
    receiver = Receiver()
    try:
        rest.set_webhook(receiver.url)
        receiver.next()  # the service checks the URL with an empty notification first
        websocket_client, _ = rest_client_for(cloud, account, "hil-websocket")
        with websocket_client:
            websocket_client.set_websocket_channel()
            with connect(websocket_client.websocket_url(),
                         additional_headers=websocket_client.auth_headers(), open_timeout=5) as ws:
                made = factory.bootstrap()
                registration = device.wait_registered()
                hooked = _registration_of(lambda: json.loads(receiver.next(timeout=10)[1]),
                                          registration.device_id)
                pushed = _registration_of(lambda: json.loads(ws.recv(timeout=10)),
                                          registration.device_id)
    finally:
        receiver.close()
    for entry in (hooked, pushed):
        assert entry["ep"] == registration.device_id
        assert entry["original-ep"] == made.endpoint_name
        paths = {r["path"] for r in entry["resources"]}
        assert {"/3/0/0", "/3/0/4", "/3/0/5"} <= paths
    assert hooked == pushed


def _registration_of(next_payload, device_id: str, tries: int = 20) -> dict:
    """The `registrations` entry of `device_id` among the next notification payloads."""
    for _ in range(tries):
        for entry in next_payload().get("registrations", []):
            if entry.get("ep") == device_id:
                return entry
    raise AssertionError(f"no registration of {device_id} in {tries} notifications")


@pytest.mark.scenario("notifications: a JWT without exp is refused")
@pytest.mark.seed("jwt", "The JWT payload must contain the exp claim that is the expiration time "
                  "after the JWT expires.")
@pytest.mark.seed("jwt", "The HTTP request header must contain the key X-Application-ID with the "
                  "value of your application ID the verification key is attached to.")
def test_rest_call_with_a_jwt_without_exp_is_refused(cloud, account):
    """The same application and key: a JWT with `exp` lists the devices, one without it is
    refused (401), and so is a JWT signed by a key nobody uploaded."""
    client, application = rest_client_for(cloud, account, "hil-jwt-exp")
    with client:
        client.request("GET", "/v3/devices", expect=200)
    now = int(time.time())
    without_exp = jwt.encode({"iss": application.id, "sub": application.id, "iat": now},
                             application.signing_key.key_pem, algorithm="ES256")
    with RestClient(cloud.rest_url, application_id=application.id, token=without_exp) as refused:
        refused.request("GET", "/v3/devices", expect=401)
    stranger = make_ca("not uploaded")
    with RestClient(cloud.rest_url, application_id=application.id,
                    token=sign_jwt(stranger.key_pem, "ES256", application.id)) as unknown:
        unknown.request("GET", "/v3/devices", expect=401)
