"""Events, the service thread, the serve/devices entry points, and no secrets in logs."""

import asyncio
import io
import logging
import socket
import threading

import pytest
from cloud_testkit import WAIT, config, device, factory_ca, onboard, run, running, trusted_account
from rich.console import Console

from harness.cloud import events as ev
from harness.cloud.serve import serve
from harness.cloud.service import ServiceError
from harness.cloud.service_thread import ServiceThread
from harness.errors import HilError
from harness.services.bench import list_devices


def test_cloud_event_wait_timeout_lists_last_events():
    async def scenario():
        bus = ev.EventBus()
        bus.publish(ev.Event(ev.BOOTSTRAP, "dev-1", "acc", {"ep": "dev-1"}))
        with pytest.raises(ev.EventTimeout) as info:
            await bus.wait_for(lambda e: e.type == ev.REGISTRATION, 0.05, what="a registration")
        assert "No event matching a registration within 0.05 s" in str(info.value)
        assert "bootstrap device=dev-1" in str(info.value)
        past = await bus.wait_for(lambda e: e.type == ev.BOOTSTRAP, 0.05, include_history=True)
        assert past.device_id == "dev-1"

    run(scenario())


def test_cloud_event_sync_wait_from_another_thread():
    bus = ev.EventBus()
    mark = bus.mark()
    worker = threading.Thread(target=bus.publish,
                              args=(ev.Event(ev.REGISTRATION, "d", "a", {"ep": "d"}),))
    worker.start()
    event = bus.wait_for_sync(lambda e: e.type == ev.REGISTRATION, WAIT, since=mark)
    worker.join(WAIT)
    assert event.device_id == "d"
    with pytest.raises(ev.EventTimeout):
        bus.wait_for_sync(lambda e: True, 0.05, since=bus.mark())


def test_cloud_service_thread_call_and_errors(tmp_path):
    thread = ServiceThread(config(), tmp_path, start_rest=False)
    with pytest.raises(ServiceError, match="not running"):
        thread.call(asyncio.sleep(0))
    svc = thread.start()
    try:
        account = svc.create_account("t")
        assert thread.call(asyncio.sleep(0, result=account.id)) == account.id
        assert thread.run(svc.store.get_account, account.id).name == "t"
        assert svc.bootstrap_uri().startswith("coaps://127.0.0.1:")
    finally:
        thread.stop()
    with pytest.raises(ServiceError, match="not running"):
        svc.bootstrap_uri()


def test_cloud_port_in_use_is_a_clear_error(tmp_path):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        cfg = config().model_copy(update={"bootstrap": config().bootstrap.model_copy(
            update={"tls_record": port})})
        with pytest.raises(HilError, match=str(port)):
            ServiceThread(cfg, tmp_path, start_rest=False).start()


def test_cloud_serve_prints_uris_rest_access_and_devices_lists(tmp_path):
    out, table = io.StringIO(), io.StringIO()

    async def scenario():
        stop, ready = asyncio.Event(), asyncio.Event()
        console = Console(file=out, width=200)
        task = asyncio.create_task(serve(config(), tmp_path, console, stop, ready))
        await asyncio.wait_for(ready.wait(), WAIT)
        try:  # the bench command is a REST client of the running service
            return await asyncio.to_thread(list_devices, tmp_path,
                                           console=Console(file=table, width=200))
        finally:
            stop.set()
            await task

    assert run(scenario()) == []
    assert "Device Directory (0 devices)" in table.getvalue()
    text = out.getvalue()
    assert "bootstrap tls-record coaps://127.0.0.1:" in text
    assert "lwm2m     udp        coap://127.0.0.1:" in text
    assert "-----BEGIN CERTIFICATE-----" in text and "PRIVATE KEY" not in text
    assert f"hil cloud api-key create --account my-account --data-dir {tmp_path}" in text
    assert 'curl -H "Authorization: Bearer $KEY" http://127.0.0.1:' in text
    operator_key = (tmp_path / "operator-key").read_text().strip()
    assert operator_key.startswith("op_") and operator_key not in text
    with pytest.raises(HilError, match="No local Device Management service is running"):
        list_devices(tmp_path)  # stopped now


def test_cloud_no_private_keys_in_logs(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)

    async def scenario():
        async with running(tmp_path) as svc:
            ca = factory_ca()
            acc = trusted_account(svc, ca)
            dev = device(svc, ca, "ep-secret")
            prov = await onboard(svc, dev, aid=acc.id)
            await dev.close()
            return prov.credential

    cred = run(scenario())
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "ep-secret" in text  # the logs did capture the onboarding
    for secret in (cred.key_der.hex(), cred.key_pem.decode().splitlines()[1], repr(cred.key_der)[:60]):
        assert secret not in text
