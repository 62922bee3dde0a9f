"""OMA LwM2M TLV codec (content-format 11542 and legacy 99), both directions.

Wire layout of one entry (LwM2M TS 1.0 section 6.4.3):
type byte = kind (bits 7-6) | 16-bit id flag (bit 5) | length type (bits 4-3) | short length
(bits 2-0), then the 8/16-bit identifier, then a 0/8/16/24-bit big-endian length, then the value.
"""

from __future__ import annotations

import datetime as dt
import math
import struct
from dataclasses import dataclass, field
from enum import IntEnum

from harness.errors import HilError

Value = int | float | bool | str | bytes | dt.datetime
"""A resource value that can be encoded (datetime is sent as UNIX seconds)."""

ResourceValues = dict[int, "Value | dict[int, Value]"]
DecodedResources = dict[int, "bytes | dict[int, bytes]"]

_MAX_ID = 0xFFFF
_MAX_LENGTH = 0xFFFFFF


class TlvError(HilError):
    """TLV bytes or values that cannot be encoded or decoded."""


class TlvKind(IntEnum):
    """The identifier type of a TLV entry (bits 7-6 of the type byte)."""

    OBJECT_INSTANCE = 0
    RESOURCE_INSTANCE = 1
    MULTIPLE_RESOURCE = 2
    RESOURCE = 3


@dataclass
class TlvEntry:
    """One decoded TLV entry; containers (object instance, multiple resource) have children."""

    kind: TlvKind
    id: int
    value: bytes = b""
    children: list[TlvEntry] = field(default_factory=list)


# --------------------------------------------------------------------------- values


def encode_value(value: Value) -> bytes:
    """Encode one value: int (minimal signed 1/2/4/8 bytes), float (4 or 8), bool, str, bytes."""
    if isinstance(value, bool):
        return b"\x01" if value else b"\x00"
    if isinstance(value, int):
        for size in (1, 2, 4, 8):
            if -(1 << (8 * size - 1)) <= value < (1 << (8 * size - 1)):
                return value.to_bytes(size, "big", signed=True)
        raise TlvError(f"Integer {value} does not fit in 64 signed bits; use a smaller value.")
    if isinstance(value, float):
        try:
            single = struct.pack(">f", value)
        except OverflowError:
            return struct.pack(">d", value)
        if math.isnan(value) or struct.unpack(">f", single)[0] == value:
            return single
        return struct.pack(">d", value)
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, dt.datetime):
        return encode_value(int(value.timestamp()))
    raise TlvError(
        f"Cannot encode a {type(value).__name__} as a TLV value; "
        "use int, float, bool, str, bytes or datetime."
    )


def as_int(data: bytes) -> int:
    """Decode a TLV integer (or time): 1, 2, 4 or 8 bytes, signed big-endian."""
    if len(data) not in (1, 2, 4, 8):
        raise TlvError(
            f"A TLV integer has 1, 2, 4 or 8 bytes, got {len(data)}; check the resource type."
        )
    return int.from_bytes(data, "big", signed=True)


def as_float(data: bytes) -> float:
    """Decode a TLV float: 4 or 8 bytes IEEE 754 big-endian."""
    if len(data) == 4:
        return struct.unpack(">f", data)[0]
    if len(data) == 8:
        return struct.unpack(">d", data)[0]
    raise TlvError(f"A TLV float has 4 or 8 bytes, got {len(data)}; check the resource type.")


def as_bool(data: bytes) -> bool:
    """Decode a TLV boolean: one byte, 0 or 1."""
    if data not in (b"\x00", b"\x01"):
        raise TlvError(
            f"A TLV boolean is one byte 0 or 1, got {data[:8].hex()!r}; check the resource type."
        )
    return data == b"\x01"


def as_str(data: bytes) -> str:
    """Decode a TLV string (UTF-8)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TlvError(
            f"A TLV string is not valid UTF-8 ({exc.reason}); check the resource type."
        ) from None


def as_time(data: bytes) -> dt.datetime:
    """Decode a TLV time (UNIX seconds) as an aware UTC datetime."""
    return dt.datetime.fromtimestamp(as_int(data), dt.UTC)


# --------------------------------------------------------------------------- entries


def encode_entry(kind: TlvKind, ident: int, payload: bytes) -> bytes:
    """Encode one TLV entry of `kind` with identifier `ident` around an encoded payload."""
    if not 0 <= ident <= _MAX_ID:
        raise TlvError(f"TLV identifier {ident} is outside 0..65535; use a valid LwM2M id.")
    length = len(payload)
    if length > _MAX_LENGTH:
        raise TlvError(f"TLV value of {length} bytes exceeds the 24-bit length limit; split it.")
    type_byte = int(kind) << 6
    head = b""
    if ident > 0xFF:
        type_byte |= 0x20
        head += ident.to_bytes(2, "big")
    else:
        head += bytes([ident])
    if length <= 7:
        type_byte |= length
    elif length <= 0xFF:
        type_byte |= 0x08
        head += length.to_bytes(1, "big")
    elif length <= 0xFFFF:
        type_byte |= 0x10
        head += length.to_bytes(2, "big")
    else:
        type_byte |= 0x18
        head += length.to_bytes(3, "big")
    return bytes([type_byte]) + head + payload


def _encode_resource(rid: int, value: Value | dict[int, Value]) -> bytes:
    if isinstance(value, dict):
        inner = b"".join(
            encode_entry(TlvKind.RESOURCE_INSTANCE, _check_id(iid), encode_value(v))
            for iid, v in sorted(value.items())
        )
        return encode_entry(TlvKind.MULTIPLE_RESOURCE, _check_id(rid), inner)
    return encode_entry(TlvKind.RESOURCE, _check_id(rid), encode_value(value))


def _check_id(ident: object) -> int:
    if not isinstance(ident, int) or isinstance(ident, bool):
        raise TlvError(f"TLV identifier {ident!r} is not an integer; use numeric LwM2M ids.")
    return ident


def encode_resources(resources: ResourceValues) -> bytes:
    """Encode one instance's resources (a dict value = multiple-instance resource), no wrapper."""
    return b"".join(_encode_resource(rid, v) for rid, v in sorted(resources.items()))


def encode_instances(instances: dict[int, ResourceValues]) -> bytes:
    """Encode object instances, each wrapped in an object-instance entry."""
    return b"".join(
        encode_entry(TlvKind.OBJECT_INSTANCE, _check_id(iid), encode_resources(res))
        for iid, res in sorted(instances.items())
    )


def _parse_one(data: bytes, pos: int) -> tuple[TlvKind, int, bytes, int]:
    end = len(data)
    type_byte = data[pos]
    pos += 1
    id_len = 2 if type_byte & 0x20 else 1
    len_len = (type_byte >> 3) & 0x03
    if pos + id_len + len_len > end:
        raise TlvError(
            f"TLV entry at byte {pos - 1} is truncated in its header; send the complete payload."
        )
    ident = int.from_bytes(data[pos:pos + id_len], "big")
    pos += id_len
    if len_len:
        length = int.from_bytes(data[pos:pos + len_len], "big")
        pos += len_len
    else:
        length = type_byte & 0x07
    if pos + length > end:
        raise TlvError(
            f"TLV entry id {ident} declares {length} value bytes but only {end - pos} remain; "
            "send the complete payload."
        )
    return TlvKind(type_byte >> 6), ident, data[pos:pos + length], pos + length


def decode(data: bytes) -> list[TlvEntry]:
    """Decode TLV bytes into entries; containers are decoded recursively."""
    data = bytes(data)
    entries: list[TlvEntry] = []
    pos = 0
    while pos < len(data):
        kind, ident, value, pos = _parse_one(data, pos)
        if kind is TlvKind.OBJECT_INSTANCE:
            children = decode(value)
            allowed = (TlvKind.RESOURCE, TlvKind.MULTIPLE_RESOURCE)
            bad = [c for c in children if c.kind not in allowed]
            if bad:
                raise TlvError(
                    f"Object instance {ident} contains a {bad[0].kind.name.lower()} entry; "
                    "it may only hold resources."
                )
            entries.append(TlvEntry(kind, ident, b"", children))
        elif kind is TlvKind.MULTIPLE_RESOURCE:
            children = decode(value)
            bad = [c for c in children if c.kind is not TlvKind.RESOURCE_INSTANCE]
            if bad:
                raise TlvError(
                    f"Multiple resource {ident} contains a {bad[0].kind.name.lower()} entry; "
                    "it may only hold resource instances."
                )
            entries.append(TlvEntry(kind, ident, b"", children))
        else:
            entries.append(TlvEntry(kind, ident, value))
    return entries


def resources_of(entries: list[TlvEntry]) -> DecodedResources:
    """The resources of decoded resource entries: {id: value or {instance: value}}."""
    out: DecodedResources = {}
    for entry in entries:
        if entry.kind is TlvKind.RESOURCE:
            out[entry.id] = entry.value
        elif entry.kind is TlvKind.MULTIPLE_RESOURCE:
            out[entry.id] = {c.id: c.value for c in entry.children}
        else:
            raise TlvError(
                f"Expected resources but found a {entry.kind.name.lower()} entry (id {entry.id}); "
                "write to an instance path with resource entries."
            )
    return out


def decode_resources(data: bytes) -> DecodedResources:
    """Decode one instance's resources (bare list, or wrapped in a single object instance)."""
    entries = decode(data)
    if entries and all(e.kind is TlvKind.OBJECT_INSTANCE for e in entries):
        if len(entries) != 1:
            raise TlvError(
                f"Expected one object instance but the payload holds {len(entries)}; "
                "use decode_instances for object-level payloads."
            )
        return resources_of(entries[0].children)
    return resources_of(entries)


def decode_instances(data: bytes) -> dict[int, DecodedResources]:
    """Decode object-level TLV: object-instance entries, each holding resources."""
    out: dict[int, DecodedResources] = {}
    for entry in decode(data):
        if entry.kind is not TlvKind.OBJECT_INSTANCE:
            raise TlvError(
                f"Expected object instances but found a {entry.kind.name.lower()} entry "
                f"(id {entry.id}); use decode_resources for instance-level payloads."
            )
        out[entry.id] = resources_of(entry.children)
    return out
