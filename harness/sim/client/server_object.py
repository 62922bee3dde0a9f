"""The client's Server object /1/0 while registered: the LwM2M server reads it, writes its
lifetime and executes its Registration Update Trigger; the write and the Execute each make the
client send an Update at once, as the real client does
(tests/peers/test_peer_pdmc_registered_server.py)."""

from __future__ import annotations

from collections.abc import Callable

from aiocoap import Message
from aiocoap.numbers.codes import Code

from harness.lwm2m import tlv
from harness.lwm2m.ids import SERVER, ContentFormat, Server
from harness.sim.client.router import numeric_path, path_of
from harness.sim.client.settings import ClientSettings
from harness.transport.registry import kinds_on, transport

SHORT_SERVER_ID = 1
READABLE = (Server.SHORT_SERVER_ID, Server.LIFETIME, Server.STORING, Server.BINDING)
"""The resources the real client answers a Read of (text/plain, or TLV for the instance)."""
EXECUTABLE = (Server.DISABLE, Server.UPDATE_TRIGGER)
"""A Read of these is 4.05 (measured for /1/0/8)."""
TLV_FORMATS = (ContentFormat.TLV, ContentFormat.LEGACY_TLV)
TEXT_FORMATS = (None, ContentFormat.TEXT)


def binding_of(settings: ClientSettings) -> str:
    """/1/0/7: the binding letter of the image's network (`T` for the TCP build, measured; `U`
    over UDP), with `Q` in queue mode."""
    letter = transport(kinds_on(settings.transport)[0]).binding
    return letter + ("Q" if settings.queue_mode else "")


class ServerObject:
    """Answers the LwM2M server's requests to /1/0 of a registered client."""

    def __init__(self, lifetime: Callable[[], int], binding: str,
                 update_now: Callable[[int | None], None]) -> None:
        """`lifetime()`: the registration's lifetime; `update_now(lifetime)`: send an Update now,
        naming `lifetime` when a write changed it (None: unchanged)."""
        self.lifetime = lifetime
        self.binding = binding
        self.update_now = update_now

    def values(self) -> dict[int, int | str | bool]:
        """The readable resources' current values."""
        return {Server.SHORT_SERVER_ID: SHORT_SERVER_ID, Server.LIFETIME: self.lifetime(),
                Server.STORING: False, Server.BINDING: self.binding}

    async def handle(self, request: Message) -> Message:
        """Answer one request to /1/0[/r]."""
        path = numeric_path(path_of(request))
        if path is None or len(path) not in (2, 3) or path[:2] != (SERVER, 0):
            return Message(code=Code.NOT_FOUND)
        rid = path[2] if len(path) == 3 else None
        if rid is not None and rid not in READABLE and rid not in EXECUTABLE:
            return Message(code=Code.NOT_FOUND)
        if request.code == Code.GET:
            return self._read(request, rid)
        if request.code == Code.POST and rid == Server.UPDATE_TRIGGER:
            self.update_now(None)
            return Message(code=Code.CHANGED)
        if request.code == Code.PUT and rid == Server.LIFETIME:
            return self._write_lifetime(request)
        return Message(code=Code.METHOD_NOT_ALLOWED)

    def _read(self, request: Message, rid: int | None) -> Message:
        if rid in EXECUTABLE:
            return Message(code=Code.METHOD_NOT_ALLOWED)
        if rid is None or request.opt.accept in TLV_FORMATS:
            values = self.values() if rid is None else {rid: self.values()[rid]}
            return Message(code=Code.CONTENT, payload=tlv.encode_resources(values),
                           content_format=ContentFormat.TLV)
        if request.opt.accept not in TEXT_FORMATS:
            return Message(code=Code.NOT_ACCEPTABLE)
        value = self.values()[rid]
        text = str(int(value)) if isinstance(value, bool) else str(value)
        return Message(code=Code.CONTENT, payload=text.encode(), content_format=ContentFormat.TEXT)

    def _write_lifetime(self, request: Message) -> Message:
        try:
            if request.opt.content_format in TLV_FORMATS:
                lifetime = tlv.as_int(tlv.decode_resources(bytes(request.payload))[Server.LIFETIME])
            elif request.opt.content_format in TEXT_FORMATS:
                lifetime = int(bytes(request.payload).decode("ascii"))
            else:
                return Message(code=Code.UNSUPPORTED_CONTENT_FORMAT)
        except (tlv.TlvError, KeyError, TypeError, ValueError):
            return Message(code=Code.BAD_REQUEST)
        if lifetime <= 0:
            return Message(code=Code.BAD_REQUEST)
        self.update_now(lifetime if lifetime != self.lifetime() else None)
        return Message(code=Code.CHANGED)
