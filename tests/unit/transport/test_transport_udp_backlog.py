"""A udp backlog drains in batches: a legitimate request queued behind a flood is answered
within a few event-loop iterations, not one iteration per queued datagram."""

import asyncio
import socket

import aiocoap
from aiocoap import Message
from transport_testkit import WAIT, coap_con, run, server_site

from harness.transport import Endpoint, create_server_context
from harness.transport.udp import BATCH

QUEUED = 6 * BATCH  # undecodable datagrams ahead of the legitimate request


def test_a_request_behind_a_udp_backlog_is_answered_within_a_few_loop_iterations():
    async def scenario():
        site, _hello, _slow = server_site()
        server = await create_server_context(site, [Endpoint("udp")])
        try:
            port = server.bound["udp"][1]
            flood = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            legit = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            legit.setblocking(False)
            # Queued without yielding to the loop: the server finds them all waiting at once.
            for mid in range(QUEUED):
                flood.sendto(b"\x40\x01" + mid.to_bytes(2, "big") + b"\xf0", ("127.0.0.1", port))
            legit.sendto(coap_con(aiocoap.GET.value, 7, b"ok", "hello"), ("127.0.0.1", port))
            iterations = 0
            async with asyncio.timeout(WAIT):
                while True:
                    try:
                        answer = Message.decode(legit.recv(1500))
                        break
                    except BlockingIOError:
                        iterations += 1
                        await asyncio.sleep(0)
            flood.close()
            legit.close()
            assert str(answer.code).startswith("2.05"), answer
            # One datagram per iteration (aiocoap's own reader) would take >= QUEUED iterations.
            assert iterations < QUEUED // 3, iterations
        finally:
            await server.shutdown()

    run(scenario())
