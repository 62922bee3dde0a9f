"""The native board kind: the real Device Management Client linked from its kit and run as a
process, its stdout read like a UART (no service needed: it fails to connect, as it must)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from harness.boards.board import BoardUnavailable
from harness.boards.dialect import dialect_for_image
from harness.boards.kinds.native import NATIVE_DIR_ENV, NativeBoard
from harness.boards.manifest import load_manifest
from harness.boards.process_port import ProcessPort
from harness.boards.registry import make_board
from harness.config import KIT_ENV, ConfigError, board_config, parse_lab_config
from harness.devcreds import DeveloperCredentials
from harness.errors import HilError
from harness.pki import make_bootstrap_device_cert, make_ca

KIT = board_config(id="k", kind="native").kit_path()  # type: ignore[union-attr]
needs_kit = pytest.mark.skipif(
    not (KIT / "build-client.sh").is_file() or not shutil.which("gcc") or not shutil.which("g++"),
    reason=f"no real client kit at {KIT} (or no gcc/g++): see the README's \"Real client\" section")


@pytest.fixture
def native_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "native"
    monkeypatch.setenv(NATIVE_DIR_ENV, str(root))
    return root


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def credentials(endpoint: str = "native-unit") -> DeveloperCredentials:
    device = make_bootstrap_device_cert(make_ca("dev CA"), endpoint)
    return DeveloperCredentials(
        endpoint_name=endpoint, account_id="0" * 32,
        bootstrap_uri=f"coap://127.0.0.1:{closed_port()}?aid={'0' * 32}",
        device_cert_der=device.cert_der, server_ca_der=make_ca("server CA").cert_der,
        private_key_der=device.key_der)


def test_native_config_validates_its_own_fields(monkeypatch):
    board = board_config(id="n1", kind="native")
    assert (board.target, board.firmware, board.transport) == \
        ("pdmc-linux-tcp", "native-developer", "tls-record")
    monkeypatch.setenv(KIT_ENV, "/opt/kit")
    assert board.kit_path() == Path("/opt/kit")
    with pytest.raises(ConfigError) as info:
        parse_lab_config("boards:\n  - {id: n1, kind: native, probe_id: x, transport: udp}\n")
    assert sorted(info.value.problems) == [
        "boards[0] (id n1).probe_id (line 2): unknown key; remove it or check its spelling",
        "boards[0] (id n1).transport (line 2): Input should be 'tls-record' or 'tcp-length'"]


def test_a_missing_kit_makes_the_board_unavailable_in_one_sentence(native_root, tmp_path,
                                                                   monkeypatch):
    monkeypatch.setenv(KIT_ENV, str(tmp_path / "no-kit"))
    board = make_board(board_config(id="n1", kind="native"))
    with pytest.raises(BoardUnavailable, match=r"^board n1: no real client kit at .*no-kit; get "
                                               r"the Device Management Client kit .*HIL_PDMC_KIT at it\.$"):
        board.check()
    assert board.survey([], False).problems


def test_capabilities_say_what_the_real_client_cannot_do(native_root):
    caps = make_board(board_config(id="n1", kind="native")).capabilities
    assert caps.firmware_modes == {"developer"} and not caps.factory_provisioning
    assert not caps.can_deregister and "de-register" in caps.why_not("can_deregister")
    assert caps.has("can_halt") and not caps.has("has_probe")
    with pytest.raises(ValueError, match="unknown board capability"):
        caps.has("is_virtual")


def test_process_port_strips_colours_and_never_blocks_the_process(tmp_path):
    port = ProcessPort(tmp_path / "tty")
    try:
        import serial

        with serial.Serial(str(tmp_path / "tty"), timeout=5) as uart:
            out_r, out_w = os.pipe()
            script = ("import sys; w=sys.stdout.write; w('\\x1b[32m[INFO]\\x1b[0m boot\\r\\n');"
                      "w('Client registered\\r\\n'); sys.stdout.flush()")
            proc = subprocess.Popen([sys.executable, "-c", script], stdout=out_w)
            os.close(out_w)
            port.attach(out_r, None)
            assert proc.wait(10) == 0
            assert uart.readline() == b"[INFO] boot\n"
            assert uart.readline() == b"Client registered\n"
        # nobody reads the port now: 4 MB of output must not block the writer
        out_r, out_w = os.pipe()
        proc = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdout.write('x' * 4_000_000)"],
                                stdout=out_w)
        os.close(out_w)
        port.attach(out_r, None)
        assert proc.wait(30) == 0
        port.detach()
    finally:
        port.close()
    assert not (tmp_path / "tty").exists()


@needs_kit
def test_real_client_links_runs_restarts_and_wipes(native_root, tmp_path):
    """Flash = link with the credentials; the console shows the real client's own lines; reset
    keeps its storage, factory reset wipes it, halt stops it, erase removes client and storage."""
    board = make_board(board_config(id="n1", kind="native", kit=str(KIT)))
    assert isinstance(board, NativeBoard)
    dialect = dialect_for_image("native-developer")
    creds = credentials()
    image = board.image_file("native-developer", load_manifest(), tmp_path / "fw",
                             developer_credentials=creds)
    assert image.stat().st_mode & 0o077 == 0, "the credentials file holds a private key"
    try:
        console = board.open_console(tmp_path / "console.log")
        assert board.flash(image) < 60
        assert board.client.stat().st_mode & 0o077 == 0, "the linked client holds a private key"
        console.expect(dialect["boot"], 20)
        console.expect(dialect["developer_flow"], 10)
        assert console.expect(dialect["version"], 10).group(1) == "4.13.2"
        assert console.expect(dialect["error"], 30).group(1) == "ConnectNetworkError"
        assert console.expect(dialect["error_code"], 5).group(1) == "7"
        assert board.storage.is_dir()

        console.mark()
        board.reset()
        console.expect(dialect["boot"], 20)
        console.expect(dialect["credentials_kept"], 10)

        console.mark()
        board.factory_reset()
        console.expect(dialect["developer_flow"], 20)
        lines = console.readlines_until(dialect["version"], 10)  # a wiped board stores them anew
        assert not any(dialect.match("credentials_kept", line) for line in lines)

        board.reset(halt=True)
        pid = board.proc.pid
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        assert state == "T", "a halted native board's process is stopped"
        board.erase()
        assert board.proc is None and not board.client.exists() and not board.storage.exists()
    finally:
        board.stop()
    log = (tmp_path / "console.log").read_text()
    assert "\x1b[" not in log and "\r" not in log
    assert creds.private_key_der[-16:].hex() not in log.replace(" ", "").lower()


def _esfs_file(name: str, value: bytes) -> bytes:
    """An ESFS file as the real client writes it: version, mode, name length, name, value, CMAC."""
    return b"\x01\x00\x00\x02" + len(name).to_bytes(2, "little") + name.encode() + value + b"C" * 16


def test_corrupt_item_erases_the_tail_of_the_items_working_file_only(native_root):
    board = make_board(board_config(id="n1", kind="native"))
    assert board.capabilities.storage_faults
    working, backup = board.storage / "WORKING", board.storage / "BACKUP"
    for folder in (working, backup):
        folder.mkdir(parents=True)
        (folder / "zKDGGDlf").write_bytes(_esfs_file("Cert_mbed.BootstrapDeviceCert", b"D" * 40))
        (folder / "jNagGYwd").write_bytes(_esfs_file("Cert_mbed.LwM2MDeviceCert", b"L" * 40))
    board.corrupt_item("mbed.LwM2MDeviceCert")
    damaged = (working / "jNagGYwd").read_bytes()
    whole = _esfs_file("Cert_mbed.LwM2MDeviceCert", b"L" * 40)
    start = 6 + len("Cert_mbed.LwM2MDeviceCert")
    assert len(damaged) == len(whole) and damaged[:start + 28] == whole[:start + 28]
    assert damaged[start + 28:] == b"\xff" * 28  # the value's second half and the CMAC
    assert (backup / "jNagGYwd").read_bytes() == whole
    assert (working / "zKDGGDlf").read_bytes() == _esfs_file("Cert_mbed.BootstrapDeviceCert", b"D" * 40)
    with pytest.raises(HilError, match=r"^board n1: no stored item mbed.Nothing among the 2 files of "
                                       r".*WORKING; name an item the client stored"):
        board.corrupt_item("mbed.Nothing")
