"""The values a device registers (`v="..."` in its Register body) and its Supported Binding /3/0/16.

Protocol facts 3 ("Register"): the body has one entry per resource, `</3/0/0>;...;v="<value>"`.
The REAL client (EX 4.13.2, developer mode, TCP; tests/peers/test_peer_pdmc_register_values.py)
was measured: of the Device object it sends a value for the manufacturer, model number and serial
number only, the values of its credentials file (the developer credentials: `dev_manufacturer`,
`dev_model_num`, `0`), e.g. `</3/0/0>;v="dev_manufacturer";aobs="414"`; its components /14/0/0 and
/14/1/0 carry `MAIN` and `METER`. Its Updates carry no body, even after a server wrote a value, so
the directory keeps what the device registered. A Read of /3/0/16 answers `U` (text) on TCP, the
binding of its Register (`b=U`). The service keeps each registered value in the directory entry
(`v`), which is what these scenarios read: the literals here are the measured ones, never the
service's or the board's constants.
"""

from __future__ import annotations

import pytest

from harness.cloud import events as ev

pytestmark = [pytest.mark.area("registration")]

MEASURED_DEVELOPER_VALUES = {"/3/0/0": "dev_manufacturer", "/3/0/1": "dev_model_num",
                             "/3/0/2": "0", "/14/0/0": "MAIN", "/14/1/0": "METER"}
"""The real client's Register body with developer credentials (its /3/0/0, 1, 2 and components)."""
MEASURED_BINDING = b"U"
"""The real client's answer to a Read of /3/0/16 on TCP (text/plain)."""
TEXT = 0
FACTORY_ITEMS = {"mbed.Manufacturer": "Acme Sensors Oy", "mbed.ModelNumber": "AS-7 rev B",
                 "mbed.SerialNumber": "SN 0042-17"}
"""Factory items (protocol facts 1.4 names) with values of this test's own."""
FACTORY_VALUES = {"/3/0/0": "Acme Sensors Oy", "/3/0/1": "AS-7 rev B", "/3/0/2": "SN 0042-17"}
SHORT_LIFETIME = {"lifetime": 2, "min_lifetime": 1}
"""Firmware knobs: a 2 s registration lifetime, so the client updates every 1.5 s."""

REGISTER_SEED = ("onboarding", "The device registers with the LwM2M server using its LwM2M "
                 "credentials and provides its resource structure.")


def _values(resources: list[dict]) -> dict[str, str]:
    """path -> registered value, for the entries that carry one."""
    return {r["path"]: r["v"] for r in resources if "v" in r}


@pytest.mark.firmware("developer")
@pytest.mark.scenario("registration: the Register body carries the device's values")
@pytest.mark.seed(*REGISTER_SEED)
@pytest.mark.seed("onboarding", "Device Management Connect implements the CoAP Resource directory to "
                  "store the device's Resource structure (see RFC 6690).")
def test_register_carries_the_manufacturer_model_and_serial_number(factory, device):
    """A developer device registers the values the real client registers with the same developer
    credentials: the directory (and the registration event) hold them per resource."""
    factory.developer()
    registration = device.wait_registered()
    registered = _values(registration.event.data["resources"])
    stored = _values(device.directory().resources)
    for path, value in MEASURED_DEVELOPER_VALUES.items():
        assert registered.get(path) == value, \
            f"the Register body's {path} carried v={registered.get(path)!r}, the real client {value!r}"
        assert stored.get(path) == value, f"the directory keeps {path} v={stored.get(path)!r}"


@pytest.mark.firmware("factory")
@pytest.mark.scenario("registration: the Register body carries the values the factory stored")
@pytest.mark.seed(*REGISTER_SEED)
def test_register_carries_the_values_the_factory_provisioned(factory, device):
    """The factory items mbed.Manufacturer, mbed.ModelNumber and mbed.SerialNumber (protocol facts
    1.4) are what the device registers as /3/0/0, 1 and 2 (the real client registers its
    credentials' values there), whatever they are."""
    made = factory.bootstrap(metadata=FACTORY_ITEMS)
    device.wait_registered()
    stored = _values(device.directory().resources)
    assert {path: stored.get(path) for path in FACTORY_VALUES} == FACTORY_VALUES, \
        f"{made.endpoint_name} registered {stored}"


@pytest.mark.firmware("factory", **SHORT_LIFETIME)
@pytest.mark.scenario("registration: an update keeps the registered values")
@pytest.mark.seed("onboarding", "Registration updates include a delta of the Resource structure, "
                  "which the device application can change.")
@pytest.mark.seed("onboarding", "The registration update includes the full Resource structure.")
def test_an_update_keeps_the_values_the_device_registered(factory, device):
    """The real client's Update carries no body (nothing of its structure changed, even after a
    server wrote a value): the reg-update's full structure and the directory still hold the
    registered values. The image asks for a 2 s lifetime, so it updates within seconds."""
    factory.bootstrap(metadata=FACTORY_ITEMS)
    registration = device.wait_registered()
    update = device.wait_event(ev.REG_UPDATE, timeout=10,
                               where=lambda e: e.device_id == registration.device_id)
    updated = _values(update.data["resources"])
    assert {path: updated.get(path) for path in FACTORY_VALUES} == FACTORY_VALUES, \
        f"the reg-update's structure lost registered values: {updated}"
    assert _values(device.directory().resources) == _values(registration.event.data["resources"])


@pytest.mark.firmware("developer")
@pytest.mark.scenario("device object: Supported Binding /3/0/16 reads as the real client's")
@pytest.mark.seed(*REGISTER_SEED)
def test_supported_binding_reads_as_the_binding_the_device_registered_with(factory, device, cloud):
    """A Read of /3/0/16 (Supported Binding and Modes) answers `U` in text, as the real client on
    TCP does, the binding it registered with (`b=U`, protocol facts 3 Register)."""
    factory.developer()
    device_id = device.wait_registered().device_id
    assert cloud.read(device_id, "/3/0/16") == ("2.05", TEXT, MEASURED_BINDING)
    assert device.directory().binding == MEASURED_BINDING.decode()


@pytest.mark.firmware("developer")
@pytest.mark.scenario("registration: only the static device values are registered")
@pytest.mark.seed(*REGISTER_SEED)
def test_only_the_static_device_resources_carry_a_value(factory, device, cloud):
    """Of the Device object the real client registers a value for /3/0/0, 1 and 2 only; its
    observable resources (e.g. /3/0/16) are links without one, and it has no Firmware Version
    /3/0/3 nor Software Version /3/0/19 (a Read answers 4.04)."""
    factory.developer()
    registration = device.wait_registered()
    entries = {r["path"]: r for r in device.directory().resources}
    assert {p for p, e in entries.items() if p.startswith("/3/") and "v" in e} == \
        {"/3/0/0", "/3/0/1", "/3/0/2"}, sorted(p for p, e in entries.items() if "v" in e)
    assert entries["/3/0/16"]["obs"] is True
    assert not {"/3/0/3", "/3/0/19"} & set(entries)
    for rid in (3, 19):
        assert cloud.read(registration.device_id, f"/3/0/{rid}")[0] == "4.04"
