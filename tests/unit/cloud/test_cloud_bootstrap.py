"""Bootstrap over tls-record: with aid, First-to-Claim, developer certificates, re-bootstrap."""

import pytest
from cloud_testkit import WAIT, device, factory_ca, run, running, trusted_account
from lab_client import BootstrapFailed, LabDevice

from harness import pki
from harness.cloud import events as ev
from harness.cloud.records import DeviceState
from harness.lwm2m.ids import SecurityMode


def test_cloud_bootstrap_with_aid_then_register(tmp_path):
    async def scenario():
        async with running(tmp_path) as svc:
            ca = factory_ca()
            acc = trusted_account(svc, ca)
            dev = device(svc, ca, "ep-aid-1")
            with svc.events.subscribe() as sub:
                prov = await dev.bootstrap(svc.bootstrap_uri(), aid=acc.id)
                boot = await svc.events.wait_for(lambda e: e.type == ev.BOOTSTRAP, WAIT,
                                                 include_history=True)
            assert prov.security_mode == SecurityMode.CERTIFICATE
            assert prov.lwm2m_uri == f"{svc.lwm2m_uri()}?aid={acc.id}"
            assert prov.server_ca_der == svc.server_ca_der
            cred = prov.credential
            assert pki.subject_fields(cred.cert) == {"CN": "ep-aid-1", "OU": acc.id,
                                                     "L": prov.device_id}
            assert pki.key_matches_cert(cred.key, cred.cert)
            assert prov.writes["/1/0"][7] == b"T"
            assert prov.new_bootstrap_uri is None
            assert boot.device_id == prov.device_id and sub.dropped == 0
            assert svc.device(prov.device_id).state == DeviceState.BOOTSTRAPPED
            await dev.switch_to_lwm2m(prov)
            reg = svc.events.wait_for(lambda e: e.type == ev.REGISTRATION, WAIT)
            response = await dev.register(prov.lwm2m_uri, lifetime=300)
            event = await reg
            assert response.opt.location_path == ("rd", acc.id, prov.device_id)
            assert event.data["ep"] == prov.device_id
            assert event.data["original-ep"] == "ep-aid-1"
            assert {"path": "/3/0/0", "rt": "manufacturer", "ct": "", "obs": False, "if": ""} \
                in event.data["resources"]
            stored = svc.device(prov.device_id)
            assert stored.state == DeviceState.REGISTERED and stored.lifetime == 300
            await dev.close()

    run(scenario())


def test_cloud_bootstrap_first_to_claim_writes_aid_and_claims(tmp_path):
    async def scenario():
        async with running(tmp_path) as svc:
            ca = factory_ca()
            acc = trusted_account(svc, ca, enrollment=True)
            dev = device(svc, ca, "ep-ftc-1")
            enrollment = svc.enroll(acc.id, pki.enrollment_id(dev.credential.cert))
            prov = await dev.bootstrap(svc.bootstrap_uri())
            assert prov.new_bootstrap_uri == f"{svc.bootstrap_uri()}?aid={acc.id}"
            assert pki.subject_fields(prov.credential.cert)["OU"] == acc.id
            claimed = svc.store.get_enrollment(enrollment.id)
            assert claimed.claimed_at is not None and claimed.enrolled_device_id == prov.device_id
            # the device saved the new URI: the next bootstrap carries aid and keeps the id
            await dev.close()
            again = await dev.bootstrap(prov.new_bootstrap_uri, iep=prov.device_id)
            assert again.device_id == prov.device_id and again.new_bootstrap_uri is None
            await dev.close()

    run(scenario())


def test_cloud_bootstrap_production_device_keeps_its_id(tmp_path):
    async def scenario():
        async with running(tmp_path) as svc:
            ca = factory_ca()
            acc = trusted_account(svc, ca)
            dev = device(svc, ca, "ep-prod-1")
            first = await dev.bootstrap(svc.bootstrap_uri(), aid=acc.id)
            await dev.close()
            second = await dev.bootstrap(svc.bootstrap_uri(), aid=acc.id)  # no iep (factory reset)
            await dev.close()
            assert first.device_id == second.device_id
            entry = svc.device(first.device_id)
            assert entry.execution_mode == 5 and entry.ca_id is not None
            assert len(svc.devices(acc.id)) == 1

    run(scenario())


def test_cloud_bootstrap_developer_certificate(tmp_path, monkeypatch):
    from harness.cloud import bootstrap_policy

    monkeypatch.setattr(bootstrap_policy, "DEVICES_PER_DEVELOPER_CERT", 2)

    async def scenario():
        async with running(tmp_path) as svc:
            acc = svc.create_account("dev")
            dc = svc.issue_developer_certificate(acc.id, "dev-ep")
            assert dc.bootstrap_uri == f"{svc.bootstrap_uri()}?aid={acc.id}"
            assert "key=<redacted>" in repr(dc)

            def board() -> LabDevice:
                return LabDevice("tls-record", "dev-ep", credential=dc.credential,
                                 server_ca_der=dc.server_ca_der)

            one, two = board(), board()
            first = await one.bootstrap(dc.bootstrap_uri)
            second = await two.bootstrap(dc.bootstrap_uri)
            assert first.device_id != second.device_id  # no iep: a new device each time
            again = await one.bootstrap(dc.bootstrap_uri, iep=first.device_id)
            assert again.device_id == first.device_id  # iep reuses the id
            assert svc.device(first.device_id).execution_mode == 1
            three = board()
            with pytest.raises(BootstrapFailed) as refused:
                await three.bootstrap(dc.bootstrap_uri)
            assert (refused.value.code, refused.value.text) == (
                "4.03", "Developer certificate device limit reached")
            for d in (one, two, three):
                await d.close()

    run(scenario())


def test_cloud_bootstrap_senml_when_client_asks(tmp_path):
    async def scenario():
        async with running(tmp_path) as svc:
            ca = factory_ca()
            acc = trusted_account(svc, ca)
            dev = device(svc, ca, "ep-senml")
            prov = await dev.bootstrap(svc.bootstrap_uri(), aid=acc.id, pct=110)
            assert set(prov.content_formats) == {110}
            assert prov.lwm2m_uri.endswith(f"?aid={acc.id}")
            assert prov.credential is not None
            await dev.close()

    run(scenario())


@pytest.mark.parametrize("kind", ["udp", "tcp-length"])
def test_cloud_bootstrap_nosec_then_register(tmp_path, kind):
    async def scenario():
        async with running(tmp_path) as svc:
            acc = svc.create_account("lab")
            dev = LabDevice(kind, "nosec-1")
            prov = await dev.bootstrap(svc.bootstrap_uri(kind), aid=acc.id)
            assert prov.security_mode == SecurityMode.NOSEC and prov.credential is None
            # ?aid= only for the Device Management Client (mccv=, or the stream transports only
            # it speaks): a standard udp client cannot parse a URI with a query
            standard = kind == "udp"
            assert prov.lwm2m_uri == svc.lwm2m_uri(kind) + ("" if standard else f"?aid={acc.id}")
            assert prov.writes["/1/0"][7] == (b"U" if standard else b"T")
            await dev.switch_to_lwm2m(prov)
            response = await dev.register(prov.lwm2m_uri,
                                          extra_query=f"aid={acc.id}" if standard else "")
            assert response.opt.location_path[:2] == ("rd", acc.id)
            [entry] = svc.devices(acc.id)
            assert entry.id == dev.device_id and entry.state == DeviceState.REGISTERED
            await dev.close()

    run(scenario())


def test_cloud_bootstrap_trusting_an_intermediate_ca_only(tmp_path):
    """An account may upload its issuing (intermediate) CA without the root above it."""

    async def scenario():
        async with running(tmp_path) as svc:
            issuing = pki.make_ca("OEM issuing CA", parent=factory_ca("OEM root"))
            acc = trusted_account(svc, issuing)
            dev = device(svc, issuing, "ep-inter-1")
            booted = svc.events.wait_for(lambda e: e.type == ev.BOOTSTRAP, WAIT)
            prov = await dev.bootstrap(svc.bootstrap_uri(), aid=acc.id)
            assert (await booted).device_id == prov.device_id
            assert svc.device(prov.device_id).state == DeviceState.BOOTSTRAPPED
            await dev.close()

    run(scenario())


def test_cloud_bootstrap_finish_stores_state_expiry_and_events_together(tmp_path):
    async def scenario():
        async with running(tmp_path) as svc:
            ca = factory_ca()
            acc = trusted_account(svc, ca)
            dev = device(svc, ca, "ep-finish-1")
            prov = await dev.bootstrap(svc.bootstrap_uri(), aid=acc.id)
            boot = await svc.events.wait_for(lambda e: e.type == ev.BOOTSTRAP, WAIT,
                                             include_history=True)
            stored = svc.device(prov.device_id)
            assert stored.state == DeviceState.BOOTSTRAPPED
            assert stored.connector_expiration_date == prov.credential.cert.not_valid_after_utc
            assert stored.bootstrapped_timestamp is not None
            assert boot.data["state"] == str(DeviceState.BOOTSTRAPPED)
            persisted = [e.event_type for e in svc.store.list_events(device_id=prov.device_id)]
            assert persisted == [ev.DEVICE_CREATED, ev.BOOTSTRAP]
            await dev.close()

    run(scenario())
