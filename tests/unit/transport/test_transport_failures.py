"""Handshake failures, garbage, truncation and vanishing peers: one log line, others unharmed."""

import asyncio
import socket
import ssl

import aiocoap.resource as resource
import pytest
from aiocoap import GET, POST, Message
from transport_testkit import WAIT, RawTcpLength, client, run, serving

from harness.transport import (
    ConnectionClosedError,
    Endpoint,
    SecureConnectionError,
    TransportError,
    client_ssl_context,
    create_client_context,
    create_server_context,
)


def _warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "harness.transport" and r.levelname == "WARNING"]


def test_transport_untrusted_client_ca_fails_handshake(creds, caplog):
    async def scenario():
        async with serving(creds, ["tls-record"]) as (server, hello, _):
            async with client("tls-record", creds, device=creds.rogue_device) as ctx:
                with pytest.raises(SecureConnectionError):
                    await asyncio.wait_for(
                        ctx.request(Message(code=POST, uri=server.uri("tls-record") + "/hello"))
                        .response, WAIT)
            await server.wait_no_connections("tls-record", WAIT)
            assert hello.remotes == []

    run(scenario())
    server_lines = [m for m in _warnings(caplog) if "handshake failed" in m]
    assert len(server_lines) == 1 and "CERTIFICATE_VERIFY_FAILED" in server_lines[0].upper()


def test_transport_client_rejects_untrusted_server(creds):
    async def scenario():
        async with serving(creds, ["tls-record"]) as (server, _h, _s):
            async with client("tls-record", creds, server_ca=creds.rogue_ca.cert) as ctx:
                with pytest.raises(SecureConnectionError, match="handshake"):
                    await asyncio.wait_for(
                        ctx.request(Message(code=GET, uri=server.uri("tls-record") + "/hello"))
                        .response, WAIT)
            await server.wait_no_connections("tls-record", WAIT)

    run(scenario())


async def _closed_by_server(reader: asyncio.StreamReader) -> bool:
    while True:
        data = await asyncio.wait_for(reader.read(65536), WAIT)
        if not data:
            return True


@pytest.mark.parametrize("junk", [
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    b"\x17\x03\x03\xff\xff" + b"x" * 32,  # application data before any handshake, too long
])
def test_transport_garbage_on_tls_port_leaves_other_clients_alone(creds, caplog, junk):
    async def scenario():
        async with (
            serving(creds, ["tls-record"]) as (server, _h, _s),
            client("tls-record", creds) as good,
        ):
            uri = server.uri("tls-record") + "/hello"
            assert (await good.request(Message(code=GET, uri=uri)).response).payload
            reader, writer = await asyncio.open_connection(*server.bound["tls-record"])
            writer.write(junk)
            assert await _closed_by_server(reader)
            writer.close()
            again = await good.request(Message(code=GET, uri=uri)).response
            assert again.payload == b"hello cert"

    run(scenario())
    assert _warnings(caplog), "the bad connection is logged"


@pytest.mark.parametrize("junk", [
    b"\xff\xff\xff\xff",                      # length far above 64 KiB
    b"\x00\x01\x00\x01",                      # 65537: just over the limit
    b"\x00\x00\x00\x03\xff\xff\xff",          # a frame that is not CoAP
])
def test_transport_bad_frames_on_tcp_length_close_only_that_connection(creds, caplog, junk):
    async def scenario():
        async with (
            serving(creds, ["tcp-length"]) as (server, _h, _s),
            client("tcp-length", creds) as good,
        ):
            uri = server.uri("tcp-length") + "/hello"
            await good.request(Message(code=GET, uri=uri)).response
            reader, writer = await asyncio.open_connection(*server.bound["tcp-length"])
            writer.write(junk)
            assert await _closed_by_server(reader)
            writer.close()
            again = await good.request(Message(code=GET, uri=uri)).response
            assert again.payload == b"hello plain"

    run(scenario())
    assert len(_warnings(caplog)) == 1


def test_transport_truncated_frame_then_close(creds, caplog):
    async def scenario():
        async with serving(creds, ["tcp-length"]) as (server, _h, _s):
            raw = await RawTcpLength.connect(*server.bound["tcp-length"])
            raw.writer.write(b"\x00\x00\x00\x10\x40\x01")
            await raw.writer.drain()
            await raw.close()
            await server.wait_no_connections("tcp-length", WAIT)
            async with client("tcp-length", creds) as good:
                got = await good.request(Message(code=GET, uri=server.uri("tcp-length") + "/hello"))\
                    .response
                assert got.payload == b"hello plain"

    run(scenario())
    assert any("inside a frame" in m for m in _warnings(caplog))


def _client_hello(creds) -> bytes:
    ctx = client_ssl_context(creds.device, creds.server_ca.cert)
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(inc, out)
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    return out.read()


def test_transport_client_vanishing_mid_handshake_leaves_nothing(creds):
    hello = _client_hello(creds)

    async def scenario():
        async with serving(creds, ["tls-record"]) as (server, _h, _s):
            reader, writer = await asyncio.open_connection(*server.bound["tls-record"])
            writer.write(hello[: len(hello) // 2])
            await writer.drain()
            writer.close()
            await server.wait_no_connections("tls-record", WAIT)
            # a client that sends the full hello and then vanishes
            reader, writer = await asyncio.open_connection(*server.bound["tls-record"])
            writer.write(hello)
            await asyncio.wait_for(reader.read(5), WAIT)  # the server answered
            writer.transport.abort()
            await server.wait_no_connections("tls-record", WAIT)
            assert not server.connections("tls-record")

    run(scenario())


def test_transport_silent_client_is_dropped_after_handshake_timeout(creds, caplog):
    async def scenario():
        async with serving(creds, ["tls-record"], handshake_timeout=0.3) as (server, _h, _s):
            reader, writer = await asyncio.open_connection(*server.bound["tls-record"])
            assert await _closed_by_server(reader)
            writer.close()
            await server.wait_no_connections("tls-record", WAIT)

    run(scenario())
    assert any("no TLS handshake within" in m for m in _warnings(caplog))


def test_transport_configuration_errors_are_clear():
    async def scenario():
        site = resource.Site()
        with pytest.raises(TransportError, match="ssl_context_factory"):
            await create_server_context(site, [Endpoint("tls-record")])
        with pytest.raises(TransportError, match="dtls"):
            await create_server_context(site, [Endpoint("dtls")])
        with pytest.raises(TransportError, match="repeat"):
            await create_server_context(site, [Endpoint("udp"), Endpoint("udp")])
        with pytest.raises(TransportError, match="ssl_context"):
            await create_client_context("tls-record")
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            with pytest.raises(TransportError, match=f"127.0.0.1:{port}"):
                await create_server_context(site, [Endpoint("tcp-length", port=port)])

    run(scenario())


def test_transport_unparsable_reply_fails_the_request_with_the_reason(creds):
    async def answer_garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        length = int.from_bytes(await reader.readexactly(4), "big")
        await reader.readexactly(length)
        writer.write(b"\x00\x00\x00\x03\xff\xff\xff")  # a frame that is not CoAP
        await writer.drain()
        await reader.read()  # until the client drops the connection
        writer.close()

    async def scenario():
        server = await asyncio.start_server(answer_garbage, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            async with client("tcp-length", creds) as ctx:
                with pytest.raises(ConnectionClosedError,
                                   match=r"dropped: unparsable CoAP message \(3 bytes\); "
                                         r"the peer must send RFC 7252 messages\.$"):
                    await asyncio.wait_for(
                        ctx.request(Message(code=GET, uri=f"coap://127.0.0.1:{port}/x"))
                        .response, WAIT)
        finally:
            server.close()
            await server.wait_closed()

    run(scenario())
