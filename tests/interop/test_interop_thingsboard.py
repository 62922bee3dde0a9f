"""Independent MQTT clients against the local ThingsBoard-style service: Eclipse Mosquitto's
`mosquitto_pub`/`mosquitto_sub` (C, libmosquitto + OpenSSL) and ThingsBoard's own Python device
SDK (`tb-mqtt-client`). `.ci/run` installs both; the tests skip where they are missing.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import pki
from harness.services.thingsboard.client import TbRestClient
from harness.services.thingsboard.service import TbServiceThread, ThingsBoardService

MOSQUITTO = shutil.which("mosquitto_pub") and shutil.which("mosquitto_sub")
needs_mosquitto = pytest.mark.skipif(not MOSQUITTO, reason="mosquitto-clients is not installed "
                                     "(apt-get install mosquitto-clients)")
TELEMETRY = "v1/devices/me/telemetry"


@pytest.fixture(scope="module")
def service() -> Iterator[ThingsBoardService]:
    """A service on free loopback ports."""
    thread = TbServiceThread()
    yield thread.start()
    thread.stop()


@pytest.fixture(scope="module")
def rest(service: ThingsBoardService) -> Iterator[TbRestClient]:
    """The REST client, logged in as the tenant."""
    client = TbRestClient(service.rest_url, service.config.tenant_username, service.config.tenant_password)
    yield client
    client.close()


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=20, check=False)


def _pub(service: ThingsBoardService, *auth: str, tls: bool = False, message: str = '{"t": 1}'
         ) -> subprocess.CompletedProcess[str]:
    port = service.broker.mqtts_port if tls else service.broker.mqtt_port
    extra = ["--cafile", str(service.ca_path)] if tls else []
    return _run("mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), *extra, *auth, "-q", "1",
                "-t", TELEMETRY, "-m", message)


def _last(rest: TbRestClient, device: dict | None = None) -> dict:
    return rest.events(device["id"]["id"] if device else None)[-1]


def _files(tmp_path: Path, cred: pki.Credential) -> list[str]:
    cert, key = tmp_path / "device.pem", tmp_path / "device.key"
    cert.write_bytes(cred.cert_pem)
    key.write_bytes(cred.key_pem)
    key.chmod(0o600)
    return ["--cert", str(cert), "--key", str(key)]


@needs_mosquitto
def test_mosquitto_pub_with_access_token_unencrypted(service, rest):
    """Access token as the MQTT user name, no TLS: accepted, telemetry stored."""
    device = rest.create_device("mosq-token", "MOSQ-TOKEN-1")
    done = _pub(service, "-u", "MOSQ-TOKEN-1", message='{"temperature": 20.5}')
    assert done.returncode == 0, done.stderr
    events = rest.events(device["id"]["id"])
    assert [e["type"] for e in events][-2:] == ["connect_accepted", "telemetry"]
    assert events[-2]["transport"] == "plain"
    assert rest._send("GET", f"/api/plugins/telemetry/DEVICE/{device['id']['id']}/values/timeseries"
                      )["temperature"][0]["value"] == 20.5


@needs_mosquitto
def test_mosquitto_pub_with_basic_credentials_over_one_way_tls(service, rest):
    """Basic MQTT credentials (client ID + user name + password) over one-way TLS."""
    device = rest.create_device("mosq-basic")
    rest.set_credentials(device["id"]["id"], "MQTT_BASIC",
                         value={"clientId": "mosq-cid", "userName": "mosq-user", "password": "mosq-pw"})
    done = _pub(service, "-i", "mosq-cid", "-u", "mosq-user", "-P", "mosq-pw", tls=True)
    assert done.returncode == 0, done.stderr
    accepted = [e for e in rest.events(device["id"]["id"]) if e["type"] == "connect_accepted"][-1]
    assert (accepted["transport"], accepted["credentialsType"]) == ("tls", "MQTT_BASIC")
    wrong = _pub(service, "-i", "mosq-cid", "-u", "mosq-user", "-P", "nope", tls=True)
    assert wrong.returncode != 0 and "not authorised" in wrong.stderr
    assert _last(rest)["reason"] == "wrong password for basic MQTT credentials"


@needs_mosquitto
def test_mosquitto_pub_with_x509_over_two_way_tls(service, rest, tmp_path):
    """X.509: the device certificate is its credentials (two-way TLS)."""
    device = rest.create_device("mosq-x509")
    cred = pki.make_device_cert(pki.make_ca("mosq maker"), "mosq-x509")
    rest.set_credentials(device["id"]["id"], "X509_CERTIFICATE", value=cred.cert_pem.decode())
    done = _pub(service, *_files(tmp_path, cred), tls=True)
    assert done.returncode == 0, done.stderr
    accepted = [e for e in rest.events(device["id"]["id"]) if e["type"] == "connect_accepted"][-1]
    assert (accepted["transport"], accepted["credentialsType"]) == ("tls-x509", "X509_CERTIFICATE")


@needs_mosquitto
def test_mosquitto_refusals(service, rest, tmp_path):
    """A wrong token gets CONNACK 5; an unknown certificate fails the TLS handshake."""
    wrong = _pub(service, "-u", "NO-SUCH-TOKEN")
    assert wrong.returncode != 0 and "not authorised" in wrong.stderr
    assert (_last(rest)["code"], _last(rest)["reason"]) == (5, "unknown access token")
    stranger = pki.make_device_cert(pki.make_ca("stranger"), "stranger")
    refused = _pub(service, *_files(tmp_path, stranger), tls=True)
    assert refused.returncode != 0
    assert _last(rest)["type"] == "tls_refused" and "unknown certificate" in _last(rest)["reason"]


@needs_mosquitto
def test_mosquitto_sub_gets_only_its_own_topics(service, rest):
    """A device may subscribe to its own attribute topic, not to other devices' traffic ('#')."""
    rest.create_device("mosq-sub", "MOSQ-SUB-TOKEN")
    port = str(service.broker.mqtt_port)
    own = _run("mosquitto_sub", "-p", port, "-u", "MOSQ-SUB-TOKEN", "-t", "v1/devices/me/attributes",
               "-W", "1")
    assert "denied" not in own.stderr, own.stderr
    everything = _run("mosquitto_sub", "-p", port, "-u", "MOSQ-SUB-TOKEN", "-t", "#", "-W", "3")
    assert "denied" in everything.stderr.lower(), everything.stderr


@needs_mosquitto
def test_mosquitto_pub_x509_chain_creates_the_device(service, rest, tmp_path):
    """X.509 certificate chain: a certificate from the profile's CA creates its device (CN)."""
    ca = pki.make_ca("mosq fleet")
    rest.create_profile("mosq-chain", "X509_CERTIFICATE_CHAIN", ca_pem=ca.cert_pem.decode())
    done = _pub(service, *_files(tmp_path, pki.make_device_cert(ca, "mosq-chain-dev")), tls=True)
    assert done.returncode == 0, done.stderr
    created = rest.device("mosq-chain-dev")
    assert rest.credentials(created["id"]["id"])["credentialsType"] == "X509_CERTIFICATE"


# --- ThingsBoard's Python device SDK ---------------------------------------------------------------
def _sdk():
    pytest.importorskip("mmh3")  # the SDK would pip-install it at import time otherwise
    return pytest.importorskip("tb_device_mqtt", reason="tb-mqtt-client is not installed")


def test_sdk_provisions_a_new_device_and_its_token_works(service, rest):
    """The SDK's provisioning request (allow creating new devices) returns an access token."""
    sdk = _sdk()
    rest.create_profile("sdk-allow", "ALLOW_CREATE_NEW_DEVICES", key="SDK-KEY", secret="SDK-SECRET")
    creds = sdk.TBDeviceMqttClient.provision("127.0.0.1", "SDK-KEY", "SDK-SECRET",
                                             port=service.broker.mqtt_port, device_name="sdk-new")
    assert creds["status"] == "SUCCESS" and creds["credentialsType"] == "ACCESS_TOKEN"
    token = creds["credentialsValue"]
    assert rest.credentials(rest.device("sdk-new")["id"]["id"])["credentialsId"] == token
    wrong = sdk.TBDeviceMqttClient.provision("127.0.0.1", "SDK-KEY", "WRONG",
                                             port=service.broker.mqtt_port, device_name="sdk-wrong")
    assert wrong is None, "a wrong provision secret gets no credentials"
    assert "wrong provisionDeviceSecret" in _last(rest)["reason"]


def test_sdk_device_client_authenticates_and_sends_data(service, rest):
    """The SDK's device client with a pre-provisioned device's token: telemetry and attributes.

    The SDK speaks MQTT 5 only and amqtt MQTT 3.1.1 only (docs/thingsboard.md), so the test sets the
    SDK's paho client to 3.1.1; topics, payloads and the SDK's own logic are unchanged."""
    sdk = _sdk()
    from paho.mqtt.client import MQTTv311

    rest.create_profile("sdk-pre", "CHECK_PRE_PROVISIONED_DEVICES", key="SDK-PRE", secret="SDK-PRE-S")
    device = rest.create_device("sdk-pre-dev")
    creds = sdk.TBDeviceMqttClient.provision("127.0.0.1", "SDK-PRE", "SDK-PRE-S",
                                             port=service.broker.mqtt_port, device_name="sdk-pre-dev")
    assert creds["status"] == "SUCCESS"
    client = sdk.TBDeviceMqttClient("127.0.0.1", port=service.broker.mqtt_port,
                                    username=creds["credentialsValue"])
    client._client._protocol = MQTTv311  # noqa: SLF001 - see the docstring
    client._client._clean_session = True  # noqa: SLF001
    wanted = {"connect_accepted", "telemetry", "attributes"}
    seen: set[str] = set()
    arrived = threading.Event()

    def on_event(event) -> None:
        if event.device_id == device["id"]["id"]:
            seen.add(event.type)
            if wanted <= seen:
                arrived.set()

    service.store.add_listener(on_event)
    client.connect(timeout=10)
    try:
        # the SDK's get() waits 1 s at most for the PUBACK; the service's events are the proof
        assert client.send_telemetry({"sdkValue": 42}).get() == 0
        assert client.send_attributes({"sdkAttribute": "yes"}).get() == 0
        assert arrived.wait(10), f"the service saw only {sorted(seen)} of the SDK client"
    finally:
        client.disconnect()
        service.store.remove_listener(on_event)
