"""The REAL Device Management Client (EX 4.13.2, Linux, TCP) onboards to the local service.

Independent proof of protocol facts 3.1 points 3-5 on the service side: the client is linked with
the developer credentials `hil cloud dev-cert` writes (the same functions, from the running
service), with the service's plain tcp-length bootstrap URI as build-client.sh's third argument
(coap://, NoSec over TCP: the TLS handshake is handled elsewhere). It must bootstrap (the /0/0 and
/1/0 object-instance writes), register with its ~1.1 KB body in pipelined 512-byte blocks, print
`Client registered` and `Device ID:`, and answer a server Read and Execute.
"""

from __future__ import annotations

import re
import socket
import ssl
import tempfile
from pathlib import Path

import pytest
from pdmc_kit import ClientProcess, find_kit, link_client

from harness.cloud import events as ev
from harness.cloud.developer import issue_developer_certificate
from harness.cloud.records import DeviceState
from harness.cloud.service_thread import ServiceThread
from harness.config import ServiceConfig
from harness.devcreds import write_c_file

PUT_BLOCK = re.compile(r"IN: \[CON\|(?:STATUS:\d+\|)?PUT\|MID:\d+\|path:0/0\|token:([0-9a-f:]+)\|"
                       r".*\|block1:\((\d+):\d:(\d+)\)")
ONBOARD_TIMEOUT = 40.0  # first start: the developer flow, entropy, bootstrap, register
OPERATION_TIMEOUT = 10.0


def _config() -> ServiceConfig:
    return ServiceConfig(transports=["tls-record", "tcp-length"],
                         bootstrap={"tls_record": 0, "tcp_length": 0},
                         lwm2m={"tls_record": 0, "tcp_length": 0})


def test_real_client_bootstraps_registers_and_answers_read_and_execute(tmp_path):
    kit, why = find_kit()
    if kit is None:
        pytest.skip(why)
    service = ServiceThread(_config(), tmp_path / "service", start_rest=False)
    with service as svc:
        account = svc.store.create_account("developer")
        cert = issue_developer_certificate(svc.store, svc.pki, account.id,
                                           svc.bootstrap_uri("tls-record"))
        creds = write_c_file(cert.c_credentials(), tmp_path / "mbed_cloud_dev_credentials.c")
        nosec_uri = svc.bootstrap_uri("tcp-length")  # coap://127.0.0.1:PORT, the aid is kept
        elf = link_client(kit, creds, tmp_path / "client.elf", nosec_uri)
        mark = svc.events.mark()
        client = ClientProcess(elf, tmp_path / "run")
        try:
            client.wait_for(r"^Client registered$", ONBOARD_TIMEOUT)
            device_id = client.wait_for(r"^Device ID: ([0-9a-f]{32})$", 5).group(1)
            boot = svc.events.wait_for_sync(lambda e: e.type == ev.BOOTSTRAP, 5, since=mark)
            reg = svc.events.wait_for_sync(lambda e: e.type == ev.REGISTRATION, 5, since=mark)
            assert boot.device_id == reg.device_id == device_id
            assert boot.data["mode"] == "nosec" and reg.account_id == account.id
            assert reg.data["original-ep"] == cert.endpoint_name
            device = svc.device(device_id)
            assert device.state == DeviceState.REGISTERED
            paths = {r["path"] for r in device.resources}
            # the whole ~1.1 KB Register body arrived (it spans three 512-byte blocks)
            assert {"/3/0/0", "/3/0/4", "/10252/0/1", "/1/0/0"} <= paths
            # the static device values carry no `obs`, the changing ones do (the virtual board's
            # device object follows this: harness/sim/client/device_object.py STATIC)
            obs = {r["path"]: r.get("obs") for r in device.resources}
            assert (obs["/3/0/0"], obs["/3/0/1"], obs["/3/0/2"]) == (False, False, False)
            assert obs["/3/0/11"] is True and obs["/3/0/21"] is True
            assert not [e for e in svc.events.history if e.type == ev.BOOTSTRAP_ERROR]

            code, _ct, payload = service.call(svc.read(device_id, "/3/0/0", timeout=OPERATION_TIMEOUT))
            assert (code, payload) == ("2.05", b"dev_manufacturer")
            code, _ct, _payload = service.call(svc.execute(device_id, "/3201/0/5850",
                                                       timeout=OPERATION_TIMEOUT))
            assert code == "2.04"
            assert not [line for line in client.console() if line.startswith("Error occurred")]
        finally:
            client.stop()


def _offers_the_clients_suite(uri: str, cert) -> bool:
    """True when the tls-record endpoint completes a TLS 1.2 handshake with CCM_8 only."""
    host, port = uri.split("//", 1)[1].split("?", 1)[0].rsplit(":", 1)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers("ECDHE-ECDSA-AES128-CCM8:@SECLEVEL=0")
    context.check_hostname = False
    context.load_verify_locations(cadata=ssl.DER_cert_to_PEM_cert(cert.c_credentials().server_ca_der))
    with tempfile.TemporaryDirectory() as folder:  # ssl loads keys from files only
        chain, key = Path(folder, "chain.pem"), Path(folder, "key.pem")
        chain.write_bytes(cert.credential.chain_pem)
        key.write_bytes(cert.credential.key_pem)
        context.load_cert_chain(chain, key)
    try:
        with socket.create_connection((host, int(port)), timeout=5) as raw, \
                context.wrap_socket(raw) as tls:
            return tls.cipher()[0] == "ECDHE-ECDSA-AES128-CCM8"
    except (OSError, ssl.SSLError):
        return False


def test_real_client_onboards_over_tls_with_its_certificate_written_block_wise(tmp_path):
    """Certificate mode: the /0/0 write (~1.2 KB with the LwM2M chain, CA and key) travels as
    512-byte blocks with one token, and the object-instance TLV keeps resources 12-14, without
    which the client would stop with code 17 at registration."""
    kit, why = find_kit()
    if kit is None:
        pytest.skip(why)
    service = ServiceThread(_config(), tmp_path / "service", start_rest=False)
    with service as svc:
        account = svc.store.create_account("developer")
        cert = issue_developer_certificate(svc.store, svc.pki, account.id,
                                           svc.bootstrap_uri("tls-record"))
        if not _offers_the_clients_suite(svc.bootstrap_uri("tls-record"), cert):
            pytest.skip("the service's tls-record endpoint does not offer TLS 1.2 with "
                        "ECDHE-ECDSA-AES128-CCM8, the real client's only suite (that fix is the "
                        "service's TLS stack, protocol facts 3.1 point 1)")
        creds = write_c_file(cert.c_credentials(), tmp_path / "mbed_cloud_dev_credentials.c")
        elf = link_client(kit, creds, tmp_path / "client.elf", svc.bootstrap_uri("tls-record"))
        mark = svc.events.mark()
        client = ClientProcess(elf, tmp_path / "run")
        try:
            client.wait_for(r"^Client registered$", ONBOARD_TIMEOUT)
            device_id = client.wait_for(r"^Device ID: ([0-9a-f]{32})$", 5).group(1)
            boot = svc.events.wait_for_sync(lambda e: e.type == ev.BOOTSTRAP, 5, since=mark)
            assert boot.device_id == device_id and boot.data["mode"] == "certificate"
            # the client's own trace of what it received: PUT /0/0 in 512-byte blocks, one token
            blocks = [m.groups() for m in map(PUT_BLOCK.search, client.lines) if m]
            assert [int(number) for _token, number, _size in blocks] == list(range(len(blocks)))
            assert len(blocks) >= 3 and {size for _t, _n, size in blocks} == {"512"}, blocks
            assert len({token for token, _n, _s in blocks}) == 1, blocks
            code, _ct, payload = service.call(svc.read(device_id, "/3/0/0", timeout=OPERATION_TIMEOUT))
            assert (code, payload) == ("2.05", b"dev_manufacturer")
            assert not [line for line in client.console() if line.startswith("Error occurred")]
        finally:
            client.stop()
