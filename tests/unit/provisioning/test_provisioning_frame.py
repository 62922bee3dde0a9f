"""Frame codec: encoding, incremental parsing, bad frames with the documented statuses."""

from __future__ import annotations

import hashlib
import struct

import pytest

from harness.provisioning.frame import (
    TOKEN,
    BadFrame,
    FrameReader,
    FtcdStatus,
    RequestFrame,
    ResponseFrame,
    encode_request,
    encode_response,
)


def test_ftcd_status_has_all_sixteen_values():
    assert [s.value for s in FtcdStatus] == list(range(16))
    assert FtcdStatus(8).name == "INCONSISTENT_MESSAGE_SIGNATURE"


def test_request_layout_is_token_le_length_message_sha256():
    message = b"\xa1\x61a\x01"
    frame = encode_request(message)
    assert frame[:8] == b"mbedprov"
    assert frame[8:12] == struct.pack("<I", len(message))
    assert frame[12:12 + len(message)] == message
    assert frame[12 + len(message):] == hashlib.sha256(message).digest()


def test_error_response_is_twelve_bytes():
    frame = encode_response(FtcdStatus.INCONSISTENT_MESSAGE_SIGNATURE)
    assert frame == TOKEN + b"\x08\x00\x00\x00"


def test_success_response_carries_length_message_and_hash():
    frame = encode_response(0, b"\xbf\xff")
    assert frame == TOKEN + bytes(4) + b"\x02\x00\x00\x00\xbf\xff" + hashlib.sha256(
        b"\xbf\xff").digest()


def test_request_round_trip_byte_by_byte_with_log_text_around():
    message = bytes(range(200))
    stream = b"[INFO][fce ]: boot\r\nmbedpr" + encode_request(message) + b"tail text"
    reader = FrameReader("request")
    frames = []
    for i in range(len(stream)):
        frames += reader.feed(stream[i:i + 1])
    assert frames == [RequestFrame(message)]
    assert reader.take_text() == b"[INFO][fce ]: boot\r\nmbedprtail text"


def test_two_frames_in_one_chunk_are_both_returned():
    reader = FrameReader("request")
    frames = reader.feed(encode_request(b"\x01") + b"\n" + encode_request(b"\x02"))
    assert frames == [RequestFrame(b"\x01"), RequestFrame(b"\x02")]


def test_zero_length_is_failed_to_read_message_size():
    reader = FrameReader("request")
    frames = reader.feed(TOKEN + bytes(4) + encode_request(b"\x05"))
    assert isinstance(frames[0], BadFrame)
    assert frames[0].status == FtcdStatus.FAILED_TO_READ_MESSAGE_SIZE == 4
    assert frames[1] == RequestFrame(b"\x05")  # the reader recovers for the next frame


def test_hash_mismatch_is_inconsistent_message_signature():
    frame = bytearray(encode_request(b"hello"))
    frame[-1] ^= 0xFF
    (parsed,) = FrameReader("request").feed(bytes(frame))
    assert isinstance(parsed, BadFrame)
    assert parsed.status == FtcdStatus.INCONSISTENT_MESSAGE_SIGNATURE == 8


def test_huge_length_is_rejected_without_waiting_for_it():
    reader = FrameReader("request", max_message_size=1024)
    (parsed,) = reader.feed(TOKEN + struct.pack("<I", 0x7FFFFFFF))
    assert isinstance(parsed, BadFrame)
    assert parsed.status == FtcdStatus.MEMORY_OUT
    assert not reader.in_frame


def test_partial_frame_waits_for_more_bytes():
    frame = encode_request(b"x" * 50)
    reader = FrameReader("request")
    assert reader.feed(frame[:30]) == []
    assert reader.in_frame
    assert reader.feed(frame[30:]) == [RequestFrame(b"x" * 50)]


@pytest.mark.parametrize("status", [1, 8, 9, 15, 0xDEADBEEF])
def test_response_reader_returns_error_status_without_body(status):
    (parsed,) = FrameReader("response").feed(b"log\n" + encode_response(status) + b"more")
    assert parsed == ResponseFrame(status=status, message=None)


def test_response_reader_parses_success_body():
    (parsed,) = FrameReader("response").feed(encode_response(0, b"\xbf\xff"))
    assert parsed == ResponseFrame(status=0, message=b"\xbf\xff")


def test_response_reader_reports_bad_hash():
    frame = bytearray(encode_response(0, b"\xbf\xff"))
    frame[-3] ^= 1
    (parsed,) = FrameReader("response").feed(bytes(frame))
    assert isinstance(parsed, BadFrame) and parsed.status == 8


def test_sda_token_is_not_a_frame():
    reader = FrameReader("request")
    assert reader.feed(b"mbeddbap" + struct.pack(">I", 1) + b"\x00" + bytes(32)) == []


def test_repr_does_not_show_message_bytes():
    assert "secret" not in repr(RequestFrame(b"secret-key-bytes"))
