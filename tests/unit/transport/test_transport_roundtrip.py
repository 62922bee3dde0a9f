"""Round trips over every transport kind, server-initiated requests, peer certificates."""

import asyncio
import socket

import aiocoap
import aiocoap.resource as resource
import pytest
from aiocoap import GET, POST, PUT, Message
from transport_testkit import WAIT, Store, client, run, serving

from harness.transport import (
    ConnectFailedError,
    ConnectionClosedError,
    close_connection,
    is_connected,
    peer_certificate,
)

KINDS = ["tls-record", "tcp-length", "udp"]


@pytest.mark.parametrize("kind", KINDS)
def test_transport_get_post_and_server_initiated_put(kind, creds):
    async def scenario():
        async with serving(creds, [kind]) as (server, hello, _slow):
            store = Store()
            site = resource.Site()
            site.add_resource(["1", "0"], store)
            async with client(kind, creds, site=site) as ctx:
                base = server.uri(kind)
                got = await ctx.request(Message(code=GET, uri=base + "/hello")).response
                assert got.code == aiocoap.CONTENT
                assert got.payload == (b"hello cert" if kind == "tls-record" else b"hello plain")

                posted = await ctx.request(
                    Message(code=POST, uri=base + "/hello", payload=b"</3/0/0>")
                ).response
                assert posted.code == aiocoap.CREATED and posted.payload == b"</3/0/0>"

                # the server writes to the client over the client's own connection
                write = Message(code=PUT, uri_path=["1", "0"], payload=b"\xc1\x01\x05")
                write.remote = hello.remotes[-1]
                answer = await server.context.request(write).response
                assert answer.code == aiocoap.CHANGED
                assert store.payloads == [b"\xc1\x01\x05"]

    run(scenario())


def test_transport_peer_certificate_is_the_device_cert(creds):
    async def scenario():
        async with serving(creds, ["tls-record", "tcp-length"]) as (server, hello, _):
            async with client("tls-record", creds) as ctx:
                await ctx.request(Message(code=POST, uri=server.uri("tls-record") + "/hello")).response
            async with client("tcp-length", creds) as ctx:
                await ctx.request(Message(code=POST, uri=server.uri("tcp-length") + "/hello")).response
        tls_remote, tcp_remote = hello.remotes
        assert peer_certificate(tls_remote) == creds.device.cert_der
        assert peer_certificate(tcp_remote) is None
        assert tls_remote.uri_base.startswith("coaps://127.0.0.1:")
        assert tcp_remote.uri_base.startswith("coap://127.0.0.1:")

    run(scenario())


@pytest.mark.parametrize("kind", ["tls-record", "tcp-length"])
def test_transport_separate_response_through_aiocoap_client(kind, creds):
    async def scenario():
        async with serving(creds, [kind]) as (server, _hello, slow), client(kind, creds) as ctx:
            pending = ctx.request(Message(code=GET, uri=server.uri(kind) + "/slow")).response
            task = asyncio.ensure_future(pending)
            await asyncio.wait_for(slow.started.wait(), WAIT)
            assert not task.done()
            slow.release.set()
            answer = await asyncio.wait_for(task, WAIT)
            assert answer.payload == b"late"

    run(scenario())


@pytest.mark.parametrize("kind", ["tls-record", "tcp-length"])
def test_transport_server_request_to_closed_connection_fails_fast(kind, creds):
    async def scenario():
        async with serving(creds, [kind]) as (server, hello, _):
            async with client(kind, creds) as ctx:
                await ctx.request(Message(code=POST, uri=server.uri(kind) + "/hello")).response
            await server.wait_no_connections(kind, WAIT)
            read = Message(code=GET, uri_path=["3", "0"])
            read.remote = hello.remotes[-1]
            with pytest.raises(ConnectionClosedError):
                await asyncio.wait_for(server.context.request(read).response, WAIT)

    run(scenario())


def test_transport_client_close_sends_close_notify(creds, caplog):
    caplog.set_level("INFO", logger="harness.transport")

    async def scenario():
        async with serving(creds, ["tls-record"]) as (server, _h, _s):
            async with client("tls-record", creds) as ctx:
                await ctx.request(Message(code=GET, uri=server.uri("tls-record") + "/hello")).response
                assert len(server.connections("tls-record")) == 1
            await server.wait_no_connections("tls-record", WAIT)

    run(scenario())
    assert any("close_notify" in r.getMessage() for r in caplog.records)


def test_transport_two_clients_share_one_server(creds):
    async def scenario():
        async with (
            serving(creds, ["tls-record"]) as (server, hello, _),
            client("tls-record", creds) as a,
            client("tls-record", creds) as b,
        ):
            uri = server.uri("tls-record") + "/hello"
            ra, rb = await asyncio.gather(
                a.request(Message(code=POST, uri=uri, payload=b"a")).response,
                b.request(Message(code=POST, uri=uri, payload=b"b")).response,
            )
            assert (ra.payload, rb.payload) == (b"a", b"b")
            assert len(server.connections("tls-record")) == 2
            assert hello.remotes[0] is not hello.remotes[1]

    run(scenario())


@pytest.mark.parametrize("kind", ["tls-record", "tcp-length"])
def test_transport_server_closes_connection_and_client_redials(kind, creds):
    async def scenario():
        async with serving(creds, [kind]) as (server, hello, _), client(kind, creds) as ctx:
            uri = server.uri(kind) + "/hello"
            await ctx.request(Message(code=POST, uri=uri)).response
            first = hello.remotes[-1]
            assert is_connected(first)
            assert close_connection(first) is True
            await server.wait_no_connections(kind, WAIT)
            assert not is_connected(first) and close_connection(first) is False
            await ctx.request(Message(code=POST, uri=uri)).response
            assert hello.remotes[-1] is not first and is_connected(hello.remotes[-1])

    run(scenario())


@pytest.mark.parametrize("kind", ["tls-record", "tcp-length"])
def test_transport_refused_connection_is_a_clear_error(kind, creds):
    async def scenario():
        with socket.socket() as unused:
            unused.bind(("127.0.0.1", 0))
            port = unused.getsockname()[1]
        scheme = "coaps" if kind == "tls-record" else "coap"
        async with client(kind, creds) as ctx:
            with pytest.raises(ConnectFailedError, match=f"127.0.0.1:{port}"):
                await ctx.request(Message(code=GET, uri=f"{scheme}://127.0.0.1:{port}/x")).response

    run(scenario())


def test_transport_concurrent_requests_to_a_refused_port_all_fail(creds):
    async def scenario():
        with socket.socket() as unused:
            unused.bind(("127.0.0.1", 0))
            port = unused.getsockname()[1]
        async with client("tcp-length", creds) as ctx:
            uri = f"coap://127.0.0.1:{port}/x"
            results = await asyncio.wait_for(asyncio.gather(
                *(ctx.request(Message(code=GET, uri=uri)).response for _ in range(3)),
                return_exceptions=True), WAIT)
        assert all(isinstance(r, ConnectFailedError) for r in results), results

    run(scenario())
