"""Small CoAP helpers shared by the bootstrap and LwM2M servers: queries, codes, error replies."""

from __future__ import annotations

import asyncio
import re

import aiocoap
from aiocoap import Message
from aiocoap.numbers.codes import Code

from harness.client.wire import code_text  # noqa: F401 (the servers import it from here)
from harness.lwm2m.blockwise import MAX_BLOCK_SIZE, send_blockwise
from harness.transport import peer_certificate

MAX_BODY = 64 * 1024
"""Largest request payload the servers accept (bigger -> 4.13)."""

_CODE_RE = re.compile(r"^([245])\.(\d\d)$")


def is_decimal(text: str) -> bool:
    """True for ASCII decimal digits only ("²" or "١٢" pass str.isdigit but are no CoAP number)."""
    return text.isascii() and text.isdigit()


class QueryError(ValueError):
    """A query that cannot be parsed; the message is the 4.00 diagnostic."""


def code_of(text: str) -> Code:
    """The aiocoap Code for text like "4.03"."""
    match = _CODE_RE.match(text)
    if not match:
        raise ValueError(f"CoAP code {text!r} is not like '4.03'; use class.detail.")
    return Code((int(match.group(1)) << 5) | int(match.group(2)))


def error_reply(code: str | Code, text: str) -> Message:
    """An error response with `text` as the diagnostic payload (UTF-8)."""
    return Message(code=code_of(code) if isinstance(code, str) else code, payload=text.encode())


def parse_query(request: Message) -> dict[str, str]:
    """The Uri-Query options as a dict; a repeated key or an empty key raises QueryError."""
    out: dict[str, str] = {}
    for item in request.opt.uri_query:
        key, sep, value = item.partition("=")
        if not key:
            raise QueryError(f"query item {item!r} has no name; send name=value pairs")
        if key in out:
            raise QueryError(f"query parameter {key!r} is given twice; send it once")
        out[key] = value if sep else ""
    return out


def transport_kind(remote: object) -> str:
    """The harness transport kind of a request's remote: tls-record, tcp-length or udp."""
    kind = getattr(remote, "kind", None)
    return kind if kind in ("tls-record", "tcp-length") else "udp"


def peer_cert_der(remote: object) -> bytes | None:
    """The verified TLS peer certificate (DER) of a remote, None without TLS."""
    return peer_certificate(remote)


def describe_remote(remote: object) -> str:
    """A short log form of a remote (transport and address; no secrets)."""
    host = getattr(remote, "hostinfo", None) or "?"
    return f"{transport_kind(remote)}:{host}"


async def request_remote(context: aiocoap.Context, remote: object, code: Code, path: tuple[str, ...],
                         *, payload: bytes = b"", content_format: int | None = None,
                         timeout: float) -> Message:
    """Send a server-initiated request to a client's remote; its response within `timeout` s.

    A body over 512 bytes goes as 512-byte Block1 blocks with one token, restarting at block 0
    with a smaller size on a 4.13 (what the Device Management Client accepts; aiocoap's own
    block-wise client does none of the three). Responses in Block2 are still gathered by aiocoap.
    """
    msg = Message(code=code, uri_path=path, payload=payload)
    msg.remote = remote
    if content_format is not None:
        msg.opt.content_format = content_format
    async with asyncio.timeout(timeout):
        if len(payload) > MAX_BLOCK_SIZE:
            return await send_blockwise(context, msg, block_size=MAX_BLOCK_SIZE, timeout=timeout)
        response = await context.request(msg).response
        wanted = response.opt.block1.size if response.code == Code.REQUEST_ENTITY_TOO_LARGE \
            and response.opt.block1 is not None and payload else None
        if wanted is not None and wanted < len(payload):
            return await send_blockwise(context, msg, block_size=wanted, timeout=timeout)
        return response

