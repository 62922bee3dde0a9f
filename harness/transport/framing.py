"""Byte framing of the stream transports: TLS record boundaries and 4-byte length prefixes.

tls-record reads one CoAP message per TLS record. The incoming ciphertext is split at TLS
record boundaries using the 5-byte record header (type, version, 16-bit length) and fed to the
SSLObject one record at a time; everything SSLObject.read() returns before it wants more input
is then the plaintext of exactly that record, i.e. one CoAP message.
"""

from __future__ import annotations

from harness.errors import HilError

TLS_HEADER_LEN = 5
TLS_MAX_RECORD = (1 << 14) + 2048  # largest TLS 1.2 ciphertext fragment (RFC 5246 6.2.3)
_TLS_CONTENT_TYPES = frozenset({20, 21, 22, 23, 24})
LENGTH_PREFIX_LEN = 4
MAX_MESSAGE = 64 * 1024


class FrameError(HilError):
    """Bytes on a stream connection that break its framing; the connection must be closed."""


def tls_record_end(data: bytes | bytearray, offset: int = 0) -> int | None:
    """Where the TLS record starting at `offset` of `data` ends, or None if it is incomplete."""
    if len(data) - offset < TLS_HEADER_LEN:
        return None
    if data[offset] not in _TLS_CONTENT_TYPES or data[offset + 1] != 3:
        raise FrameError(
            f"Bytes {bytes(data[offset:offset + 3]).hex()} are not a TLS record header; "
            "the peer must speak TLS on this port."
        )
    length = (data[offset + 3] << 8) | data[offset + 4]
    if length > TLS_MAX_RECORD:
        raise FrameError(
            f"TLS record of {length} bytes exceeds the protocol maximum; the peer is not TLS."
        )
    end = offset + TLS_HEADER_LEN + length
    return end if len(data) >= end else None


def take_tls_record(buffer: bytearray) -> bytes | None:
    """Remove and return the first complete TLS record of `buffer`, or None if incomplete."""
    end = tls_record_end(buffer)
    if end is None:
        return None
    with memoryview(buffer) as view:
        record = bytes(view[:end])
    del buffer[:end]
    return record


def length_prefixed(message: bytes) -> bytes:
    """Prefix a CoAP message with its 4-byte big-endian length (tcp-length framing)."""
    if len(message) > MAX_MESSAGE:
        raise FrameError(
            f"CoAP message of {len(message)} bytes exceeds {MAX_MESSAGE}; use block-wise."
        )
    return len(message).to_bytes(LENGTH_PREFIX_LEN, "big") + message


def take_length_prefixed(buffer: bytearray) -> bytes | None:
    """Remove and return the first complete length-prefixed message of `buffer`, or None."""
    if len(buffer) < LENGTH_PREFIX_LEN:
        return None
    length = int.from_bytes(buffer[:LENGTH_PREFIX_LEN], "big")
    if length > MAX_MESSAGE:
        raise FrameError(
            f"Length prefix announces {length} bytes, more than {MAX_MESSAGE}; "
            "the peer must send a 4-byte big-endian length before each CoAP message."
        )
    end = LENGTH_PREFIX_LEN + length
    if len(buffer) < end:
        return None
    message = bytes(buffer[LENGTH_PREFIX_LEN:end])
    del buffer[:end]
    return message
