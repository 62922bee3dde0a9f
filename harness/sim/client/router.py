"""A root aiocoap resource that hands every request (with its full path) to one handler.

Block1 requests are reassembled by mbed-coap's rules (`harness.lwm2m.blockwise.Block1Receiver`),
not by aiocoap's: at most 512-byte blocks, one token per body, a lone last block is the body.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiocoap import Message
from aiocoap.resource import PathCapable, Resource

from harness.lwm2m.blockwise import Block1Receiver, is_answer

Handler = Callable[[Message], Awaitable[Message]]


class Router(Resource, PathCapable):
    """The client context's site: every server-initiated request goes to `handler`."""

    def __init__(self, handler: Handler) -> None:
        """Route all requests to `handler(request) -> response`."""
        super().__init__()
        self._handler = handler
        self.blocks = Block1Receiver()

    async def needs_blockwise_assembly(self, request: Message) -> bool:
        """False: Block1 is handled here, with the client's rules."""
        return False

    async def render(self, request: Message) -> Message:
        """Answer `request` through the handler (after Block1 reassembly)."""
        whole = self.blocks.feed(request)
        if is_answer(whole):
            return whole
        return await self._handler(whole)


def path_of(request: Message) -> tuple[str, ...]:
    """The request's Uri-Path segments without empty ones."""
    return tuple(segment for segment in request.opt.uri_path if segment)


def numeric_path(segments: tuple[str, ...]) -> tuple[int, ...] | None:
    """The path as integers, or None if a segment is not a number."""
    if not all(segment.isdigit() for segment in segments):
        return None
    return tuple(int(segment) for segment in segments)
