"""What the REAL Device Management Client (EX 4.13.2, Linux) answers to server Writes of /3/0.

Measured, then pinned here; the virtual board follows it (tests/e2e/test_e2e_device_writes.py):
- a developer device has no /3/0/13, 14 or 15 at its first registration: Read and Write are 4.04
  (mbed-client creates them only from stored values, ServiceClient `device_object_from_storage`);
- after the bootstrap the client stores the time it learnt, so from the next start /3/0/13 exists
  and reads as its running clock: a Write of it in text, opaque or TLV (any payload, even a
  non-number) is 2.04 and leaves the clock alone, in CBOR 4.15; /3/0/14 and 15 stay absent
  (nothing stored them);
- a Write of a read-only resource (/3/0/0) or an executable one (/3/0/4) is 4.05, of a resource the
  object has not got (/3/0/99) or an instance it has not got (/3/1/0) 4.04; a Read of the Error
  Code /3/0/11 is a TLV of one instance, 0;
- on its next start a developer device with stored LwM2M credentials registers at once, with the
  same device ID (no Bootstrap-Request).
"""

from __future__ import annotations

import time

import pytest
from aiocoap.numbers.codes import Code
from pdmc_kit import ClientProcess, find_kit, link_client
from test_peer_pdmc_client import ONBOARD_TIMEOUT, OPERATION_TIMEOUT, _config, _offers_the_clients_suite

from harness.cloud import events as ev
from harness.cloud.developer import issue_developer_certificate
from harness.cloud.service_thread import ServiceThread
from harness.devcreds import write_c_file
from harness.lwm2m import tlv
from harness.lwm2m.ids import ContentFormat

TEXT, TLV = ContentFormat.TEXT, ContentFormat.TLV
OPAQUE, CBOR = ContentFormat.OPAQUE, ContentFormat.CBOR
CLOCK_SLACK = 60
"""Seconds the client's clock (taken from the service's TLS handshake) may differ from ours."""


def test_real_client_answers_device_object_writes(tmp_path):
    kit, why = find_kit()
    if kit is None:
        pytest.skip(why)
    service = ServiceThread(_config(), tmp_path / "service", start_rest=False)
    with service as svc:
        account = svc.store.create_account("developer")
        cert = issue_developer_certificate(svc.store, svc.pki, account.id,
                                           svc.bootstrap_uri("tls-record"))
        if not _offers_the_clients_suite(svc.bootstrap_uri("tls-record"), cert):
            pytest.skip("the service's tls-record endpoint does not offer ECDHE-ECDSA-AES128-CCM8, "
                        "the real client's only suite (protocol facts 3.1 point 1)")
        creds = write_c_file(cert.c_credentials(), tmp_path / "mbed_cloud_dev_credentials.c")
        elf = link_client(kit, creds, tmp_path / "client.elf", svc.bootstrap_uri("tls-record"))

        def run(device_id: str, code: Code, path: str, payload: bytes = b"",
                content_format: int | None = None) -> tuple[str, bytes]:
            answer, _ct, body = service.call(svc.lwm2m.operate(
                device_id, code, path, payload=payload, content_format=content_format,
                timeout=OPERATION_TIMEOUT))
            return answer, body

        # first start: bootstrap, then registration without /3/0/13-15
        client = ClientProcess(elf, tmp_path / "run")
        try:
            client.wait_for(r"^Client registered$", ONBOARD_TIMEOUT)
            device_id = client.wait_for(r"^Device ID: ([0-9a-f]{32})$", 5).group(1)
            paths = {r["path"] for r in svc.device(device_id).resources}
            assert not paths & {"/3/0/13", "/3/0/14", "/3/0/15"}, sorted(paths)
            for rid in (13, 14, 15):
                assert run(device_id, Code.GET, f"/3/0/{rid}") == ("4.04", b"")
                assert run(device_id, Code.PUT, f"/3/0/{rid}", b"0", TEXT)[0] == "4.04"
            assert run(device_id, Code.PUT, "/3/0/0", b"evil", TEXT)[0] == "4.05"
            assert run(device_id, Code.GET, "/3/0/0") == ("2.05", b"dev_manufacturer")
            assert run(device_id, Code.PUT, "/3/0/4", b"", TEXT)[0] == "4.05"
            assert run(device_id, Code.PUT, "/3/0/99", b"1", TEXT)[0] == "4.04"
            code, ct, body = service.call(svc.lwm2m.operate(device_id, Code.GET, "/3/0/11",
                                                            timeout=OPERATION_TIMEOUT))
            assert (code, ct) == ("2.05", TLV)  # Error Code: one instance, 0 = no error
            assert {i: tlv.as_int(v) for i, v in tlv.decode_resources(body)[11].items()} == {0: 0}
            for path in ("/3/1", "/3/1/0"):  # the Device object has one instance
                assert run(device_id, Code.GET, path)[0] == "4.04"
            assert run(device_id, Code.PUT, "/3/1/0", b"x", TEXT)[0] == "4.04"
            code, ct, body = service.call(svc.lwm2m.operate(device_id, Code.GET, "/3/0",
                                                            timeout=OPERATION_TIMEOUT))
            assert (code, ct) == ("2.05", TLV) and tlv.decode_resources(body)[0] == b"dev_manufacturer"
            # a resource instance exists only under a multiple resource (the virtual board answers
            # 4.04 to every such path: it serves whole resources only)
            assert run(device_id, Code.GET, "/3/0/11/0") == ("2.05", b"0")
            assert run(device_id, Code.GET, "/3/0/0/0")[0] == "4.04"
        finally:
            client.stop()

        # second start: registers at once with its stored credentials; /3/0/13 now exists
        mark = svc.events.mark()
        client = ClientProcess(elf, tmp_path / "run")
        try:
            client.wait_for(r"^Client registered$", ONBOARD_TIMEOUT)
            assert client.wait_for(r"^Device ID: ([0-9a-f]{32})$", 5).group(1) == device_id
            reg = svc.events.wait_for_sync(lambda e: e.type == ev.REGISTRATION, 5, since=mark)
            assert reg.device_id == device_id
            assert not [e for e in svc.events.history[mark:] if e.type == ev.BOOTSTRAP]
            code, clock = run(device_id, Code.GET, "/3/0/13")
            assert code == "2.05" and abs(int(clock) - time.time()) < CLOCK_SLACK, clock
            for payload, content_format in ((b"1700000000", TEXT), (b"not a number", TEXT),
                                            (tlv.encode_resources({13: 1_600_000_000}), TLV),
                                            (b"\xc4\x0d\x01", TLV), (b"\x01\x02", OPAQUE)):
                assert run(device_id, Code.PUT, "/3/0/13", payload, content_format)[0] == "2.04"
            assert run(device_id, Code.PUT, "/3/0/13", b"1700000000", CBOR)[0] == "4.15"
            assert run(device_id, Code.PUT, "/3/0/13/0", b"1700000000", TEXT)[0] == "4.04"
            code, clock = run(device_id, Code.GET, "/3/0/13")  # the device's clock, not a write
            assert code == "2.05" and abs(int(clock) - time.time()) < CLOCK_SLACK, clock
            # a write of the object instance with only writable, present resources is accepted
            # (the virtual board answers 4.05: it writes single resources only)
            assert run(device_id, Code.PUT, "/3/0", tlv.encode_resources({13: 1_600_000_000}),
                       TLV)[0] == "2.04"
            for rid, value in ((14, "+02:00"), (15, "Europe/Helsinki")):
                assert run(device_id, Code.PUT, f"/3/0/{rid}", value.encode(), TEXT)[0] == "4.04"
                assert run(device_id, Code.PUT, f"/3/0/{rid}", tlv.encode_resources({rid: value}),
                           TLV)[0] == "4.04"
            assert not [line for line in client.console() if line.startswith("Error occurred")]
        finally:
            client.stop()
