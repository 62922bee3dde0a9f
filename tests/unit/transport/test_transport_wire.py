"""Wire-level checks: one message per TLS record, length prefixes, separate responses."""

import asyncio

import aiocoap
from aiocoap import GET
from transport_testkit import WAIT, RawTcpLength, RawTls, coap_con, coap_empty_ack, run, serving

from harness.transport import client_ssl_context


def test_transport_two_records_in_one_tcp_write_are_two_messages(creds):
    async def scenario():
        async with serving(creds, ["tls-record"]) as (server, _h, _s):
            host, port = server.bound["tls-record"]
            ctx = client_ssl_context(creds.device, creds.server_ca.cert)
            raw = await RawTls.connect(host, port, ctx)
            try:
                raw.send_records(
                    coap_con(GET.value, 0x1001, b"\x0a", "hello"),
                    coap_con(GET.value, 0x1002, b"\x0b", "hello"),
                )
                answers = [await raw.recv(), await raw.recv()]
            finally:
                await raw.close()
        assert {a.token for a in answers} == {b"\x0a", b"\x0b"}
        assert {a.mid for a in answers} == {0x1001, 0x1002}
        assert all(a.mtype == aiocoap.ACK and a.payload == b"hello cert" for a in answers)

    run(scenario())


def test_transport_length_prefixed_messages_back_to_back(creds):
    async def scenario():
        async with serving(creds, ["tcp-length"]) as (server, _h, _s):
            raw = await RawTcpLength.connect(*server.bound["tcp-length"])
            try:
                raw.send(coap_con(GET.value, 7, b"\x01", "hello"),
                         coap_con(GET.value, 8, b"\x02", "hello"))
                answers = [await raw.recv(), await raw.recv()]
            finally:
                await raw.close()
        assert sorted(a.mid for a in answers) == [7, 8]
        assert all(a.payload == b"hello plain" for a in answers)

    run(scenario())


async def _separate_response(raw, slow) -> None:
    raw.send_one(coap_con(GET.value, 0x2222, b"\x77", "slow"))
    await asyncio.wait_for(slow.started.wait(), WAIT)
    empty_ack = await raw.recv()
    assert empty_ack.mtype == aiocoap.ACK and empty_ack.mid == 0x2222
    assert empty_ack.code == aiocoap.EMPTY
    slow.release.set()
    late = await raw.recv()
    assert late.mtype == aiocoap.CON and late.token == b"\x77" and late.payload == b"late"
    raw.send_one(coap_empty_ack(late.mid))


def test_transport_separate_response_on_the_wire_tls(creds):
    async def scenario():
        async with serving(creds, ["tls-record"]) as (server, _h, slow):
            raw = await RawTls.connect(*server.bound["tls-record"],
                                       client_ssl_context(creds.device, creds.server_ca.cert))
            raw.send_one = raw.send_records
            try:
                await _separate_response(raw, slow)
            finally:
                await raw.close()

    run(scenario())


def test_transport_separate_response_on_the_wire_tcp_length(creds):
    async def scenario():
        async with serving(creds, ["tcp-length"]) as (server, _h, slow):
            raw = await RawTcpLength.connect(*server.bound["tcp-length"])
            raw.send_one = raw.send
            try:
                await _separate_response(raw, slow)
            finally:
                await raw.close()

    run(scenario())
