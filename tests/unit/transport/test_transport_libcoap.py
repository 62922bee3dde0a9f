"""Interop: libcoap's coap-client talks to the udp endpoint."""

import asyncio
import shutil

import pytest
from transport_testkit import run, serving

COAP_CLIENT = next(
    (p for p in (shutil.which(n) for n in ("coap-client", "coap-client-notls",
                                            "coap-client-openssl", "coap-client-gnutls")) if p),
    None,
)


async def _coap_client(*args: str) -> bytes:
    proc = await asyncio.create_subprocess_exec(
        COAP_CLIENT, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, _err = await asyncio.wait_for(proc.communicate(), 10)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0
    return out


@pytest.mark.skipif(COAP_CLIENT is None, reason="coap-client (libcoap3-bin) is not installed")
def test_transport_libcoap_client_gets_and_posts_over_udp(creds):
    async def scenario():
        async with serving(creds, ["udp"]) as (server, hello, _):
            out = await _coap_client("-m", "get", "-B", "5", server.uri("udp") + "/hello")
            assert b"hello plain" in out
            out = await _coap_client("-m", "post", "-B", "5", "-e", "</3/0>",
                                     server.uri("udp") + "/hello")
            assert b"</3/0>" in out
            assert len(hello.remotes) == 1

    run(scenario())
