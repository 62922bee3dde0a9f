"""The REAL Device Management Client's TLS handshake with the local service's tls-record port.

The client (../shared/peers/pdmc-linux-tcp, relinked with a developer certificate of this
service) offers only TLS-ECDHE-ECDSA-WITH-AES-128-CCM-8 and starts at clock 0: before the service
ran on Mbed TLS it failed here with code 12 (NO_SHARED_CIPHER). Only the handshake is asserted:
what follows (bootstrap writes) is CoAP, checked elsewhere.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from pathlib import Path

import pytest

from harness import pki
from harness.cloud import events as ev
from harness.cloud.developer import issue_developer_certificate
from harness.cloud.service import DeviceManagementService
from harness.config import ServiceConfig
from harness.devcreds import write_c_file

KIT_ENV = "HIL_PDMC_KIT"
HANDSHAKE_DONE = "pal_handShake: handshake done"
SECURE_FAILED = "Error code : 12"
ANSI = re.compile(rb"\x1b\[[0-9;]*[a-zA-Z]|\r")


def _find_kit() -> Path | None:
    if os.environ.get(KIT_ENV):
        return Path(os.environ[KIT_ENV])
    here = Path(__file__).resolve()
    for parent in here.parents:
        kit = parent / "shared" / "peers" / "pdmc-linux-tcp"
        if (kit / "build-client.sh").exists():
            return kit
    return None


KIT = _find_kit()
pytestmark = pytest.mark.skipif(
    KIT is None or not (KIT / "build-client.sh").exists() or shutil.which("gcc") is None
    or shutil.which("g++") is None,
    reason=f"the real client kit or gcc/g++ is missing: set {KIT_ENV} to a pdmc-linux-tcp kit "
           "(see its README) and run apt-get install -y build-essential",
)


async def _run_client(elf: Path, workdir: Path, timeout: float, until_failure: bool = False,
                      lines: list[str] | None = None) -> tuple[bool, list[str]]:
    """Run the client until its trace shows the handshake result; True if it succeeded.

    `until_failure`: the first completed handshake is not the result (a renegotiation follows).
    Console lines go to `lines` (kept when the caller cancels the run).
    """
    proc = await asyncio.create_subprocess_exec(
        str(elf), cwd=workdir, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    lines = [] if lines is None else lines
    try:
        async with asyncio.timeout(timeout):
            assert proc.stdout is not None
            async for raw in proc.stdout:
                line = ANSI.sub(b"", raw).decode("utf-8", "replace").rstrip("\n")
                lines.append(line)
                if HANDSHAKE_DONE in line and not until_failure:
                    return True, lines
                if SECURE_FAILED in line:
                    return False, lines
    except TimeoutError:
        return False, lines
    finally:
        proc.terminate()
        await proc.wait()
    return False, lines


def test_real_client_completes_the_tls_handshake_with_the_bootstrap_server(tmp_path):
    async def body():
        config = ServiceConfig(transports=["tls-record"], bootstrap={"tls_record": 0},
                               lwm2m={"tls_record": 0})
        svc = DeviceManagementService(config, tmp_path / "data", start_rest=False)
        await svc.start()
        try:
            account = svc.create_account("developer")
            cert = issue_developer_certificate(svc.store, svc.pki, account.id,
                                               svc.bootstrap_uri("tls-record"))
            creds = write_c_file(cert.c_credentials(), tmp_path / "creds.c")
            elf = tmp_path / "client.elf"
            build = await asyncio.create_subprocess_exec(
                str(KIT / "build-client.sh"), str(creds), str(elf),
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
            out, _ = await build.communicate()
            assert build.returncode == 0, out.decode(errors="replace")
            (tmp_path / "run").mkdir()
            ok, lines = await _run_client(elf, tmp_path / "run", timeout=60)
            tail = "\n".join([line for line in lines if not line.startswith("[DBG")][-25:])
            assert ok, f"the real client did not complete the TLS handshake:\n{tail}"
            tls_denials = [d.reason for d in svc.store.list_denials()
                           if d.reason.startswith("Secure connection failed")]
            assert tls_denials == []
        finally:
            await svc.stop()

    asyncio.run(asyncio.wait_for(body(), 90))


def _write_pre_secure_time_pki(data_dir: Path) -> None:
    """A service PKI made the old way: server CA and certificates valid only from 'now'."""
    directory = data_dir / "pki"
    directory.mkdir(parents=True, mode=0o700)
    server_ca = pki.make_ca("dm-hil Device Management server CA (valid from now)")
    for name, cred in (("server-ca", server_ca),
                       ("bootstrap-server", pki.make_server_cert(server_ca, "bootstrap.test")),
                       ("lwm2m-server", pki.make_server_cert(server_ca, "lwm2m.test"))):
        (directory / f"{name}.crt").write_bytes(cred.chain_pem)
        key = directory / f"{name}.key"
        key.touch(mode=0o600)
        key.write_bytes(cred.key_pem)


def test_real_client_renegotiation_refused_is_recorded_as_a_denial(tmp_path):
    """Server chain not valid at clock 0: the client renegotiates, Mbed TLS refuses, code 12."""
    async def body():
        _write_pre_secure_time_pki(tmp_path / "data")
        config = ServiceConfig(transports=["tls-record"], bootstrap={"tls_record": 0},
                               lwm2m={"tls_record": 0})
        svc = DeviceManagementService(config, tmp_path / "data", start_rest=False)
        await svc.start()
        try:
            account = svc.create_account("developer")
            cert = issue_developer_certificate(svc.store, svc.pki, account.id,
                                               svc.bootstrap_uri("tls-record"))
            creds = write_c_file(cert.c_credentials(), tmp_path / "creds.c")
            elf = tmp_path / "client.elf"
            build = await asyncio.create_subprocess_exec(
                str(KIT / "build-client.sh"), str(creds), str(elf),
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
            out, _ = await build.communicate()
            assert build.returncode == 0, out.decode(errors="replace")
            (tmp_path / "run").mkdir()
            refused = svc.events.wait_for(lambda e: e.type == ev.BOOTSTRAP_ERROR, 60)
            lines: list[str] = []
            client = asyncio.create_task(_run_client(elf, tmp_path / "run", timeout=60,
                                                     until_failure=True, lines=lines))
            try:
                # the service sees the client's ClientHello inside the session (renegotiation),
                # refuses it and records the refusal before the client prints code 12
                event = await refused
            finally:
                client.cancel()
                await asyncio.gather(client, return_exceptions=True)
            assert "asked to renegotiate" in event.data["reason"], event.data
            assert any("renegotiate" in d.reason for d in svc.store.list_denials())
        finally:
            await svc.stop()

    asyncio.run(asyncio.wait_for(body(), 90))
