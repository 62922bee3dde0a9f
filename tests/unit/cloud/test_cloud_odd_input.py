"""Odd but well-framed input: Unicode digits and non-UTF-8 options get a 4.00 or a drop, no 5.00."""

import asyncio
import logging
import socket

from aiocoap.numbers.codes import Code
from cloud_testkit import WAIT, device, factory_ca, onboard, run, running, trusted_account
from lab_client import BootstrapFailed, LabDevice

from harness.transport.framing import length_prefixed

# CON POST, MID 1, no token, Uri-Path "rd" then a Uri-Query of bytes that are not UTF-8
NON_UTF8 = b"\x40\x02\x00\x01" + b"\xb2rd" + b"\x43ep\xff"


def _port(uri: str) -> int:
    return int(uri.rsplit(":", 1)[1])


def test_unicode_digits_in_lt_and_pct_are_a_4_00(tmp_path):
    async def scenario():
        async with running(tmp_path) as svc:
            ca = factory_ca()
            acc = trusted_account(svc, ca)
            for lt in ("\u00b2", "\u0661\u0662", "\uff13\uff10\uff10"):  # ², Arabic 12, fullwidth 300
                probe = LabDevice("udp", "odd-lt")
                response = await probe.register(f"{svc.lwm2m_uri('udp')}?aid={acc.id}",
                                                lifetime=None, extra_query=f"lt={lt}")
                await probe.close()
                assert str(response.code).startswith("4.00"), (lt, response.code)
                assert b"lt=" in response.payload
            dev = device(svc, ca, "odd-pct")
            try:
                await dev.bootstrap(svc.bootstrap_uri(), aid=acc.id, pct="\u00b2")  # type: ignore[arg-type]
            except BootstrapFailed as exc:
                assert exc.code == "4.00", exc
            else:
                raise AssertionError("pct=² was accepted")
            await dev.close()

    run(scenario())


def test_non_utf8_options_drop_one_message_with_one_line(tmp_path, caplog):
    async def scenario():
        async with running(tmp_path) as svc:
            ca = factory_ca()
            acc = trusted_account(svc, ca)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                for uri in (svc.lwm2m_uri("udp"), svc.bootstrap_uri("udp")):
                    udp.sendto(NON_UTF8, ("127.0.0.1", _port(uri)))
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", _port(svc.lwm2m_uri("tcp-length")))
            writer.write(length_prefixed(NON_UTF8))
            assert await asyncio.wait_for(reader.read(100), WAIT) == b""  # dropped, not a 5.00
            writer.close()
            dev = device(svc, ca, "after-odd-bytes", kind="tcp-length")
            await asyncio.wait_for(onboard(svc, dev, aid=acc.id), WAIT)  # asserts 2.01
            await dev.close()
            probe = LabDevice("udp", "after-odd-bytes-udp")
            response = await probe.request(Code.GET, f"{svc.lwm2m_uri('udp')}/.well-known/core")
            assert response.code is not None
            await probe.close()

    with caplog.at_level(logging.DEBUG):
        run(scenario())
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    assert any("undecodable" in r.getMessage() for r in caplog.records)
