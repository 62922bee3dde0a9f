"""A udp or dtls backlog drains in batches: a legitimate request queued behind a flood is
answered within a few event-loop iterations, not one iteration per queued datagram."""

import asyncio
import socket
from pathlib import Path

import aiocoap
from aiocoap import Message
from transport_testkit import WAIT, coap_con, run, server_site

from harness.transport import Endpoint, create_server_context, server_dtls_context
from harness.transport.batch_reader import BATCH

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


def _receive_queue(port: int) -> int:
    """Bytes waiting in the receive queue of the local udp socket bound to `port`."""
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port:
                return int(fields[4].split(":")[1], 16)
    raise AssertionError(f"no udp socket on port {port}")


def test_a_dtls_backlog_of_stray_records_drains_within_a_few_loop_iterations(creds):
    async def scenario():
        ctx = server_dtls_context(creds.server, [creds.device_ca.cert])
        server = await create_server_context(
            server_site()[0], [Endpoint("dtls", ssl_context_factory=lambda: ctx)])
        try:
            port = server.bound["dtls"][1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as flood:
                for n in range(QUEUED):  # application-data records of no session: ignored
                    flood.sendto(b"\x17\xfe\xfd" + n.to_bytes(10, "big") + b"\x00\x01x",
                                 ("127.0.0.1", port))
                assert _receive_queue(port) > 0
                iterations = 0
                async with asyncio.timeout(WAIT):
                    while _receive_queue(port):
                        iterations += 1
                        await asyncio.sleep(0)
            # asyncio's own reader (one datagram per iteration) would take >= QUEUED iterations.
            assert iterations < QUEUED // 3, iterations
        finally:
            await server.shutdown()

    run(scenario())
