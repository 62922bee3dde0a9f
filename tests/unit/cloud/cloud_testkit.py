"""Shared helpers of the cloud tests: a running service, factory CAs, lab devices."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from lab_client import LabDevice, Provisioned

from harness import pki
from harness.cloud.service import DeviceManagementService
from harness.config import RateLimit, ServiceConfig, Timing

WAIT = 10.0


def run(coro, timeout: float = 30.0):
    """Run one async scenario with an overall timeout."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


def config(**timing: object) -> ServiceConfig:
    """A loopback service config with tls-record, tcp-length and udp, optional timing overrides."""
    rate = timing.pop("rate_limit", None)
    values = dict(timing)
    if rate is not None:
        values["rate_limit"] = RateLimit(**rate)  # type: ignore[arg-type]
    return ServiceConfig(
        transports=["tls-record", "tcp-length", "udp"],
        bootstrap={"tls_record": 0, "tcp_length": 0, "udp": 0},
        lwm2m={"tls_record": 0, "tcp_length": 0, "udp": 0},
        timing=Timing(**values),
    )


@contextlib.asynccontextmanager
async def running(data_dir: Path, cfg: ServiceConfig | None = None,
                  **kwargs: object) -> AsyncIterator[DeviceManagementService]:
    """A started service on `data_dir`, stopped afterwards."""
    kwargs.setdefault("start_rest", False)
    svc = DeviceManagementService(cfg or config(), data_dir, **kwargs)
    await svc.start()
    try:
        yield svc
    finally:
        await svc.stop()


def factory_ca(name: str = "OEM factory CA") -> pki.Credential:
    """A manufacturer CA."""
    return pki.make_ca(name)


def trusted_account(svc: DeviceManagementService, ca: pki.Credential, *, enrollment: bool = False,
                    **account: object):
    """An account trusting `ca` for bootstrap."""
    acc = svc.create_account("acme", **account)  # type: ignore[arg-type]
    svc.add_trusted_certificate(acc.id, "factory", ca.cert_pem, enrollment_mode=enrollment)
    return acc


def device(svc: DeviceManagementService, ca: pki.Credential, endpoint: str,
           kind: str = "tls-record") -> LabDevice:
    """A lab device with a bootstrap cert from `ca` (CN endpoint)."""
    cred = pki.make_bootstrap_device_cert(ca, endpoint)
    return LabDevice(kind, endpoint, credential=cred, server_ca_der=svc.server_ca_der)


async def onboard(svc: DeviceManagementService, dev: LabDevice, *, aid: str | None = None,
                  lifetime: int | None = 300) -> Provisioned:
    """Bootstrap then register over the device's kind; asserts 2.01."""
    prov = await dev.bootstrap(svc.bootstrap_uri(dev.kind), aid=aid)
    await dev.switch_to_lwm2m(prov)
    response = await dev.register(prov.lwm2m_uri, lifetime=lifetime)
    assert str(response.code).startswith("2.01"), (response.code, response.payload)
    return prov
