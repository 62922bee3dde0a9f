"""Benchmark: bootstrap + register onboardings per second over TLS and DTLS, N concurrent clients.

Run: python3 bench/bench_onboarding.py [--clients 200] [--runs 3] [--kinds tls-record,dtls]
Each run onboards `clients` new devices at once per transport kind (Bootstrap-Request, writes,
Bootstrap-Finish, then Register with the issued LwM2M credential on a new TLS connection or DTLS
session) and prints the rate; the median per kind is printed last (same run, same service).
The service runs in this process, the clients in one separate process (so the numbers are the
service's, not the client simulation's).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "unit" / "cloud"))

from lab_client import LabDevice  # noqa: E402 - tests/unit/cloud/lab_client.py

from harness import pki  # noqa: E402
from harness.cloud.service import DeviceManagementService  # noqa: E402
from harness.config import ServiceConfig  # noqa: E402


async def _onboard(bootstrap_uri: str, dev: LabDevice, aid: str) -> None:
    prov = await dev.bootstrap(bootstrap_uri, aid=aid, timeout=120)
    await dev.switch_to_lwm2m(prov)
    response = await dev.register(prov.lwm2m_uri, lifetime=3600, timeout=120)
    if response.code.dotted != "2.01":
        raise RuntimeError(f"register answered {response.code}")
    await dev.close()


def _worker(ca_pem: bytes, ca_key_pem: bytes, server_ca_der: bytes, bootstrap_uri: str, aid: str,
            clients: int, run_no: int, kind: str) -> float:
    """In a client process: make the device certs, then onboard them all at once; the rate."""
    ca = pki.Credential(pki.load_certificate(ca_pem), pki.load_private_key(ca_key_pem))
    devices = [LabDevice(kind, f"bench-{kind}-{run_no}-{i}",
                         credential=pki.make_bootstrap_device_cert(ca, f"bench-{kind}-{run_no}-{i}"),
                         server_ca_der=server_ca_der) for i in range(clients)]

    async def go() -> float:
        start = time.perf_counter()
        results = await asyncio.gather(*(_onboard(bootstrap_uri, d, aid) for d in devices),
                                       return_exceptions=True)
        elapsed = time.perf_counter() - start
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            raise RuntimeError(f"{len(failures)} of {clients} onboardings failed, "
                               f"first: {failures[0]!r}")
        return clients / elapsed

    return asyncio.run(go())


def _handshake_worker(ca_pem: bytes, ca_key_pem: bytes, server_ca_der: bytes, bootstrap_uri: str,
                      clients: int, run_no: int) -> float:
    """In a client process: `clients` bare mutual-TLS handshakes at once (no CoAP); the rate."""
    from harness.transport import client_ssl_context
    from harness.transport.handshake import bare_handshake

    ca = pki.Credential(pki.load_certificate(ca_pem), pki.load_private_key(ca_key_pem))
    contexts = [client_ssl_context(pki.make_bootstrap_device_cert(ca, f"hs-{run_no}-{i}"), server_ca_der)
                for i in range(clients)]
    host, port = bootstrap_uri.split("//", 1)[1].rsplit(":", 1)

    async def go() -> float:
        start = time.perf_counter()
        await asyncio.gather(*(bare_handshake(host, int(port), c, timeout=120) for c in contexts))
        return clients / (time.perf_counter() - start)

    return asyncio.run(go())


CEILING = "tls-record"
"""The transport whose bare handshakes/s, halved, is the ceiling every onboarding rate is held to."""


async def main(clients: int, runs: int, kinds: tuple[str, ...] = ("tls-record", "dtls")
               ) -> dict[str, float]:
    """Run the benchmark (service here, clients in a separate process); the median per kind."""
    loop = asyncio.get_running_loop()
    with tempfile.TemporaryDirectory(prefix="dmhil-bench-") as tmp, \
            ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        svc = DeviceManagementService(ServiceConfig(transports=sorted({*kinds, CEILING})), Path(tmp),
                                      start_rest=False)
        await svc.start()
        try:
            ca = pki.make_ca("bench factory CA")
            account = svc.create_account("bench", device_quota=clients * runs * len(kinds) + 10)
            svc.add_trusted_certificate(account.id, "factory", ca.cert_pem)
            rates: dict[str, list[float]] = {kind: [] for kind in kinds}
            ceilings: list[float] = []
            for run_no in range(runs):
                for kind in kinds:
                    cpu = time.process_time()
                    rate = await loop.run_in_executor(
                        pool, _worker, ca.cert_pem, ca.key_pem, svc.server_ca_der,
                        svc.bootstrap_uri(kind), account.id, clients, run_no, kind)
                    rates[kind].append(rate)
                    server_ms = (time.process_time() - cpu) * 1000 / clients
                    print(f"run {run_no + 1}: {kind}: {clients} onboardings, {rate:.1f} "
                          f"onboardings/s, service CPU {server_ms:.1f} ms per onboarding",
                          flush=True)
                handshakes = await loop.run_in_executor(  # the TLS ceiling, in the same run
                    pool, _handshake_worker, ca.cert_pem, ca.key_pem, svc.server_ca_der,
                    svc.bootstrap_uri(CEILING), clients, run_no)
                ceilings.append(handshakes)
                print(f"run {run_no + 1}: {clients} bare mutual-TLS handshakes at once: "
                      f"{handshakes:.1f}/s", flush=True)
        finally:
            await svc.stop()
    medians = {kind: statistics.median(values) for kind, values in rates.items()}
    print(f"median of {runs} runs ({clients} concurrent clients): " + ", ".join(
        f"{kind} {rate:.1f} bootstrap+register onboardings/s" for kind, rate in medians.items()))
    ceiling = statistics.median(ceilings) / 2  # an onboarding needs two handshakes
    print("median onboardings / (bare mTLS handshakes / 2), same runs: " + ", ".join(
        f"{kind} {rate / ceiling:.2f}" for kind, rate in medians.items()))
    return medians


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--kinds", default="tls-record,dtls",
                        help="comma-separated transport kinds (tls-record, dtls)")
    args = parser.parse_args()
    asyncio.run(main(args.clients, args.runs, tuple(k for k in args.kinds.split(",") if k)))
