"""The hil.timeline property: one clock, bounded size, secrets redacted, valid JSON after enrichment."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from harness.cloud.wiretap import EventRecord, ServiceTrace, WireRecord
from harness.report.junit import enrich_junit_file
from harness.report.timeline import TIMELINE_PROPERTY, build_timeline, parse_timeline

T0 = 1_800_000_000.0
SECRET_HEX = "00112233445566778899aabbccddeeff"


def wire(t: float, **fields: object) -> WireRecord:
    """A wire record with defaults."""
    base = {"t": t, "server": "bootstrap", "direction": "in", "peer": "127.0.0.1:1", "kind": "CON",
            "code": "POST", "path": "/bs", "size": 0}
    return WireRecord(**{**base, **fields})


def test_entries_of_every_source_sort_on_one_axis_and_the_failing_phase_is_marked() -> None:
    """Console, wire, service and phases interleave by time; the phase open at the failure is marked."""
    timeline = build_timeline(
        T0, spans=[("phase", "register", T0 + 1, T0 + 4)],
        consoles=[("vb", [(T0 + 2.0, "Error occurred : MbedCloudClient::ConnectNotAllowed")])],
        wire=[wire(T0 + 1.5), wire(T0 + 1.6, direction="out", kind="ACK", code="4.03", size=48,
                                   detail="Enrollment ID not registered", block2="0/0/512")],
        events=[EventRecord(T0 + 1.55, "bootstrap-error", None, "{'code': '4.03'}")],
        failure=(T0 + 3.0, "call: OnboardingTimeout: waiting"))
    entries = timeline.sorted_entries()
    assert [e.src for e in entries] == ["test", "wire", "service", "wire", "console", "test"]
    assert entries[3].text == ("service → device bootstrap ACK 4.03 /bs 48 B Block2 0/0/512 "
                               "“Enrollment ID not registered”")
    assert [e.text for e in entries if e.fail] == ["register", "call: OnboardingTimeout: waiting"]
    again = parse_timeline(timeline.to_property())
    assert again is not None and [e.text for e in again.sorted_entries()] == [e.text for e in entries]


def test_a_long_timeline_keeps_phases_and_failure_and_counts_what_it_left_out() -> None:
    """Past the limit the middle of the console goes; test entries always stay."""
    lines = [(T0 + i * 0.01, f"line {i}") for i in range(5000)]
    timeline = build_timeline(T0, spans=[("step", "call", T0, T0 + 60)], consoles=[("vb", lines)],
                              failure=(T0 + 59, "call: boom"))
    doc = json.loads(timeline.to_property(max_entries=100))
    assert len(doc["entries"]) == 100 and doc["omitted"] == 5000 - 98
    texts = [e["text"] for e in doc["entries"]]
    assert "call" in texts and "call: boom" in texts and "line 0" in texts and "line 4999" in texts


def test_secrets_never_reach_the_property_and_it_stays_json_after_the_junit_redaction(tmp_path: Path) -> None:
    """Key blobs and API keys are redacted at the source; the file-wide pass keeps the JSON valid."""
    timeline = build_timeline(T0, consoles=[("vb", [
        (T0 + 1, f"PSK key: {SECRET_HEX}"), (T0 + 2, "Authorization: Bearer ak_0123456789abcdefghij"),
        (T0 + 3, 'token="s3cr3t-value" "quoted"')])])
    value = timeline.to_property()
    assert SECRET_HEX not in value and "ak_0123456789" not in value and "s3cr3t" not in value
    junit = tmp_path / "j.xml"
    root = ET.Element("testsuites")
    suite = ET.SubElement(root, "testsuite", name="pytest", tests="1")
    case = ET.SubElement(suite, "testcase", classname="tests.test_x", name="test_y", time="1")
    ET.SubElement(ET.SubElement(case, "properties"), "property", name=TIMELINE_PROPERTY, value=value)
    ET.ElementTree(root).write(junit)
    enrich_junit_file(junit)
    stored = next(ET.parse(junit).getroot().iter("property")).get("value")
    parsed = parse_timeline(stored)
    assert parsed is not None and len(parsed.entries) == 3


def test_an_unreadable_property_is_no_timeline_not_a_crash() -> None:
    """A cut or foreign value reads as None."""
    assert parse_timeline("{not json") is None
    assert parse_timeline('{"v": 1}') is None
    assert parse_timeline(None) is None


def test_service_trace_records_sizes_blocks_and_error_diagnostics_never_payloads() -> None:
    """Requests, their responses (path found by token) and a 4.03's diagnostic; no request payload."""
    from aiocoap import Message
    from aiocoap.numbers.codes import Code
    from aiocoap.numbers.types import Type

    class Remote:
        hostinfo = "127.0.0.1:4000"
        peer_certificate = None

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key_pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    trace = ServiceTrace()
    request = Message(code=Code.PUT, uri_path=("0", "1"), payload=key_pem)
    request.mtype, request.token, request.remote = Type.CON, b"\x01\x02", Remote()
    request.opt.block1 = (0, True, 6)
    trace.message("bootstrap", "out", request)
    answer = Message(code=Code.FORBIDDEN, payload=b"Enrollment ID not registered")
    answer.mtype, answer.token, answer.remote = Type.ACK, b"\x01\x02", request.remote
    trace.message("bootstrap", "in", answer)
    out, back = list(trace.wire)
    assert (out.code, out.path, out.size, out.direction, out.block1) == (
        "PUT", "/0/1", len(key_pem), "out", "0/1/1024")
    assert (back.code, back.path, back.detail) == ("4.03", "/0/1", "Enrollment ID not registered")
    assert all("PRIVATE KEY" not in str(r) and key_pem.decode()[40:80] not in str(r)
               for r in trace.wire)
    wire_window, _ = trace.between(out.t, back.t)
    assert len(wire_window) == 2


def test_service_trace_records_a_requests_query_in_order_redacted_and_shows_it_after_the_path() -> None:
    """A Register's Uri-Query options are kept in wire order joined with "&"; its response has no
    query; a secret-looking value is redacted; the wire line reads `POST /rd?ep=...`."""
    from aiocoap import Message
    from aiocoap.numbers.codes import Code
    from aiocoap.numbers.types import Type

    from harness.report.timeline import wire_text

    class Remote:
        hostinfo = "127.0.0.1:4001"
        peer_certificate = None

    query = ("ep=hil-1", "et=default", "lt=86400", "lwm2m=1.0", "d=acc1", "b=U", "aid=acc1",
             "mccv=4.13.4")
    trace = ServiceTrace()
    request = Message(code=Code.POST, uri_path=("rd",), uri_query=query, payload=b"</3/0/0>")
    request.mtype, request.token, request.remote = Type.CON, b"\x07", Remote()
    trace.message("lwm2m", "in", request)
    answer = Message(code=Code.CREATED, location_path=("rd", "acc1", "dev1"))
    answer.mtype, answer.token, answer.remote = Type.ACK, b"\x07", request.remote
    trace.message("lwm2m", "out", answer)
    leaky = Message(code=Code.POST, uri_path=("bs",), uri_query=("ep=x", f"psk={SECRET_HEX}"))
    leaky.mtype, leaky.token, leaky.remote = Type.CON, b"\x08", request.remote
    trace.message("bootstrap", "in", leaky)
    register, created, bootstrap = trace.wire
    assert register.query == "ep=hil-1&et=default&lt=86400&lwm2m=1.0&d=acc1&b=U&aid=acc1&mccv=4.13.4"
    assert (created.code, created.path, created.query) == ("2.01", "/rd", "")
    assert SECRET_HEX not in bootstrap.query and bootstrap.query.startswith("ep=x&psk=")
    assert wire_text(register) == f"device → service lwm2m CON POST /rd?{register.query} 8 B"
    assert wire_text(created) == "service → device lwm2m ACK 2.01 /rd 0 B"
    assert wire_text(wire(T0, path="", query="ep=y")) == "device → service bootstrap CON POST ?ep=y 0 B"


def test_a_refused_tls_handshake_shows_on_the_wire_and_in_the_service_lane() -> None:
    """The service's TLS refusal event becomes a tls-refused entry in both lanes, with the reason."""
    from harness.cloud import events as ev

    trace = ServiceTrace()
    trace.on_event(ev.Event(ev.BOOTSTRAP_ERROR, None, None, {
        "code": "tls", "reason": "Secure connection failed (bootstrap, CERTIFICATE_VERIFY_FAILED)",
        "peer": "127.0.0.1:5555"}))
    wire_records, events = trace.between(0, float("inf"))
    timeline = build_timeline(wire_records[0].t - 1, wire=wire_records, events=events)
    kinds = {(e.src, e.kind) for e in timeline.entries}
    assert kinds == {("wire", "tls-refused"), ("service", "tls-refused")}
    wire_entry = next(e for e in timeline.entries if e.src == "wire")
    assert "CERTIFICATE_VERIFY_FAILED" in wire_entry.text and "127.0.0.1:5555" in wire_entry.text
