"""ThingsBoard device credentials over MQTT: access token, basic MQTT credentials and X.509,
in each transport mode the seed lists, and the refusals (CONNACK 5, "not authorised").

Behaviour: seed "Device authentication options" (ThingsBoard, MQTT transport).
The board gets its credentials over the serial port (tb.* items, docs/thingsboard.md).
"""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from harness import pki
from harness.provisioning.thingsboard import tb_bundle

pytestmark = [pytest.mark.area("thingsboard"), pytest.mark.firmware("tb-device")]
TIMEOUT = 15.0


def _provision(board, bundle) -> None:
    result = board.provision(bundle)
    assert result.ok, f"the factory bundle was refused: {result.info}"


def _ca_der(tb) -> bytes:
    """The service CA the device trusts (tb.ServerCACert)."""
    return pki.load_certificate(tb.service.ca_path.read_bytes()).public_bytes(Encoding.DER)


def _works(board, tb, device, transport: str, kind: str) -> None:
    """The board connects, and its attributes and telemetry reach the service."""
    board.expect("connected", TIMEOUT)
    accepted = tb.wait_event(lambda e: e.type == "connect_accepted" and e.device_id == device["id"]["id"],
                             what="accepted connect of the device")
    assert accepted.transport == transport
    assert accepted.credentials_type == kind
    board.expect("telemetry", TIMEOUT)
    tb.wait_event(lambda e: e.type == "telemetry" and e.device_id == device["id"]["id"], what="telemetry")
    assert tb.telemetry(device)["uptimeCount"][0]["value"] >= 1
    assert tb.attributes(device)["board"] == board.id


@pytest.mark.scenario("thingsboard: access token, unencrypted")
def test_access_token_device_connects_unencrypted(board, tb):
    """"Access Tokens - general purpose credentials that are suitable for wide range of devices.
    Access Token based authentication may be used in not encrypted, one-way SSL mode ..." (not encrypted)"""
    device = tb.create_device(tb.name("token-plain"))
    token = tb.credentials(device)["credentialsId"]
    _provision(board, tb_bundle(tb.service.mqtt_uri, access_token=token))
    _works(board, tb, device, "plain", "ACCESS_TOKEN")


@pytest.mark.scenario("thingsboard: access token, one-way TLS")
def test_access_token_device_connects_over_one_way_tls(board, tb):
    """"Access Token based authentication may be used in not encrypted, one-way SSL mode ..."
    (one-way SSL: the device checks the server's certificate, the server knows it by its token)."""
    device = tb.create_device(tb.name("token-tls"), access_token=tb.name("tok"))
    _provision(board, tb_bundle(tb.service.mqtts_uri, server_ca_der=_ca_der(tb),
                                access_token=tb.name("tok")))
    _works(board, tb, device, "tls", "ACCESS_TOKEN")


@pytest.mark.scenario("thingsboard: wrong access token refused")
def test_wrong_access_token_is_refused_and_retried(board, tb):
    """"Access Tokens ... may be easily intercepted": the token is the only secret, so a wrong one
    must be refused (CONNACK 5) and the device keeps retrying with back-off."""
    tb.create_device(tb.name("token-good"), access_token=tb.name("good"))
    _provision(board, tb_bundle(tb.service.mqtt_uri, access_token=tb.name("bad")))
    refused = board.expect("refused", TIMEOUT)
    assert refused.group(1) == "5", "ThingsBoard answers bad credentials with CONNACK 5 (not authorised)"
    first = float(board.expect("retry", TIMEOUT).group(1))
    board.expect("refused", TIMEOUT)
    second = float(board.expect("retry", TIMEOUT).group(1))
    assert second > first * 1.5, "the device backs off (exponentially) between attempts"
    event = tb.wait_event(lambda e: e.type == "connect_refused", what="refused connect")
    assert (event.code, event.reason) == (5, "unknown access token")
    assert not board.seen("connected")


@pytest.mark.scenario("thingsboard: basic MQTT credentials, unencrypted")
def test_basic_credentials_with_client_id_user_name_and_password(board, tb):
    """"Basic MQTT Credentials - Similar to first option, but work based on MQTT Client Id, username
    and password. May be used in not encrypted or one-way SSL mode." (all three, not encrypted)"""
    device = tb.create_device(tb.name("basic-plain"))
    creds = {"clientId": tb.name("cid"), "userName": tb.name("user"), "password": "pw-" + tb.tag}
    tb.set_credentials(device, "MQTT_BASIC", value=creds)
    _provision(board, tb_bundle(tb.service.mqtt_uri, client_id=creds["clientId"],
                                user_name=creds["userName"], password=creds["password"]))
    _works(board, tb, device, "plain", "MQTT_BASIC")


@pytest.mark.scenario("thingsboard: basic MQTT credentials (client ID only), one-way TLS")
def test_basic_credentials_client_id_only_over_one_way_tls(board, tb):
    """"Basic MQTT Credentials ... May be used in not encrypted or one-way SSL mode." (one-way SSL,
    the device known by its MQTT client ID alone)"""
    device = tb.create_device(tb.name("basic-tls"))
    tb.set_credentials(device, "MQTT_BASIC", value={"clientId": tb.name("only-cid")})
    _provision(board, tb_bundle(tb.service.mqtts_uri, server_ca_der=_ca_der(tb),
                                client_id=tb.name("only-cid")))
    _works(board, tb, device, "tls", "MQTT_BASIC")


@pytest.mark.scenario("thingsboard: wrong basic MQTT password refused")
def test_wrong_basic_password_is_refused(board, tb):
    """"Basic MQTT Credentials ... work based on MQTT Client Id, username and password": the right
    user name with a wrong password is refused with CONNACK 5 and the reason is recorded."""
    device = tb.create_device(tb.name("basic-wrong"))
    tb.set_credentials(device, "MQTT_BASIC", value={"userName": tb.name("u"), "password": "right"})
    _provision(board, tb_bundle(tb.service.mqtt_uri, user_name=tb.name("u"), password="wrong"))
    assert board.expect("refused", TIMEOUT).group(1) == "5"
    event = tb.wait_event(lambda e: e.type == "connect_refused", what="refused connect")
    assert event.reason == "wrong password for basic MQTT credentials"
    assert event.credentials_type == "MQTT_BASIC"


@pytest.mark.scenario("thingsboard: X.509 certificate, two-way TLS")
def test_x509_device_connects_over_two_way_tls(board, tb):
    """"X.509 Certificates - PKI, TLS and DTLS standard. X.509 Certificate based authentication is
    used in two-way SSL mode ..." The device is known by its certificate alone."""
    device = tb.create_device(tb.name("x509"))
    own = pki.make_device_cert(pki.make_ca("device maker"), tb.name("x509"))
    tb.set_credentials(device, "X509_CERTIFICATE", value=own.cert_pem.decode())
    _provision(board, tb_bundle(tb.service.mqtts_uri, server_ca_der=_ca_der(tb), device=own))
    _works(board, tb, device, "tls-x509", "X509_CERTIFICATE")


@pytest.mark.scenario("thingsboard: unknown X.509 certificate refused")
def test_unknown_certificate_is_refused(board, tb):
    """"X.509 Certificates ... high level of security using the encrypted network connection and
    public key infrastructure": a certificate no device has is refused in the TLS handshake."""
    stranger = pki.make_device_cert(pki.make_ca("someone else"), tb.name("stranger"))
    _provision(board, tb_bundle(tb.service.mqtts_uri, server_ca_der=_ca_der(tb), device=stranger))
    failed = board.expect("tls_failed", TIMEOUT)
    assert "UNKNOWN_CA" in failed.group(1), "the server's TLS alert names the unknown certificate"
    board.expect("retry", TIMEOUT)
    event = tb.wait_event(lambda e: e.type == "tls_refused", what="refused TLS handshake")
    assert "unknown certificate" in event.reason
    assert not board.seen("connected")
