"""The values the REAL Device Management Client (EX 4.13.2, Linux, TCP) registers, and /3/0/16.

Measured on the service side (the directory keeps each registered `v="..."` as the entry's `v`)
and pinned here; tests/e2e/test_e2e_register_values.py asserts the same literals on any board:
- the Register body gives a value for the Device object's manufacturer, model number and serial
  number only (with an `aobs` token, no `obs`): the developer credentials file's
  `dev_manufacturer`, `dev_model_num` and `0`; its other /3/0 resources (/3/0/16, 17, 18, 21, 11,
  ...) are `obs` links without a value, and it has no /3/0/3 (Firmware Version) nor /3/0/19
  (Software Version): a Read of either is 4.04. Its components /14/0/0 and /14/1/0 carry `MAIN`
  and `METER`;
- a Read of /3/0/16 (Supported Binding and Modes) answers `U` in text/plain, the binding of its
  Register (`b=U`);
- after a server Write of a value (/3201/0/5853, 2.04, read back as written) an Update (here
  triggered by an Execute of /1/0/8, Registration Update Trigger) carries no body at all: the
  directory keeps the registered values.
"""

from __future__ import annotations

from aiocoap.numbers.codes import Code
from pdmc_kit import ClientProcess, developer_setup, link_client
from test_peer_pdmc_client import ONBOARD_TIMEOUT

from harness.cloud import events as ev

TEXT = 0
MEASURED_DEVICE_PATHS = {"/3/0/0", "/3/0/1", "/3/0/2", "/3/0/4", "/3/0/5", "/3/0/11", "/3/0/11/0",
                         "/3/0/16", "/3/0/17", "/3/0/18", "/3/0/21"}
"""The /3/0 links of the real client's first Register (a developer device, nothing stored yet)."""
PATTERN = b"500:500:500"
"""A blink pattern for the example's /3201/0/5853 (a writable string of the application)."""


def _values(resources: list[dict]) -> dict[str, str]:
    return {r["path"]: r["v"] for r in resources if "v" in r}


def test_real_client_registers_its_static_values_and_reads_its_binding(tmp_path):
    with developer_setup(tmp_path) as dev:
        svc, operate = dev.svc, dev.operate
        credentials = dev.cert.c_credentials()
        elf = link_client(dev.kit, dev.credentials_c, tmp_path / "client.elf",
                          svc.bootstrap_uri("tcp-length"))

        mark = svc.events.mark()
        client = ClientProcess(elf, tmp_path / "run")
        try:
            client.wait_for(r"^Client registered$", ONBOARD_TIMEOUT)
            device_id = client.wait_for(r"^Device ID: ([0-9a-f]{32})$", 5).group(1)
            reg = svc.events.wait_for_sync(lambda e: e.type == ev.REGISTRATION, 5, since=mark)
            device = svc.device(device_id)
            entries = {r["path"]: r for r in device.resources}
            values = _values(device.resources)
            # the values of the credentials file it was linked with, as literals and as written
            assert (values["/3/0/0"], values["/3/0/1"], values["/3/0/2"]) == \
                ("dev_manufacturer", "dev_model_num", "0")
            assert (values["/3/0/0"], values["/3/0/1"], values["/3/0/2"]) == \
                (credentials.manufacturer, credentials.model_number, credentials.serial_number)
            assert (values["/14/0/0"], values["/14/1/0"]) == ("MAIN", "METER")
            assert {p for p in values if p.startswith("/3/")} == {"/3/0/0", "/3/0/1", "/3/0/2"}, \
                "of the Device object only the static resources carry a value"
            assert _values(reg.data["resources"]) == values, "the registration event has them too"
            assert {p for p in entries if p.startswith("/3/0/")} == MEASURED_DEVICE_PATHS
            assert entries["/3/0/16"]["obs"] is True and "v" not in entries["/3/0/16"]
            for rid in (3, 19):  # no Firmware Version, no Software Version
                assert operate(device_id, Code.GET, f"/3/0/{rid}")[0] == "4.04"

            assert operate(device_id, Code.GET, "/3/0/16") == ("2.05", TEXT, b"U")
            assert device.binding == "U"

            # a value written by the server is not registered again: the next Update is empty
            assert operate(device_id, Code.PUT, "/3201/0/5853", PATTERN, TEXT)[0] == "2.04"
            assert operate(device_id, Code.GET, "/3201/0/5853") == ("2.05", TEXT, PATTERN)
            updates = svc.events.mark()
            assert operate(device_id, Code.POST, "/1/0/8")[0] == "2.04"
            update = svc.events.wait_for_sync(
                lambda e: e.type == ev.REG_UPDATE and e.device_id == device_id, 10, since=updates)
            location = "/" + device.registration_location
            bodies = [r.size for r in svc.trace.wire
                      if r.direction == "in" and r.code == "POST" and r.path == location]
            assert bodies and bodies[-1] == 0, f"the Update after the write carried {bodies} bytes"
            assert _values(update.data["resources"]) == values
            assert _values(svc.device(device_id).resources) == values
            assert not [line for line in client.console() if line.startswith("Error occurred")]
        finally:
            client.stop()
