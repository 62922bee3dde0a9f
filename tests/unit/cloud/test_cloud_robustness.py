"""Malformed CoAP, garbage on the TLS port, vanishing clients: the service keeps serving."""

import asyncio
import socket

from aiocoap.numbers.codes import Code
from cloud_testkit import WAIT, device, factory_ca, onboard, run, running, trusted_account
from lab_client import LabDevice


def _port(uri: str) -> int:
    return int(uri.rsplit(":", 1)[1])


def test_cloud_garbage_everywhere_then_normal_onboarding(tmp_path):
    async def scenario():
        async with running(tmp_path) as svc:
            ca = factory_ca()
            acc = trusted_account(svc, ca)
            loop = asyncio.get_running_loop()
            # malformed CoAP datagrams on both udp servers
            for uri in (svc.lwm2m_uri("udp"), svc.bootstrap_uri("udp")):
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                    udp.sendto(b"\xff\x00garbage", ("127.0.0.1", _port(uri)))
                    udp.sendto(b"\x40", ("127.0.0.1", _port(uri)))  # truncated header
            # junk, a truncated length prefix and a vanished TLS client on the stream ports
            for uri, junk in ((svc.bootstrap_uri(), b"GET / HTTP/1.1\r\n\r\n"),
                              (svc.lwm2m_uri(), b"\x16\x03\x01\x00\x05hello"),
                              (svc.lwm2m_uri("tcp-length"), b"\x00\x00\xff\xff\x40"),
                              (svc.lwm2m_uri("tcp-length"), b"\x00\x00\x00\x02\xff\xff")):
                reader, writer = await asyncio.open_connection("127.0.0.1", _port(uri))
                writer.write(junk)
                await writer.drain()
                writer.close()
                await writer.wait_closed()
            # an unparsable Register on udp gets an error, not silence
            probe = LabDevice("udp", "probe")
            response = await probe.request(Code.POST,
                                           f"{svc.lwm2m_uri('udp')}/rd?ep=p&lwm2m=1.0&aid={acc.id}",
                                           payload=b"\xff\xfe", content_format=40)
            assert str(response.code).startswith("4.00")
            await probe.close()
            dev = device(svc, ca, "ep-after-garbage")
            prov = await asyncio.wait_for(onboard(svc, dev, aid=acc.id), WAIT)
            assert svc.device(prov.device_id).state == "registered"
            await dev.close()
            assert loop.is_running()

    run(scenario())
