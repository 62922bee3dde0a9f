"""Block-wise toward and from real clients (facts 3.1 point 3), on loopback sockets.

- Register: the client sends its ~1.1 KB body as 512-byte Block1 blocks with one token and two in
  flight; block 1 can arrive in the same TCP read as block 0, before the 2.31 for block 0.
- Writes: the service sends 512-byte blocks with one token and restarts at block 0 with a smaller
  size when the device answers 4.13 (aiocoap's own client starts at 1024, skips block 0 after a
  4.13 and uses a new token per block).
"""

from __future__ import annotations

import asyncio
import struct

from aiocoap import Code, Message
from aiocoap.numbers.types import Type
from aiocoap.resource import PathCapable, Resource
from cloud_testkit import run, running

from harness.cloud.coap_util import request_remote
from harness.lwm2m.blockwise import Block1Receiver, is_answer
from harness.transport import Endpoint, create_client_context, create_server_context

AID = "0a0b0c0d0e0f00000000000000000001"
BODY = ",".join(f'</3/0/{i}>;rt="resource number {i}";v="value {i:04d}";obs' for i in range(24))


def _register_block(number: int, more: bool, chunk: bytes, token: bytes, mid: int) -> bytes:
    message = Message(code=Code.POST, payload=chunk, uri_path=("rd",),
                      uri_query=("ep=pipelined-1", "lt=300", "lwm2m=1.0", "b=U", f"aid={AID}"),
                      content_format=40, block1=(number, more, 5))
    message.mtype, message.token, message.mid = Type.CON, token, mid
    data = message.encode()
    return struct.pack(">I", len(data)) + data


async def _read_message(reader: asyncio.StreamReader) -> Message:
    (length,) = struct.unpack(">I", await reader.readexactly(4))
    return Message.decode(await reader.readexactly(length))


def test_pipelined_register_blocks_in_one_tcp_read_are_answered_in_order(tmp_path):
    """Blocks 0 and 1 in ONE write (the real client's pipelining): both get their 2.31, then 2.01."""
    body = BODY.encode()
    assert 1024 < len(body) <= 1536
    chunks = [body[i:i + 512] for i in range(0, len(body), 512)]

    async def scenario():
        async with running(tmp_path) as svc:
            svc.store.create_account("nosec", account_id=AID)
            host, port = svc.lwm2m_uri("tcp-length").split("//")[1].rsplit(":", 1)
            reader, writer = await asyncio.open_connection(host, int(port))
            try:
                token = b"\x5f\x51\x71\xaa"
                writer.write(_register_block(0, True, chunks[0], token, 1000)
                             + _register_block(1, True, chunks[1], token, 1001))
                await writer.drain()
                first, second = [await asyncio.wait_for(_read_message(reader), 5) for _ in range(2)]
                assert {(m.mid, str(m.code)) for m in (first, second)} == {
                    (1000, "2.31 Continue"), (1001, "2.31 Continue")}
                for answer in (first, second):
                    assert answer.token == token and answer.opt.block1.block_number == answer.mid - 1000
                writer.write(_register_block(2, False, chunks[2], token, 1002))
                await writer.drain()
                final = await asyncio.wait_for(_read_message(reader), 5)
                assert final.mid == 1002 and final.code == Code.CREATED, final
                assert final.opt.location_path[:2] == ("rd", AID)
                [device] = svc.store.list_devices(AID)
                assert len(device.resources) == 24  # the whole body, not one block of it
            finally:
                writer.close()

    run(scenario())


class _Recorder(Resource, PathCapable):
    """A device site with mbed-coap's Block1 rules that records every request it receives."""

    def __init__(self, max_size: int = 512) -> None:
        super().__init__()
        self.seen: list[Message] = []
        self.bodies: list[bytes] = []
        self.blocks = Block1Receiver(max_size)

    async def needs_blockwise_assembly(self, request: Message) -> bool:
        return False

    async def render(self, request: Message) -> Message:
        self.seen.append(request)
        whole = self.blocks.feed(request)
        if is_answer(whole):
            return whole
        self.bodies.append(bytes(whole.payload))
        return Message(code=Code.CHANGED)


async def _write_to_device(site: _Recorder, payload: bytes) -> Message:
    """The service's request_remote (what bootstrap writes use) toward a device serving `site`."""
    device = await create_server_context(site, [Endpoint("tcp-length")])
    service = await create_client_context("tcp-length")
    try:
        target = Message(code=Code.PUT, uri=device.uri("tcp-length") + "/0/0")
        await service.find_remote_and_interface(target)  # the device's remote, as after a request
        return await request_remote(service, target.remote, Code.PUT, ("0", "0"), payload=payload,
                                    content_format=11542, timeout=5)
    finally:
        await service.shutdown()
        await device.shutdown()


def test_a_write_over_512_bytes_goes_as_512_byte_blocks_with_one_token():
    payload = bytes(range(256)) * 5  # 1280 bytes, like a security instance with a cert chain
    site = _Recorder()

    async def scenario():
        response = await _write_to_device(site, payload)
        assert response.code == Code.CHANGED
        blocks = [m for m in site.seen if m.opt.block1 is not None]
        assert [m.opt.block1.block_number for m in blocks] == [0, 1, 2]
        assert {m.opt.block1.size for m in blocks} == {512}
        assert len({bytes(m.token) for m in blocks}) == 1
        assert site.bodies == [payload]

    asyncio.run(asyncio.wait_for(scenario(), 20))


def test_a_413_asking_for_smaller_blocks_restarts_the_write_at_block_0():
    payload = bytes(range(256)) * 5
    site = _Recorder(max_size=256)  # a device whose limit is below the service's 512

    async def scenario():
        response = await _write_to_device(site, payload)
        assert response.code == Code.CHANGED
        first = site.seen[0]
        assert first.opt.block1.block_number == 0 and first.opt.block1.size == 512  # -> 4.13
        retried = [m for m in site.seen[1:] if m.opt.block1 is not None]
        assert [m.opt.block1.block_number for m in retried] == [0, 1, 2, 3, 4]
        assert {m.opt.block1.size for m in retried} == {256}
        assert len({bytes(m.token) for m in retried}) == 1
        assert site.bodies == [payload]

    asyncio.run(asyncio.wait_for(scenario(), 20))
