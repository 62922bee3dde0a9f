"""The REAL client's Bootstrap-Request, Register and Update queries, from the service's wire trace.

tests/e2e/test_e2e_wire_queries.py asserts the virtual board's queries against the documented form
(protocol-facts §3 "Bootstrap", "Register", "Update" and §3.1 point 6); these are the same checks
on the real client (EX 4.13.2, Linux, TCP, developer credentials), an independent peer.

Seen here (2026-11-30): the real client registers with the lifetime it is built with (the kit's
README: `lt=7200`), not with the lifetime the bootstrap server wrote to /1/0/1, whether that is
above its own (86400) or below it (60, the service's minimum; the write was acknowledged 2.04,
and still `lt=7200`): it always asks for its build's lifetime; its NoSec Register
has no `d=` and no `mccv=`; after the server cut its lifetime (Max-Age 60) its Update is
`et=default` alone.
"""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from pdmc_kit import ClientProcess, find_kit, link_client

ONBOARD_TIMEOUT = 40.0
KIT_LIFETIME = 7200
"""The kit's README, "Transport and URI schemes": "Registration uses binding `b=U` and lifetime
`lt=7200`." (the example application's build setting)."""
GRANTED_LIFETIME = 60
"""The service's lifetime cap in the Update scenario: the client reads Max-Age >= 60 as its
granted lifetime (protocol-facts §3 "Register") and updates at 75 % of it, after 45 s."""


def _service(tmp_path: Path, **timing: float):
    """A service thread on tls-record + tcp-length with `timing`; (kit, service thread)."""
    kit, why = find_kit()
    if kit is None:
        pytest.skip(why)
    from harness.cloud.service_thread import ServiceThread
    from harness.config import ServiceConfig, Timing

    config = ServiceConfig(transports=["tls-record", "tcp-length"],
                           bootstrap={"tls_record": 0, "tcp_length": 0},
                           lwm2m={"tls_record": 0, "tcp_length": 0},
                           timing=Timing(**timing))
    return kit, ServiceThread(config, tmp_path / "service", start_rest=False)


def _developer(svc, tmp_path: Path):
    """A developer account, its certificate and the credentials C file: (account, cert, file)."""
    from harness.cloud.developer import issue_developer_certificate
    from harness.devcreds import write_c_file

    account = svc.store.create_account("developer")
    cert = issue_developer_certificate(svc.store, svc.pki, account.id, svc.bootstrap_uri("tls-record"))
    return account, cert, write_c_file(cert.c_credentials(), tmp_path / "mbed_cloud_dev_credentials.c")


def _requests(svc, start: float, server: str) -> list:
    """The POSTs `server` received since `start` (first blocks only, oldest first)."""
    wire, _events = svc.trace.between(start, time.time())
    return [r for r in wire if r.server == server and r.direction == "in" and r.code == "POST"
            and (not r.block1 or r.block1.startswith("0/"))]


def _queries(svc, start: float, server: str, path: str) -> list[str]:
    return [r.query for r in _requests(svc, start, server) if r.path == path]


def _onboard(kit: Path, creds: Path, uri: str, tmp_path: Path, *, svc=None, wait_update: float = 0.0
             ) -> str:
    """Run the real client until it registered (and `svc` saw its first Update, when asked);
    its device ID."""
    from harness.cloud import events as ev

    elf = link_client(kit, creds, tmp_path / "client.elf", uri)
    client = ClientProcess(elf, tmp_path / "run")
    try:
        client.wait_for(r"^Client registered$", ONBOARD_TIMEOUT)
        device_id = client.wait_for(r"^Device ID: ([0-9a-f]{32})$", 5).group(1)
        if wait_update:
            svc.events.wait_for_sync(lambda e: e.type == ev.REG_UPDATE and e.device_id == device_id,
                                     wait_update)
        return device_id
    finally:
        client.stop()


@pytest.mark.parametrize("kind", ["tls-record", "tcp-length"], ids=["certificate", "nosec"])
def test_real_client_sends_the_documented_bootstrap_and_register_queries(tmp_path, kind):
    """Bootstrap-Request `ep=<name>&aid=<account>&mccv=<version>` (no iep: a new device; no d=);
    Register `ep&et=default&lt&lwm2m=1.0&d&b=U&aid&mccv` over TLS, and without `d=` and `mccv=`
    over NoSec (protocol-facts §3.1 point 6)."""
    kit, service = _service(tmp_path)
    with service as svc:
        account, cert, creds = _developer(svc, tmp_path)
        uri = svc.bootstrap_uri(kind)
        start = time.time()
        _onboard(kit, creds, uri, tmp_path)
        name, aid = cert.endpoint_name, account.id
        assert urlsplit(cert.bootstrap_uri).query == f"aid={aid}", "the kit keeps the aid of the file"
        assert _queries(svc, start, "bootstrap", "/bs")[:1] == [f"ep={name}&aid={aid}&mccv=4.13.2"]
        if kind == "tls-record":
            expected = (f"ep={name}&et=default&lt={KIT_LIFETIME}&lwm2m=1.0&d={aid}&b=U&aid={aid}"
                        "&mccv=4.13.2")
        else:
            expected = f"ep={name}&et=default&lt={KIT_LIFETIME}&lwm2m=1.0&b=U&aid={aid}"
        assert _queries(svc, start, "lwm2m", "/rd")[:1] == [expected]
        assert svc.config.timing.lifetime_default == 86400, \
            "the bootstrap server wrote 86400 s to /1/0/1; the client still asked for its own 7200"


def test_real_client_asks_for_its_build_lifetime_below_the_one_the_bootstrap_server_wrote(tmp_path):
    """The bootstrap server writes 60 s (the service's minimum, below the build's 7200) to /1/0/1
    and the client acknowledges the write (2.04); its Register still asks for `lt=7200`: the
    client registers with its build's lifetime, not the written one nor the smaller of the two."""
    written = GRANTED_LIFETIME
    kit, service = _service(tmp_path, lifetime_default=written)
    with service as svc:
        account, cert, creds = _developer(svc, tmp_path)
        start = time.time()
        _onboard(kit, creds, svc.bootstrap_uri("tls-record"), tmp_path)
        wire, _events = svc.trace.between(start, time.time())
        server_writes = [(r.direction, r.code) for r in wire
                         if r.server == "bootstrap" and r.path == "/1/0" and r.kind != "tls"]
        assert server_writes == [("out", "PUT"), ("in", "2.04")], \
            "the bootstrap server wrote /1/0 (its lifetime) once and the client accepted it"
        assert svc.config.timing.lifetime_default == written
        assert _queries(svc, start, "lwm2m", "/rd")[:1] == [
            f"ep={cert.endpoint_name}&et=default&lt={KIT_LIFETIME}&lwm2m=1.0&d={account.id}&b=U"
            f"&aid={account.id}&mccv=4.13.2"]


@pytest.mark.timeout(ONBOARD_TIMEOUT + GRANTED_LIFETIME + 30)
def test_real_client_updates_with_its_type_only_after_the_server_cut_its_lifetime(tmp_path):
    """The client asks for 7200 s, the service grants 60 s (Max-Age); 45 s later the client's
    first Update goes to its location `rd/<account>/<device ID>` with `et=default` alone: the
    documented `POST /<location>?et=<type>[&lt=<new>]`, and the cut lifetime is not asked again."""
    kit, service = _service(tmp_path, lifetime_min=GRANTED_LIFETIME, lifetime_max=GRANTED_LIFETIME)
    with service as svc:
        account, cert, creds = _developer(svc, tmp_path)
        start = time.time()
        device_id = _onboard(kit, creds, svc.bootstrap_uri("tls-record"), tmp_path,
                             svc=svc, wait_update=GRANTED_LIFETIME)
        updates = [r for r in _requests(svc, start, "lwm2m")
                   if r.path.startswith("/rd/") and r.path.endswith("/" + device_id)]
        assert updates, "no Update reached the service"
        assert updates[0].path == f"/rd/{account.id}/{device_id}"
        assert _queries(svc, start, "lwm2m", "/rd")[:1] == [
            f"ep={cert.endpoint_name}&et=default&lt={KIT_LIFETIME}&lwm2m=1.0&d={account.id}&b=U"
            f"&aid={account.id}&mccv=4.13.2"]
        assert updates[0].query == "et=default"
