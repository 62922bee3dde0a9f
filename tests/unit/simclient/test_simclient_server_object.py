"""The virtual client's Server object /1/0 while registered (harness/sim/client/server_object.py)."""

from __future__ import annotations

import asyncio

import pytest
from aiocoap import Message
from aiocoap.numbers.codes import Code

from harness.lwm2m import tlv
from harness.lwm2m.ids import ContentFormat
from harness.sim.client.server_object import ServerObject


def _request(code: Code, path: str, payload: bytes = b"", fmt: int | None = None) -> Message:
    message = Message(code=code, payload=payload, uri_path=tuple(p for p in path.split("/") if p))
    if fmt is not None:
        message.opt.content_format = fmt
    return message


@pytest.fixture
def server():
    asked: list[int | None] = []
    return ServerObject(lambda: 7200, "T", asked.append), asked


def _answer(server: ServerObject, request: Message) -> Message:
    return asyncio.run(server.handle(request))


def test_the_instance_reads_as_tlv_and_a_resource_as_text(server):
    obj, _ = server
    whole = _answer(obj, _request(Code.GET, "/1/0"))
    assert whole.opt.content_format == ContentFormat.TLV
    values = tlv.decode_resources(whole.payload)
    assert (tlv.as_int(values[0]), tlv.as_int(values[1]), values[7]) == (1, 7200, b"T")
    assert _answer(obj, _request(Code.GET, "/1/0/6")).payload == b"0"
    assert _answer(obj, _request(Code.GET, "/1/0/8")).code == Code.METHOD_NOT_ALLOWED
    assert _answer(obj, _request(Code.GET, "/1/0/9")).code == Code.NOT_FOUND
    assert _answer(obj, _request(Code.GET, "/1/1/0")).code == Code.NOT_FOUND


@pytest.mark.parametrize(("payload", "fmt", "asked"), [
    (b"3600", ContentFormat.TEXT, 3600), (b"7200", None, None),
    (tlv.encode_resources({1: 120}), ContentFormat.TLV, 120)])
def test_a_lifetime_write_asks_for_an_update_naming_a_changed_lifetime(server, payload, fmt, asked):
    obj, calls = server
    assert _answer(obj, _request(Code.PUT, "/1/0/1", payload, fmt)).code == Code.CHANGED
    assert calls == [asked]


@pytest.mark.parametrize(("payload", "fmt", "code"), [
    (b"soon", ContentFormat.TEXT, Code.BAD_REQUEST), (b"0", ContentFormat.TEXT, Code.BAD_REQUEST),
    (b"\xff", ContentFormat.TLV, Code.BAD_REQUEST),
    (b"60", ContentFormat.JSON, Code.UNSUPPORTED_CONTENT_FORMAT)])
def test_a_bad_lifetime_write_is_refused_and_asks_for_nothing(server, payload, fmt, code):
    obj, calls = server
    assert _answer(obj, _request(Code.PUT, "/1/0/1", payload, fmt)).code == code
    assert calls == []


def test_the_update_trigger_asks_for_an_update(server):
    obj, calls = server
    assert _answer(obj, _request(Code.POST, "/1/0/8")).code == Code.CHANGED
    assert calls == [None]
