"""Virtual-board firmware images: header + JSON manifest + payload, with a CRC32.

Layout (little-endian), padded with 0xFF to the flash page size::

    magic     4  b"DMHF"
    version   2  format version (1)
    reserved  2  0
    man_len   4  length of the JSON manifest
    pay_len   4  length of the payload
    crc32     4  zlib.crc32 over manifest + payload
    manifest  man_len bytes (UTF-8 JSON)
    payload   pay_len bytes (the "application code"; opaque to the board)

The manifest names the client version, mode (factory | developer), transport (tcp | udp),
console dialect and, for developer images, the compiled-in developer credentials (DER fields
base64-encoded), like the real client's mbed_cloud_dev_credentials.c.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.errors import HilError
from harness.transport.registry import NETWORKS

MAGIC = b"DMHF"
FORMAT_VERSION = 1
HEADER = struct.Struct("<4sHHIII")
PAGE_SIZE = 4096
ERASED = 0xFF
MODES = ("factory", "developer")
TRANSPORTS = NETWORKS  # what the image is built for; the registry maps it to kinds
# developer credential fields carried as base64 in the manifest (bytes in DeveloperCredentials)
_BINARY_FIELDS = ("device_cert_der", "server_ca_der", "private_key_der")


class FirmwareError(HilError):
    """A firmware image (or flash content) that cannot boot."""


@dataclass(frozen=True)
class FirmwareImage:
    """A parsed image: its manifest and payload."""

    manifest: dict[str, Any]
    payload: bytes = field(repr=False)

    @property
    def name(self) -> str:
        """The image name from the manifest."""
        return str(self.manifest.get("name", "?"))

    @property
    def client_version(self) -> str:
        """The Device Management Client version, e.g. '4.13.4'."""
        return str(self.manifest["client_version"])

    @property
    def mode(self) -> str:
        """'factory' or 'developer'."""
        return str(self.manifest["mode"])

    @property
    def transport(self) -> str:
        """'tcp' or 'udp'."""
        return str(self.manifest.get("transport", "tcp"))

    def developer_credentials(self) -> dict[str, Any] | None:
        """The compiled-in developer credentials (DER fields decoded to bytes), or None."""
        creds = self.manifest.get("developer_credentials")
        if not creds:
            return None
        out = dict(creds)
        for key in _BINARY_FIELDS:
            if key in out:
                out[key] = base64.b64decode(out[key])
        return out


def _encode_credentials(creds: Mapping[str, Any] | Any) -> dict[str, Any]:
    """Credentials (a mapping or a dataclass like devcreds.DeveloperCredentials) as JSON-safe."""
    data = dict(creds) if isinstance(creds, Mapping) else dict(vars(creds))
    out: dict[str, Any] = {}
    for key, value in data.items():
        out[key] = base64.b64encode(value).decode() if isinstance(value, bytes | bytearray) else value
    return out


def build_image(
    name: str,
    *,
    client_version: str = "4.13.4",
    mode: str = "factory",
    transport: str = "tcp",
    dialect: str = "pdmc_example",
    developer_credentials: Mapping[str, Any] | Any | None = None,
    extra: Mapping[str, Any] | None = None,
    page_size: int = PAGE_SIZE,
) -> bytes:
    """Build an image (bytes, padded to `page_size`); developer images need credentials."""
    if mode not in MODES:
        raise FirmwareError(f"firmware mode {mode!r} is unknown; use one of {', '.join(MODES)}.")
    if transport not in TRANSPORTS:
        raise FirmwareError(
            f"firmware transport {transport!r} is unknown; use one of {', '.join(TRANSPORTS)}."
        )
    if mode == "developer" and developer_credentials is None:
        raise FirmwareError(
            f"developer image {name!r} needs developer credentials; pass developer_credentials."
        )
    manifest: dict[str, Any] = {
        "name": name,
        "client_version": client_version,
        "mode": mode,
        "transport": transport,
        "dialect": dialect,
        **(dict(extra) if extra else {}),
    }
    if developer_credentials is not None:
        manifest["developer_credentials"] = _encode_credentials(developer_credentials)
    manifest_bytes = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    payload = _application_payload(name, client_version)
    crc = zlib.crc32(manifest_bytes + payload)
    header = HEADER.pack(MAGIC, FORMAT_VERSION, 0, len(manifest_bytes), len(payload), crc)
    image = header + manifest_bytes + payload
    padding = (-len(image)) % page_size
    return image + bytes([ERASED]) * padding


def _application_payload(name: str, client_version: str) -> bytes:
    """Deterministic stand-in for the application code (so images differ per version)."""
    seed = f"dm-hil virtual firmware {name} client {client_version}".encode()
    return b"".join(hashlib.sha256(seed + bytes([i])).digest() for i in range(8))


def parse_image(data: bytes) -> FirmwareImage:
    """Parse flash content or an image file; raise FirmwareError saying why it cannot boot."""
    if not data or all(b == ERASED for b in data[: HEADER.size]):
        raise FirmwareError("flash is blank (erased); flash a firmware image with `hil flash`.")
    if len(data) < HEADER.size:
        raise FirmwareError(
            f"image is truncated ({len(data)} bytes, header needs {HEADER.size}); rebuild it."
        )
    magic, version, _reserved, man_len, pay_len, crc = HEADER.unpack_from(data)
    if magic != MAGIC:
        raise FirmwareError(
            f"image has bad magic {magic!r} (expected {MAGIC!r}); flash a dm-hil firmware image."
        )
    if version != FORMAT_VERSION:
        raise FirmwareError(
            f"image format version {version} is not supported (expected {FORMAT_VERSION}); rebuild it."
        )
    end = HEADER.size + man_len + pay_len
    if len(data) < end:
        raise FirmwareError(
            f"image is truncated ({len(data)} bytes, header says {end}); flash the whole image."
        )
    body = bytes(data[HEADER.size:end])
    if zlib.crc32(body) != crc:
        raise FirmwareError("image CRC mismatch (corrupt flash or image); flash the image again.")
    try:
        manifest = json.loads(body[:man_len])
    except ValueError:
        raise FirmwareError("image manifest is not valid JSON; rebuild the image.") from None
    for key in ("client_version", "mode"):
        if key not in manifest:
            raise FirmwareError(f"image manifest lacks {key!r}; rebuild the image.")
    return FirmwareImage(manifest=manifest, payload=body[man_len:])
