"""Benchmark: MQTT connects/s of the ThingsBoard-style service per credential type, against the
bare broker (amqtt without the ThingsBoard plugin: anyone may connect) measured in the same run.

Run: python3 bench/bench_mqtt_connect.py [--connects 300] [--clients 2] [--runs 3]
A connect = TCP (+ TLS handshake) + CONNECT + CONNACK 0 + DISCONNECT, by paho-mqtt clients in
`--clients` separate processes (so the number is the service's, not the clients').
Modes: plain (access token, no TLS), tls (access token, one-way TLS), x509 (two-way TLS,
the device known by its certificate). Prints each mode's median, bare vs ThingsBoard.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import ssl
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from harness import pki
from harness.services.thingsboard.broker import TbBroker
from harness.services.thingsboard.client import TbRestClient
from harness.services.thingsboard.service import TbServiceThread, ensure_pki

MODES = ("plain", "tls", "x509")
TOKEN = "BENCH-TOKEN"


def connect_many(port: int, count: int, tls: bool, cafile: str | None, cert: str | None,
                 key: str | None, user: str | None, tag: str) -> int:
    """Client process: `count` connects one after another; returns how many got CONNACK 0."""
    ctx = None
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(cafile)
        if cert and key:
            ctx.load_cert_chain(cert, key)
    ok = 0
    for i in range(count):
        result: list[int] = []
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"{tag}-{i}", protocol=paho.MQTTv311)
        client.on_connect = lambda _c, _u, _f, rc, _p=None, out=result: out.append(int(rc.value))
        if user:
            client.username_pw_set(user)
        if ctx is not None:
            client.tls_set_context(ctx)
        client.connect("127.0.0.1", port, 30)
        deadline = time.monotonic() + 10
        while not result and time.monotonic() < deadline:
            client.loop(0.05)
        ok += result == [0]
        client.disconnect()
        client.loop(0.01)
        sock = client.socket()
        if sock is not None:
            sock.close()
    return ok


class BareBroker:
    """amqtt with our listeners and TLS, no ThingsBoard plugin, in a thread."""

    def __init__(self, tls: ssl.SSLContext) -> None:
        self.broker = TbBroker(None, lambda: tls, key="bare")
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def start(self) -> None:
        """Start the loop thread and the broker."""
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.broker.start(), self._loop).result(30)

    def stop(self) -> None:
        """Stop the broker and the loop."""
        asyncio.run_coroutine_threadsafe(self.broker.stop(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


def one_run(pool: concurrent.futures.Executor, port: int, mode: str, connects: int, clients: int,
            files: dict[str, str], user: str | None) -> float:
    """Connects per second of one run."""
    tls = mode != "plain"
    cert = files["cert"] if mode == "x509" else None
    key = files["key"] if mode == "x509" else None
    per = connects // clients
    start = time.perf_counter()
    run = uuid.uuid4().hex[:8]  # fresh client IDs: no broker ever sees one twice
    futures = [pool.submit(connect_many, port, per, tls, files["ca"], cert, key, user, f"{mode}-{run}-{i}")
               for i in range(clients)]
    ok = sum(f.result() for f in futures)
    elapsed = time.perf_counter() - start
    if ok != per * clients:
        raise SystemExit(f"{mode}: only {ok} of {per * clients} connects were accepted")
    return ok / elapsed


def main() -> None:
    """Measure and print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connects", type=int, default=300)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-mqtt-") as tmp:
        work = Path(tmp)
        thread = TbServiceThread(data_dir=work / "tb")
        service = thread.start()
        device = pki.make_device_cert(pki.make_ca("bench device maker"), "bench-x509")
        files = {"ca": str(service.ca_path), "cert": str(work / "d.pem"), "key": str(work / "d.key")}
        Path(files["cert"]).write_bytes(device.cert_pem)
        Path(files["key"]).write_bytes(device.key_pem)
        rest = TbRestClient(service.rest_url, service.config.tenant_username, service.config.tenant_password)
        rest.create_device("bench-token", TOKEN)
        dev = rest.create_device("bench-x509")
        rest.set_credentials(dev["id"]["id"], "X509_CERTIFICATE", value=device.cert_pem.decode())
        rest.close()
        _, cert_path, key_path = ensure_pki(work / "tb")
        bare_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        bare_tls.load_cert_chain(cert_path, key_path)
        bare_tls.load_verify_locations(cadata=device.cert_pem.decode())
        bare_tls.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
        bare_tls.verify_mode = ssl.CERT_OPTIONAL
        bare = BareBroker(bare_tls)
        bare.start()
        results: dict[tuple[str, str], list[float]] = {}
        try:
            with concurrent.futures.ProcessPoolExecutor(args.clients) as pool:
                for run in range(args.runs):
                    for mode in MODES:
                        plain = mode == "plain"
                        pair = [(name, broker.mqtt_port if plain else broker.mqtts_port)
                                for name, broker in (("bare", bare.broker), ("thingsboard", service.broker))]
                        order = pair if run % 2 == 0 else pair[::-1]  # alternate who goes first
                        for name, port in order:
                            user = TOKEN if mode != "x509" else None
                            rate = one_run(pool, port, mode, args.connects, args.clients, files, user)
                            results.setdefault((mode, name), []).append(rate)
                            print(f"  {mode:5} {name:11} {rate:8.1f} connects/s", flush=True)
        finally:
            bare.stop()
            thread.stop()
    print()
    for mode in MODES:
        bare_rate = statistics.median(results[(mode, "bare")])
        tb_rate = statistics.median(results[(mode, "thingsboard")])
        print(f"{mode:5}: bare broker median {bare_rate:.1f} connects/s, ThingsBoard service median "
              f"{tb_rate:.1f} connects/s ({tb_rate / bare_rate:.0%} of bare)")


if __name__ == "__main__":
    main()
