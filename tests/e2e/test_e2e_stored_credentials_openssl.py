"""The LwM2M credentials a board stored at bootstrap, used by another TLS stack: OpenSSL.

Behaviour: protocol-facts §3.1 ("Security object /0: ... 3 own cert (DER chain), 4 server CA
(DER), 5 private key (DER) ... Certificate mode requires 3, 4, 5 non-empty") and the kit's README
("the server must present a chain that the file's server CA certificate accepts"). The virtual
board connects with its own TLS set-up (harness.transport.DeviceTlsContext), and the service's
TLS is Mbed TLS (docs/tls.md). Here a third stack, OpenSSL through Python's ssl module
(`ServerCredentials.ssl_context()`), takes the board's stored device chain, key and server CA
after the board registered, and connects to the service's LwM2M TLS listener: the handshake
succeeds, the server's certificate verifies against the stored CA only, and the service answers
a CoAP ping on that session, having seen the stored certificate's CN. So what the board stored is
right for any client, not only for the board's own TLS code. A NoSec board has no certificate to
hand over, and says so in one sentence.
"""

from __future__ import annotations

import socket
import ssl
import time

import pytest
from cryptography.x509.oid import NameOID

from harness.cloud.wiretap import traces
from harness.pki import make_ca
from harness.provisioning.store import ItemStore
from harness.sim.client.credentials import (
    LWM2M_ITEMS,
    CredentialError,
    ServerCredentials,
    host_port,
    read_server_credentials,
)
from harness.sim.registry import STORE_FILE
from harness.transport import client_ssl_context

pytestmark = pytest.mark.area("onboarding")

TLS_KIND = "tls-record"
"""The TCP build's coaps:// transport (the kit's README: "CoAP message in the RFC 7252 (UDP)
message format inside the TLS stream, with no length field"); OpenSSL here speaks TLS, not DTLS."""
TIMEOUT = 10.0
PING_MID = 0x4D48
PING = bytes([0x40, 0x00]) + PING_MID.to_bytes(2, "big")
"""RFC 7252 §4.3: an Empty Confirmable message (version 1, CON, no token, code 0.00): a CoAP ping."""
PONG = bytes([0x70, 0x00]) + PING_MID.to_bytes(2, "big")
"""RFC 7252 §4.3: the Reset message with the same Message ID that answers it."""
NO_CERTIFICATE = "No device certificate stored; this is a PSK or NoSec device."


def _stored_lwm2m_credentials(board) -> ServerCredentials:
    """The LwM2M server credentials in the board's item store (skips a board whose storage is
    not the harness's item store file)."""
    board_dir = getattr(board.board, "board_dir", None)
    if board_dir is None or not (board_dir / STORE_FILE).is_file():
        pytest.skip(f"board {board.id} keeps its credentials where the harness cannot read them "
                    "(only a virtual board's storage is the harness's item store)")
    credentials = read_server_credentials(ItemStore(board_dir / STORE_FILE, durable=False),
                                          LWM2M_ITEMS)
    assert credentials is not None, f"board {board.id} registered but stored no LwM2M credentials"
    return credentials


def _cn(credentials: ServerCredentials) -> str:
    assert credentials.device is not None
    names = credentials.device.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value)


@pytest.mark.scenario("onboarding: OpenSSL connects to the LwM2M server with the board's stored "
                      "credentials")
def test_openssl_connects_to_the_lwm2m_server_with_the_credentials_the_board_stored(
        board, factory, device, cloud, account):
    """After the board bootstrapped and registered, OpenSSL (Python ssl) presents its stored
    device chain and key to the service's LwM2M TLS listener and trusts only its stored server
    CA: the handshake completes, the server certificate verifies, and the service answers a CoAP
    ping on the session; its wire trace shows a TLS session with the stored certificate's CN."""
    if board.secure_kind != TLS_KIND:
        pytest.skip(f"board {board.id} runs a {board.image.transport} build (coaps:// over "
                    f"{board.secure_kind}); OpenSSL here connects over {TLS_KIND}")
    factory.bootstrap()
    device.wait_registered()
    stored = _stored_lwm2m_credentials(board)
    address = host_port(stored.uri, 5684)
    assert address == host_port(cloud.server_uri("lwm2m", TLS_KIND), 5684), \
        f"the stored LwM2M URI {stored.uri} is not the service's {TLS_KIND} LwM2M listener"

    start = time.time()
    with socket.create_connection(address, timeout=TIMEOUT) as raw, \
            stored.ssl_context().wrap_socket(raw) as tls:
        assert tls.getpeercert(), "OpenSSL verified no server certificate"
        local = tls.getsockname()
        tls.sendall(PING)
        assert tls.recv(64) == PONG, "the service did not answer the CoAP ping on the session"

    if traces():  # an in-process service: its own record of the session
        cn = _cn(stored)
        wire = [r for t in traces() for r in t.between(start, time.time())[0]]
        sessions = [r for r in wire if r.server == "lwm2m" and r.kind == "tls" and r.code == "ok"
                    and r.peer.endswith(f":{local[1]}")]
        assert [r.detail for r in sessions] == [f"TLS session, client certificate CN={cn}"], wire


@pytest.mark.scenario("onboarding: OpenSSL refuses the LwM2M server against a CA the board did "
                      "not store")
def test_openssl_refuses_the_lwm2m_server_against_another_ca(board, factory, device):
    """The same stored device credentials with a CA the board did not store: OpenSSL refuses
    the service's certificate, so the success above rests on the stored CA."""
    if board.secure_kind != TLS_KIND:
        pytest.skip(f"board {board.id} runs a {board.image.transport} build; OpenSSL here "
                    f"connects over {TLS_KIND}")
    factory.bootstrap()
    device.wait_registered()
    stored = _stored_lwm2m_credentials(board)
    assert stored.device is not None
    other = client_ssl_context(stored.device, [make_ca("not-the-stored-ca").cert])
    with socket.create_connection(host_port(stored.uri, 5684), timeout=TIMEOUT) as raw, \
            pytest.raises(ssl.SSLCertVerificationError):
        other.wrap_socket(raw)


@pytest.mark.firmware("factory")
@pytest.mark.scenario("onboarding: a NoSec board's stored credentials have no certificate for "
                      "OpenSSL")
def test_a_nosec_boards_stored_credentials_say_there_is_no_certificate(board, factory, device,
                                                                       cloud, account):
    """A board provisioned with a coap:// bootstrap URI registers over NoSec and stores a coap://
    LwM2M URI only: asked for an OpenSSL context, its stored credentials answer one sentence
    naming what is missing and why."""
    factory.nosec_bootstrap()
    assert device.wait_registered().event.data["mode"] == "nosec"
    stored = _stored_lwm2m_credentials(board)
    assert stored.uri.startswith("coap://"), stored
    with pytest.raises(CredentialError) as refused:
        stored.ssl_context()
    assert str(refused.value) == NO_CERTIFICATE
