"""An image whose manifest names no transport runs the TCP build.

The lab's firmware manifest says a virtual image is built for `tcp` unless it says otherwise
(harness/boards/manifest.py `transport: "tcp"`), as the Device Management Client's default build
(the kit in ../shared/peers is pdmc-linux-tcp). An image file made before its manifest carried a
`transport` key (the key came with the udp images) must keep booting into that build: it
registers over the service's TLS (tls-record) transport like any tcp image.
"""

from __future__ import annotations

import json
import zlib

import pytest

from harness.sim.firmware import ERASED, HEADER, PAGE_SIZE

pytestmark = pytest.mark.area("onboarding")


def _without_transport(image: bytes) -> bytes:
    """The same image file with `transport` removed from its manifest (CRC and padding redone)."""
    magic, version, reserved, man_len, pay_len, _crc = HEADER.unpack_from(image)
    manifest = json.loads(image[HEADER.size:HEADER.size + man_len])
    assert manifest.pop("transport") == "tcp", "the default image is a tcp build"
    payload = image[HEADER.size + man_len:HEADER.size + man_len + pay_len]
    body = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    header = HEADER.pack(magic, version, reserved, len(body), len(payload),
                         zlib.crc32(body + payload))
    out = header + body + payload
    return out + bytes([ERASED]) * ((-len(out)) % PAGE_SIZE)


@pytest.mark.needs("factory_provisioning")
@pytest.mark.scenario("onboarding: an image without a transport in its manifest runs the tcp build")
def test_an_image_without_a_transport_registers_over_tcp(board, factory, device, tmp_path):
    """Flash the factory image with its manifest's `transport` removed: the device bootstraps and
    registers over the service's tls-record (TCP) transport."""
    if board.image is not None and getattr(board.image, "file", None):
        pytest.skip(f"board {board.id} runs a built image file; this scenario edits a virtual image")
    built = board.image_file(board.firmware or "factory")
    legacy = tmp_path / "factory-without-transport.bin"
    legacy.write_bytes(_without_transport(built.read_bytes()))
    board.erase()
    board.console.mark()
    board.board.flash(legacy)
    factory.bootstrap()
    registration = device.wait_registered()
    assert registration.event.data["transport"] == "tls-record", registration.event.data
