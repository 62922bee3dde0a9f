"""FTCD frame codec shared by host and device: `mbedprov` + LE length + CBOR + SHA-256."""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import Literal

TOKEN = b"mbedprov"
SDA_TOKEN = b"mbeddbap"  # Secure-Device-Access, big-endian: not the factory protocol
SIGNATURE_SIZE = 32
MAX_MESSAGE_SIZE = 64 * 1024  # a longer length field is garbled: reported as MEMORY_OUT
MAX_TEXT = 1024 * 1024  # console text kept between frames (the newest bytes win)


class FtcdStatus(IntEnum):
    """`ftcd_comm_status_e`: the transport status in a response frame."""

    SUCCESS = 0
    ERROR = 1
    INVALID_PARAMETER = 2
    MEMORY_OUT = 3
    FAILED_TO_READ_MESSAGE_SIZE = 4
    FAILED_TO_READ_MESSAGE_BYTES = 5
    FAILED_TO_READ_MESSAGE_SIGNATURE = 6
    FAILED_TO_CALCULATE_MESSAGE_SIGNATURE = 7
    INCONSISTENT_MESSAGE_SIGNATURE = 8
    FAILED_TO_PROCESS_DATA = 9
    FAILED_TO_PROCESS_MESSAGE = 10
    FAILED_TO_SEND_VALID_RESPONSE = 11
    NETWORK_TIMEOUT = 12
    NETWORK_CONNECTION_ERROR = 13
    NETWORK_CONNECTION_CLOSED = 14
    INTERNAL_ERROR = 15


def ftcd_status_name(value: int) -> str:
    """`FTCD_COMM_<NAME>` for a known transport status, else `FTCD_COMM_<value>`."""
    try:
        return f"FTCD_COMM_{FtcdStatus(value).name}"
    except ValueError:
        return f"FTCD_COMM_{value}"


def signature(message: bytes) -> bytes:
    """SHA-256 of the CBOR message (the frame's 'signature')."""
    return hashlib.sha256(message).digest()


def encode_request(message: bytes) -> bytes:
    """Host -> device frame: token + uint32 LE length + message + SHA-256(message)."""
    return TOKEN + struct.pack("<I", len(message)) + message + signature(message)


def encode_response(status: int, message: bytes | None = None) -> bytes:
    """Device -> host frame: token + uint32 LE status [+ length + message + SHA-256 if 0]."""
    frame = TOKEN + struct.pack("<I", int(status))
    if int(status) != FtcdStatus.SUCCESS:
        return frame
    body = message or b""
    return frame + struct.pack("<I", len(body)) + body + signature(body)


@dataclass(frozen=True)
class RequestFrame:
    """A well-formed request: the CBOR message whose SHA-256 matched."""

    message: bytes

    def __repr__(self) -> str:  # the message may carry private keys
        return f"RequestFrame(<{len(self.message)} bytes>)"


@dataclass(frozen=True)
class ResponseFrame:
    """A response: transport status and, when the status is 0, the CBOR message."""

    status: int
    message: bytes | None = None

    def __repr__(self) -> str:
        size = "none" if self.message is None else f"{len(self.message)} bytes"
        return f"ResponseFrame(status={ftcd_status_name(self.status)}, message=<{size}>)"


@dataclass(frozen=True)
class BadFrame:
    """A frame that started with the token but could not be read; `status` says why."""

    status: FtcdStatus
    detail: str


Parsed = RequestFrame | ResponseFrame | BadFrame
FrameKind = Literal["request", "response"]


class FrameReader:
    """Incremental parser: feed() raw serial bytes, get frames; text outside frames is kept.

    kind="request" parses host->device frames (device side); kind="response" parses
    device->host frames (host side). Leading garbage (log lines) is skipped while hunting for
    the token and can be collected with take_text().
    """

    def __init__(self, kind: FrameKind, *, max_message_size: int = MAX_MESSAGE_SIZE,
                 max_text: int = MAX_TEXT) -> None:
        """Make a reader for `kind` frames with caps on the message length and kept text."""
        if kind not in ("request", "response"):
            raise ValueError(f"kind must be 'request' or 'response', not {kind!r}")
        self.kind: FrameKind = kind
        self.max_message_size = max_message_size
        self.max_text = max_text
        self._buf = bytearray()
        self._text = bytearray()
        self._in_frame = False

    @property
    def in_frame(self) -> bool:
        """True while a frame has started (token seen) but is not complete."""
        return self._in_frame

    @property
    def pending(self) -> int:
        """Bytes buffered and not yet parsed."""
        return len(self._buf)

    def take_text(self) -> bytes:
        """Return and clear the bytes seen outside frames (console/log text)."""
        text = bytes(self._text)
        self._text.clear()
        return text

    def reset(self) -> None:
        """Drop any partial frame and buffered bytes (e.g. after a timeout)."""
        self._buf.clear()
        self._in_frame = False

    def feed(self, data: bytes) -> list[Parsed]:
        """Add bytes and return every frame (or bad frame) completed by them, in order."""
        self._buf += data
        out: list[Parsed] = []
        while True:
            if not self._in_frame and not self._hunt():
                return out
            parsed = self._parse_body()
            if parsed is None:
                return out
            out.append(parsed)

    def _hunt(self) -> bool:
        """Skip bytes up to the token; keep a possible partial token at the end."""
        idx = self._buf.find(TOKEN)
        if idx < 0:
            keep = _partial_token_suffix(self._buf)
            cut = len(self._buf) - keep
            self._keep_text(self._buf[:cut])
            del self._buf[:cut]
            return False
        self._keep_text(self._buf[:idx])
        del self._buf[: idx + len(TOKEN)]
        self._in_frame = True
        return True

    def _keep_text(self, text: bytes | bytearray) -> None:
        """Remember text outside frames, keeping only the newest `max_text` bytes."""
        self._text += text[-self.max_text:] if self.max_text else b""
        if len(self._text) > self.max_text:
            del self._text[: len(self._text) - self.max_text]

    def _parse_body(self) -> Parsed | None:
        """Parse after the token; None = need more bytes (state kept)."""
        if self.kind == "request":
            return self._parse_sized(0, RequestFrame)
        if len(self._buf) < 4:
            return None
        (status,) = struct.unpack_from("<I", self._buf, 0)
        if status != FtcdStatus.SUCCESS:
            self._consume(4)
            return ResponseFrame(status=status)
        return self._parse_sized(4, None)

    def _parse_sized(self, offset: int, request_cls: type[RequestFrame] | None) -> Parsed | None:
        if len(self._buf) < offset + 4:
            return None
        (size,) = struct.unpack_from("<I", self._buf, offset)
        if size == 0:
            self._consume(offset + 4)
            return BadFrame(FtcdStatus.FAILED_TO_READ_MESSAGE_SIZE, "message length is 0")
        if size > self.max_message_size:
            self._consume(offset + 4)
            return BadFrame(
                FtcdStatus.MEMORY_OUT,
                f"message length {size} exceeds the {self.max_message_size}-byte limit",
            )
        end = offset + 4 + size + SIGNATURE_SIZE
        if len(self._buf) < end:
            return None
        message = bytes(self._buf[offset + 4: offset + 4 + size])
        sig = bytes(self._buf[offset + 4 + size: end])
        self._consume(end)
        if sig != signature(message):
            return BadFrame(FtcdStatus.INCONSISTENT_MESSAGE_SIGNATURE,
                            "SHA-256 of the message does not match the frame")
        if request_cls is not None:
            return request_cls(message)
        return ResponseFrame(status=FtcdStatus.SUCCESS, message=message)

    def _consume(self, n: int) -> None:
        del self._buf[:n]
        self._in_frame = False


def _partial_token_suffix(buf: bytes | bytearray) -> int:
    """Length of the longest suffix of `buf` that is a proper prefix of TOKEN."""
    for n in range(min(len(TOKEN) - 1, len(buf)), 0, -1):
        if buf[-n:] == TOKEN[:n]:
            return n
    return 0
