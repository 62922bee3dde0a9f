"""The Device object /3/0 the client serves while registered: Read, Write, Execute."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from aiocoap import Code, Message

from harness.lwm2m import tlv
from harness.lwm2m.ids import DEVICE, ContentFormat, Device
from harness.lwm2m.linkformat import Link, format_links
from harness.provisioning import items
from harness.sim.client.app_objects import APP_LINKS
from harness.sim.client.router import numeric_path, path_of
from harness.sim.client.settings import ClientSettings

WRITABLE = frozenset({Device.CURRENT_TIME, Device.UTC_OFFSET, Device.TIMEZONE})
EXECUTABLE = frozenset({Device.REBOOT, Device.FACTORY_RESET})
STATIC = frozenset({Device.MANUFACTURER, Device.MODEL_NUMBER, Device.SERIAL_NUMBER})
"""Set once at start: the real client registers them with their value `v` and without `obs`, its
other resources with `obs` and no value (tests/peers/test_peer_pdmc_register_values.py)."""
AOBS_TOKEN = 414
"""The real client gives each static value an auto-observation token (`aobs="414"`, one per link)."""
TLV_FORMATS = (ContentFormat.TLV, ContentFormat.LEGACY_TLV)
CLOCK_WRITE_FORMATS = (None, ContentFormat.TEXT, ContentFormat.OPAQUE, *TLV_FORMATS)
"""Writes of /3/0/13 the real client answers 2.04 (measured: tests/peers/test_peer_pdmc_writes.py)."""

Value = int | str | bool | bytes | dt.datetime | dict[int, int]


def _text(value: Value) -> bytes:
    if isinstance(value, dt.datetime):
        return str(int(value.timestamp())).encode()
    if isinstance(value, bool):
        return b"1" if value else b"0"
    if isinstance(value, bytes):
        return value
    return str(value).encode()


def client_device_values(store, firmware: Any, settings: ClientSettings,
                         now: Callable[[], dt.datetime] | None) -> dict[int, Value | Callable[[], Value]]:
    """The client's /3/0 values: stored items read on demand, firmware and build constants; the
    Current Time `now()` only for a client that had a stored time when it started (the real
    client has no /3/0/13 at its first registration: tests/peers/test_peer_pdmc_writes.py)."""

    def stored(name: str, default: str = "") -> Callable[[], str]:
        return lambda: store.get_str(name) or default

    values: dict[int, Value | Callable[[], Value]] = {
        Device.MANUFACTURER: stored(items.MANUFACTURER),
        Device.MODEL_NUMBER: stored(items.MODEL_NUMBER),
        Device.SERIAL_NUMBER: stored(items.SERIAL_NUMBER),
        Device.ERROR_CODE: {0: 0},
        Device.SUPPORTED_BINDINGS: "UQ" if settings.queue_mode else "U",
        Device.DEVICE_TYPE: stored(items.DEVICE_TYPE),
        Device.HARDWARE_VERSION: stored(items.HARDWARE_VERSION),
        Device.MEMORY_TOTAL: lambda: store.get_int(items.MEMORY_TOTAL_KB) or 0,
    }
    if now is not None:
        values[Device.CURRENT_TIME] = now
    for rid, name in ((Device.UTC_OFFSET, items.UTC_OFFSET), (Device.TIMEZONE, items.TIMEZONE)):
        if store.get_str(name):  # the real client has them only when stored (else 4.04)
            values[rid] = stored(name)
    return values


class DeviceObject:
    """Values of /3/0 (callables are read on demand) and the Execute hooks."""

    def __init__(
        self,
        values: dict[int, Value | Callable[[], Value]],
        on_execute: Callable[[int], None],
    ) -> None:
        """`values` per resource id; `on_execute(resource_id)` runs after the 2.04 is sent."""
        self.values = values
        self.on_execute = on_execute

    def value(self, rid: int) -> Value:
        """The current value of resource `rid`."""
        value = self.values[rid]
        return value() if callable(value) else value

    def readable(self) -> list[int]:
        """Resource ids that can be read."""
        return sorted(rid for rid in self.values if rid not in EXECUTABLE)

    def links(self) -> str:
        """The Register body: one link per resource with Izuma attributes, then the application's
        other objects."""
        links = []
        for rid in sorted(set(self.values) | EXECUTABLE):
            if rid in EXECUTABLE:
                links.append(Link(f"/3/0/{rid}"))
                continue
            value = self.value(rid)
            attrs: dict[str, str | bool] = {"obs": True}
            if rid in STATIC:  # the real client sends no value of its observable resources
                attrs = {"v": _text(value).decode("utf-8", errors="replace"),
                         "aobs": str(AOBS_TOKEN + rid)}
            links.append(Link(f"/3/0/{rid}", attrs))
            if isinstance(value, dict):  # a multiple resource: its instances are links too
                links += [Link(f"/3/0/{rid}/{i}", {"obs": True}) for i in sorted(value)]
        return format_links([*links, *APP_LINKS])

    async def handle(self, request: Message) -> Message:
        """Answer one server request to /3/0[/r]."""
        path = numeric_path(path_of(request))
        if not path or path[0] != DEVICE or len(path) > 4 or (len(path) > 1 and path[1] != 0):
            return Message(code=Code.NOT_FOUND)
        rid = path[2] if len(path) >= 3 else None
        if rid is not None and rid not in self.values and rid not in EXECUTABLE:
            return Message(code=Code.NOT_FOUND)
        if len(path) == 4:
            value = self.value(rid) if rid in self.values else None
            return self._read_instance(request, value, path[3])
        if request.code == Code.GET:
            return self._read(request, rid)
        if request.code == Code.PUT:
            return self._write(request, rid)
        if request.code == Code.POST and rid in EXECUTABLE:
            self.on_execute(rid)
            return Message(code=Code.CHANGED)
        return Message(code=Code.METHOD_NOT_ALLOWED)

    def _read(self, request: Message, rid: int | None) -> Message:
        accept = request.opt.accept
        if rid in EXECUTABLE:
            return Message(code=Code.METHOD_NOT_ALLOWED)
        if rid is None:
            if accept not in (None, *TLV_FORMATS):
                return Message(code=Code.NOT_ACCEPTABLE)
            payload = tlv.encode_resources(
                {r: self._tlv_value(self.value(r)) for r in self.readable()})
            return Message(code=Code.CONTENT, payload=payload, content_format=ContentFormat.TLV)
        value = self.value(rid)
        if accept in TLV_FORMATS or isinstance(value, dict):
            payload = tlv.encode_resources({rid: self._tlv_value(value)})
            return Message(code=Code.CONTENT, payload=payload, content_format=ContentFormat.TLV)
        if accept not in (None, ContentFormat.TEXT):
            return Message(code=Code.NOT_ACCEPTABLE)
        return Message(code=Code.CONTENT, payload=_text(value), content_format=ContentFormat.TEXT)

    @staticmethod
    def _read_instance(request: Message, value: Value | None, instance: int) -> Message:
        """A Read of one instance of a multiple resource (/3/0/11/0 reads `0` on the real client:
        tests/peers/test_peer_pdmc_registered_server.py)."""
        if not isinstance(value, dict) or instance not in value:
            return Message(code=Code.NOT_FOUND)
        if request.code != Code.GET:
            return Message(code=Code.METHOD_NOT_ALLOWED)
        if request.opt.accept not in (None, ContentFormat.TEXT):
            return Message(code=Code.NOT_ACCEPTABLE)
        return Message(code=Code.CONTENT, payload=_text(value[instance]),
                       content_format=ContentFormat.TEXT)

    @staticmethod
    def _tlv_value(value: Value):
        return dict(value) if isinstance(value, dict) else value

    def _write(self, request: Message, rid: int | None) -> Message:
        if rid is None or rid not in WRITABLE:
            return Message(code=Code.METHOD_NOT_ALLOWED)
        if rid == Device.CURRENT_TIME:  # the real client: 2.04 to any payload, its clock runs on
            written = request.opt.content_format in CLOCK_WRITE_FORMATS
            return Message(code=Code.CHANGED if written else Code.UNSUPPORTED_CONTENT_FORMAT)
        payload = bytes(request.payload)
        try:
            if request.opt.content_format in TLV_FORMATS:
                raw = tlv.decode_resources(payload).get(rid)
                if not isinstance(raw, bytes):
                    return Message(code=Code.BAD_REQUEST)
                value: Value = tlv.as_str(raw)
            elif request.opt.content_format in (None, ContentFormat.TEXT):
                value = payload.decode("utf-8")
            else:
                return Message(code=Code.UNSUPPORTED_CONTENT_FORMAT)
        except (tlv.TlvError, ValueError, UnicodeDecodeError):
            return Message(code=Code.BAD_REQUEST)
        self.values[rid] = value  # not registered again: the real client's Updates carry no body
        return Message(code=Code.CHANGED)
