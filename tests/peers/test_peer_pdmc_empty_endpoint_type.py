"""The REAL client built with an empty endpoint type: what its Register query carries.

protocol-facts §3 "Register" documents `et=<type, default "default">`: the type is the build's
MBED_CLOUD_CLIENT_ENDPOINT_TYPE (mbed-cloud-client `ConnectorClient`'s constructor passes it to
`M2MInterfaceFactory::create_interface`; m2mconfig.h defaults it to "default"). Read in the
4.13.2 sources: `M2MNsdlInterface::create_endpoint` sets the endpoint's type only for a non-empty
string, and sn_nsdl.c writes `et=` only for a type of non-zero length, so an empty type should
send no `et` at all (neither `et=` nor `et=default`).

The kit's libraries are prebuilt with "default", so the client is measured here built as with
MBED_CLOUD_CLIENT_ENDPOINT_TYPE "": a copy of the kit whose ConnectorClient object has that one
string literal emptied (the object's only "default"; everything else as built), linked by the
kit's own build-client.sh.

Seen here (2026-11-30): the Register is `ep&lt&lwm2m=1.0&d&b=U&aid&mccv`, no `et` parameter;
after the server cut its lifetime, its Update (documented `POST /<location>?et=<type>[&lt=<new>]`,
`et=default` alone from the kit as built) has no query at all.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from pdmc_kit import ClientProcess, developer_setup, find_kit, link_client

ONBOARD_TIMEOUT = 40.0
KIT_LIFETIME = 7200
"""The kit's README: "Registration uses binding `b=U` and lifetime `lt=7200`"."""
GRANTED_LIFETIME = 60
"""The service's lifetime cap in the Update scenario (its minimum): the client updates at 75 % of
the granted lifetime, after 45 s (tests/peers/test_peer_pdmc_wire_queries.py)."""
ARCHIVE = "libmbedCloudClient.a"
MEMBER = "ConnectorClient.cpp.obj"
TYPE_LITERAL = b"\0default\0"
"""MBED_CLOUD_CLIENT_ENDPOINT_TYPE as compiled into ConnectorClient's object (NUL on each side)."""


def kit_with_empty_endpoint_type(kit: Path, folder: Path) -> Path:
    """A kit folder like `kit` whose client is built with an empty endpoint type."""
    if shutil.which("ar") is None:
        pytest.skip("ar (binutils) not found, needed to rebuild the client archive; install it "
                    "with: apt-get install -y binutils")
    lib = folder / "lib"
    lib.mkdir(parents=True)
    for archive in (kit / "lib").iterdir():
        if archive.name != ARCHIVE:
            (lib / archive.name).symlink_to(archive)
    shutil.copyfile(kit / "lib" / ARCHIVE, lib / ARCHIVE)
    script = folder / "build-client.sh"
    shutil.copyfile(kit / "build-client.sh", script)
    os.chmod(script, 0o755)
    work = folder / "member"
    work.mkdir()
    subprocess.run(["ar", "x", str(lib / ARCHIVE), MEMBER], cwd=work, check=True, timeout=30)
    data = (work / MEMBER).read_bytes()
    assert data.count(TYPE_LITERAL) == 1, \
        f"{MEMBER} holds {data.count(TYPE_LITERAL)} \"default\" strings; expected the endpoint type only"
    (work / MEMBER).write_bytes(data.replace(TYPE_LITERAL, b"\0" * len(TYPE_LITERAL)))
    subprocess.run(["ar", "r", str(lib / ARCHIVE), MEMBER], cwd=work, check=True, timeout=30)
    return folder


def _posts(svc, start: float) -> list:
    """The POSTs the service received since `start` (first blocks only, oldest first)."""
    wire, _events = svc.trace.between(start, time.time())
    return [r for r in wire if r.direction == "in" and r.code == "POST"
            and (not r.block1 or r.block1.startswith("0/"))]


def test_real_client_built_with_an_empty_endpoint_type_sends_no_et(tmp_path):
    """The client built with an empty endpoint type registers, and its Register query has no
    `et` parameter at all: `ep&lt&lwm2m=1.0&d&b=U&aid&mccv`."""
    with developer_setup(tmp_path) as setup:
        svc, account = setup.svc, setup.account
        kit = kit_with_empty_endpoint_type(setup.kit, tmp_path / "kit")
        elf = link_client(kit, setup.credentials_c, tmp_path / "client.elf",
                          svc.bootstrap_uri("tls-record"))
        start = time.time()
        client = ClientProcess(elf, tmp_path / "run")
        try:
            client.wait_for(r"^Client registered$", ONBOARD_TIMEOUT)
        finally:
            client.stop()
        posts = _posts(svc, start)
        bootstraps = [r.query for r in posts if r.server == "bootstrap" and r.path == "/bs"]
        registers = [r.query for r in posts if r.server == "lwm2m" and r.path == "/rd"]
        assert bootstraps, "the client sent no Bootstrap-Request"
        name = bootstraps[0].split("&", 1)[0].removeprefix("ep=")  # its developer certificate's
        aid = account.id
        assert registers[:1] == [f"ep={name}&lt={KIT_LIFETIME}&lwm2m=1.0&d={aid}&b=U&aid={aid}"
                                 "&mccv=4.13.2"], registers


@pytest.mark.timeout(ONBOARD_TIMEOUT + GRANTED_LIFETIME + 30)
def test_real_client_built_with_an_empty_endpoint_type_updates_with_no_query(tmp_path):
    """The same build, its lifetime cut to 60 s by the service: 45 s later its first Update goes
    to its location with no query at all (the kit as built sends `et=default` there)."""
    kit, why = find_kit()
    if kit is None:
        pytest.skip(why)
    from harness.cloud import events as ev
    from harness.cloud.developer import issue_developer_certificate
    from harness.cloud.service_thread import ServiceThread
    from harness.config import ServiceConfig, Timing
    from harness.devcreds import write_c_file

    config = ServiceConfig(transports=["tls-record"], bootstrap={"tls_record": 0},
                           lwm2m={"tls_record": 0},
                           timing=Timing(lifetime_min=GRANTED_LIFETIME, lifetime_max=GRANTED_LIFETIME))
    with ServiceThread(config, tmp_path / "service", start_rest=False) as svc:
        account = svc.store.create_account("developer")
        cert = issue_developer_certificate(svc.store, svc.pki, account.id,
                                           svc.bootstrap_uri("tls-record"))
        creds = write_c_file(cert.c_credentials(), tmp_path / "mbed_cloud_dev_credentials.c")
        built = kit_with_empty_endpoint_type(kit, tmp_path / "kit")
        elf = link_client(built, creds, tmp_path / "client.elf", svc.bootstrap_uri("tls-record"))
        start = time.time()
        client = ClientProcess(elf, tmp_path / "run")
        try:
            client.wait_for(r"^Client registered$", ONBOARD_TIMEOUT)
            device_id = client.wait_for(r"^Device ID: ([0-9a-f]{32})$", 5).group(1)
            svc.events.wait_for_sync(lambda e: e.type == ev.REG_UPDATE and e.device_id == device_id,
                                     GRANTED_LIFETIME)
        finally:
            client.stop()
        posts = _posts(svc, start)
        registers = [r.query for r in posts if r.server == "lwm2m" and r.path == "/rd"]
        updates = [r for r in posts if r.server == "lwm2m" and r.path.endswith("/" + device_id)]
        assert registers[:1] == [f"ep={cert.endpoint_name}&lt={KIT_LIFETIME}&lwm2m=1.0"
                                 f"&d={account.id}&b=U&aid={account.id}&mccv=4.13.2"], registers
        assert updates, "no Update reached the service"
        assert (updates[0].path, updates[0].query) == (f"/rd/{account.id}/{device_id}", "")
