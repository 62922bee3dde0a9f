"""Random and garbled byte streams never crash either side's reader or handler."""

from __future__ import annotations

import cbor2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.provisioning import FactoryDevice, ItemStore, ProvisionResult, Response
from harness.provisioning.frame import (
    TOKEN,
    BadFrame,
    FrameReader,
    RequestFrame,
    ResponseFrame,
    encode_request,
    encode_response,
)
from harness.provisioning.host import ProvisioningError

FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
_token_parts = st.sampled_from([TOKEN, TOKEN[:5], b"\x00\x00\x00\x00", b"\xff\xff\xff\x7f",
                                b"\x01\x00\x00\x00"])
stream = st.lists(st.one_of(st.binary(max_size=64), _token_parts), max_size=12).map(b"".join)


def _chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in zip(points, points[1:], strict=False)]


@FUZZ
@given(data=stream, cuts=st.lists(st.integers(min_value=0), max_size=8),
       kind=st.sampled_from(["request", "response"]))
def test_reader_never_raises_and_returns_typed_frames(data, cuts, kind):
    reader = FrameReader(kind, max_message_size=4096)
    for chunk in _chunks(data, cuts):
        for frame in reader.feed(chunk):
            assert isinstance(frame, RequestFrame | ResponseFrame | BadFrame)


@FUZZ
@given(garbage=st.binary(max_size=200).filter(lambda b: b"mbedprov"[:1] not in b),
       message=st.binary(min_size=1, max_size=300), cuts=st.lists(st.integers(0), max_size=6))
def test_frame_is_found_after_any_log_garbage(garbage, message, cuts):
    reader = FrameReader("request")
    frames = []
    for chunk in _chunks(garbage + encode_request(message) + garbage, cuts):
        frames += reader.feed(chunk)
    assert frames == [RequestFrame(message)]
    assert reader.take_text() == garbage + garbage


@FUZZ
@given(data=st.binary(max_size=400))
def test_device_handler_answers_any_message(data):
    status, message = FactoryDevice(ItemStore()).handle(data)
    assert int(status) in (0, 9)
    if message is not None:
        assert isinstance(Response.from_cbor(message).status, int)


@settings(max_examples=60, deadline=None)
@given(doc=st.dictionaries(st.sampled_from(["SchemeVersion", "Keys", "Certificates",
                                            "CertificateChains", "ConfigParams", "CsrReqs",
                                            "Verify", "Disable", "KpAlvSess", "Entropy", "ROT",
                                            "SID", "ACL"]),
                           st.recursive(st.one_of(st.integers(-2, 2**40), st.text(max_size=8),
                                                  st.binary(max_size=48), st.just("0.0.1")),
                                        lambda inner: st.lists(inner, max_size=3)
                                        | st.dictionaries(st.sampled_from(
                                            ["Name", "Data", "Type", "Format", "DataArray",
                                             "PrKN", "ACL", "Subj"]), inner, max_size=4),
                                        max_leaves=10),
                           max_size=8))
def test_device_handler_answers_any_shaped_bundle(doc):
    status, message = FactoryDevice(ItemStore()).handle(cbor2.dumps(doc))
    assert int(status) in (0, 9)
    if message is not None:
        assert Response.from_cbor(message).status >= 0


@FUZZ
@given(data=stream, flips=st.lists(st.integers(0), max_size=4))
def test_device_feed_only_emits_well_formed_responses(data, flips):
    raw = bytearray(encode_request(cbor2.dumps({"SchemeVersion": "0.0.1", "Verify": 0})) + data)
    for f in flips:
        raw[f % len(raw)] ^= 0x5A
    out = FactoryDevice(ItemStore()).feed(bytes(raw))
    for frame in FrameReader("response").feed(out):
        assert isinstance(frame, ResponseFrame)


@FUZZ
@given(message=st.binary(min_size=1, max_size=200))
def test_host_decodes_or_raises_provisioning_error(message):
    (frame,) = FrameReader("response").feed(encode_response(0, message))
    try:
        result = ProvisionResult.from_frame(frame, "/dev/ttyTEST")
    except ProvisioningError as exc:
        assert "/dev/ttyTEST" in str(exc)
    else:
        assert isinstance(result.status_name, str)


# --- issue 12: garbled frames on both sides, with the real client's corpus as seeds ------------
import base64  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

from harness.provisioning.fuzz import (  # noqa: E402
    Tally,
    check_device,
    check_host,
    garbled_stream,
    host_stream,
    new_device,
)

_CORPUS = json.loads((Path(__file__).parent / "data" / "fcc_corpus.json").read_text())
_REQUESTS = [base64.b64decode(s["request"]) for c in _CORPUS.values() for s in c["steps"]]
_RESPONSES = [base64.b64decode(s["response"])[16:-32] for c in _CORPUS.values()
              for s in c["steps"] if s["response"]]


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_garbled_frames_get_documented_answers_on_the_device(seed):
    tally = Tally()
    rng = random.Random(seed)
    device = new_device()
    for _ in range(3):
        check_device(device, garbled_stream(_REQUESTS, rng), tally)
    assert tally.escaped == [] and tally.undocumented == []


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_garbled_responses_only_raise_provisioning_error_on_the_host(seed):
    tally = Tally()
    rng = random.Random(seed)
    for _ in range(3):
        check_host(host_stream(_RESPONSES, rng), tally)
    assert tally.escaped == []


def test_every_corpus_frame_once_mutated_is_answered():
    """The frames that crashed the old handler (InvalidVersion, DuplicateExtension,
    UnsupportedAlgorithm: corpus cases cert_* / key_unsupported_*) stay regression seeds."""
    rng = random.Random(12)
    tally = Tally()
    for request in _REQUESTS:
        device = new_device()
        check_device(device, encode_request(request), tally)
        check_device(device, garbled_stream([request], rng), tally)
    assert tally.escaped == [] and tally.undocumented == []
    assert tally.frames >= len(_REQUESTS)


def test_memory_stays_flat_under_serial_noise():
    device = FactoryDevice(ItemStore())
    chunk = random.Random(3).randbytes(4096).replace(b"m", b"n")  # never a token
    tracemalloc.start()
    try:
        for _ in range(1024):  # 4 MiB of noise
            device.feed(chunk)
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 512 * 1024, f"peak {peak} bytes for 4 MiB of noise"
    assert device._reader.pending < len(TOKEN)
    assert len(device._reader.take_text()) <= 4096
