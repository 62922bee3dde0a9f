"""Firmware image format: build, parse, and the errors of blank/corrupt/truncated flash."""

from __future__ import annotations

import pytest

from harness.sim.firmware import HEADER, PAGE_SIZE, FirmwareError, build_image, parse_image


def test_build_parse_roundtrip() -> None:
    image = build_image("factory", client_version="4.7.1", transport="udp")
    assert len(image) % PAGE_SIZE == 0
    parsed = parse_image(image + b"\xff" * 100)
    assert (parsed.name, parsed.client_version, parsed.mode, parsed.transport) == (
        "factory", "4.7.1", "factory", "udp")
    assert parsed.developer_credentials() is None


def test_developer_image_carries_credentials() -> None:
    creds = {"endpoint_name": "dev-ep", "bootstrap_uri": "coaps://127.0.0.1:1?aid=1",
             "device_cert_der": b"\x30\x01", "private_key_der": b"\x30\x02", "server_ca_der": b"\x30\x03"}
    parsed = parse_image(build_image("developer", mode="developer", developer_credentials=creds))
    assert parsed.developer_credentials() == creds
    with pytest.raises(FirmwareError, match="needs developer credentials"):
        build_image("developer", mode="developer")


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda img: b"\xff" * len(img), "blank"),
    (lambda img: b"XXXX" + img[4:], "bad magic"),
    (lambda img: img[:HEADER.size + 10], "truncated"),
    (lambda img: img[:HEADER.size + 5] + bytes([img[HEADER.size + 5] ^ 1]) + img[HEADER.size + 6:],
     "CRC mismatch"),
])
def test_unbootable_images_say_why(mutate, message: str) -> None:
    with pytest.raises(FirmwareError, match=message):
        parse_image(mutate(build_image("factory")))
