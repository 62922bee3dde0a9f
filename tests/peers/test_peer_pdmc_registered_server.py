"""What the REAL Device Management Client (EX 4.13.2, Linux, TCP) answers, while registered, to a
server's requests to its Server object /1/0 and to /3/0/11/0 (measured through the service):

- Reads in text/plain: /1/0/0 (Short Server ID) `1`, /1/0/1 (Lifetime) `7200` (the lifetime it
  registered with), /1/0/6 (Notification Storing) `0`, /1/0/7 (Binding) `T`; a Read of /1/0/8
  (Registration Update Trigger) is 4.05; /3/0/11/0 (the first Error Code) reads `0`;
- an Execute of /1/0/8 is 2.04 and an Update follows at once: query `et=default`, no body;
- a Write of /1/0/1 is 2.04 and an Update follows at once naming the new lifetime
  (`et=default&lt=3600`); /1/0/1 then reads as written; a Write of the same lifetime again is
  followed by an Update without `lt`.
  Each request here waits for the client's `Client registration updated` of the Update before:
  a request that arrives while the client still waits for an Update's answer is deferred (its
  Update comes 3-6 s later, after a lifetime write without `lt`; measured, not modelled: the
  virtual board sends each Update at once).

tests/e2e/test_e2e_registered_server.py asserts the same on any board.
"""

from __future__ import annotations

from aiocoap.numbers.codes import Code
from pdmc_kit import ClientProcess, developer_setup, link_client
from test_peer_pdmc_client import ONBOARD_TIMEOUT

from harness.cloud import events as ev

TEXT = 0
UPDATE_WAIT = 10
"""Seconds an Update may take after the request that triggers it (it comes at once)."""


def test_real_client_serves_its_server_object_and_updates_when_told(tmp_path):
    with developer_setup(tmp_path) as dev:
        svc = dev.svc
        elf = link_client(dev.kit, dev.credentials_c, tmp_path / "client.elf",
                          svc.bootstrap_uri("tcp-length"))

        def operate(code: Code, path: str, payload: bytes = b"",
                    content_format: int | None = None) -> tuple[str, int | None, bytes]:
            return dev.operate(device_id, code, path, payload, content_format)

        def update_after(code: Code, path: str, payload: bytes = b"") -> tuple[str, str, int]:
            """Send the request; its code, and the query and body size of the Update after it."""
            mark, printed = svc.events.mark(), len(client.lines)
            answer = operate(code, path, payload, TEXT if payload else None)[0]
            svc.events.wait_for_sync(lambda e: e.type == ev.REG_UPDATE and e.device_id == device_id,
                                     UPDATE_WAIT, since=mark)
            update = [r for r in svc.trace.wire if r.direction == "in" and r.code == "POST"
                      and r.path == location][-1]
            # the next request only once the client has the Update's answer (see the docstring)
            client.wait_for(r"^Client registration updated$", UPDATE_WAIT, after=printed)
            return answer, update.query, update.size

        client = ClientProcess(elf, tmp_path / "run")
        try:
            client.wait_for(r"^Client registered$", ONBOARD_TIMEOUT)
            device_id = client.wait_for(r"^Device ID: ([0-9a-f]{32})$", 5).group(1)
            location = "/" + svc.device(device_id).registration_location
            reads = {path: operate(Code.GET, path) for path in
                     ("/1/0/0", "/1/0/1", "/1/0/6", "/1/0/7", "/3/0/11/0")}
            assert reads == {"/1/0/0": ("2.05", TEXT, b"1"), "/1/0/1": ("2.05", TEXT, b"7200"),
                             "/1/0/6": ("2.05", TEXT, b"0"), "/1/0/7": ("2.05", TEXT, b"T"),
                             "/3/0/11/0": ("2.05", TEXT, b"0")}
            assert operate(Code.GET, "/1/0/8")[0] == "4.05"

            assert update_after(Code.POST, "/1/0/8") == ("2.04", "et=default", 0)
            assert update_after(Code.PUT, "/1/0/1", b"3600") == ("2.04", "et=default&lt=3600", 0)
            assert operate(Code.GET, "/1/0/1") == ("2.05", TEXT, b"3600")
            assert update_after(Code.PUT, "/1/0/1", b"3600") == ("2.04", "et=default", 0)
            assert not [line for line in client.console() if line.startswith("Error occurred")]
        finally:
            client.stop()
