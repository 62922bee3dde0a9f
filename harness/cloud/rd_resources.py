"""The resource directory's aiocoap resources: `/rd` (Register) and `/rd/<aid>/<id>` (Update,
De-register); the hot requests on datagram transports bypass them (harness.cloud.rd_fastpath)."""

from __future__ import annotations

from typing import Protocol

import aiocoap.resource
from aiocoap import Message


class Directory(Protocol):
    """The server methods the resources call."""

    async def register(self, request: Message) -> Message:
        """Register."""

    async def update(self, request: Message) -> Message:
        """Update."""

    async def deregister(self, request: Message) -> Message:
        """De-register."""


def mount(site: aiocoap.resource.Site, server: Directory) -> None:
    """Mount /rd (Register) and /rd/<aid>/<id> (Update, De-register) of `server` on `site`."""
    site.add_resource(("rd",), _RegisterResource(server))
    site.add_resource(("rd",), _LocationResource(server))


class _RegisterResource(aiocoap.resource.Resource):
    """`/rd`: POST = Register."""

    def __init__(self, server: Directory) -> None:
        super().__init__()
        self.server = server

    async def render_post(self, request: Message) -> Message:
        return await self.server.register(request)


class _LocationResource(aiocoap.resource.Resource, aiocoap.resource.PathCapable):
    """`/rd/<aid>/<id>`: POST = Update, DELETE = De-register."""

    def __init__(self, server: Directory) -> None:
        super().__init__()
        self.server = server

    async def render_post(self, request: Message) -> Message:
        return await self.server.update(request)

    async def render_delete(self, request: Message) -> Message:
        return await self.server.deregister(request)
