"""What the REAL Device Management Client (EX 4.13.2, Linux, TCP) does with a bootstrap URI it
cannot use: a port out of range or not a number, and an unterminated IPv6 literal.

The client is linked (build-client.sh) with the URI as its bootstrap server URI, as a provisioned
bundle would store it. It does not check the port: it takes the number modulo 65536 (`abc` is 0),
connects there and fails with a network error; a host it cannot parse is an invalid parameter.
The virtual board differs today (see the report of branch mut13psk): it reports
ConnectInvalidParameters for both port cases and crashes on the IPv6 literal.
"""

from __future__ import annotations

import pytest
from pdmc_kit import ClientProcess, developer_setup, link_client

ERROR_TIMEOUT = 20.0
NETWORK_ERROR = ("ConnectNetworkError", "7", "Client in reconnection mode NetworkError")


@pytest.mark.parametrize(("uri", "port", "error"), [
    ("coap://127.0.0.1:99999?aid=0", "34463", NETWORK_ERROR),
    ("coap://127.0.0.1:abc?aid=0", "0", NETWORK_ERROR),
    ("coap://[::1?aid=0", "1", ("ConnectInvalidParameters", "3",
                                "Bootstrap server URL is not correctly formed")),
], ids=["port-out-of-range", "port-not-a-number", "unterminated-ipv6"])
def test_real_client_with_a_bootstrap_uri_it_cannot_use(tmp_path, uri, port, error):
    """The error the example prints, and the port the client resolved (its trace)."""
    with developer_setup(tmp_path) as dev:
        client = ClientProcess(link_client(dev.kit, dev.credentials_c, tmp_path / "client.elf", uri),
                               tmp_path / "run")
        try:
            name = client.wait_for(r"^Error occurred : MbedCloudClient::(\w+)$", ERROR_TIMEOUT)
            code = client.wait_for(r"^Error code : (\d+)$", 5)
            details = client.wait_for(r"^Error details : (.*)$", 5)
            resolved = client.wait_for(r"get_security_server_ip_address - address .*, port (\d+)", 1)
        finally:
            client.stop()
    assert (name.group(1), code.group(1), details.group(1).strip()) == error
    assert resolved.group(1) == port
