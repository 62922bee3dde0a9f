"""Benchmark: bootstrap + register onboardings per second over tls-record, N concurrent clients.

Run: python3 bench/bench_onboarding.py [--clients 200] [--runs 3]
Each run onboards `clients` new devices at once (Bootstrap-Request, writes, Bootstrap-Finish,
then Register with the issued LwM2M credential on a new TLS connection) and prints the rate;
the median of the runs is printed last.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness import pki  # noqa: E402
from harness.cloud.lab_client import LabDevice  # noqa: E402
from harness.cloud.service import DeviceManagementService  # noqa: E402
from harness.config import ServiceConfig  # noqa: E402


async def _onboard(svc: DeviceManagementService, dev: LabDevice, aid: str,
                   limit: asyncio.Semaphore | None) -> None:
    prov = await dev.bootstrap(svc.bootstrap_uri(), aid=aid, timeout=120)
    await dev.switch_to_lwm2m(prov)
    response = await dev.register(prov.lwm2m_uri, lifetime=3600, timeout=120)
    if response.code.dotted != "2.01":
        raise RuntimeError(f"register answered {response.code}")
    await dev.close()


async def one_run(svc: DeviceManagementService, ca: pki.Credential, aid: str, clients: int,
                  run_no: int) -> float:
    """Onboard `clients` devices concurrently; onboardings per second."""
    devices = [LabDevice("tls-record", f"bench-{run_no}-{i}",
                         credential=pki.make_bootstrap_device_cert(ca, f"bench-{run_no}-{i}"),
                         server_ca_der=svc.server_ca_der) for i in range(clients)]
    start = time.perf_counter()
    results = await asyncio.gather(*(_onboard(svc, d, aid, None) for d in devices),
                                   return_exceptions=True)
    elapsed = time.perf_counter() - start
    failures = [r for r in results if isinstance(r, BaseException)]
    if failures:
        raise RuntimeError(f"{len(failures)} of {clients} onboardings failed, first: {failures[0]!r}")
    return clients / elapsed


async def main(clients: int, runs: int) -> float:
    """Run the benchmark; the median rate."""
    with tempfile.TemporaryDirectory(prefix="dmhil-bench-") as tmp:
        svc = DeviceManagementService(ServiceConfig(transports=["tls-record"]), Path(tmp),
                                      start_rest=False)
        await svc.start()
        try:
            ca = pki.make_ca("bench factory CA")
            account = svc.create_account("bench", device_quota=clients * runs + 10)
            svc.add_trusted_certificate(account.id, "factory", ca.cert_pem)
            rates = []
            for run_no in range(runs):
                rate = await one_run(svc, ca, account.id, clients, run_no)
                rates.append(rate)
                print(f"run {run_no + 1}: {clients} onboardings, {rate:.1f} onboardings/s")
        finally:
            await svc.stop()
    median = statistics.median(rates)
    print(f"median of {runs} runs: {median:.1f} bootstrap+register onboardings/s "
          f"({clients} concurrent tls-record clients)")
    return median


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.clients, args.runs))
