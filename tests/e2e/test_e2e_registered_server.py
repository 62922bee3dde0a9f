"""The Server object /1/0 of a registered device: reads, the Registration Update Trigger and a
lifetime write, each answered and followed as the real client does.

Measured on the REAL Device Management Client (EX 4.13.2, Linux, TCP;
tests/peers/test_peer_pdmc_registered_server.py, and its Updates carry no body, also after a
server wrote a value: test_peer_pdmc_register_values.py): /1/0/0 reads `1`, /1/0/1 the lifetime it
registered with, /1/0/6 `0`, /1/0/7 `T`, /3/0/11/0 `0` (text/plain); a Read of /1/0/8 is 4.05.
An Execute of /1/0/8 is 2.04 and an Update follows at once (`et=default`, no body); a Write of
/1/0/1 is 2.04 and an Update follows at once naming the new lifetime (`et=default&lt=3600`), and
/1/0/1 then reads as written; the same lifetime written again is followed by an Update without
`lt`. The literals here are those measurements.
"""

from __future__ import annotations

import time

import pytest

from harness.cloud import events as ev
from harness.cloud.wiretap import traces

pytestmark = [pytest.mark.area("registration")]

TEXT = 0
UPDATE_WAIT = 5
"""Seconds an Update may take after the request that triggers it (it comes at once; the image's
own update is due after 75 % of a lifetime of hours)."""
UPDATE_SEED = ("onboarding", "The device maintains the registration automatically by sending the "
               "server registration updates within the agreed lifetime.")


def _update_after(device, request) -> tuple[str, str | None]:
    """Send `request()`; its code and the query of the Update that follows (None when the service
    runs elsewhere and has no wire trace here)."""
    start = time.time()
    device.checkpoint()
    code = request()
    device.wait_event(ev.REG_UPDATE, timeout=UPDATE_WAIT)
    # the next request once the client has the Update's answer: the real client defers a request
    # that comes while it still waits for one (tests/peers/test_peer_pdmc_registered_server.py)
    device.expect(r"^Client registration updated$", timeout=UPDATE_WAIT)
    location = "/" + device.directory().registration_location
    posts = [r for trace in traces() for r in trace.between(start, time.time())[0]
             if r.direction == "in" and r.code == "POST" and r.path == location]
    if not traces():
        return code, None
    assert posts, f"no Update to {location} in the service's wire trace"
    assert posts[-1].size == 0, f"the Update carried a body of {posts[-1].size} bytes"
    return code, posts[-1].query


@pytest.mark.firmware("developer")
@pytest.mark.scenario("registration: the server object of a registered device reads as the real client's")
@pytest.mark.seed(*UPDATE_SEED)
def test_the_server_object_reads_as_the_real_clients(factory, device, cloud):
    """/1/0/0 `1`, /1/0/1 the registered lifetime, /1/0/6 `0`, /1/0/7 `T` on TCP, /3/0/11/0 `0`;
    a Read of the Registration Update Trigger /1/0/8 is 4.05."""
    factory.developer()
    device_id = device.wait_registered().device_id
    lifetime = device.directory().lifetime
    reads = {path: cloud.read(device_id, path)
             for path in ("/1/0/0", "/1/0/1", "/1/0/6", "/1/0/7", "/3/0/11/0")}
    assert reads == {"/1/0/0": ("2.05", TEXT, b"1"),
                     "/1/0/1": ("2.05", TEXT, str(lifetime).encode()),
                     "/1/0/6": ("2.05", TEXT, b"0"), "/1/0/7": ("2.05", TEXT, b"T"),
                     "/3/0/11/0": ("2.05", TEXT, b"0")}
    assert cloud.read(device_id, "/1/0/8")[0] == "4.05"


@pytest.mark.firmware("developer")
@pytest.mark.scenario("registration: the Update Trigger and a lifetime write each send an Update")
@pytest.mark.seed(*UPDATE_SEED)
def test_the_update_trigger_and_a_lifetime_write_each_send_an_update(factory, device, cloud):
    """Execute /1/0/8: 2.04, an Update at once with `et=default` only; Write /1/0/1 = 3600: 2.04,
    an Update at once with `et=default&lt=3600`, the directory's lifetime 3600 and /1/0/1 reading
    `3600`; the same lifetime again: an Update with `et=default` only."""
    factory.developer()
    device_id = device.wait_registered().device_id
    assert _update_after(device, lambda: cloud.execute(device_id, "/1/0/8")) in \
        (("2.04", "et=default"), ("2.04", None))
    assert _update_after(device, lambda: cloud.write(device_id, "/1/0/1", b"3600", TEXT)) in \
        (("2.04", "et=default&lt=3600"), ("2.04", None))
    assert device.directory().lifetime == 3600
    assert cloud.read(device_id, "/1/0/1") == ("2.05", TEXT, b"3600")
    assert _update_after(device, lambda: cloud.write(device_id, "/1/0/1", b"3600", TEXT)) in \
        (("2.04", "et=default"), ("2.04", None))


@pytest.mark.firmware("factory")
@pytest.mark.scenario("registration: a value the service wrote is not registered again")
@pytest.mark.seed("onboarding", "Registration updates include a delta of the Resource structure, "
                  "which the device application can change.")
def test_an_update_after_a_server_write_carries_no_body(factory, device, cloud):
    """The service writes the UTC offset /3/0/14 of a factory device (2.04, read back as
    written); the Update the Registration Update Trigger sends then carries no body, as the real
    client's Update after a server's write (the structure did not change)."""
    factory.bootstrap()
    device_id = device.wait_registered().device_id
    assert cloud.write(device_id, "/3/0/14", b"+02:00", TEXT) == "2.04"
    assert cloud.read(device_id, "/3/0/14") == ("2.05", TEXT, b"+02:00")
    assert _update_after(device, lambda: cloud.execute(device_id, "/1/0/8")) in \
        (("2.04", "et=default"), ("2.04", None))
