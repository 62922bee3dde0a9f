"""Framing helpers: TLS record splitting and 4-byte length prefixes."""

import pytest

from harness.transport.framing import (
    MAX_MESSAGE,
    FrameError,
    length_prefixed,
    take_length_prefixed,
    take_tls_record,
    tls_record_end,
)


def test_transport_framing_tls_records_split_at_headers():
    rec1 = b"\x17\x03\x03\x00\x02ab"
    rec2 = b"\x15\x03\x03\x00\x01z"
    buffer = bytearray(rec1 + rec2[:3])
    assert take_tls_record(buffer) == rec1
    assert take_tls_record(buffer) is None  # incomplete header
    buffer += rec2[3:]
    assert take_tls_record(buffer) == rec2 and buffer == bytearray()


def test_transport_framing_tls_record_ends_within_one_read():
    data = b"\x17\x03\x03\x00\x02ab" + b"\x15\x03\x03\x00\x01z" + b"\x17\x03"
    assert tls_record_end(data) == 7
    assert tls_record_end(data, 7) == 13
    assert tls_record_end(data, 13) is None  # a partial header stays for the next read
    with pytest.raises(FrameError):
        tls_record_end(b"\x17\x03\x03\x00\x01zGET /", 6)


@pytest.mark.parametrize("bad", [b"GET / HTTP/1.1", b"\x17\x03\x03\xff\xff"])
def test_transport_framing_tls_rejects_non_tls(bad):
    with pytest.raises(FrameError):
        take_tls_record(bytearray(bad))


def test_transport_framing_length_prefix_round_trip_and_limits():
    buffer = bytearray(length_prefixed(b"\x40\x01\x00\x01") + length_prefixed(b"") + b"\x00\x00")
    assert take_length_prefixed(buffer) == b"\x40\x01\x00\x01"
    assert take_length_prefixed(buffer) == b""
    assert take_length_prefixed(buffer) is None and buffer == bytearray(b"\x00\x00")
    with pytest.raises(FrameError, match="4-byte big-endian"):
        take_length_prefixed(bytearray((MAX_MESSAGE + 1).to_bytes(4, "big")))
    with pytest.raises(FrameError):
        length_prefixed(b"x" * (MAX_MESSAGE + 1))
