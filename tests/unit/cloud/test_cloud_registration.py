"""Register, Update, De-register, bad requests, direct LwM2M, overwrite, rate limit, expiry, ops."""

import asyncio

import pytest
from aiocoap.numbers.codes import Code
from cloud_testkit import WAIT, config, device, factory_ca, onboard, run, running, trusted_account
from lab_client import LabDevice

from harness import pki
from harness.cloud import events as ev
from harness.cloud.lwm2m_server import DeviceNotConnected
from harness.cloud.records import DeviceState


async def _onboarded(svc, endpoint="ep-reg", lifetime=300):
    ca = factory_ca()
    acc = trusted_account(svc, ca)
    dev = device(svc, ca, endpoint)
    await onboard(svc, dev, aid=acc.id, lifetime=lifetime)
    return acc, dev


def test_cloud_update_and_deregister(tmp_path):
    async def scenario():
        async with running(tmp_path) as svc:
            acc, dev = await _onboarded(svc)
            waiter = svc.events.wait_for(lambda e: e.type == ev.REG_UPDATE, WAIT)
            response = await dev.update(lifetime=600, links='</5/0>;rt="fw",</3/0/0>;d')
            assert response.code == Code.CHANGED
            event = await waiter
            assert "original-ep" not in event.data and event.data["ep"] == dev.device_id
            paths = [r["path"] for r in event.data["resources"]]
            assert "/5/0" in paths and "/3/0/0" not in paths
            assert svc.device(dev.device_id).lifetime == 600
            waiter = svc.events.wait_for(lambda e: e.type == ev.DE_REGISTRATION, WAIT)
            assert (await dev.deregister()).code == Code.DELETED
            assert (await waiter).device_id == dev.device_id
            entry = svc.device(dev.device_id)
            assert entry.state == DeviceState.DEREGISTERED and entry.resources == []
            assert (await dev.update()).code == Code.NOT_FOUND  # client must re-register
            await dev.close()

    run(scenario())


def test_cloud_lifetime_is_clamped_and_granted_as_max_age(tmp_path):
    async def scenario():
        async with running(tmp_path, config(lifetime_min=60, lifetime_max=3600)) as svc:
            ca = factory_ca()
            acc = trusted_account(svc, ca)
            dev = device(svc, ca, "ep-lt")
            prov = await dev.bootstrap(svc.bootstrap_uri(), aid=acc.id)
            await dev.switch_to_lwm2m(prov)
            response = await dev.register(prov.lwm2m_uri, lifetime=5)
            assert response.opt.max_age == 60
            response = await dev.register(prov.lwm2m_uri, lifetime=999999)
            assert response.opt.max_age == 3600
            await dev.close()

    run(scenario())


@pytest.mark.parametrize(("query", "code", "needle"), [
    ("lt=300&b=U", "4.00", "needs ep="),
    ("ep=x&lwm2m=1.0&lt=abc", "4.00", "lt='abc' is not a positive integer"),
    ("ep=x&lwm2m=1.0&lt=0", "4.00", "lt='0'"),
    ("ep=x&lwm2m=1.0&lt=-5", "4.00", "lt='-5'"),
])
def test_cloud_bad_register_queries(tmp_path, query, code, needle):
    async def scenario():
        async with running(tmp_path) as svc:
            acc = svc.create_account("lab")
            dev = LabDevice("udp", "x")
            response = await dev.request(Code.POST, f"{svc.lwm2m_uri('udp')}/rd?{query}&aid={acc.id}",
                                         payload=b"</3/0>", content_format=40)
            await dev.close()
            assert str(response.code).startswith(code)
            assert needle in response.payload.decode()

    run(scenario())


def test_cloud_bad_bodies_unknown_paths_and_huge_payloads(tmp_path):
    async def scenario():
        async with running(tmp_path) as svc:
            acc = svc.create_account("lab")
            dev = LabDevice("tcp-length", "x")
            base = svc.lwm2m_uri("tcp-length")
            reg = f"{base}/rd?ep=x&lwm2m=1.0&aid={acc.id}"
            bad = await dev.request(Code.POST, reg, payload=b"<unclosed", content_format=40)
            assert str(bad.code).startswith("4.00") and "malformed" in bad.payload.decode()
            wrong_ct = await dev.request(Code.POST, reg, payload=b"{}", content_format=50)
            assert wrong_ct.code == Code.UNSUPPORTED_CONTENT_FORMAT
            huge = await dev.request(Code.POST, reg, payload=b"</3/0>," * 20000, content_format=40)
            assert huge.code == Code.REQUEST_ENTITY_TOO_LARGE
            assert (await dev.request(Code.GET, f"{base}/nothing")).code == Code.NOT_FOUND
            assert (await dev.request(Code.POST, f"{base}/rd/{acc.id}/nope")).code == Code.NOT_FOUND
            ok = await dev.request(Code.POST, reg, payload=b"</3/0>", content_format=40)
            assert ok.code == Code.CREATED  # the connection still serves
            await dev.close()

    run(scenario())


def test_cloud_direct_lwm2m_needs_commercial_account(tmp_path):
    async def scenario():
        async with running(tmp_path) as svc:
            oem = factory_ca("OEM LwM2M CA")
            plain = svc.create_account("plain")
            svc.add_trusted_certificate(plain.id, "lwm2m", oem.cert_pem, service="lwm2m")
            commercial = svc.create_account("pro", commercial=True)
            svc.add_trusted_certificate(commercial.id, "lwm2m", oem.cert_pem, service="lwm2m")

            async def direct(aid: str, cred=None) -> LabDevice:
                cred = cred or pki.make_device_cert(oem, "direct-1", organizational_unit=aid)
                return LabDevice("tls-record", "direct-1", credential=cred,
                                 server_ca_der=svc.server_ca_der)

            dev = await direct(plain.id)
            refused = svc.events.wait_for(lambda e: e.type == ev.REGISTRATION_ERROR, WAIT)
            response = await dev.register(f"{svc.lwm2m_uri()}?aid={plain.id}")
            await dev.close()
            assert str(response.code).startswith("4.03")
            assert response.payload == b"Direct LwM2M registration needs a commercial account"
            event = await refused
            assert (event.account_id, event.data["original-ep"]) == (plain.id, "direct-1")
            [denial] = svc.store.list_denials(account_id=plain.id)
            assert denial.reason == "Register refused: Direct LwM2M registration needs a commercial account"
            assert denial.endpoint_name == "direct-1"

            first = await direct(commercial.id)
            response = await first.register(f"{svc.lwm2m_uri()}?aid={commercial.id}")
            assert response.code == Code.CREATED
            # another device with the same endpoint name: same device id, last one wins
            second = await direct(commercial.id)
            response = await second.register(f"{svc.lwm2m_uri()}?aid={commercial.id}")
            assert response.code == Code.CREATED and second.device_id == first.device_id
            entry = svc.device(first.device_id)
            assert entry.lwm2m_mode == "direct" and entry.state == DeviceState.REGISTERED
            code, ct, payload = await svc.read(first.device_id, "/3/0/0")
            assert code == "2.05" and payload == b"dm-hil"
            assert svc.lwm2m.live[first.device_id].remote is not None
            for d in (first, second):
                await d.close()

    run(scenario())


def test_cloud_same_device_id_latest_registration_overwrites(tmp_path):
    async def scenario():
        async with running(tmp_path) as svc:
            acc, dev = await _onboarded(svc, "ep-twin")
            twin = LabDevice("tls-record", "ep-twin", credential=dev.credential,
                             server_ca_der=svc.server_ca_der, manufacturer="twin")
            response = await twin.register(f"{svc.lwm2m_uri()}?aid={acc.id}")
            assert response.code == Code.CREATED and twin.device_id == dev.device_id
            code, _, payload = await svc.read(dev.device_id, "3/0/0")
            assert payload == b"twin"  # operations go to the latest registration
            assert len(svc.devices(acc.id)) == 1
            for d in (dev, twin):
                await d.close()

    run(scenario())


def test_cloud_server_initiated_execute_and_read(tmp_path):
    async def scenario():
        async with running(tmp_path) as svc:
            _, dev = await _onboarded(svc, "ep-ops")
            code, _, _ = await svc.execute(dev.device_id, "/3/0/4")
            assert code == "2.04"
            await asyncio.wait_for(dev.execute_event.wait(), WAIT)
            assert dev.executed == ["/3/0/4"]
            code, ct, payload = await svc.read(dev.device_id, "/3/0/0")
            assert (code, ct, payload) == ("2.05", 0, b"dm-hil")
            code, _, _ = await svc.read(dev.device_id, "/9/9")
            assert code == "4.04"
            await dev.deregister()
            with pytest.raises(DeviceNotConnected, match="no live registration"):
                await svc.read(dev.device_id, "/3/0/0")
            await dev.close()

    run(scenario())


def test_cloud_rate_limit_holds_the_device(tmp_path):
    cfg = config(rate_limit={"count": 3, "window": 30.0, "hold": 60.0})

    async def scenario():
        async with running(tmp_path, cfg) as svc:
            now = [1000.0]
            svc.lwm2m.rate.clock = lambda: now[0]  # a clock the test moves
            _, dev = await _onboarded(svc, "ep-rate")  # registration = operation 1
            limited = svc.events.wait_for(lambda e: e.type == ev.RATE_LIMITED, WAIT)
            assert (await dev.update()).code == Code.CHANGED
            assert (await dev.update()).code == Code.CHANGED
            response = await dev.update()  # the 4th within the window
            assert response.code == Code.TOO_MANY_REQUESTS
            event = await limited
            assert event.device_id == dev.device_id and event.data["hold"] == 60.0
            now[0] += 59.0
            held = await dev.update()
            assert held.code == Code.TOO_MANY_REQUESTS and b"held for 1 s more" in held.payload
            deregister = await dev.deregister()
            assert deregister.code == Code.TOO_MANY_REQUESTS  # every request is held
            now[0] += 1.5  # the hold is over: served again
            assert (await dev.update()).code == Code.CHANGED
            await dev.close()

    run(scenario())


def test_cloud_lifetime_expiry(tmp_path):
    cfg = config(lifetime_min=0.2, expiry_check_interval=0.05)

    async def scenario():
        async with running(tmp_path, cfg) as svc:
            acc, dev = await _onboarded(svc, "ep-exp", lifetime=1)
            expired = await svc.events.wait_for(lambda e: e.type == ev.REGISTRATION_EXPIRED, WAIT)
            assert expired.device_id == dev.device_id
            entry = svc.device(dev.device_id)
            assert entry.state == DeviceState.DEREGISTERED and entry.resources == []
            assert (await dev.update()).code == Code.NOT_FOUND
            await dev.close()

    run(scenario())
