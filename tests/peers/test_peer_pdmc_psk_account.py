"""What the REAL Device Management Client (TCP build) does with a PSK LwM2M account.

A bootstrap server may write Security Mode 0 (PSK: resource 3 the identity, resource 5 the key;
OMA LwM2M 1.1.1 Transport 5.2.8) for the LwM2M account. The real client (EX 4.13.2, Linux, TCP)
bootstraps NoSec from a third-party bootstrap server (harness/services/third_party_bootstrap.py, on
tcp-length) that writes a PSK account naming the service's tls-record LwM2M URI, with an identity
the service knows. The virtual TCP board follows what this test pins
(tests/e2e/test_e2e_psk_account.py).
"""

from __future__ import annotations

import secrets

from pdmc_kit import ClientProcess, developer_setup, link_client

from harness.services.third_party_bootstrap import PskAccount, ThirdPartyBootstrap

ONBOARD_TIMEOUT = 40.0


def test_real_tcp_client_refuses_a_psk_account_at_its_security_write(tmp_path):
    """The client's validate_security_object calls mode 0 unknown (`Unknown security mode - not
    supported.!`): the PUT /0/0 is answered 4.00 Bad Request, the example reports
    ConnectBootstrapFailed, code 2, `BS FIN fails :Invalid security object`, and no Finish follows."""
    with developer_setup(tmp_path) as dev:
        svc = dev.svc
        identity, key = "psk-real-client", secrets.token_bytes(16)
        svc.add_psk(identity, key, dev.account.id)
        written = PskAccount(svc.lwm2m_uri("tls-record"), identity, key, binding="T")
        with ThirdPartyBootstrap("tcp-length", written) as server:
            elf = link_client(dev.kit, dev.credentials_c, tmp_path / "client.elf", server.uri)
            client = ClientProcess(elf, tmp_path / "run")
            try:
                operations = server.wait_refused(ONBOARD_TIMEOUT)
                client.wait_for(r"^Error occurred : MbedCloudClient::ConnectBootstrapFailed$", 10)
                client.wait_for(r"^Error code : 2$", 5)
                client.wait_for(r"^Error details : BS FIN fails :Invalid security object$", 5)
                client.wait_for(r"Unknown security mode - not supported", 1)
            finally:
                client.stop()
    assert operations == ["PUT /0/0 4.00"]
    assert not server.finished.is_set()
    assert "Client registered" not in client.console()
