"""A board bootstrapped into a PSK LwM2M account registers with the service over DTLS-PSK.

OMA LwM2M 1.1.1 Transport 5.2.8 (Security Mode 0, Pre-Shared Key: resource 3 the PSK identity,
resource 5 the key) and Core 5.2.7.4 (Bootstrap-Write of the Security object). The account comes
from a third-party bootstrap server (harness/services/third_party_bootstrap.py: a factory-flow board
bootstraps with a certificate, and the service writes PSK only to a PSK bootstrap client); the
service knows the identity through its admin API (`PUT /admin/v1/psk-identities/{identity}`).
"""

from __future__ import annotations

import secrets

import pytest

from harness.cloud import events as ev
from harness.pki import make_device_cert
from harness.provisioning.bundle import bootstrap_bundle
from harness.provisioning.credential_factory import unique_endpoint_name
from harness.services.third_party_bootstrap import PskAccount, ThirdPartyBootstrap

pytestmark = [pytest.mark.area("standard-clients"), pytest.mark.firmware("factory-dtls")]

WRITES = ["PUT /0/0 2.04", "PUT /1/0 2.04", "POST /bs 2.04"]
"""The PSK account, its server object, then Bootstrap-Finish (as the service writes them)."""


def _needs(factory, kind: str) -> None:
    """Skip unless the board's client speaks `kind` for coaps:// (its image's network)."""
    if factory.board.secure_kind != kind:
        pytest.skip(f"board {factory.board.id} runs a {factory.board.image.transport} build "
                    f"(coaps:// over {factory.board.secure_kind}); this scenario needs {kind}")


def _psk_identity(cloud, account, endpoint_name: str) -> tuple[str, bytes]:
    """A fresh PSK identity and key the service lets into `account` (admin API)."""
    admin = getattr(cloud, "admin", None)
    if admin is None:
        pytest.skip(f"{type(cloud).__name__} has no admin API to add a PSK identity")
    identity, key = f"psk-{endpoint_name}", secrets.token_bytes(16)
    admin.put_psk(identity, key, account.id)
    return identity, key


@pytest.mark.scenario("standard clients: a PSK LwM2M account written by a bootstrap server")
def test_board_bootstrapped_into_a_psk_account_registers_over_dtls_psk(cloud, factory, device,
                                                                      account, factory_ca):
    """The board takes the PSK account (Security Mode 0) at Bootstrap-Finish and registers
    with it: the service's registration event says `psk`, the directory keeps the mode, and the
    console shows `Client registered` with the endpoint name the board was provisioned with."""
    _needs(factory, "dtls")
    try:
        lwm2m_uri = cloud.lwm2m_uri(account.id, kind="dtls")
    except Exception as exc:  # noqa: BLE001 - a service started without dtls
        pytest.skip(f"the service has no dtls LwM2M listener: {exc}")
    name = unique_endpoint_name()
    identity, key = _psk_identity(cloud, account, name)
    account_written = PskAccount(lwm2m_uri, identity, key)
    with ThirdPartyBootstrap("dtls", account_written, factory_ca) as server:
        bundle = bootstrap_bundle(name, f"{server.uri}?aid={account.id}", server.ca.cert_der,
                                  make_device_cert(factory_ca, name))
        result = factory.send(bundle)
        assert result.ok, f"{result.status_name}: {result.info}"
        operations = server.wait_finished()
        # registered, or the application's crash (fails at once instead of at the timeout)
        outcome = device.expect(r"^(Client registered|\[BOOT\] Error: .*)$").group(1)
        assert outcome == "Client registered", outcome
        assert device.expect("endpoint").group(1) == name
        event = device.wait_event(ev.REGISTRATION, where=lambda e: e.data.get("original-ep") == name)
    assert operations[-3:] == WRITES, operations
    assert event.data["mode"] == "psk", event.data
    assert cloud.device(event.device_id).lwm2m_mode == "psk"


REFUSED_DETAILS = "BS FIN fails :Invalid security object"
"""What the real TCP client prints for a PSK account (tests/peers/test_peer_pdmc_psk_account.py:
it logs `Unknown security mode - not supported.!` and answers the write 4.00)."""


@pytest.mark.firmware("factory")
@pytest.mark.scenario("standard clients: the TCP build refuses a PSK LwM2M account")
def test_tcp_board_refuses_a_psk_account_as_the_real_client_does(cloud, factory, device, account,
                                                                 factory_ca):
    """The TCP build does certificates (and NoSec) only: the Security-object write of a PSK
    account is answered 4.00 Bad Request and the example reports ConnectBootstrapFailed, code 2,
    `BS FIN fails :Invalid security object`, as the real client does."""
    _needs(factory, "tls-record")
    name = unique_endpoint_name()
    identity, key = _psk_identity(cloud, account, name)
    account_written = PskAccount(cloud.lwm2m_uri(account.id), identity, key, binding="T")
    with ThirdPartyBootstrap("tls-record", account_written, factory_ca) as server:
        bundle = bootstrap_bundle(name, f"{server.uri}?aid={account.id}", server.ca.cert_der,
                                  make_device_cert(factory_ca, name))
        result = factory.send(bundle)
        assert result.ok, f"{result.status_name}: {result.info}"
        error = device.wait_error()
        operations = server.wait_refused()
    assert operations == ["PUT /0/0 4.00"], operations
    assert (error.name, error.code, error.details) == ("ConnectBootstrapFailed", 2, REFUSED_DETAILS)
