"""An acknowledged Register survives kill -9 of the service, also when a burst of Registers
shares one grouped commit."""

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from harness.cloud.store import Store

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))
from bench_registration_scale import register_message  # noqa: E402 - the benchmark's own encoder

REPO = Path(__file__).resolve().parents[3]
CHILD = """
import asyncio, json, sys
from pathlib import Path
from harness.cloud.service import DeviceManagementService
from harness.config import ServiceConfig

async def main():
    svc = DeviceManagementService(ServiceConfig(transports=["udp"]), Path(sys.argv[1]),
                                  start_rest=False)
    await svc.start()
    account = svc.create_account("kill", device_quota=1000)
    port = int(svc.lwm2m_uri("udp").rsplit(":", 1)[1].split("/")[0])
    print(json.dumps({"port": port, "aid": account.id}), flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""
BURST = 40


def answer_to(sock: socket.socket, mid: int, token: bytes) -> bytes:
    """The datagram answering message `mid`/`token`: a stray datagram of another test's service,
    sent to an earlier owner of this ephemeral port, is skipped."""
    while True:
        answer = sock.recv(2048)
        if answer[2:4] == mid.to_bytes(2, "big") and answer[4:4 + (answer[0] & 0x0F)] == token:
            return answer


def test_every_acknowledged_register_of_a_burst_survives_kill_9(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path)], stdout=subprocess.PIPE,
                             text=True, env=env, cwd=REPO)
    sockets = []
    tokens = [os.urandom(4) for _ in range(BURST)]
    try:
        info = json.loads(child.stdout.readline())
        for i in range(BURST):  # all sent before any answer: they arrive as one burst
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.settimeout(10)
            sock.connect(("127.0.0.1", info["port"]))
            sock.send(register_message(i + 1, tokens[i], f"ep-kill-{i}", info["aid"]))
            sockets.append(sock)
        acknowledged = [answer_to(sock, i + 1, tokens[i]) for i, sock in enumerate(sockets)]
        child.send_signal(signal.SIGKILL)  # right after the last answer, no shutdown at all
        child.wait(timeout=10)
    finally:
        for sock in sockets:
            sock.close()
        if child.poll() is None:
            child.kill()
            child.wait(timeout=10)
    codes = [f"{answer[1] >> 5}.{answer[1] & 0x1F:02d}" for answer in acknowledged]
    assert codes == ["2.01"] * BURST  # Created, each
    store = Store.open(tmp_path)
    try:
        devices = store.list_devices(info["aid"], state="registered")
        assert sorted(d.endpoint_name for d in devices) == sorted(f"ep-kill-{i}" for i in range(BURST))
        registrations = [e for e in store.list_events(account_id=info["aid"])
                         if e.event_type == "registration"]
        assert len(registrations) == BURST
    finally:
        store.close()
