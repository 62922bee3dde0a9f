"""What the REAL Device Management Client does when one of its stored credentials is damaged.

A lab failure: a flash sector goes bad, or a power cut leaves an item half written. The real client
(EX 4.13.2, Linux, TCP, developer mode, certificate mode through the service's tls-record bootstrap
URI) keeps each item in its own file under ./pal/WORKING (ESFS: a header with the item's name, the
value in clear for certificates, a 16-byte CMAC at the end; ./pal/BACKUP holds the factory copy).
These tests erase the second half of one item's file to 0xFF (what an interrupted NOR program or an
erased sector leaves), restart the client in the same folder, and pin what it does (measured
2026-11-30):

- the bootstrap device certificate (or the bootstrap server CA, the device key, the bootstrap URI),
  damaged before the device ever bootstrapped: ESFS reports the CMAC mismatch (`esfs_open() - cmac
  that we read from the file does not match`), the example application's start-up check fails (for
  the certificate its developer flow already says `Failed to load developer credentials`, for the
  others `Developer credentials already exist, continuing..`; then the verification's
  `Factory Configurator Client [ERROR]: ...`), it prints `Resets storage to an empty state.`, runs
  the developer flow again with the credentials compiled in, and bootstraps and registers: no
  connector error at all;
- the bootstrap device certificate, damaged while the client waits to retry a refused bootstrap
  (no start-up check in between, as on a production device): the retry cannot open it and sends
  nothing; the client logs `Factory resetting credentials due to unrecoverable bootstrap failures`
  (the ./pal/BACKUP copies come back), reports `ConnectBootstrapFailed` (code 2, `Re-bootstrapping`)
  then `ConnectorFailedToReadCredentials` (code 17, `Client cannot connect anymore Failed to read
  credentials`), and bootstraps again after 20-100 s (`bootstrap_again in 71 seconds`; it then
  registered with the restored certificate);
- the LwM2M device certificate, damaged after a registration: the start-up check passes (it checks
  the bootstrap items of a bootstrap-mode device), the client finds LwM2M credentials
  (`lwm2m creds available: 1, use bs: 1`), fails to read the certificate at registration and
  reports `ConnectorFailedToReadCredentials` (code 17) with `Failed to read credentials from
  storage`, once; it sends no Bootstrap-Request and no Register, and schedules no reconnection.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pdmc_kit import ClientProcess, find_kit, link_client

from harness.cloud import events as ev
from harness.cloud.developer import issue_developer_certificate
from harness.cloud.events import EventTimeout
from harness.cloud.service_thread import ServiceThread
from harness.config import ServiceConfig
from harness.devcreds import write_c_file

ONBOARD_TIMEOUT = 40.0
ERROR_TIMEOUT = 20.0
QUIET_S = 15.0
"""How long the service must see nothing from a client that stopped: past the first reconnection
of the client's back-off (protocol facts 3: retries with exponential back-off, x2 +-10 %, from a
base of 10 s)."""

HEADER = 6
"""ESFS file header before the item's name: version (2 bytes), mode (2), name length (2)."""
CMAC_MISMATCH = "cmac that we read from the file does not match the one that we calculated"
RECONNECTING = r"reconnecting in \d+"
"""The client's trace when it schedules a retry (the kit's README)."""
FCC_ERRORS = {
    name: "Factory Configurator Client [ERROR]: KCM failed to read, write or get size of item "
          "from/to storage."
    for name in ("Cert_mbed.BootstrapDeviceCert", "PrvKey_mbed.BootstrapDevicePrivateKey",
                 "CfgParam_mbed.BootstrapServerURI")
} | {"Cert_mbed.BootstrapServerCACert":
     "Factory Configurator Client [ERROR]: Current item wasn't found in the storage"}
"""What the verification prints (print_fcc_status): its size check of the CA reports the item as
missing, the other reads a storage failure."""
NETWORK_EVENTS = (ev.BOOTSTRAP, ev.BOOTSTRAP_ERROR, ev.REGISTRATION)


def _config() -> ServiceConfig:
    return ServiceConfig(transports=["tls-record", "tcp-length"],
                         bootstrap={"tls_record": 0, "tcp_length": 0},
                         lwm2m={"tls_record": 0, "tcp_length": 0})


def item_file(run_dir: Path, name: str) -> Path:
    """The ./pal/WORKING file of the stored item `name` (e.g. Cert_mbed.LwM2MDeviceCert)."""
    working = run_dir / "pal" / "WORKING"
    key = name.encode()
    hits = [f for f in working.iterdir() if f.read_bytes()[HEADER:HEADER + len(key)] == key]
    assert len(hits) == 1, f"{len(hits)} files in {working} hold item {name}"
    return hits[0]


def erase_second_half(path: Path, name: str) -> None:
    """Erase the second half of the item's file after its name to 0xFF (same length)."""
    data = bytearray(path.read_bytes())
    middle = HEADER + len(name) + (len(data) - HEADER - len(name)) // 2
    data[middle:] = b"\xff" * (len(data) - middle)
    path.write_bytes(bytes(data))


class _Device:
    """The service, a developer account and the real client linked for its tls-record URI; one
    folder (./pal) across the client's runs."""

    def __init__(self, tmp_path: Path) -> None:
        kit, why = find_kit()
        if kit is None:
            pytest.skip(why)
        self.thread = ServiceThread(_config(), tmp_path / "service", start_rest=False)
        self.svc = self.thread.__enter__()
        account = self.svc.store.create_account("developer")
        uri = self.svc.bootstrap_uri("tls-record")
        cert = issue_developer_certificate(self.svc.store, self.svc.pki, account.id, uri)
        creds = write_c_file(cert.c_credentials(), tmp_path / "mbed_cloud_dev_credentials.c")
        self.elf = link_client(kit, creds, tmp_path / "client.elf", uri)
        self.run_dir = tmp_path / "run"
        self.clients: list[ClientProcess] = []

    def start(self) -> ClientProcess:
        """Start the client (again) in the device's folder."""
        self.clients.append(ClientProcess(self.elf, self.run_dir))
        return self.clients[-1]

    def close(self) -> None:
        """Stop every client run, then the service."""
        try:
            for client in self.clients:
                client.stop()
        finally:
            self.thread.__exit__(None, None, None)


@pytest.fixture
def device(tmp_path):
    started = _Device(tmp_path)
    yield started
    started.close()


@pytest.mark.parametrize("name", ["Cert_mbed.BootstrapDeviceCert", "Cert_mbed.BootstrapServerCACert",
                                  "PrvKey_mbed.BootstrapDevicePrivateKey",
                                  "CfgParam_mbed.BootstrapServerURI"])
def test_real_client_resets_its_storage_when_a_bootstrap_item_is_damaged(device, name):
    """Damaged bootstrap certificate (or server CA, key, URI), never bootstrapped: the
    application's start-up check fails, it resets the storage, writes the developer credentials
    again, bootstraps and registers."""
    svc = device.svc
    svc.bootstrap.inject_error("5.00", "Internal error #1")  # the first start stays unbootstrapped
    first = device.start()
    svc.events.wait_for_sync(lambda e: e.type == ev.BOOTSTRAP_ERROR, ONBOARD_TIMEOUT)
    first.wait_for(r"^Error details : ", ERROR_TIMEOUT)
    first.wait_for(RECONNECTING, ERROR_TIMEOUT)  # a refused bootstrap is retried: the trace says so
    first.stop()
    erase_second_half(item_file(device.run_dir, name), name)

    mark = svc.events.mark()
    second = device.start()
    second.wait_for(r"^Client registered$", ONBOARD_TIMEOUT)
    console = second.console()
    assert any(CMAC_MISMATCH in line for line in second.lines)
    # the developer flow reads back the device certificate only; the verification the rest
    loaded = "Failed to load developer credentials" if name == "Cert_mbed.BootstrapDeviceCert" \
        else "Developer credentials already exist, continuing.."
    assert console.index(loaded) < console.index("Resets storage to an empty state.") < \
        console.index("Client registered")
    fcc_error = [line for line in console if line.startswith("Factory Configurator Client [ERROR]")]
    assert fcc_error == [FCC_ERRORS[name]]
    assert console.count("Starting developer flow") == 2
    assert not [line for line in console if line.startswith("Error occurred")]
    boot = svc.events.wait_for_sync(lambda e: e.type == ev.BOOTSTRAP, 5, since=mark)
    assert boot.data["mode"] == "certificate"


def test_real_client_reports_a_damaged_lwm2m_certificate_once_and_does_not_bootstrap(device):
    """Damaged LwM2M certificate after a registration: code 17, `Failed to read credentials from
    storage`, once; no Bootstrap-Request, no Register, no reconnection."""
    svc = device.svc
    first = device.start()
    first.wait_for(r"^Client registered$", ONBOARD_TIMEOUT)
    first.stop()
    name = "Cert_mbed.LwM2MDeviceCert"
    erase_second_half(item_file(device.run_dir, name), name)

    mark = svc.events.mark()
    second = device.start()
    details = second.wait_for(r"^Error details : (.*)$", ONBOARD_TIMEOUT).group(1)
    assert details == "Failed to read credentials from storage"
    console = second.console()
    assert "Error occurred : MbedCloudClient::ConnectorFailedToReadCredentials" in console
    assert "Error code : 17" in console
    assert "Developer credentials already exist, continuing.." in console
    assert any("lwm2m creds available: 1, use bs: 1" in line for line in second.lines)
    assert any(CMAC_MISMATCH in line for line in second.lines)
    with pytest.raises(EventTimeout):
        svc.events.wait_for_sync(lambda e: e.type in NETWORK_EVENTS, QUIET_S, since=mark)
    assert [line for line in second.console() if line.startswith("Error occurred")] == \
        ["Error occurred : MbedCloudClient::ConnectorFailedToReadCredentials"]
    assert not [line for line in second.lines if re.search(RECONNECTING, line)]
    assert "Client registered" not in second.console()


def test_real_client_meeting_a_damaged_bootstrap_certificate_resets_credentials_and_rebootstraps(
        device):
    """The bootstrap certificate goes bad while the client waits to retry a refused bootstrap (a
    production device, or a sector failing in use: no start-up check in between). The retry
    cannot open the certificate: no Bootstrap-Request; the client factory-resets its
    credentials (the ./pal/BACKUP copies come back), reports `ConnectBootstrapFailed` (code 2,
    `Re-bootstrapping`) then `ConnectorFailedToReadCredentials` (code 17, `Client cannot connect
    anymore Failed to read credentials`), and schedules a bootstrap in 20-100 s (measured: it
    then bootstraps and registers with the restored certificate)."""
    svc = device.svc
    svc.bootstrap.inject_error("5.00", "Internal error #1")
    client = device.start()
    svc.events.wait_for_sync(lambda e: e.type == ev.BOOTSTRAP_ERROR, ONBOARD_TIMEOUT)
    client.wait_for(RECONNECTING, ERROR_TIMEOUT)
    name = "Cert_mbed.BootstrapDeviceCert"
    erase_second_half(item_file(device.run_dir, name), name)
    mark = svc.events.mark()

    again = client.wait_for(r"bootstrap_again in (\d+) seconds", ONBOARD_TIMEOUT)
    assert 20 <= int(again.group(1)) <= 100
    client.wait_for(r"^Error details : Client cannot connect anymore Failed to read credentials$",
                    ERROR_TIMEOUT)
    reports = [line for line in client.console() if line.startswith("Error ")]
    assert reports[:3] == ["Error occurred : MbedCloudClient::ConnectUnknownError",  # the 5.00
                           "Error code : 9", "Error details : internal-server-error:Internal error #1"]
    assert reports[3:] == [
        "Error occurred : MbedCloudClient::ConnectBootstrapFailed", "Error code : 2",
        "Error details : Re-bootstrapping",
        "Error occurred : MbedCloudClient::ConnectorFailedToReadCredentials", "Error code : 17",
        "Error details : Client cannot connect anymore Failed to read credentials"]
    assert any("Factory resetting credentials due to unrecoverable bootstrap failures" in line
               for line in client.lines)
    assert any(CMAC_MISMATCH in line for line in client.lines)
    with pytest.raises(EventTimeout):  # nothing reaches the service before the bootstrap wait
        svc.events.wait_for_sync(lambda e: e.type in NETWORK_EVENTS, 5, since=mark)
