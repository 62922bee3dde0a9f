"""The two TLS engines: the service's (Mbed TLS) and the virtual board's (OpenSSL, like the real client).

The board's engine must refuse what the real client refuses (protocol-facts.md §3.1 points 1-2);
the service's must give what the real client needs (CCM-8, the time in ServerHello.random).
"""

from __future__ import annotations

import asyncio
import time

import pytest
from openssl_peer import needs_openssl, s_server
from tls_wire import (
    EXT_ALPN,
    EXT_RENEGOTIATION_INFO,
    EXT_SERVER_NAME,
    EXT_SIGNATURE_ALGORITHMS,
    EXT_SUPPORTED_GROUPS,
    EXT_SUPPORTED_VERSIONS,
    GROUP_SECP256R1,
    SCSV_RENEGOTIATION,
    SUITE_CCM8,
    parse_client_hello,
    server_hello_time,
)
from transport_testkit import run

from harness import pki
from harness.transport import (
    Endpoint,
    SecureConnectionError,
    bare_handshake,
    client_ssl_context,
    create_server_context,
    device_tls_context,
    server_tls_context,
)
from harness.transport.errors import TransportError


class Clock:
    """A device clock that starts at 0 and records what the engine makes it adopt."""

    def __init__(self, start: float = 0.0) -> None:
        self.value = start
        self.adopted: list[int] = []

    def __call__(self) -> float:
        return self.value

    def adopt(self, unix: int) -> None:
        self.adopted.append(unix)
        self.value = unix


@pytest.fixture(scope="module")
def epoch_pki():
    """A service-like PKI: server CA + server cert valid from 1970, and a device CA."""
    server_ca = pki.make_ca("epoch server CA", valid_from_epoch=True)
    device_ca = pki.make_ca("device CA")
    return {
        "server_ca": server_ca,
        "server": pki.make_server_cert(server_ca, "bs.test", valid_from_epoch=True),
        "fresh_server": pki.make_server_cert(server_ca, "fresh.test"),  # notBefore = now - 5 min
        "device_ca": device_ca,
        "device": pki.make_device_cert(device_ca, "ep-engine"),
    }


def _device(p, clock: Clock, server_ca=None):
    return device_tls_context(p["device"], [server_ca or p["server_ca"].cert], clock=clock,
                              on_time=clock.adopt)


async def _serve(p, server_key: str = "server", hook=None):
    refusals: list[tuple[str, str]] = []
    ctx = server_tls_context(p[server_key], [p["device_ca"].cert])
    server = await create_server_context(
        None, [Endpoint("tls-record", ssl_context_factory=lambda: ctx,
                        on_handshake_failure=lambda peer, why: refusals.append((peer, why)))])
    return server, refusals


def test_device_client_hello_offers_exactly_what_the_real_client_offers(epoch_pki):
    engine = _device(epoch_pki, Clock()).new_engine(server_side=False, server_hostname="bs.test")
    assert engine.handshake() is False
    hello = parse_client_hello(engine.outgoing())
    assert hello.version == 0x0303
    assert [s for s in hello.suites if s != SCSV_RENEGOTIATION] == [SUITE_CCM8]
    # secure renegotiation is signalled (the client sends the SCSV; OpenSSL the extension)
    assert SCSV_RENEGOTIATION in hello.suites or EXT_RENEGOTIATION_INFO in hello.extensions
    assert hello.u16_list(EXT_SUPPORTED_GROUPS) == [GROUP_SECP256R1]
    assert hello.u16_list(EXT_SIGNATURE_ALGORITHMS) == [0x0403, 0x0303]  # ECDSA+SHA256, +SHA224
    for absent in (EXT_SERVER_NAME, EXT_ALPN, EXT_SUPPORTED_VERSIONS):
        assert absent not in hello.extensions, f"extension {absent} must not be offered"


def test_service_server_hello_picks_ccm8_and_carries_the_current_time(epoch_pki):
    async def body():
        server, _ = await _serve(epoch_pki)
        try:
            host, port = server.bound["tls-record"]
            engine = _device(epoch_pki, Clock()).new_engine(server_side=False)
            engine.handshake()
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(engine.outgoing())
            flight = await asyncio.wait_for(reader.read(4096), 5)
            writer.close()
            sent, suite = server_hello_time(flight)
            assert suite == SUITE_CCM8
            assert abs(sent - time.time()) < 5  # Mbed TLS writes gmt_unix_time, not random bytes
        finally:
            await server.shutdown()

    run(body())


def test_new_device_adopts_the_server_time_from_clock_zero(epoch_pki):
    async def body():
        server, refusals = await _serve(epoch_pki)
        try:
            clock = Clock(0)
            host, port = server.bound["tls-record"]
            await bare_handshake(host, port, _device(epoch_pki, clock))
            assert len(clock.adopted) == 1 and abs(clock.adopted[0] - time.time()) < 5
            assert refusals == []  # a bare handshake ending in close_notify is no refusal
        finally:
            await server.shutdown()

    run(body())


def test_python_ssl_clients_still_reach_the_service(epoch_pki):
    async def body():
        server, _ = await _serve(epoch_pki)
        try:
            host, port = server.bound["tls-record"]
            ctx = client_ssl_context(epoch_pki["device"], epoch_pki["server_ca"].cert)
            assert await bare_handshake(host, port, ctx) < 5
        finally:
            await server.shutdown()

    run(body())


def test_device_renegotiates_for_a_not_yet_valid_chain_and_fails_when_refused(epoch_pki):
    """Server cert from 'now', device clock 0: renegotiation; Mbed TLS here refuses it."""
    async def body():
        server, refusals = await _serve(epoch_pki, "fresh_server")
        try:
            host, port = server.bound["tls-record"]
            clock = Clock(0)
            with pytest.raises(SecureConnectionError, match="refused the renegotiation"):
                await bare_handshake(host, port, _device(epoch_pki, clock))
            assert clock.adopted == []
            await server.wait_no_connections("tls-record", 5)
            [(_peer, why)] = refusals
            assert "asked to renegotiate" in why and "valid at device time 0" in why
        finally:
            await server.shutdown()

    run(body())


def test_device_with_the_right_clock_needs_no_renegotiation(epoch_pki):
    async def body():
        server, _ = await _serve(epoch_pki, "fresh_server")
        try:
            host, port = server.bound["tls-record"]
            clock = Clock(time.time())
            await bare_handshake(host, port, _device(epoch_pki, clock))
            assert len(clock.adopted) == 1
        finally:
            await server.shutdown()

    run(body())


def test_device_rejecting_the_server_ca_closes_after_the_handshake_and_server_records_it(
        epoch_pki):
    async def body():
        server, refusals = await _serve(epoch_pki)
        try:
            host, port = server.bound["tls-record"]
            wrong = pki.make_ca("not the server CA", valid_from_epoch=True)
            with pytest.raises(SecureConnectionError, match="rejected the server certificate"):
                await bare_handshake(host, port, _device(epoch_pki, Clock(), wrong.cert))
            await server.wait_no_connections("tls-record", 5)
            [(_peer, why)] = refusals
            assert "after the TLS handshake without sending a request" in why
            assert "server CA provisioned into the device" in why
        finally:
            await server.shutdown()

    run(body())


def test_service_refuses_a_client_certificate_from_an_untrusted_ca(epoch_pki):
    async def body():
        server, refusals = await _serve(epoch_pki)
        try:
            host, port = server.bound["tls-record"]
            rogue = pki.make_device_cert(pki.make_ca("rogue"), "ep-rogue")
            ctx = device_tls_context(rogue, [epoch_pki["server_ca"].cert], clock=Clock())
            with pytest.raises(SecureConnectionError):
                await bare_handshake(host, port, ctx)
            await server.wait_no_connections("tls-record", 5)
            assert [why for _p, why in refusals][0].startswith("CERTIFICATE_VERIFY_FAILED")
        finally:
            await server.shutdown()

    run(body())


@needs_openssl
def test_device_fails_against_a_default_openssl_server_without_ccm8(epoch_pki, tmp_path):
    with (s_server(tmp_path, epoch_pki["server"], epoch_pki["device_ca"]) as port,
          pytest.raises(SecureConnectionError, match="handshake failure")):
        run(bare_handshake("127.0.0.1", port, _device(epoch_pki, Clock())))


@needs_openssl
def test_device_fails_when_an_openssl_server_refuses_the_renegotiation(epoch_pki, tmp_path):
    """OpenSSL 3 servers refuse client renegotiation: a device at clock 0 cannot connect."""
    ccm8 = ("-cipher", "ECDHE-ECDSA-AES128-CCM8:@SECLEVEL=0")
    with (s_server(tmp_path, epoch_pki["fresh_server"], epoch_pki["device_ca"], *ccm8) as port,
          pytest.raises(SecureConnectionError, match="refused the renegotiation")):
        run(bare_handshake("127.0.0.1", port, _device(epoch_pki, Clock(0))))
    with s_server(tmp_path, epoch_pki["server"], epoch_pki["device_ca"], *ccm8) as port:
        clock = Clock(0)  # a chain valid at 0: no renegotiation, handshake completes
        run(bare_handshake("127.0.0.1", port, _device(epoch_pki, clock)))
        assert len(clock.adopted) == 1  # whatever OpenSSL's random bytes say (docs/tls.md)


def test_engines_refuse_the_wrong_role_with_a_sentence(epoch_pki):
    with pytest.raises(TransportError, match="only serves"):
        server_tls_context(epoch_pki["server"], [epoch_pki["device_ca"].cert]).new_engine(
            server_side=False)
    with pytest.raises(TransportError, match="is a client"):
        _device(epoch_pki, Clock()).new_engine(server_side=True)
    with pytest.raises(TransportError, match="trusted client CA"):
        server_tls_context(epoch_pki["server"], [])
