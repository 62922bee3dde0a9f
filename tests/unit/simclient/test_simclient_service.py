"""DeviceClient against the real local Device Management service (harness.cloud) over TLS."""

from __future__ import annotations

import asyncio

from simclient_lab import Console, Platform, client_task

from harness.cloud.service import DeviceManagementService
from harness.provisioning import items
from harness.provisioning.store import ItemStore
from harness.sim.client import DeviceClient

FIRMWARE = {"client_version": "4.13.4", "mode": "developer", "transport": "tcp",
            "backoff_base": 0.01, "request_timeout": 5.0}


def _developer_store(dev) -> ItemStore:
    store = ItemStore(None)
    for name, value in [
        (items.USE_BOOTSTRAP, (1).to_bytes(4, "little")),
        (items.ENDPOINT_NAME, dev.endpoint_name.encode()),
        (items.BOOTSTRAP_SERVER_URI, dev.bootstrap_uri.encode()),
        (items.BOOTSTRAP_DEVICE_CERT, dev.credential.cert_der),
        (items.BOOTSTRAP_DEVICE_PRIVATE_KEY, dev.credential.key_der),
        (items.BOOTSTRAP_SERVER_CA_CERT, dev.server_ca_der),
        (items.MANUFACTURER, b"dm-hil"), (items.MODEL_NUMBER, b"vboard"),
        (items.SERIAL_NUMBER, b"SN-1"), (items.DEVICE_TYPE, b"virtual"),
        (items.HARDWARE_VERSION, b"1"), (items.MEMORY_TOTAL_KB, (256).to_bytes(4, "little")),
    ]:
        store.put(name, value, factory=True)
    return store


def test_developer_device_onboards_to_the_local_service(tmp_path):
    async def body():
        service = DeviceManagementService(data_dir=tmp_path / "svc", start_rest=False)
        await service.start()
        try:
            account = service.create_account("lab")
            dev = service.issue_developer_certificate(account.id, "vdev-0001")
            store = _developer_store(dev)
            console, platform = Console(), Platform()
            client = DeviceClient(store, FIRMWARE, console, platform)
            async with client_task(client) as task:
                await console.wait_for(r"^Client registered$", timeout=10)
                device_id = (await console.wait_for(r"^Device ID: (\S+)$")).group(1)
                assert store.get_str(items.INTERNAL_ENDPOINT) == device_id
                assert service.device(device_id).state == "registered"
                code, _ct, payload = await service.read(device_id, "/3/0/0", timeout=5)
                assert (code, payload) == ("2.05", b"dm-hil")
                code, _ct, _p = await service.execute(device_id, "/3/0/4", timeout=5)
                assert code == "2.04"
                await asyncio.wait_for(platform.rebooted.wait(), 5)
                await client.deregister(timeout=5)
                await asyncio.wait_for(task, 5)
                assert service.device(device_id).state == "deregistered"
        finally:
            await service.stop()

    asyncio.run(body())
