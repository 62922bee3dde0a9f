"""The virtual board's Block1 rules answer like the REAL client (facts 3.1 point 3).

A small bootstrap server on tcp-length (NoSec) accepts the real client's Bootstrap-Request and
then writes /0/0 the wrong ways a server can: a 1024-byte first block, a 1 KB body without
blocks, a second block under a new token, and a lone last block (the client takes it as the
whole body: a TLV fragment, refused with 4.00). Each answer of the real client
is compared with what `Block1Receiver` (the virtual board's CoAP layer) answers to the same
request, so the board's rules are checked against the client itself, not against a reading of it.
"""

from __future__ import annotations

import asyncio
import socket

import pytest
from aiocoap import Code, Message
from pdmc_kit import ClientProcess, find_kit, link_client

from harness import pki
from harness.devcreds import DeveloperCredentials, write_c_file
from harness.lwm2m import tlv
from harness.lwm2m.blockwise import Block1Receiver
from harness.sim.client.bootstrap_site import BootstrapSite
from harness.sim.client.router import Router
from harness.transport import Endpoint, create_server_context

TIMEOUT = 30.0
BODY = tlv.encode_instances({0: {0: "coap://127.0.0.1:9?aid=probe", 1: False, 2: 3,
                                 3: b"z" * 1000, 10: 1}})


def _credentials(tmp_path, uri: str):
    ca = pki.make_ca("probe CA")
    device = pki.make_bootstrap_device_cert(ca, "probe-device")
    creds = DeveloperCredentials(endpoint_name="probe-device", account_id="probe",
                                 bootstrap_uri=uri, device_cert_der=device.cert_der,
                                 server_ca_der=ca.cert_der, private_key_der=device.key_der)
    return write_c_file(creds, tmp_path / "mbed_cloud_dev_credentials.c")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _summary(answer: Message) -> tuple:
    block1 = answer.opt.block1
    return (str(answer.code), None if block1 is None else
            (block1.block_number, block1.more, block1.size), answer.opt.size1)


async def _probe(context, remote) -> list[tuple[str, tuple, tuple]]:
    """Send the wrong writes; (name, real client's answer, board's answer) for each."""
    board = Block1Receiver()
    bootstrap = BootstrapSite("coap://127.0.0.1:5683?aid=probe", 0, "tcp")  # the kit is the tcp build
    results = []

    async def put(name: str, payload: bytes, block1=None, token: bytes | None = None) -> None:
        message = Message(code=Code.PUT, uri_path=("0", "0"), payload=payload, content_format=11542)
        if block1 is not None:
            message.opt.block1 = block1
        message.remote = remote
        answer = await asyncio.wait_for(context.request(message, handle_blockwise=False).response, 10)
        # the same request as the board would receive it: same token for both ends of a pair
        mirrored = message.copy(token=token or b"same")
        served = board.feed(mirrored)
        if served.code.is_request():  # whole (or taken as whole): the board's bootstrap site serves it
            served = await bootstrap.handle(served)
        results.append((name, _summary(answer), _summary(served)))

    await put("1024-byte block 0", BODY[:1024], (0, True, 6))
    await put("1 KB without blocks", BODY)
    await put("block 0", BODY[:512], (0, True, 5), token=b"first")
    await put("block 1 under a new token", BODY[512:1024], (1, True, 5), token=b"second")
    # last: it ends the bootstrap (the client takes the fragment as the body and refuses it)
    await put("a lone last block", BODY[1024:], (2, False, 5), token=b"third")
    return results


def test_the_boards_block1_answers_match_the_real_clients(tmp_path):
    kit, why = find_kit()
    if kit is None:
        pytest.skip(why)
    port = _free_port()
    uri = f"coap://127.0.0.1:{port}?aid=probe"
    elf = link_client(kit, _credentials(tmp_path, uri), tmp_path / "client.elf", uri)

    async def scenario():
        requested: asyncio.Future = asyncio.get_running_loop().create_future()

        async def handle(request: Message) -> Message:
            if request.code == Code.POST and tuple(request.opt.uri_path) == ("bs",):
                if not requested.done():
                    requested.set_result(request.remote)
                return Message(code=Code.CHANGED)
            return Message(code=Code.NOT_FOUND)

        server = await create_server_context(Router(handle), [Endpoint("tcp-length", port=port)])
        client = ClientProcess(elf, tmp_path / "run")
        try:
            remote = await asyncio.wait_for(requested, TIMEOUT)
            return await _probe(server.context, remote)
        finally:
            client.stop()
            await server.shutdown()

    results = asyncio.run(asyncio.wait_for(scenario(), TIMEOUT + 20))
    assert [name for name, _real, _board in results] == [
        "1024-byte block 0", "1 KB without blocks", "block 0", "block 1 under a new token",
        "a lone last block"]
    for name, real, board in results:
        assert real == board, f"{name}: the real client answers {real}, the board {board}"
    assert results[0][1] == ("4.13 Request Entity Too Large", (0, True, 512), None)
    assert results[3][1][0] == "4.08 Request Entity Incomplete"
    assert results[4][1] == ("4.00 Bad Request", None, None)
