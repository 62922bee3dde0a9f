"""Bootstrap over tls-record: with aid, First-to-Claim, developer certificates, re-bootstrap."""

from cloud_testkit import WAIT, device, factory_ca, onboard, run, running, trusted_account

from harness import pki
from harness.cloud import events as ev
from harness.cloud.lab_client import LabDevice
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
