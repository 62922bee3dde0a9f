"""ThingsBoard provisioning: automatically (X.509 certificate chain, device provisioning request
with its two strategies), via script (REST) and manually (`hil tb`), and the refusals.

Behaviour: seed "Device authentication options" (ThingsBoard), its provisioning list.
"""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from harness import pki
from harness.cli import main as hil
from harness.provisioning.thingsboard import tb_bundle

pytestmark = [pytest.mark.area("thingsboard"), pytest.mark.firmware("tb-device")]
TIMEOUT = 15.0


def _ca_der(tb) -> bytes:
    """The service CA the device trusts (tb.ServerCACert)."""
    return pki.load_certificate(tb.service.ca_path.read_bytes()).public_bytes(Encoding.DER)


def _provision(board, bundle) -> None:
    result = board.provision(bundle)
    assert result.ok, f"the factory bundle was refused: {result.info}"


def _online(board, tb, name: str) -> dict:
    """The board is connected and its telemetry reached device `name`; returns the device."""
    board.expect("connected", TIMEOUT)
    board.expect("telemetry", TIMEOUT)
    device = tb.device_named(name)
    tb.wait_event(lambda e: e.type == "telemetry" and e.device_id == device["id"]["id"], what="telemetry")
    assert tb.telemetry(device)["uptimeCount"][0]["value"] >= 1
    return device


@pytest.mark.scenario("thingsboard: automatic provisioning, X.509 certificate chain")
def test_x509_chain_creates_the_device_from_its_certificate(board, tb):
    """"Automatically, using X.509 Certificate chain or device provisioning. Allows devices to
    automatically provision themselves in ThingsBoard." (X.509 chain: the profile trusts a CA, the
    first two-way TLS connect creates the device named by the certificate's CN)"""
    ca = pki.make_ca(tb.name("fleet-ca"))
    tb.create_profile("X509_CERTIFICATE_CHAIN", ca_pem=ca.cert_pem.decode(), allow_create=True)
    name = tb.name("chain-dev")
    device_cert = pki.make_device_cert(ca, name)
    _provision(board, tb_bundle(tb.service.mqtts_uri, server_ca_der=_ca_der(tb), device=device_cert))
    device = _online(board, tb, name)
    created = tb.wait_event(lambda e: e.type == "device_created", what="device created")
    assert created.device_id == device["id"]["id"]
    assert tb.credentials(device)["credentialsType"] == "X509_CERTIFICATE"


@pytest.mark.scenario("thingsboard: X.509 chain refused when the profile forbids new devices")
def test_x509_chain_without_allow_create_is_refused(board, tb):
    """"Automatically, using X.509 Certificate chain ...": with "allow creating new devices" off,
    a certificate from the trusted CA that no device has is refused (CONNACK 5)."""
    ca = pki.make_ca(tb.name("closed-ca"))
    tb.create_profile("X509_CERTIFICATE_CHAIN", ca_pem=ca.cert_pem.decode(), allow_create=False)
    device_cert = pki.make_device_cert(ca, tb.name("not-allowed"))
    _provision(board, tb_bundle(tb.service.mqtts_uri, server_ca_der=_ca_der(tb), device=device_cert))
    assert board.expect("refused", TIMEOUT).group(1) == "5"
    event = tb.wait_event(lambda e: e.type == "connect_refused", what="refused connect")
    assert "does not allow creating new devices" in event.reason
    assert tb.call("GET", "/api/tenant/devices", expect=404, params={"deviceName": tb.name("not-allowed")})


@pytest.mark.scenario("thingsboard: device provisioning, allow creating new devices")
def test_provisioning_request_creates_a_new_device(board, tb):
    """"Automatically, using X.509 Certificate chain or device provisioning." (device provisioning,
    "allow creating new devices": the device sends its provision key and secret and gets an
    access token for a new device)"""
    tb.create_profile("ALLOW_CREATE_NEW_DEVICES", key=tb.name("key"), secret=tb.name("secret"))
    name = tb.name("new-dev")
    _provision(board, tb_bundle(tb.service.mqtt_uri, provision_key=tb.name("key"),
                                provision_secret=tb.name("secret"), device_name=name))
    provisioned = board.expect("provisioned", TIMEOUT)
    assert provisioned.groups() == (name, "ACCESS_TOKEN")
    device = _online(board, tb, name)
    assert tb.credentials(device)["credentialsType"] == "ACCESS_TOKEN"
    assert tb.wait_event(lambda e: e.type == "provision_success", what="provisioning").device_id == \
        device["id"]["id"]


@pytest.mark.scenario("thingsboard: device provisioning, check pre-provisioned devices")
def test_provisioning_request_for_a_pre_provisioned_device(board, tb):
    """"Automatically, using X.509 Certificate chain or device provisioning." (device provisioning,
    "check pre-provisioned devices": the device must already exist, here created by a script)"""
    tb.create_profile("CHECK_PRE_PROVISIONED_DEVICES", key=tb.name("pkey"), secret=tb.name("psecret"))
    name = tb.name("pre-dev")
    existing = tb.create_device(name)
    _provision(board, tb_bundle(tb.service.mqtts_uri, server_ca_der=_ca_der(tb),
                                provision_key=tb.name("pkey"), provision_secret=tb.name("psecret"),
                                device_name=name))
    board.expect("provisioned", TIMEOUT)
    device = _online(board, tb, name)
    assert device["id"] == existing["id"], "the pre-provisioned device is used, not a new one"


@pytest.mark.scenario("thingsboard: wrong provision secret refused")
def test_wrong_provision_secret_is_refused(board, tb):
    """"Automatically, using ... device provisioning": a request with the wrong provision secret
    is answered NOT_FOUND and no device is created."""
    tb.create_profile("ALLOW_CREATE_NEW_DEVICES", key=tb.name("k"), secret=tb.name("right"))
    name = tb.name("wrong-secret")
    _provision(board, tb_bundle(tb.service.mqtt_uri, provision_key=tb.name("k"),
                                provision_secret="wrong", device_name=name))
    failed = board.expect("provision_failed", TIMEOUT)
    assert failed.groups() == ("NOT_FOUND", "Provision data was not found!")
    event = tb.wait_event(lambda e: e.type == "provision_failure", what="provisioning failure")
    assert "wrong provisionDeviceSecret" in event.reason
    tb.call("GET", "/api/tenant/devices", expect=404, params={"deviceName": name})


@pytest.mark.scenario("thingsboard: check pre-provisioned devices forbids a new device")
def test_pre_provisioned_strategy_refuses_an_unknown_device(board, tb):
    """"Automatically, using ... device provisioning": with "check pre-provisioned devices" a
    device the server does not know is refused (the strategy forbids creating it)."""
    tb.create_profile("CHECK_PRE_PROVISIONED_DEVICES", key=tb.name("ck"), secret=tb.name("cs"))
    name = tb.name("unknown")
    _provision(board, tb_bundle(tb.service.mqtt_uri, provision_key=tb.name("ck"),
                                provision_secret=tb.name("cs"), device_name=name))
    assert board.expect("provision_failed", TIMEOUT).group(1) == "NOT_FOUND"
    event = tb.wait_event(lambda e: e.type == "provision_failure", what="provisioning failure")
    assert "CHECK_PRE_PROVISIONED_DEVICES" in event.reason
    tb.call("GET", "/api/tenant/devices", expect=404, params={"deviceName": name})


@pytest.mark.scenario("thingsboard: via script, REST API")
def test_credentials_provisioned_via_script(board, tb):
    """"Via Script, using ThingsBoard REST API. For example during manufacturing, QA or purchase
    order fulfilment." The script creates the device, sets and reads its credentials, and the board
    factory-provisioned with them connects."""
    name = tb.name("scripted")
    device = tb.create_device(name)
    tb.set_credentials(device, "MQTT_BASIC", value={"userName": tb.name("line-7"), "password": tb.tag})
    read = tb.credentials(device)
    assert read["credentialsType"] == "MQTT_BASIC"
    _provision(board, tb_bundle(tb.service.mqtt_uri, user_name=tb.name("line-7"), password=tb.tag))
    assert _online(board, tb, name)["id"] == device["id"]


@pytest.mark.scenario("thingsboard: manually, hil tb commands")
def test_credentials_provisioned_manually_with_the_cli(board, tb, lab, capsys):
    """"Manually, using ThingsBoard Web UI. For example for development purposes, or by system
    administrator." Here the same REST calls from the command line: `hil tb create-device` and
    `hil tb set-credentials`."""
    name = tb.name("manual")
    where = ["--url", tb.service.rest_url] + (["--lab-config", str(lab.source)] if lab.source else [])
    assert hil(["tb", "create-device", name, *where]) == 0
    assert hil(["tb", "set-credentials", name, "--token", tb.name("hand-made"), *where]) == 0
    assert hil(["tb", "credentials", name, *where]) == 0
    shown = capsys.readouterr().out
    assert "ACCESS_TOKEN" in shown and tb.name("hand-made") not in shown, "the CLI masks the token"
    _provision(board, tb_bundle(tb.service.mqtt_uri, access_token=tb.name("hand-made")))
    _online(board, tb, name)


@pytest.mark.scenario("thingsboard: credentials changed via script end the session")
def test_credentials_changed_via_script_disconnect_the_device(board, tb):
    """"Via Script, using ThingsBoard REST API": when a script gives the device new credentials,
    its open session ends and the old token is refused on reconnect (CONNACK 5)."""
    device = tb.create_device(tb.name("rotated"), access_token=tb.name("old"))
    _provision(board, tb_bundle(tb.service.mqtt_uri, access_token=tb.name("old")))
    board.expect("connected", TIMEOUT)
    tb.set_credentials(device, "ACCESS_TOKEN", credentials_id=tb.name("new"))
    closed = tb.wait_event(lambda e: e.type == "session_closed", what="closed session")
    assert closed.device_id == device["id"]["id"]
    board.expect("TB: connection lost", TIMEOUT)
    assert board.expect("refused", TIMEOUT).group(1) == "5"
    refused = tb.wait_event(lambda e: e.type == "connect_refused", what="refused reconnect")
    assert refused.reason == "unknown access token"
