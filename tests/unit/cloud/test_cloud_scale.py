"""Flat cost per registration: expiry on a heap, device counts kept as devices are created, a
bounded duplicate cache that still answers a retransmitted Register with the stored response."""

import asyncio
import datetime as dt
import os
import socket
import sys
from pathlib import Path

from cloud_testkit import config, run, running

from harness.cloud import lwm2m_server

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))
from bench_registration_scale import register_message  # noqa: E402 - the benchmark's own encoder


async def _register(port: int, aid: str, ep: str, mid: int, token: bytes, *, lifetime: int = 86400,
                    sock: socket.socket | None = None) -> bytes:
    """One raw NoSec Register over UDP; the datagram answered."""
    own = sock is None
    sock = sock or socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    message = register_message(mid, token, ep, aid, lifetime)
    await loop.sock_sendto(sock, message, ("127.0.0.1", port))
    try:
        return await asyncio.wait_for(loop.sock_recv(sock, 2048), 10)
    finally:
        if own:
            sock.close()


def _udp_port(svc) -> int:
    return int(svc.lwm2m_uri("udp").rsplit(":", 1)[1].split("/")[0])


def test_expiry_follows_the_latest_lifetime_without_scanning(tmp_path, monkeypatch):
    cfg = config(lifetime_min=1, expiry_check_interval=3600)  # expire_due() is called by the test

    async def scenario():
        async with running(tmp_path, cfg, nosec_default_account=None) as svc:
            acc = svc.create_account("scale", device_quota=10)
            port = _udp_port(svc)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                first = await _register(port, acc.id, "ep-heap", 1, b"tok1", lifetime=2, sock=sock)
                assert first[1] == 0x41  # 2.01 Created
                [device] = svc.store.list_devices(acc.id)
                now = dt.datetime.now(dt.UTC)
                svc.store.update_device(device.id, lifetime=120)  # as an Update would
                svc.lwm2m._schedule(svc.store.get_device(device.id))
                later = now + dt.timedelta(seconds=10)
                monkeypatch.setattr(lwm2m_server, "utcnow", lambda: later)
                assert svc.lwm2m.expire_due() == []  # the 2 s deadline is stale
                much_later = now + dt.timedelta(seconds=200)
                monkeypatch.setattr(lwm2m_server, "utcnow", lambda: much_later)
                assert svc.lwm2m.expire_due() == [device.id]
                assert svc.lwm2m.expire_due() == []  # nothing left to expire

    run(scenario())


def test_device_count_is_kept_as_devices_are_created(tmp_path):
    async def scenario():
        async with running(tmp_path) as svc:
            acc = svc.create_account("count", device_quota=100)
            assert svc.store.count_devices(acc.id) == 0
            for i in range(3):
                svc.store.create_device(acc.id, f"ep-{i}")
            rows = svc.store._query("SELECT COUNT(*) AS n FROM devices WHERE account_id=?", (acc.id,))
            assert svc.store.count_devices(acc.id) == rows[0]["n"] == 3

    run(scenario())


def test_a_retransmitted_register_gets_the_stored_response_once_processed(tmp_path):
    async def scenario():
        async with running(tmp_path) as svc:
            acc = svc.create_account("dup", device_quota=10)
            port = _udp_port(svc)
            token = os.urandom(4)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.bind(("127.0.0.1", 0))
                first = await _register(port, acc.id, "ep-dup", 77, token, sock=sock)
                again = await _register(port, acc.id, "ep-dup", 77, token, sock=sock)
            assert first == again and first[1] == 0x41
            assert len(svc.store.list_devices(acc.id)) == 1
            registrations = [e for e in svc.store.list_events(account_id=acc.id)
                             if e.event_type == "registration"]
            assert len(registrations) == 1  # the duplicate was not handled twice

    run(scenario())
