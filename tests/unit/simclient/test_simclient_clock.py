"""Secure time on the virtual board, as on the real client (protocol-facts.md §3.1 point 2).

A factory-new board's clock is 0; it takes its time from ServerHello.random[0:4] of the service's
Mbed TLS, keeps it across a restart, and refuses a server whose chain is not valid at its clock
when the server will not renegotiate.
"""

from __future__ import annotations

import asyncio
import time

from aiocoap import Code, Message
from simclient_lab import AID, FIRMWARE, Console, MiniService, Platform, bootstrap_store, client_task

from harness import pki
from harness.sim.client import DeviceClient
from harness.sim.client.credentials import SAVED_TIME


def test_new_board_starts_at_zero_and_takes_the_server_time(lab_pki):
    async def body():
        service = MiniService(lab_pki)
        await service.start()
        try:
            store = bootstrap_store(lab_pki, service.uri + f"?aid={AID}")
            console, platform = Console(), Platform()
            assert platform.now() == 0.0  # no RTC, never set
            async with client_task(DeviceClient(store, FIRMWARE, console, platform)):
                await console.wait_for(r"^Client registered$")
                assert abs(platform.now() - time.time()) < 5
            saved = store.get_int(SAVED_TIME)
            assert saved is not None and abs(saved - time.time()) < 5

            restarted = Platform()  # power cycle: the clock restarts from the saved time
            console = Console()
            async with client_task(DeviceClient(store, FIRMWARE, console, restarted)):
                await console.wait_for(r"^Client registered$")
                assert abs(restarted.now() - time.time()) < 5
                # with a time stored at start it has a /3/0/13: its clock
                message = Message(code=Code.GET, uri_path=("3", "0", "13"), accept=0)
                message.remote = service.registers[-1].remote
                answer = await asyncio.wait_for(service.context.context.request(message).response, 5)
                assert abs(int(bytes(answer.payload)) - time.time()) < 5
            assert not any("expired" in line.lower() for line in console.lines)
        finally:
            await service.stop()

    asyncio.run(body())


def test_board_refuses_a_chain_not_yet_valid_at_its_clock_when_renegotiation_is_refused(
        lab_pki):
    """A server cert from 'now' and a clock-0 board: renegotiation, refused by Mbed TLS: code 12."""
    async def body():
        fresh = pki.make_server_cert(lab_pki.ca, "localhost")  # notBefore = now - 5 min
        service = MiniService(type(lab_pki)(ca=lab_pki.ca, server=fresh,
                                            bootstrap=lab_pki.bootstrap))
        await service.start()
        try:
            store = bootstrap_store(lab_pki, service.uri + f"?aid={AID}")
            console, platform = Console(), Platform()
            async with client_task(DeviceClient(store, FIRMWARE, console, platform)):
                await console.wait_for(r"^Error details : Client in reconnection mode "
                                       r"SecureConnectionFailed$")
                assert "Error code : 12" in console.lines
            assert platform.now() == 0.0 and service.bs_requests == []
        finally:
            await service.stop()

    asyncio.run(body())
