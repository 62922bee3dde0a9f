"""Benchmark: TLS and DTLS handshakes/s against the service's servers, same run (medians of 3).

Run: python3 bench/bench_handshakes.py [--clients 20] [--handshakes 10] [--runs 3]
The servers are the service's (Mbed TLS: tls-record and dtls, X.509 mutual auth, DTLS with the
HelloVerifyRequest cookie); the clients are the virtual board's engines (OpenSSL), `clients` at
once, each doing `handshakes` handshakes one after another. Also DTLS with PSK.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiocoap.resource  # noqa: E402

from harness import pki  # noqa: E402
from harness.transport import (  # noqa: E402
    Endpoint,
    bare_dtls_handshake,
    bare_handshake,
    create_server_context,
    device_dtls_context,
    device_tls_context,
    server_dtls_context,
    server_tls_context,
)

PSK = ("bench-psk", bytes(range(32)))


async def _rate(clients: int, handshakes: int, one) -> float:
    async def client() -> None:
        for _ in range(handshakes):
            await one()
    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return clients * handshakes / (time.perf_counter() - start)


async def main(clients: int, handshakes: int, runs: int) -> dict[str, float]:
    """Serve tls-record and dtls, measure each kind `runs` times; the medians."""
    server_ca = pki.make_ca("bench server CA", valid_from_epoch=True)
    device_ca = pki.make_ca("bench device CA")
    server = pki.make_server_cert(server_ca, "localhost", valid_from_epoch=True)
    device = pki.make_device_cert(device_ca, "bench-device")
    tls = server_tls_context(server, [device_ca.cert])
    dtls = server_dtls_context(server, [device_ca.cert], {PSK[0]: PSK[1]})
    srv = await create_server_context(aiocoap.resource.Site(), [
        Endpoint("tls-record", ssl_context_factory=lambda: tls),
        Endpoint("dtls", ssl_context_factory=lambda: dtls)])
    now = time.time
    try:
        tls_host, tls_port = srv.bound["tls-record"]
        dtls_host, dtls_port = srv.bound["dtls"]
        kinds = {
            "TLS (tls-record, X.509)": lambda: bare_handshake(
                tls_host, tls_port, device_tls_context(device, [server_ca.cert], clock=now)),
            "DTLS (X.509)": lambda: bare_dtls_handshake(
                dtls_host, dtls_port, device_dtls_context(cred=device, server_ca=[server_ca.cert])),
            "DTLS (PSK)": lambda: bare_dtls_handshake(
                dtls_host, dtls_port, device_dtls_context(psk=PSK)),
        }
        rates: dict[str, list[float]] = {name: [] for name in kinds}
        for run_no in range(runs):
            for name, one in kinds.items():
                rate = await _rate(clients, handshakes, one)
                rates[name].append(rate)
                print(f"run {run_no + 1}: {name}: {rate:.1f} handshakes/s", flush=True)
    finally:
        await srv.shutdown()
    medians = {name: statistics.median(values) for name, values in rates.items()}
    print("median of {} runs ({} concurrent clients): {}".format(
        runs, clients, ", ".join(f"{name} {rate:.1f} handshakes/s" for name, rate in medians.items())))
    return medians


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--handshakes", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.clients, args.handshakes, args.runs))
