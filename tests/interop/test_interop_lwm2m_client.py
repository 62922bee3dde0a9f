"""Interop: a third-party LwM2M client (npm coap-node) bootstraps and registers over udp NoSec."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from harness.cloud import events as ev
from harness.cloud.records import DeviceState
from harness.cloud.service_thread import ServiceThread
from harness.config import ServiceConfig, Timing

INTEROP_DIR = Path(__file__).resolve().parent
CLIENT_SCRIPT = INTEROP_DIR / "lwm2m_client.js"
CLIENT_PACKAGE = INTEROP_DIR / "node_modules" / "coap-node" / "package.json"
NODE = shutil.which("node")
CLIENT_TIMEOUT_S = 20
WAIT = 10.0
LIFETIME = 240  # the service's default lifetime, written to /1/0/1; the client registers with it
UPDATED_LIFETIME = 600  # lwm2m_client.js sends this in its Update


def _require_client() -> str:
    """The node binary; skip (or fail under CI) when node or the npm client is not installed."""
    missing = None
    if NODE is None:
        missing = "node (Node.js 20) is not on PATH"
    elif not CLIENT_PACKAGE.is_file():
        missing = f"{CLIENT_PACKAGE.parent} is missing; run `npm ci --prefix tests/interop`"
    if missing is None:
        return NODE
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI is set but the interop LwM2M client cannot run: {missing}.")
    pytest.skip(f"interop LwM2M client not installed: {missing}")


def _config() -> ServiceConfig:
    """Loopback service on port 0 with udp NoSec next to tls-record."""
    return ServiceConfig(transports=["tls-record", "udp"], bootstrap={"tls_record": 0, "udp": 0},
                         lwm2m={"tls_record": 0, "udp": 0},
                         timing=Timing(lifetime_default=LIFETIME))


def _read_line(client: subprocess.Popen[str], expected: str) -> str:
    """The client's next stdout line; it must start with `expected` (the client bounds the wait)."""
    line = client.stdout.readline().strip() if client.stdout else ""
    if not line.startswith(expected):
        _stop(client)
        err = client.stderr.read() if client.stderr else ""
        pytest.fail(f"coap-node client: expected {expected!r}, got {line!r}; stderr: {err.strip()}")
    return line


def _stop(client: subprocess.Popen[str]) -> None:
    """Kill the client if it still runs, reap it and close its stdin."""
    if client.poll() is None:
        client.kill()
    client.wait(timeout=5)
    if client.stdin and not client.stdin.closed:
        client.stdin.close()


@pytest.mark.slow  # up to ~3 s: coap-node reopens its socket after the Bootstrap-Request, so the
# service's first write arrives before it listens and is retransmitted (ACK_TIMEOUT 2-3 s)
def test_interop_coap_node_bootstraps_and_registers_over_udp_nosec(tmp_path):
    node = _require_client()
    aid = uuid.uuid4().hex
    endpoint = "coap-node-interop-1"
    with ServiceThread(_config(), tmp_path, start_rest=False, nosec_default_account=aid) as svc:
        svc.store.create_account("interop", account_id=aid)  # the lab's NoSec account
        bootstrap = urlsplit(svc.bootstrap_uri("udp"))
        lwm2m_uri = svc.lwm2m_uri("udp")
        mark = svc.events.mark()
        client = subprocess.Popen(
            [node, str(CLIENT_SCRIPT), bootstrap.hostname, str(bootstrap.port), endpoint,
             str(CLIENT_TIMEOUT_S), "--pause"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert _read_line(client, "bootstrap-request") == "bootstrap-request 2.04"
            booted = _read_line(client, "bootstrapped")
            registered = _read_line(client, "registered")

            # --- registered: the service side while the client holds its registration
            boot = svc.events.wait_for_sync(lambda e: e.type == ev.BOOTSTRAP, WAIT, since=mark)
            assert boot.account_id == aid
            assert boot.data["original-ep"] == endpoint and boot.data["ep"] == boot.device_id
            assert boot.data["mode"] == "nosec" and boot.data["new_device"] is True
            reg = svc.events.wait_for_sync(lambda e: e.type == ev.REGISTRATION, WAIT, since=mark)
            device_id = boot.device_id
            assert reg.device_id == device_id and reg.account_id == aid
            assert reg.data["ep"] == device_id and reg.data["original-ep"] == endpoint
            assert reg.data["mode"] == "nosec" and reg.data["lt"] == LIFETIME
            [device] = svc.devices(aid)
            assert device.id == device_id and device.endpoint_name == endpoint
            assert device.state == DeviceState.REGISTERED and device.bootstrapped_timestamp
            assert device.lifetime == LIFETIME and device.binding == "U"
            assert {"/3/0", "/1/0"} <= {r["path"] for r in device.resources}

            # --- the client side: what it decoded from the TLV writes and the Location-Path
            # a standard client: the server URI carries no ?aid= (it could not parse one)
            assert booted == (f"bootstrapped {lwm2m_uri} securityMode=3 "
                              f"lifetime={LIFETIME} binding=U")
            assert registered == f"registered /rd/{aid}/{device_id} lt={LIFETIME}"

            # --- Update and De-register
            assert client.stdin is not None
            client.stdin.write("go\n")
            client.stdin.close()
            assert _read_line(client, "updated") == f"updated lt={UPDATED_LIFETIME}"
            assert _read_line(client, "deregistered") == "deregistered"
            assert client.wait(timeout=5) == 0
            update = svc.events.wait_for_sync(lambda e: e.type == ev.REG_UPDATE, WAIT, since=mark)
            assert update.device_id == device_id and update.data["lt"] == UPDATED_LIFETIME
            svc.events.wait_for_sync(lambda e: e.type == ev.DE_REGISTRATION and
                                     e.device_id == device_id, WAIT, since=mark)
            assert svc.device(device_id).state == DeviceState.DEREGISTERED
            assert not [e for e in svc.events.history if e.type == ev.BOOTSTRAP_ERROR]
        finally:
            _stop(client)
            for stream in (client.stdout, client.stderr):
                if stream:
                    stream.close()
