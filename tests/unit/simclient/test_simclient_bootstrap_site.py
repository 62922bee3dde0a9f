"""The virtual client's bootstrap site after a request it refused (harness/sim/client/bootstrap_site.py)."""

from __future__ import annotations

import asyncio

from aiocoap import Message
from aiocoap.numbers.codes import Code

from harness.lwm2m.ids import ContentFormat
from harness.lwm2m.tlv import encode_resources
from harness.sim.client.bootstrap_site import BootstrapSite


def _request(code: Code, path: str, payload: bytes = b"", fmt: int | None = None) -> Message:
    message = Message(code=code, payload=payload, uri_path=tuple(p for p in path.split("/") if p))
    if fmt is not None:
        message.opt.content_format = fmt
    return message


def test_nothing_is_answered_after_a_refused_request():
    """The real client closes the connection after the request it refused (a Delete of a
    resource: 4.00, tests/peers/test_peer_pdmc_bootstrap_paths.py), so a write the server sends
    before the close gets no answer, where an answer would make the service's next step differ."""

    async def run() -> tuple[Code, bool, bool]:
        site = BootstrapSite("coaps://127.0.0.1:5684?aid=x", 0, "tcp")
        refused = await site.handle(_request(Code.DELETE, "/0/0/1"))
        write = asyncio.ensure_future(site.handle(_request(
            Code.PUT, "/1/0", encode_resources({0: 1}), ContentFormat.TLV)))
        for _ in range(20):  # every loop turn the handler could take to answer
            await asyncio.sleep(0)
        answered = write.done()
        write.cancel()  # the connection closes
        return refused.code, site.done.is_set(), answered

    code, done, answered = asyncio.run(run())
    assert (code, done) == (Code.BAD_REQUEST, True)
    assert not answered, "a write after the refused Delete was answered"
