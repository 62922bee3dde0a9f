"""Benchmark: bootstrap + register onboardings per second over TLS and DTLS, N concurrent clients.

Run: python3 bench/bench_onboarding.py [--clients 200] [--runs 3] [--kinds tls-record,dtls]
Each run onboards `clients` new devices at once per transport kind (Bootstrap-Request, writes,
Bootstrap-Finish, then Register with the issued LwM2M credential on a new TLS connection or DTLS
session) and prints the rate; the median per kind is printed last (same run, same service).
The service runs in this process, the clients in one separate process (so the numbers are the
service's, not the client simulation's).

The reference is the same run's bare mutual-TLS handshakes against the same server endpoint, from
the same client TLS engine, with the same handshake timeout on both ends (HANDSHAKE_TIMEOUT). Besides
the rates (which on a busy machine also measure the scheduler), each run prints the service's
CPU per onboarding and per bare handshake and the client process's CPU, and the medians end with
the CPU ratio 2 x (service CPU per handshake) / (service CPU per onboarding): what the rate ratio
is when the service alone is the bottleneck. Runs alternate which part goes first.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
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

HANDSHAKE_TIMEOUT = 120.0
"""Seconds a client waits for a handshake, onboarding and bare alike (200 at once queue up)."""


async def _onboard(bootstrap_uri: str, dev: LabDevice, aid: str) -> None:
    prov = await dev.bootstrap(bootstrap_uri, aid=aid, timeout=HANDSHAKE_TIMEOUT)
    await dev.switch_to_lwm2m(prov)
    response = await dev.register(prov.lwm2m_uri, lifetime=3600, timeout=HANDSHAKE_TIMEOUT)
    if response.code.dotted != "2.01":
        raise RuntimeError(f"register answered {response.code}")
    await dev.close()


def _worker(ca_pem: bytes, ca_key_pem: bytes, server_ca_der: bytes, bootstrap_uri: str, aid: str,
            clients: int, run_no: int, kind: str) -> tuple[float, float]:
    """In a client process: make the device certs, then onboard them all at once; the rate and
    this process's CPU seconds while onboarding."""
    ca = pki.Credential(pki.load_certificate(ca_pem), pki.load_private_key(ca_key_pem))
    devices = [LabDevice(kind, f"bench-{kind}-{run_no}-{i}",
                         credential=pki.make_bootstrap_device_cert(ca, f"bench-{kind}-{run_no}-{i}"),
                         server_ca_der=server_ca_der, handshake_timeout=HANDSHAKE_TIMEOUT)
               for i in range(clients)]

    async def go() -> tuple[float, float]:
        cpu = time.process_time()
        start = time.perf_counter()
        results = await asyncio.gather(*(_onboard(bootstrap_uri, d, aid) for d in devices),
                                       return_exceptions=True)
        elapsed = time.perf_counter() - start
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            raise RuntimeError(f"{len(failures)} of {clients} onboardings failed, "
                               f"first: {failures[0]!r}")
        return clients / elapsed, time.process_time() - cpu

    return asyncio.run(go())


def _handshake_worker(ca_pem: bytes, ca_key_pem: bytes, server_ca_der: bytes, bootstrap_uri: str,
                      clients: int, run_no: int) -> tuple[float, float]:
    """In a client process: `clients` bare mutual-TLS handshakes at once (no CoAP); the rate and
    this process's CPU seconds while handshaking."""
    from harness.transport import client_ssl_context
    from harness.transport.handshake import bare_handshake

    ca = pki.Credential(pki.load_certificate(ca_pem), pki.load_private_key(ca_key_pem))
    contexts = [client_ssl_context(pki.make_bootstrap_device_cert(ca, f"hs-{run_no}-{i}"), server_ca_der)
                for i in range(clients)]
    host, port = bootstrap_uri.split("//", 1)[1].rsplit(":", 1)

    async def go() -> tuple[float, float]:
        cpu = time.process_time()
        start = time.perf_counter()
        await asyncio.gather(*(bare_handshake(host, int(port), c, timeout=HANDSHAKE_TIMEOUT)
                               for c in contexts))
        return clients / (time.perf_counter() - start), time.process_time() - cpu

    return asyncio.run(go())


def _wait_for_handshakes(svc: DeviceManagementService) -> None:
    """Let the service's endpoints wait HANDSHAKE_TIMEOUT for a handshake (not 10 s): 200 clients
    at once on a busy machine queue longer than that, onboarding and bare handshakes alike."""
    for server in (svc.bootstrap_server, svc.lwm2m_server):
        assert server is not None
        for manager in server.context.request_interfaces:
            interface = getattr(getattr(manager, "token_interface", None), "message_interface", None)
            for name in ("_handshake_timeout", "handshake_timeout"):  # tls-record, dtls
                if hasattr(interface, name):
                    setattr(interface, name, HANDSHAKE_TIMEOUT)


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
        _wait_for_handshakes(svc)
        try:
            ca = pki.make_ca("bench factory CA")
            account = svc.create_account("bench", device_quota=clients * runs * len(kinds) + 10)
            svc.add_trusted_certificate(account.id, "factory", ca.cert_pem)
            rates: dict[str, list[float]] = {kind: [] for kind in kinds}
            cpu_ms: dict[str, list[float]] = {kind: [] for kind in kinds}
            ceilings: list[float] = []
            handshake_cpu_ms: list[float] = []

            async def onboard(run_no: int, kind: str) -> None:
                cpu = time.process_time()
                rate, client_cpu = await loop.run_in_executor(
                    pool, _worker, ca.cert_pem, ca.key_pem, svc.server_ca_der,
                    svc.bootstrap_uri(kind), account.id, clients, run_no, kind)
                server_ms = (time.process_time() - cpu) * 1000 / clients
                rates[kind].append(rate)
                cpu_ms[kind].append(server_ms)
                print(f"run {run_no + 1}: {kind}: {clients} onboardings, {rate:.1f} "
                      f"onboardings/s, service CPU {server_ms:.1f} ms per onboarding (client "
                      f"process {client_cpu * 1000 / clients:.1f} ms)", flush=True)

            async def handshake(run_no: int) -> None:  # the TLS ceiling, in the same run
                cpu = time.process_time()
                rate, client_cpu = await loop.run_in_executor(
                    pool, _handshake_worker, ca.cert_pem, ca.key_pem, svc.server_ca_der,
                    svc.bootstrap_uri(CEILING), clients, run_no)
                server_ms = (time.process_time() - cpu) * 1000 / clients
                ceilings.append(rate)
                handshake_cpu_ms.append(server_ms)
                print(f"run {run_no + 1}: {clients} bare mutual-TLS handshakes at once: "
                      f"{rate:.1f}/s, service CPU {server_ms:.1f} ms per handshake (client "
                      f"process {client_cpu * 1000 / clients:.1f} ms)", flush=True)

            print(f"load average at the start: {os.getloadavg()[0]:.2f}", flush=True)
            for run_no in range(runs):
                if run_no % 2:  # alternate, so a load that drifts during a run favours neither
                    await handshake(run_no)
                for kind in kinds:
                    await onboard(run_no, kind)
                if not run_no % 2:
                    await handshake(run_no)
            print(f"load average at the end: {os.getloadavg()[0]:.2f}", flush=True)
        finally:
            await svc.stop()
    medians = {kind: statistics.median(values) for kind, values in rates.items()}
    print(f"median of {runs} runs ({clients} concurrent clients): " + ", ".join(
        f"{kind} {rate:.1f} bootstrap+register onboardings/s" for kind, rate in medians.items()))
    ceiling = statistics.median(ceilings) / 2  # an onboarding needs two handshakes
    print("median onboardings / (bare mTLS handshakes / 2), same runs: " + ", ".join(
        f"{kind} {rate / ceiling:.2f}" for kind, rate in medians.items()))
    handshake_ms = statistics.median(handshake_cpu_ms)
    print("median service CPU 2 x per bare handshake / per onboarding, same runs: " + ", ".join(
        f"{kind} {2 * handshake_ms / statistics.median(cpu_ms[kind]):.2f}" for kind in kinds)
        + f" ({handshake_ms:.1f} ms per handshake; per onboarding " + ", ".join(
            f"{kind} {statistics.median(cpu_ms[kind]):.1f} ms" for kind in kinds) + ")")
    return medians


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--kinds", default="tls-record,dtls",
                        help="comma-separated transport kinds (tls-record, dtls)")
    args = parser.parse_args()
    asyncio.run(main(args.clients, args.runs, tuple(k for k in args.kinds.split(",") if k)))
