"""The virtual board refuses what the real client refuses (protocol facts 3.1, points 3-5).

Each test drives the board's DeviceClient (or its CoAP rules) over loopback sockets with one of
the mistakes the real Device Management Client rejects, and checks the board rejects it the same
way: 4.13 / 4.08 block answers, `BS FIN fails :Invalid security object`, code 17 after a write
that removed the cert-chain resources; and that its Register body travels as 512-byte blocks with
one token, two in flight.
"""

from __future__ import annotations

import asyncio
import struct

from aiocoap import Code, Message
from aiocoap.numbers.types import Type
from simclient_lab import AID, FIRMWARE, Console, Platform, client_task
from test_simclient_flow import running

from harness.client import console as text
from harness.lwm2m import tlv
from harness.lwm2m.blockwise import Block1Receiver, is_answer
from harness.lwm2m.linkformat import parse_links
from harness.provisioning import items
from harness.provisioning.store import ItemStore
from harness.sim.client import DeviceClient
from harness.sim.client.security_object import CHAIN_RESOURCES, ObjectModel

# --------------------------------------------------------------------------- block rules


class _Peer:
    """A stand-in remote (what aiocoap puts on a request)."""

    def __init__(self, name: str) -> None:
        self.blockwise_key = name


def _block(number: int, more: bool, payload: bytes, token: bytes = b"tok1", szx: int = 5,
           peer: _Peer | None = None) -> Message:
    message = Message(code=Code.PUT, payload=payload, block1=(number, more, szx))
    message.token = token
    message.remote = peer or _Peer("server")
    return message


def test_a_message_over_512_bytes_without_blocks_gets_413_asking_for_512():
    answer = Block1Receiver().feed(_block(0, False, b"x" * 513).copy(block1=None))
    assert answer.code == Code.REQUEST_ENTITY_TOO_LARGE
    assert (answer.opt.block1.block_number, answer.opt.block1.size) == (0, 512)


def test_a_1024_byte_block_gets_413_asking_for_512_byte_blocks():
    answer = Block1Receiver().feed(_block(0, True, b"x" * 1024, szx=6))
    assert answer.code == Code.REQUEST_ENTITY_TOO_LARGE
    assert answer.opt.block1.block_number == 0 and answer.opt.block1.size == 512


def test_a_block_with_another_token_than_the_block_before_gets_408():
    """aiocoap's client takes a new token for every block."""
    receiver = Block1Receiver()
    assert receiver.feed(_block(0, True, b"a" * 512)).code == Code.CONTINUE
    answer = receiver.feed(_block(1, True, b"b" * 512, token=b"tok2"))
    assert answer.code == Code.REQUEST_ENTITY_INCOMPLETE
    assert answer.opt.block1.block_number == 1  # echoed, as the real client does


def test_a_block_from_another_peer_gets_408():
    receiver = Block1Receiver()
    receiver.feed(_block(0, True, b"a" * 512, peer=_Peer("one")))
    answer = receiver.feed(_block(1, True, b"b" * 512, peer=_Peer("two")))
    assert answer.code == Code.REQUEST_ENTITY_INCOMPLETE


def test_a_skipped_block_gets_408():
    receiver = Block1Receiver()
    receiver.feed(_block(0, True, b"a" * 512))
    assert receiver.feed(_block(2, True, b"c" * 512)).code == Code.REQUEST_ENTITY_INCOMPLETE


def test_a_lone_last_block_is_taken_as_the_whole_body():
    """What the client makes of the last block of a transfer whose token changed on the way."""
    receiver = Block1Receiver()
    result = receiver.feed(_block(2, False, b"tail of a body"))
    assert not is_answer(result)
    assert result.payload == b"tail of a body" and result.opt.block1 is None


def test_blocks_with_one_token_are_reassembled():
    receiver = Block1Receiver()
    assert receiver.feed(_block(0, True, b"a" * 512)).opt.block1.block_number == 0
    assert receiver.feed(_block(1, True, b"b" * 512)).code == Code.CONTINUE
    whole = receiver.feed(_block(2, False, b"c" * 7))
    assert not is_answer(whole) and whole.payload == b"a" * 512 + b"b" * 512 + b"c" * 7


# --------------------------------------------------------------------------- bootstrap writes


def test_aiocoaps_own_block_writes_do_not_bootstrap_the_board(lab_pki):
    """1024-byte first block -> 4.13; aiocoap goes on with new tokens, the last block arrives alone
    and is taken as the body: a TLV fragment. The real client answers a service that writes this
    way with the same console line (seen over TLS)."""
    async def body():
        args = {"layout": "aiocoap-blocks"}
        async with running(lab_pki, service_args=args) as (service, store, console, _p, _c, _t):
            await console.wait_for(r"^Error details : BS PUT fails :0/0$")
            assert "Error occurred : MbedCloudClient::ConnectBootstrapFailed" in console.lines
            await service.wait(lambda: any(not c.is_successful() for c in service.write_answers))
            assert store.get(items.LWM2M_SERVER_URI) is None
            assert text.REGISTERED not in console.lines

    asyncio.run(body())


def test_lwm2m_credentials_written_to_0_1_are_an_invalid_security_object(lab_pki):
    """The board owns /0/0 (LwM2M server, empty URI) and /0/1 (bootstrap server) from the start."""
    async def body():
        args = {"layout": "lwm2m-at-0-1"}
        async with running(lab_pki, service_args=args) as (service, store, console, _p, _c, _t):
            await console.wait_for(r"^Error details : BS FIN fails :Invalid security object$")
            assert "Error occurred : MbedCloudClient::ConnectBootstrapFailed" in console.lines
            assert "Error code : 2" in console.lines
            await service.wait(lambda: Code.BAD_REQUEST in service.write_answers)
            assert store.get(items.LWM2M_SERVER_URI) is None and not service.registers

    asyncio.run(body())


def test_resource_list_writes_remove_the_chain_resources_and_registration_fails_for_good(lab_pki):
    """A bare resource list replaces the instance: 12-14 are gone, code 17, no retry."""
    async def body():
        args = {"layout": "bare"}
        async with running(lab_pki, service_args=args) as (service, _store, console, _p, _c, _t):
            await console.wait_for(r"^Error code : 17$")
            # the real client's words for it (seen with the real client over TLS)
            await console.wait_for(r"^Error details : Client cannot connect anymore Failed to read "
                                   r"credentials$")
            assert "Error occurred : MbedCloudClient::ConnectorFailedToReadCredentials" in console.lines
            assert service.finish_answer == Code.CHANGED  # the bootstrap itself went through
            assert not service.registers
            assert not [line for line in console.lines if "reconnecting" in line]

    asyncio.run(body())


# --------------------------------------------------------------------------- register


async def _read(reader: asyncio.StreamReader) -> Message:
    (length,) = struct.unpack(">I", await reader.readexactly(4))
    return Message.decode(await reader.readexactly(length))


def _send(writer: asyncio.StreamWriter, message: Message) -> None:
    data = message.encode()
    writer.write(struct.pack(">I", len(data)) + data)


def _ack(request: Message, code: Code, **options) -> Message:
    answer = Message(code=code, **options)
    answer.mtype, answer.token, answer.mid = Type.ACK, request.token, request.mid
    return answer


def test_register_goes_as_512_byte_blocks_with_one_token_two_in_flight(lab_pki):
    """Over plain tcp-length: block 1 arrives while block 0 is still unanswered (pipelined)."""
    async def body():
        seen: list[Message] = []
        registered = asyncio.Event()

        async def serve(reader, writer):
            first = await _read(reader)
            second = await _read(reader)  # arrives before any answer: two blocks in flight
            seen.extend([first, second])
            for request in (first, second):
                _send(writer, _ack(request, Code.CONTINUE, block1=request.opt.block1))
            last = await _read(reader)
            seen.append(last)
            _send(writer, _ack(last, Code.CREATED, location_path=("rd", AID, "0123456789ab"),
                               block1=last.opt.block1))
            registered.set()
            await reader.read()  # until the board closes

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        store = ItemStore(None)
        for name, value in ((items.USE_BOOTSTRAP, (1).to_bytes(4, "little")),
                            (items.LWM2M_SERVER_URI, f"coap://127.0.0.1:{port}?aid={AID}".encode()),
                            (items.LWM2M_DEVICE_CERT, lab_pki.bootstrap.cert_der),
                            (items.LWM2M_DEVICE_PRIVATE_KEY, lab_pki.bootstrap.key_der),
                            (items.LWM2M_SERVER_CA_CERT, lab_pki.ca.cert_der),
                            # the developer values, whose Register body the real client sends
                            # in three blocks (tests/peers/test_peer_pdmc_register_values.py)
                            (items.MANUFACTURER, b"dev_manufacturer"),
                            (items.MODEL_NUMBER, b"dev_model_num"), (items.SERIAL_NUMBER, b"0")):
            store.put(name, value, factory=False)
        console = Console()
        try:
            async with client_task(DeviceClient(store, FIRMWARE, console, Platform())):
                await asyncio.wait_for(registered.wait(), 5)
                await console.wait_for(r"^Client registered$")
        finally:
            server.close()
        blocks = [m.opt.block1 for m in seen]
        assert [(b.block_number, b.more, b.size) for b in blocks] == [
            (0, True, 512), (1, True, 512), (2, False, 512)]
        assert len({bytes(m.token) for m in seen}) == 1
        assert all(m.opt.uri_path == ("rd",) for m in seen)
        body = b"".join(bytes(m.payload) for m in seen)
        assert seen[0].opt.size1 == len(body) and 1024 < len(body) <= 1536
        paths = {link.path for link in parse_links(body)}
        assert {"/3/0/0", "/3/0/4", "/1/0/1", "/10252/0/1"} <= paths

    asyncio.run(body())


# --------------------------------------------------------------------------- the objects themselves


def test_the_board_starts_with_an_empty_lwm2m_instance_0_and_its_bootstrap_instance_1():
    objects = ObjectModel.at_start(f"coaps://127.0.0.1:5684?aid={AID}")
    assert sorted(objects.security) == [0, 1]
    assert objects.security[0][0] == b"" and objects.security[0][1] == b"\x00"
    assert objects.security[1][0] == f"coaps://127.0.0.1:5684?aid={AID}".encode()
    assert objects.security[1][1] == b"\x01"
    assert not objects.valid()  # /0/0 has no URI until the server writes it


def test_a_first_to_claim_uri_written_as_a_lone_resource_to_0_0_0_breaks_the_lwm2m_instance():
    """The client's TLV reader treats it as a resource list for /0/0: the rest of /0/0 goes."""
    objects = ObjectModel.at_start("coap://127.0.0.1:5683")
    objects.write((0, 0), tlv.encode_instances({0: {0: "coap://127.0.0.1:5690?aid=x", 1: False,
                                                    2: 3, 10: 1}}))
    assert objects.valid()
    objects.write((0, 0, 0), tlv.encode_resources({0: "coap://127.0.0.1:5683?aid=x"}))
    assert set(objects.security[0]) == {0}
    assert not objects.valid()  # no security mode any more


def test_an_object_instance_write_keeps_the_resources_it_does_not_name():
    objects = ObjectModel.at_start("coap://127.0.0.1:5683")
    objects.write((0, 1), tlv.encode_instances({1: {0: "coap://127.0.0.1:5683?aid=x"}}))
    assert all(rid in objects.security[1] for rid in CHAIN_RESOURCES)
    assert objects.security[1][1] == b"\x01"
