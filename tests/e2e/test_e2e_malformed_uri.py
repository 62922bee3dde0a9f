"""A provisioned bootstrap URI the client cannot use, answered as the real client answers it.

Measured on the real client (tests/peers/test_peer_pdmc_malformed_uri.py): it reads a port as its
leading digits modulo 65536 (`abc` is 0) and fails to connect, `ConnectNetworkError` (7,
"Client in reconnection mode NetworkError"); a host it cannot parse (an unterminated IPv6
literal) is `ConnectInvalidParameters` (3) and no retry. The factory tool stores both URIs.
"""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.area("troubleshooting"), pytest.mark.firmware("factory")]


def _provision(factory, account, uri: str) -> None:
    made = factory.credentials.bootstrap(account.id, uri.format(aid=account.id))
    result = factory.send(made.bundle)
    assert result.ok, f"{result.status_name}: {result.info}"


@pytest.mark.scenario("troubleshooting: a bootstrap URI whose port is not a number")
def test_port_that_is_not_a_number_is_a_network_error(factory, device, account):
    """`coaps://127.0.0.1:abc`: port 0, no connection: ConnectNetworkError, code 7."""
    _provision(factory, account, "coaps://127.0.0.1:abc?aid={aid}")
    error = device.wait_error()
    assert (error.name, error.code, error.details) == (
        "ConnectNetworkError", 7, "Client in reconnection mode NetworkError")


@pytest.mark.scenario("troubleshooting: a bootstrap URI with an unterminated IPv6 literal")
def test_unterminated_ipv6_host_is_an_invalid_parameter(factory, device, account):
    """`coaps://[::1?aid=...`: ConnectInvalidParameters, code 3, instead of a crash. The details
    still name the URI (the real client's read "Bootstrap server URL is not correctly formed":
    the virtual board's sentence is not yet the real one)."""
    _provision(factory, account, "coaps://[::1?aid={aid}")
    error = device.wait_error()
    assert (error.name, error.code) == ("ConnectInvalidParameters", 3)
    assert error.details.startswith("Server URI 'coaps://[::1?aid=")
