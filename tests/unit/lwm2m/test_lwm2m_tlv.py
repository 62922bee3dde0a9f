"""TLV codec: spec byte vectors, round trips, malformed input."""

import datetime as dt
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.lwm2m import tlv
from harness.lwm2m.ids import Device
from harness.lwm2m.tlv import TlvError, TlvKind

# LwM2M TS 1.0 section 6.4.3.1: Read /3/0 of the Device object (single instance)
DEVICE_RESOURCES = {
    Device.MANUFACTURER: "Open Mobile Alliance",
    Device.MODEL_NUMBER: "Lightweight M2M Client",
    Device.SERIAL_NUMBER: "345000123",
    Device.FIRMWARE_VERSION: "1.0",
    Device.AVAILABLE_POWER_SOURCES: {0: 1, 1: 5},
    Device.POWER_SOURCE_VOLTAGE: {0: 3800, 1: 5000},
    Device.POWER_SOURCE_CURRENT: {0: 125, 1: 900},
    Device.BATTERY_LEVEL: 100,
    Device.MEMORY_FREE: 15,
    Device.ERROR_CODE: {0: 0},
    Device.CURRENT_TIME: 1367491215,
    Device.UTC_OFFSET: "+02:00",
    Device.SUPPORTED_BINDINGS: "U",
}
DEVICE_TLV = bytes.fromhex(
    "c8 00 14 4f 70 65 6e 20 4d 6f 62 69 6c 65 20 41 6c 6c 69 61 6e 63 65"
    "c8 01 16 4c 69 67 68 74 77 65 69 67 68 74 20 4d 32 4d 20 43 6c 69 65 6e 74"
    "c8 02 09 33 34 35 30 30 30 31 32 33"
    "c3 03 31 2e 30"
    "86 06 41 00 01 41 01 05"
    "88 07 08 42 00 0e d8 42 01 13 88"
    "87 08 41 00 7d 42 01 03 84"
    "c1 09 64"
    "c1 0a 0f"
    "83 0b 41 00 00"
    "c4 0d 51 82 42 8f"
    "c6 0e 2b 30 32 3a 30 30"
    "c1 10 55"
)
# section 6.4.3.2: two Access Control object instances, one with a 16-bit resource-instance id
ACL_TLV = bytes.fromhex(
    "08 00 0e c1 00 01 c1 01 00 83 02 41 7f 07 c1 03 7f"
    "08 02 12 c1 00 03 c1 01 00 87 02 41 7f 07 61 01 36 01 c1 03 7f"
)
ACL_INSTANCES = {
    0: {0: 1, 1: 0, 2: {127: 7}, 3: 127},
    2: {0: 3, 1: 0, 2: {127: 7, 310: 1}, 3: 127},
}


def test_lwm2m_tlv_device_object_matches_spec_bytes():
    assert tlv.encode_resources(DEVICE_RESOURCES) == DEVICE_TLV
    wrapped = tlv.encode_instances({0: DEVICE_RESOURCES})
    assert wrapped[:3] == bytes.fromhex("08 00 79") and wrapped[3:] == DEVICE_TLV


def test_lwm2m_tlv_device_object_decodes_to_values():
    for payload in (DEVICE_TLV, tlv.encode_instances({0: DEVICE_RESOURCES})):
        res = tlv.decode_resources(payload)
        assert tlv.as_str(res[Device.MANUFACTURER]) == "Open Mobile Alliance"
        assert {k: tlv.as_int(v) for k, v in res[Device.POWER_SOURCE_VOLTAGE].items()} == {
            0: 3800, 1: 5000}
        assert tlv.as_time(res[Device.CURRENT_TIME]) == dt.datetime(
            2013, 5, 2, 10, 40, 15, tzinfo=dt.UTC)


def test_lwm2m_tlv_acl_instances_match_spec_bytes():
    assert tlv.encode_instances(ACL_INSTANCES) == ACL_TLV
    decoded = tlv.decode_instances(ACL_TLV)
    assert set(decoded) == {0, 2}
    assert {k: tlv.as_int(v) for k, v in decoded[2][2].items()} == {127: 7, 310: 1}
    entries = tlv.decode(ACL_TLV)
    assert [e.kind for e in entries] == [TlvKind.OBJECT_INSTANCE] * 2
    assert entries[1].children[2].children[1].id == 310


def test_lwm2m_tlv_length_fields_and_16_bit_ids():
    for size, head in ((7, "c7 05"), (8, "c8 05 08"), (300, "d0 05 01 2c"),
                       (70000, "d8 05 01 11 70")):
        encoded = tlv.encode_resources({5: b"x" * size})
        assert encoded.startswith(bytes.fromhex(head))
        assert tlv.decode_resources(encoded) == {5: b"x" * size}
    encoded = tlv.encode_resources({1000: True})
    assert encoded == bytes.fromhex("e1 03 e8 01")
    assert tlv.decode_resources(encoded) == {1000: b"\x01"}


@pytest.mark.parametrize(("value", "size"), [
    (0, 1), (127, 1), (-128, 1), (128, 2), (-32768, 2), (32768, 4), (2**31 - 1, 4),
    (2**31, 8), (-(2**63), 8),
])
def test_lwm2m_tlv_integers_use_the_smallest_size(value, size):
    encoded = tlv.encode_value(value)
    assert len(encoded) == size and tlv.as_int(encoded) == value


def test_lwm2m_tlv_scalar_values():
    assert tlv.encode_value(True) == b"\x01" and tlv.as_bool(b"\x00") is False
    assert len(tlv.encode_value(1.5)) == 4 and tlv.as_float(tlv.encode_value(1.5)) == 1.5
    assert len(tlv.encode_value(0.1)) == 8 and tlv.as_float(tlv.encode_value(0.1)) == 0.1
    assert len(tlv.encode_value(1e300)) == 8
    assert math.isnan(tlv.as_float(tlv.encode_value(math.nan)))
    assert tlv.as_str(tlv.encode_value("grüße")) == "grüße"
    stamp = dt.datetime(2024, 1, 2, tzinfo=dt.UTC)
    assert tlv.as_time(tlv.encode_value(stamp)) == stamp


@pytest.mark.parametrize(("decoder", "data"), [
    (tlv.as_int, b"\x00\x00\x00"), (tlv.as_float, b"\x00\x00"), (tlv.as_bool, b"\x02"),
    (tlv.as_str, b"\xff\xfe"),
])
def test_lwm2m_tlv_value_decoders_reject_wrong_sizes(decoder, data):
    with pytest.raises(TlvError):
        decoder(data)


@pytest.mark.parametrize("data", [
    b"\xc8",                    # header cut before the id
    b"\xc8\x00",                # cut before the 8-bit length
    b"\xc8\x00\x05abc",         # value shorter than declared
    b"\xe1\x03",                # 16-bit id, value missing
    b"\x08\x00\x03\x41\x00\x01",  # object instance holding a resource instance
    b"\x83\x02\xc1\x00\x01",    # multiple resource holding a plain resource
])
def test_lwm2m_tlv_malformed_raises_tlv_error(data):
    with pytest.raises(TlvError):
        tlv.decode_resources(data)


def test_lwm2m_tlv_encode_rejects_bad_input():
    with pytest.raises(TlvError, match="65535"):
        tlv.encode_resources({70000: 1})
    with pytest.raises(TlvError, match="64 signed bits"):
        tlv.encode_value(2**64)
    with pytest.raises(TlvError, match="list"):
        tlv.encode_resources({1: [1, 2]})
    with pytest.raises(TlvError, match="one object instance"):
        tlv.decode_resources(ACL_TLV)
    with pytest.raises(TlvError, match="object instances"):
        tlv.decode_instances(DEVICE_TLV)


ids = st.integers(0, 0xFFFF)
scalars = st.one_of(
    st.integers(-(2**63), 2**63 - 1), st.booleans(), st.text(max_size=40),
    st.binary(max_size=300), st.floats(allow_nan=False),
)
resources = st.dictionaries(ids, st.one_of(scalars, st.dictionaries(ids, scalars, max_size=4)),
                            max_size=6)


def _raw(value):
    if isinstance(value, dict):
        return {k: tlv.encode_value(v) for k, v in value.items()}
    return tlv.encode_value(value)


@given(st.dictionaries(ids, resources, max_size=3))
def test_lwm2m_tlv_round_trip(instances):
    decoded = tlv.decode_instances(tlv.encode_instances(instances))
    assert decoded == {i: {r: _raw(v) for r, v in res.items()} for i, res in instances.items()}


@given(resources)
def test_lwm2m_tlv_round_trip_resources(res):
    assert tlv.decode_resources(tlv.encode_resources(res)) == {r: _raw(v) for r, v in res.items()}


@given(st.binary(max_size=64))
def test_lwm2m_tlv_random_bytes_never_crash(data):
    try:
        entries = tlv.decode(data)
    except TlvError as exc:
        assert str(exc).endswith(".")  # one readable sentence, not an IndexError
    else:
        assert all(isinstance(e, tlv.TlvEntry) for e in entries)
