"""The service writes and reads resources of a registered device's Device object (/3/0).

The developer-device answers were measured on the REAL client (tests/peers/test_peer_pdmc_writes.py,
EX 4.13.2): a lab runs these on any board kind, the virtual board must answer the same. The UTC
offset and timezone exist only on a device whose factory stored them, which the Linux developer
peer cannot be; their Write and Read are LwM2M's (a written string reads back).
"""

from __future__ import annotations

import time

import pytest

from harness.cloud import events as ev
from harness.lwm2m import tlv

pytestmark = [pytest.mark.area("device-object")]

TEXT, OPAQUE, CBOR, TLV = 0, 42, 60, 11542
"""CoAP Content-Formats: text/plain, octet-stream, cbor and application/vnd.oma.lwm2m+tlv."""
CLOCK_SLACK = 60
"""Seconds a device's clock (taken from the service's TLS handshake) may differ from the host's."""


@pytest.mark.firmware("developer")
@pytest.mark.scenario("device object: reads, and writes refused as the real client refuses them")
def test_device_object_refuses_writes_of_read_only_and_absent_resources(factory, device, cloud):
    """On a developer device's first registration: the object reads as TLV, the Error Code as
    one instance with 0, the manufacturer (a single resource) has no instance /3/0/0/0;
    a Write of the manufacturer (read-only) or of Reboot is 4.05 Method Not Allowed and changes
    nothing; a Write of a resource or instance the device has not got is 4.04, and a developer
    device has no Current Time (/3/0/13) at its first registration and no stored UTC offset
    (/3/0/14) or timezone (/3/0/15), in text or TLV."""
    factory.developer()
    device_id = device.wait_registered().device_id
    code, ct, manufacturer = cloud.read(device_id, "/3/0/0")
    assert (code, ct) == ("2.05", TEXT) and manufacturer, (code, ct, manufacturer)
    code, ct, payload = cloud.read(device_id, "/3/0")
    assert (code, ct) == ("2.05", TLV), (code, ct, payload)
    assert tlv.decode_resources(payload)[0] == manufacturer, "the object's /3/0/0 is the resource's"
    assert cloud.read(device_id, "/3/0/0/0")[0] == "4.04", "a single resource has no instances"
    code, ct, payload = cloud.read(device_id, "/3/0/11")
    assert (code, ct) == ("2.05", TLV), (code, ct, payload)
    errors = tlv.decode_resources(payload)[11]
    assert {i: tlv.as_int(v) for i, v in errors.items()} == {0: 0}, "Error Code: no error"

    assert cloud.write(device_id, "/3/0/0", b"someone else", TEXT) == "4.05"
    assert cloud.read(device_id, "/3/0/0") == ("2.05", TEXT, manufacturer)
    assert cloud.write(device_id, "/3/0/4", b"", TEXT) == "4.05"
    assert cloud.write(device_id, "/3/0/99", b"1", TEXT) == "4.04"
    assert cloud.write(device_id, "/3/1/0", b"x", TEXT) == "4.04"
    assert cloud.read(device_id, "/3/1")[0] == "4.04"
    # no Current Time either until a time is stored (tests/peers/test_peer_pdmc_writes.py)
    assert not {r["path"] for r in device.directory().resources} & {"/3/0/13", "/3/0/14", "/3/0/15"}
    assert cloud.read(device_id, "/3/0/13")[0] == "4.04"
    assert cloud.write(device_id, "/3/0/13", b"0", TEXT) == "4.04"
    for rid, value in ((14, "+02:00"), (15, "Europe/Helsinki")):
        assert cloud.write(device_id, f"/3/0/{rid}", value.encode(), TEXT) == "4.04"
        assert cloud.write(device_id, f"/3/0/{rid}", tlv.encode_resources({rid: value}), TLV) == "4.04"
        assert cloud.read(device_id, f"/3/0/{rid}")[0] == "4.04"


@pytest.mark.firmware("developer")
@pytest.mark.scenario("device object: the service writes the Current Time (text, opaque, TLV)")
def test_current_time_of_a_restarted_device_accepts_writes_and_keeps_its_clock(
        factory, board, device, cloud):
    """After its first bootstrap a device keeps the time it learnt, so from its next start it has
    a Current Time (/3/0/13) that reads as its running clock: the service's Write of it in text,
    opaque or TLV is 2.04 Changed (even of a non-number), in CBOR 4.15 Unsupported Content-Format,
    and the clock reads on regardless."""
    factory.developer()
    first = device.wait_registered()
    device.wait_event(ev.BOOTSTRAP, where=lambda e: e.device_id == first.device_id)
    device.checkpoint()
    board.reset()
    device.wait_event(ev.REGISTRATION, where=lambda e: e.device_id == first.device_id)
    device_id = first.device_id
    for payload, content_format in ((b"1700000000", TEXT), (b"not a number", TEXT),
                                    (tlv.encode_resources({13: 1_600_000_000}), TLV),
                                    (b"\x01\x02", OPAQUE)):
        assert cloud.write(device_id, "/3/0/13", payload, content_format) == "2.04", payload
    assert cloud.write(device_id, "/3/0/13", b"1700000000", CBOR) == "4.15"
    assert cloud.write(device_id, "/3/0/13/0", b"1700000000", TEXT) == "4.04"
    code, ct, clock = cloud.read(device_id, "/3/0/13")
    assert (code, ct) == ("2.05", TEXT), (code, ct, clock)
    assert abs(int(clock) - time.time()) < CLOCK_SLACK, f"/3/0/13 {clock!r} is not the device's clock"


@pytest.mark.scenario("device object: the service writes the UTC offset and timezone the factory stored")
def test_utc_offset_and_timezone_stored_at_the_factory_are_written_and_read_back(
        factory, device, cloud):
    """A factory-provisioned device has the UTC offset (/3/0/14) and timezone (/3/0/15) its
    factory stored; the service writes them, in text and in TLV, and reads the new values back."""
    factory.bootstrap()
    device_id = device.wait_registered().device_id
    for rid, value, content_format in ((14, "+02:00", TEXT), (15, "Europe/Helsinki", TLV),
                                       (14, "-05:30", TLV), (15, "America/Chicago", TEXT)):
        code, ct, before = cloud.read(device_id, f"/3/0/{rid}")
        assert (code, ct) == ("2.05", TEXT) and before, (rid, code, ct, before)
        payload = value.encode() if content_format == TEXT else tlv.encode_resources({rid: value})
        assert cloud.write(device_id, f"/3/0/{rid}", payload, content_format) == "2.04"
        assert cloud.read(device_id, f"/3/0/{rid}") == ("2.05", TEXT, value.encode())
    assert cloud.write(device_id, "/3/0/14", b"+01:00", CBOR) == "4.15"
    assert cloud.read(device_id, "/3/0/14") == ("2.05", TEXT, b"-05:30")
