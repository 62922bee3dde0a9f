"""The virtual board's udp build against the real service: DTLS (X.509, PSK) and NoSec.

The board's DTLS is OpenSSL offering the compliant build's suites (protocol-facts §3.1 point 6),
the service's is Mbed TLS. NoSec and PSK are complete credentials: one bootstrap, then registered.
"""

from __future__ import annotations

import asyncio

from simclient_lab import Console, Platform, client_task

from harness.cloud import events as ev
from harness.cloud.service import DeviceManagementService
from harness.config import PskKey, ServiceConfig, StandardMode
from harness.lwm2m.ids import SecurityMode
from harness.provisioning import items
from harness.provisioning.store import ItemStore
from harness.sim.client import DeviceClient
from harness.sim.client.credentials import LWM2M_SECURITY_MODE

UDP_FIRMWARE = {"client_version": "4.13.4", "mode": "developer", "transport": "udp",
                "backoff_base": 0.2, "request_timeout": 5.0}
PSK_ID, PSK_KEY = "vboard-psk-1", bytes(range(32))
DEVICE_ITEMS = [(items.MANUFACTURER, b"dm-hil"), (items.MODEL_NUMBER, b"vboard"),
                (items.SERIAL_NUMBER, b"SN-1"), (items.DEVICE_TYPE, b"virtual"),
                (items.HARDWARE_VERSION, b"1"), (items.MEMORY_TOTAL_KB, (256).to_bytes(4, "little"))]


def _config() -> ServiceConfig:
    return ServiceConfig(transports=["udp", "dtls"], bootstrap={"udp": 0, "dtls": 0},
                         lwm2m={"udp": 0, "dtls": 0},
                         standard=StandardMode(account="standard",
                                               psk=[PskKey(identity=PSK_ID, key=PSK_KEY.hex())]))


def _store(entries) -> ItemStore:
    store = ItemStore(None)
    for name, value in [*entries, *DEVICE_ITEMS]:
        store.put(name, value, factory=True)
    return store


async def _service(tmp_path) -> DeviceManagementService:
    service = DeviceManagementService(_config(), tmp_path / "svc", start_rest=False)
    await service.start()
    return service


def test_x509_board_bootstraps_and_registers_over_dtls(tmp_path):
    """udp + DTLS with X.509 for both servers; the service reads the board's Device object."""
    async def body():
        service = await _service(tmp_path)
        try:
            account = service.create_account("lab")
            dev = service.issue_developer_certificate(account.id, "vdtls-0001", kind="dtls")
            store = _store([(items.USE_BOOTSTRAP, (1).to_bytes(4, "little")),
                            (items.ENDPOINT_NAME, b"vdtls-0001"),
                            (items.BOOTSTRAP_SERVER_URI, dev.bootstrap_uri.encode()),
                            (items.BOOTSTRAP_DEVICE_CERT, dev.credential.cert_der),
                            (items.BOOTSTRAP_DEVICE_PRIVATE_KEY, dev.credential.key_der),
                            (items.BOOTSTRAP_SERVER_CA_CERT, dev.server_ca_der)])
            console = Console()
            async with client_task(DeviceClient(store, UDP_FIRMWARE, console, Platform())):
                await console.wait_for(r"^Client registered$", timeout=15)
                device_id = (await console.wait_for(r"^Device ID: (\S+)$")).group(1)
                assert store.get_str(items.LWM2M_SERVER_URI).startswith(service.lwm2m_uri("dtls"))
                code, _ct, payload = await service.read(device_id, "/3/0/0", timeout=5)
                assert (code, payload) == ("2.05", b"dm-hil")
                sessions = service.lwm2m_server.connections("dtls")
                assert any(s.identity and s.identity.kind == "certificate" for s in sessions)
        finally:
            await service.stop()
    asyncio.run(body())


def test_psk_board_registers_with_its_psk_identity(tmp_path):
    """PSK is a complete credential: identity + key, DTLS PSK-AES256-CCM8, the standard account."""
    async def body():
        service = await _service(tmp_path)
        try:
            store = _store([(items.USE_BOOTSTRAP, (0).to_bytes(4, "little")),
                            (items.ENDPOINT_NAME, b"vpsk-0001"),
                            (items.LWM2M_SERVER_URI, service.lwm2m_uri("dtls").encode()),
                            (LWM2M_SECURITY_MODE, int(SecurityMode.PSK).to_bytes(4, "little")),
                            (items.LWM2M_DEVICE_CERT, PSK_ID.encode()),
                            (items.LWM2M_DEVICE_PRIVATE_KEY, PSK_KEY)])
            console = Console()
            async with client_task(DeviceClient(store, UDP_FIRMWARE, console, Platform())):
                await console.wait_for(r"^Client registered$", timeout=15)
            [device] = service.devices(endpoint_name="vpsk-0001")
            assert device.lwm2m_mode == "psk"
        finally:
            await service.stop()
    asyncio.run(body())


def test_nosec_board_bootstrapped_by_a_standard_server_bootstraps_once(tmp_path):
    """NoSec credentials are complete: one bootstrap (Discover, Delete, writes), then registered,
    and no second bootstrap (the issue saw 4,531 in 20 s)."""
    async def body():
        service = await _service(tmp_path)
        try:
            store = _store([(items.USE_BOOTSTRAP, (1).to_bytes(4, "little")),
                            (items.ENDPOINT_NAME, b"vnosec-0001"),
                            (items.BOOTSTRAP_SERVER_URI, service.bootstrap_uri("udp").encode())])
            console = Console()
            async with client_task(DeviceClient(store, UDP_FIRMWARE, console, Platform())):
                await console.wait_for(r"^Client registered$", timeout=15)
                await asyncio.sleep(1.0)  # a window for a repeated bootstrap to show up
            bootstraps = [e for e in service.store.list_events() if e.event_type == ev.BOOTSTRAP]
            assert len(bootstraps) == 1
            [device] = service.devices(endpoint_name="vnosec-0001")
            assert device.state == "registered"
        finally:
            await service.stop()
    asyncio.run(body())


def test_bootstraps_that_lead_nowhere_back_off(tmp_path):
    """Bounded bootstraps per minute: when each bootstrap ends in a refused registration, the
    board waits its growing back-off before the next one (like the client's reconnection timer);
    the gaps between Bootstrap-Requests grow (lower bounds only: a loaded machine only adds)."""
    async def body():
        config = _config().model_copy(update={"timing": _config().timing.model_copy(
            update={"lifetime_default": 7200.0, "lifetime_max": 3600.0})})
        service = DeviceManagementService(config, tmp_path / "svc", start_rest=False)
        await service.start()
        try:
            store = _store([(items.USE_BOOTSTRAP, (1).to_bytes(4, "little")),
                            (items.ENDPOINT_NAME, b"vloop-0001"),
                            (items.BOOTSTRAP_SERVER_URI, service.bootstrap_uri("udp").encode())])
            firmware = dict(UDP_FIRMWARE, backoff_base=0.05)
            seen: list[float] = []
            enough = asyncio.Event()

            def on_event(event):
                if event.type == ev.BOOTSTRAP:
                    seen.append(asyncio.get_running_loop().time())
                    if len(seen) >= 6:
                        enough.set()
            service.events.add_listener(on_event)
            async with client_task(DeviceClient(store, firmware, Console(), Platform())):
                await asyncio.wait_for(enough.wait(), 30)
            gaps = [b - a for a, b in zip(seen, seen[1:], strict=False)]
            # re-bootstrap wait (>= 2 x base) plus back-off base x 2^n (n = 0, 1, 2, ...)
            assert gaps[4] >= 0.05 * 2 ** 4 * 0.9 + 0.1, gaps
        finally:
            await service.stop()
    asyncio.run(body())
