"""The dtls transport: the service's DTLS 1.2 (Mbed TLS) against the board's (OpenSSL).

X.509 mutual authentication and PSK, HelloVerifyRequest cookies, the real client's compliant-build
suites (protocol-facts §3.1 point 6), the peer identity on every request, and idle sessions dropped.
"""

from __future__ import annotations

import asyncio

import aiocoap.resource as resource
import pytest
from aiocoap import GET, Message
from transport_testkit import run

from harness.transport import (
    Endpoint,
    SecureConnectionError,
    create_client_context,
    create_server_context,
    device_dtls_context,
    peer_identity,
    server_dtls_context,
)
from harness.transport.dtls_server_engine import psk_identity_in

MBED_NAMES = {
    b"ECDHE-ECDSA-AES128-CCM8": "TLS-ECDHE-ECDSA-WITH-AES-128-CCM-8",
    b"ECDHE-ECDSA-AES128-GCM-SHA256": "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256",
    b"ECDHE-ECDSA-AES256-GCM-SHA384": "TLS-ECDHE-ECDSA-WITH-AES-256-GCM-SHA384",
}
PSK = ("ep-psk-1", bytes.fromhex("00112233445566778899aabbccddeeff"))


class WhoAmI(resource.Resource):
    """Answers with how the peer authenticated: 'certificate', 'psk:<identity>' or 'none'."""

    async def render_get(self, request):
        ident = peer_identity(request.remote)
        text = f"psk:{ident.psk_identity}" if ident.kind == "psk" else ident.kind
        return Message(payload=text.encode())


async def _server(creds, *, idle: float = 300.0, failures: list | None = None):
    site = resource.Site()
    site.add_resource(("who",), WhoAmI())
    ctx = server_dtls_context(creds.server, [creds.device_ca.cert], {PSK[0]: PSK[1]})
    on_fail = (lambda peer, reason: failures.append(reason)) if failures is not None else None
    return await create_server_context(site, [Endpoint(
        "dtls", ssl_context_factory=lambda: ctx, idle_timeout=idle, handshake_timeout=3.0,
        on_handshake_failure=on_fail)])


async def _ask(server, device_ctx) -> str:
    client = await create_client_context("dtls", ssl_context=device_ctx)
    try:
        response = await asyncio.wait_for(
            client.request(Message(code=GET, uri=server.uri("dtls") + "/who")).response, 5)
        return response.payload.decode()
    finally:
        await client.shutdown()


def test_x509_peer_is_identified_by_its_certificate(creds):
    """DTLS 1.2 with X.509 mutual auth: the request carries the client's certificate."""
    async def scenario():
        server = await _server(creds)
        try:
            board = device_dtls_context(cred=creds.device, server_ca=[creds.server_ca.cert])
            assert await _ask(server, board) == "certificate"
        finally:
            await server.shutdown()
    run(scenario())


def test_psk_peer_is_identified_by_its_psk_identity_never_as_nosec(creds):
    """A PSK peer has no certificate; its identity is the PSK identity, not NoSec."""
    async def scenario():
        server = await _server(creds)
        try:
            assert await _ask(server, device_dtls_context(psk=PSK)) == f"psk:{PSK[0]}"
        finally:
            await server.shutdown()
    run(scenario())


def test_wrong_psk_key_and_untrusted_certificate_fail_the_handshake(creds):
    """A wrong key or an untrusted CA ends in SecureConnectionError, and the server is told."""
    async def scenario():
        failures: list[str] = []
        server = await _server(creds, failures=failures)
        try:
            with pytest.raises(SecureConnectionError):
                await _ask(server, device_dtls_context(psk=(PSK[0], b"\x00" * 16)))
            with pytest.raises(SecureConnectionError):
                await _ask(server, device_dtls_context(cred=creds.rogue_device,
                                                       server_ca=[creds.server_ca.cert]))
            assert len(failures) == 2
        finally:
            await server.shutdown()
    run(scenario())


def test_each_suite_of_the_compliant_build_is_served(creds):
    """The 4 suites of the real client's compliant UDP build (protocol-facts §3.1 point 6)."""
    from harness.transport import dtls_device_engine as dev

    async def scenario():
        server = await _server(creds)
        try:
            for suite in dev.X509_SUITES.split(b":"):
                board = device_dtls_context(cred=creds.device, server_ca=[creds.server_ca.cert])
                board._ssl_context.set_cipher_list(suite + b":@SECLEVEL=0")
                client = await create_client_context("dtls", ssl_context=board)
                try:
                    await client.request(Message(code=GET, uri=server.uri("dtls") + "/who")).response
                    session = next(iter(server.connections("dtls")))
                    assert session.engine.cipher() == MBED_NAMES[suite]
                finally:
                    await client.shutdown()
            client = await create_client_context("dtls", ssl_context=device_dtls_context(psk=PSK))
            try:
                await client.request(Message(code=GET, uri=server.uri("dtls") + "/who")).response
                ciphers = {s.engine.cipher() for s in server.connections("dtls")}
                assert "TLS-PSK-WITH-AES-256-CCM-8" in ciphers
            finally:
                await client.shutdown()
        finally:
            await server.shutdown()
    run(scenario())


def test_every_handshake_starts_with_a_hello_verify_request_cookie(creds):
    """RFC 6347 §4.2.1: the server answers the first ClientHello with a HelloVerifyRequest."""
    async def scenario():
        server = await _server(creds)
        seen: list[bytes] = []
        try:
            loop = asyncio.get_running_loop()
            board = device_dtls_context(psk=PSK)
            engine = board.new_engine()
            engine.handshake()
            hello = engine.outgoing()[0]
            got = loop.create_future()

            class Proto(asyncio.DatagramProtocol):
                def datagram_received(self, data, addr):
                    seen.append(data)
                    if not got.done():
                        got.set_result(data)
            transport, _ = await loop.create_datagram_endpoint(
                Proto, remote_addr=server.bound["dtls"])
            transport.sendto(hello)
            answer = await asyncio.wait_for(got, 3)
            transport.close()
            assert answer[0] == 22 and answer[13] == 3  # handshake record, HelloVerifyRequest
        finally:
            await server.shutdown()
    run(scenario())


def test_a_silent_session_is_dropped_after_the_idle_limit(creds):
    """A peer silent for idle_timeout loses its session; it handshakes again next time."""
    async def scenario():
        server = await _server(creds, idle=1.5)
        try:
            board = device_dtls_context(psk=PSK)
            client = await create_client_context("dtls", ssl_context=board)
            try:
                uri = server.uri("dtls") + "/who"
                await client.request(Message(code=GET, uri=uri)).response
                assert len(server.connections("dtls")) == 1
                for _ in range(160):  # the sweeper runs every idle/4 s
                    if not server.connections("dtls"):
                        break
                    await asyncio.sleep(0.05)
                assert not server.connections("dtls")
            finally:
                await client.shutdown()
        finally:
            await server.shutdown()
    run(scenario())


def test_psk_identity_is_read_from_the_client_key_exchange():
    """The parser finds psk_identity in an epoch-0 ClientKeyExchange record (RFC 4279 §2)."""
    identity = b"dev-7"
    body = bytes([16]) + (2 + len(identity)).to_bytes(3, "big") + b"\x00\x02" + b"\x00" * 3 + \
        (2 + len(identity)).to_bytes(3, "big") + len(identity).to_bytes(2, "big") + identity
    record = bytes([22, 0xFE, 0xFD, 0, 0]) + b"\x00" * 6 + len(body).to_bytes(2, "big") + body
    assert psk_identity_in(record) == "dev-7"
    encrypted = bytes([22, 0xFE, 0xFD, 0, 1]) + record[5:]
    assert psk_identity_in(encrypted) is None


def test_a_second_session_resumes_the_first(creds):
    """RFC 5246 §7.3 / RFC 6347: the board offers its last session and the server resumes it
    (an abbreviated handshake), and the resumed session still carries the peer's identity."""
    async def scenario():
        server = await _server(creds)
        try:
            board = device_dtls_context(cred=creds.device, server_ca=[creds.server_ca.cert])
            assert await _ask(server, board) == "certificate"
            first = board.session
            assert first is not None
            client = await create_client_context("dtls", ssl_context=board)
            try:
                uri = server.uri("dtls") + "/who"
                response = await client.request(Message(code=GET, uri=uri)).response
                sessions = list(_client_sessions(client))
                assert response.payload == b"certificate"
                assert sessions and sessions[0].engine.resumed
            finally:
                await client.shutdown()
        finally:
            await server.shutdown()
    run(scenario())


def _client_sessions(client):
    from harness.transport.dtls import DtlsMessageInterface
    for ri in client.request_interfaces:
        token_manager = getattr(ri, "token_interface", None) or ri
        mman = getattr(token_manager, "token_interface", token_manager)
        iface = getattr(mman, "message_interface", None)
        if isinstance(iface, DtlsMessageInterface):
            yield from iface.sessions.values()


def test_a_resumed_psk_session_keeps_its_psk_identity(creds):
    """A resumed PSK session has no ClientKeyExchange; its identity comes from the first one."""
    async def scenario():
        server = await _server(creds)
        try:
            board = device_dtls_context(psk=PSK)
            assert await _ask(server, board) == f"psk:{PSK[0]}"
            client = await create_client_context("dtls", ssl_context=board)
            try:
                response = await client.request(
                    Message(code=GET, uri=server.uri("dtls") + "/who")).response
                assert response.payload.decode() == f"psk:{PSK[0]}"
                assert next(iter(_client_sessions(client))).engine.resumed
            finally:
                await client.shutdown()
        finally:
            await server.shutdown()
    run(scenario())
