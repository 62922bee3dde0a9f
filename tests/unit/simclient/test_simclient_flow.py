"""DeviceClient against a small bootstrap + LwM2M server over real loopback TLS (tls-record)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt

from aiocoap import Code, Message
from simclient_lab import (
    AID,
    ENDPOINT,
    FIRMWARE,
    Console,
    MiniService,
    Platform,
    bootstrap_store,
    client_task,
)

from harness.lwm2m import tlv
from harness.lwm2m.ids import ContentFormat
from harness.lwm2m.linkformat import parse_links
from harness.provisioning import items
from harness.sim.client import DeviceClient


async def _started(lab_pki, **service_args):
    service = MiniService(lab_pki, **service_args)
    await service.start()
    return service


@contextlib.asynccontextmanager
async def running(lab_pki, firmware=None, service_args=None, store_uri_query=f"?aid={AID}"):
    service = await _started(lab_pki, **(service_args or {}))
    store = bootstrap_store(lab_pki, service.uri + store_uri_query)
    console, platform = Console(), Platform()
    client = DeviceClient(store, dict(FIRMWARE, **(firmware or {})), console, platform)
    try:
        async with client_task(client) as task:
            yield service, store, console, platform, client, task
    finally:
        await service.stop()


def test_bootstrap_then_register_prints_the_example_lines(lab_pki):
    async def body():
        async with running(lab_pki) as (service, store, console, _p, client, _t):
            await console.wait_for(r"^Client registered$")
            ep = await console.wait_for(r"^Endpoint Name: (\S+)$")
            dev = await console.wait_for(r"^Device ID: (\S+)$")
            assert ep.group(1) == ENDPOINT  # factory image shows the endpoint name
            assert dev.group(1) == service.device_id
            bs = service.bs_requests[0]
            assert bs.opt.uri_query == (f"ep={ENDPOINT}", f"aid={AID}", "mccv=4.13.4")
            assert service.finish_answer == Code.CHANGED
            reg = service.registers[0]
            # the bootstrap wrote 3600 to /1/0/1; like the real client (tests/peers/
            # test_peer_pdmc_wire_queries.py) the board asks for its build's lifetime (86400)
            assert service.server_lifetime == 3600
            assert reg.opt.uri_query == (f"ep={ENDPOINT}", "et=default", "lt=86400", "lwm2m=1.0",
                                         f"d={AID}", "b=U", f"aid={AID}", "mccv=4.13.4")
            assert reg.opt.content_format == ContentFormat.LINK_FORMAT
            paths = [link.path for link in parse_links(bytes(reg.payload))]
            assert "/3/0/0" in paths and "/3/0/5" in paths
            assert store.get_str(items.INTERNAL_ENDPOINT) == service.device_id
            assert store.get_str(items.LWM2M_SERVER_URI) == f"{service.uri}?aid={AID}"
            assert store.get_str(items.ACCOUNT_ID) == AID
            assert not store.is_factory(items.LWM2M_DEVICE_CERT)
            assert "[INFO][mClt]: Client bootstrapped" in console.lines
            # nothing secret on the console
            text = "\n".join(console.lines)
            assert "PRIVATE" not in text and lab_pki.bootstrap.key_der.hex()[:32] not in text

    asyncio.run(body())


def test_ftc_device_learns_its_account_and_iep_is_sent_again(lab_pki):
    async def body():
        async with running(lab_pki, store_uri_query="?") as (service, store, console, _p, _c, _t):
            store.put(items.FIRST_TO_CLAIM, (1).to_bytes(4, "little"), factory=True)
            await console.wait_for(r"^Client registered$")
            assert store.get_int(items.FIRST_TO_CLAIM) == 0
            assert store.get_str(items.BOOTSTRAP_SERVER_URI) == f"{service.uri}?aid={AID}"
            assert store.is_factory(items.ENDPOINT_NAME)

    asyncio.run(body())


def test_update_at_75_percent_then_deregister(lab_pki):
    async def body():
        firmware = {"lifetime": 1, "min_lifetime": 1}
        args = {"server_lifetime": None}
        async with running(lab_pki, firmware, args) as (service, _s, console, _p, client, task):
            await console.wait_for(r"^Client registered$")
            assert service.registers[0].opt.uri_query[2] == "lt=1"
            await console.wait_for(r"^Client registration updated$", timeout=5)
            update = service.updates[0]
            assert update.opt.uri_path == ("rd", AID, service.device_id)
            assert update.opt.uri_query[0] == "et=default"
            await client.deregister(timeout=5)
            await asyncio.wait_for(task, 5)
            assert service.deletes[0].opt.uri_path == ("rd", AID, service.device_id)
            assert console.lines[-1] == "Client unregistered - Exiting application"

    asyncio.run(body())


def test_failed_update_leads_to_full_reregistration(lab_pki):
    async def body():
        args = {"update_answer": Code.NOT_FOUND, "server_lifetime": None}
        async with running(lab_pki, {"lifetime": 1, "min_lifetime": 1}, args) as (
                service, _s, console, _p, client, _t):
            await console.wait_for(r"^Client registered$")
            await console.wait_for(r"^Client registered$", count=2, timeout=5)
            assert len(service.registers) >= 2
            # the example prints endpoint and device id once per boot
            assert sum(line.startswith("Device ID:") for line in console.lines) == 1

    asyncio.run(body())


def test_expired_lwm2m_certificate_rebootstraps_with_same_device_id(lab_pki):
    async def body():
        # the first LwM2M certificate expires 1.5 s after it is issued
        args = {"lwm2m_validity": dt.timedelta(minutes=5, seconds=1.5)}
        async with running(lab_pki, service_args=args) as (service, store, console, _p, client, _t):
            await console.wait_for(r"^Client registered$")
            first_cert = store.get(items.LWM2M_DEVICE_CERT)
            service.lwm2m_validity = dt.timedelta(days=365)
            await console.wait_for(r"^Error details : Re-bootstrapping$", timeout=5)
            await console.wait_for(r"^Client registered$", count=2, timeout=5)
            assert "Error occurred : MbedCloudClient::ConnectBootstrapFailed" in console.lines
            second = service.bs_requests[1]
            assert f"iep={service.device_id}" in second.opt.uri_query
            assert store.get(items.LWM2M_DEVICE_CERT) != first_cert
            assert client.device_id == service.device_id

    asyncio.run(body())


def test_server_execute_reboot_and_factory_reset_and_read(lab_pki):
    async def body():
        async with running(lab_pki) as (service, _s, console, platform, _c, _t):
            await console.wait_for(r"^Client registered$")
            remote = service.registers[0].remote
            ctx = service.context.context

            async def ask(code, path, **opts):
                message = Message(code=code, uri_path=path, **opts)
                message.remote = remote
                return await asyncio.wait_for(ctx.request(message).response, 5)

            text = await ask(Code.GET, ("3", "0", "0"))
            assert (text.code, bytes(text.payload)) == (Code.CONTENT, b"dm-hil")
            whole = await ask(Code.GET, ("3", "0"))
            values = tlv.decode_resources(bytes(whole.payload))
            assert values[2] == b"SN-0001" and 19 not in values  # no Software Version, as the real client
            # a new board (no stored time at start) has no /3/0/13, as the real client
            written = await ask(Code.PUT, ("3", "0", "13"), payload=b"1700000000",
                                content_format=0)
            assert written.code == Code.NOT_FOUND
            # no timezone stored: the real client has no /3/0/15 (tests/peers/test_peer_pdmc_writes.py)
            absent = await ask(Code.PUT, ("3", "0", "15"), payload=b"Europe/Helsinki",
                               content_format=0)
            assert absent.code == Code.NOT_FOUND
            denied = await ask(Code.PUT, ("3", "0", "0"), payload=b"x", content_format=0)
            assert denied.code == Code.METHOD_NOT_ALLOWED
            reboot = await ask(Code.POST, ("3", "0", "4"))
            assert reboot.code == Code.CHANGED
            await asyncio.wait_for(platform.rebooted.wait(), 5)
            reset = await ask(Code.POST, ("3", "0", "5"))
            assert reset.code == Code.CHANGED
            await asyncio.wait_for(platform.factory_reset_done.wait(), 5)
            assert "Factory reset resource triggered" in console.lines

    asyncio.run(body())


def test_forbidden_bootstrap_prints_diagnostic_and_retries(lab_pki):
    async def body():
        answer = (Code.FORBIDDEN, b"Enrollment ID not registered")
        async with running(lab_pki, service_args={"bs_answer": answer}) as (
                service, _s, console, _p, _c, _t):
            await console.wait_for(r"^Error details : response-forbidden:Enrollment ID not registered$")
            assert "Error occurred : MbedCloudClient::ConnectNotAllowed" in console.lines
            assert "Error code : 11" in console.lines
            await service.wait(lambda: len(service.bs_requests) >= 2)  # back-off retry

    asyncio.run(body())


def test_bad_content_format_write_is_refused_and_reported(lab_pki):
    async def body():
        args = {"put_content_format": ContentFormat.TEXT}
        async with running(lab_pki, service_args=args) as (service, store, console, _p, _c, _t):
            await console.wait_for(r"^Error details : BS PUT fails :0/0$")
            await service.wait(lambda: Code.BAD_REQUEST in service.write_answers)
            assert "Error occurred : MbedCloudClient::ConnectBootstrapFailed" in console.lines
            assert store.get(items.LWM2M_SERVER_URI) is None

    asyncio.run(body())


def test_untrusted_server_is_a_secure_connection_failure(lab_pki):
    async def body():
        from harness import pki

        other = pki.make_ca("someone else")
        service = await _started(lab_pki)
        try:
            store = bootstrap_store(lab_pki, service.uri + f"?aid={AID}")
            store.put(items.BOOTSTRAP_SERVER_CA_CERT, other.cert_der, factory=True)
            console = Console()
            async with client_task(DeviceClient(store, FIRMWARE, console, Platform())):
                await console.wait_for(r"^Error details : Client in reconnection mode "
                                       r"SecureConnectionFailed$")
                assert "Error code : 12" in console.lines
        finally:
            await service.stop()

    asyncio.run(body())


def test_lwm2m_credentials_in_store_register_directly(lab_pki):
    async def body():
        service = await _started(lab_pki)
        try:
            cred = service.lwm2m_credential()
            store = bootstrap_store(lab_pki, service.uri + f"?aid={AID}")
            store.put(items.USE_BOOTSTRAP, (0).to_bytes(4, "little"), factory=True)
            store.put(items.LWM2M_SERVER_URI, f"{service.uri}?aid={AID}".encode(), factory=True)
            store.put(items.LWM2M_DEVICE_CERT, cred.cert_der + lab_pki.ca.cert_der, factory=True)
            store.put(items.LWM2M_DEVICE_PRIVATE_KEY, cred.key_der, factory=True)
            store.put(items.LWM2M_SERVER_CA_CERT, lab_pki.ca.cert_der, factory=True)
            console = Console()
            client = DeviceClient(store, dict(FIRMWARE, mode="developer"), console, Platform())
            async with client_task(client):
                dev = await console.wait_for(r"^Endpoint Name: (\S+)$")
                assert dev.group(1) == service.device_id  # developer image shows the device id
                assert service.bs_requests == []
        finally:
            await service.stop()

    asyncio.run(body())


def test_registration_rejected_in_bootstrap_mode_rebootstraps(lab_pki):
    async def body():
        args = {"register_answer": Code.FORBIDDEN, "lwm2m_validity": dt.timedelta(days=30)}
        async with running(lab_pki, service_args=args) as (service, _s, console, _p, _c, _t):
            await console.wait_for(r"^Error details : LWM2M server rejected client registration$")
            await console.wait_for(r"^Error details : Re-bootstrapping$")
            await service.wait(lambda: len(service.bs_requests) >= 2)
            assert "Error code : 3" in console.lines

    asyncio.run(body())


def test_debug_logs_of_a_bootstrap_carry_no_key_material(lab_pki, caplog):
    """board.log at DEBUG: the keys provisioned and written at bootstrap never reach a log record."""
    import base64
    import logging

    caplog.set_level(logging.DEBUG)

    async def body():
        async with running(lab_pki) as (service, _s, console, _p, _c, _t):
            await console.wait_for(r"^Client registered$")
            return service.lwm2m_certs[0]

    lwm2m = asyncio.run(body())
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "coap" in text.lower(), "the test must see the client's DEBUG records"
    for key in (lab_pki.bootstrap.key_der, lwm2m.key_der):
        middle = key[len(key) // 2:len(key) // 2 + 16]
        for shape in (middle.hex(), repr(middle)[2:-1], base64.b64encode(key).decode()[40:64]):
            assert shape not in text
    assert "PRIVATE KEY" not in text
