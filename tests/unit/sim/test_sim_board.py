"""The virtual board process: boot from flash, console over its pty, provisioning, lifecycle."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import serial

from harness import pki
from harness.provisioning import items as it
from harness.provisioning.bundle import bootstrap_bundle
from harness.provisioning.host import provision
from harness.provisioning.store import ItemStore
from harness.sim import registry
from harness.sim.control import ControlClient
from harness.sim.firmware import build_image


def _read_until(port: serial.Serial, text: bytes, limit: int = 4096) -> bytes:
    """Read (with the port's timeout per read) until `text` shows up; returns everything read."""
    data = b""
    while text not in data and len(data) < limit:
        chunk = port.read_until(b"\n")
        if not chunk:
            break
        data += chunk
    return data


def test_blank_flash_prints_rom_line_only_after_host_opens(start_board) -> None:
    board = start_board("blank")
    info = board.info
    assert info is not None and Path(info.tty_link).resolve() == Path(info.tty)
    with ControlClient(info.control) as control:
        assert control.request("state")["state"] == "off"  # held until the host opens the port
        with serial.Serial(info.tty_link, 115200, timeout=5) as port:
            out = _read_until(port, b"\n")
        assert out.startswith(b"[BOOT] No bootable image: flash is blank")
        assert control.request("state")["state"] == "down"


def test_corrupt_image_prints_boot_error_and_stays_down(start_board, tmp_path: Path) -> None:
    image = bytearray(build_image("factory"))
    image[40] ^= 0xFF
    bad = tmp_path / "bad.bin"
    bad.write_bytes(bytes(image))
    board = start_board("corrupt", image=bad)
    with serial.Serial(board.info.tty_link, 115200, timeout=5) as port:
        out = _read_until(port, b"\n")
    assert b"[BOOT] Error: image CRC mismatch" in out
    assert b"Start Device Management Client" not in out
    with ControlClient(board.info.control) as control:
        assert control.request("state")["state"] == "down"


def test_factory_image_provisioned_over_pty(start_board, factory_image: Path) -> None:
    board = start_board("fab", image=factory_image, baud=115200)
    device_ca = pki.make_ca("test device CA")
    server_ca = pki.make_ca("test server CA")
    cert = pki.make_bootstrap_device_cert(device_ca, "ep-fab-1")
    bundle = bootstrap_bundle("ep-fab-1", "coaps://127.0.0.1:5684?aid=0123456789abcdef0123456789abcdef",
                              server_ca.cert_der, cert)
    with serial.Serial(board.info.tty_link, 115200, timeout=5) as port:
        banner = _read_until(port, b"Factory flow begins")
        assert b"Start Device Management Client\r\nDevice Management Client version 4.13.4\r\n" in banner
        result = provision(port, bundle, timeout=10)
        assert result.ok, result.info
        port.timeout = 0.5
        after = result.console.encode() + _read_until(port, b"Factory flow done")
        assert b"Factory flow done" in after
    store = ItemStore(Path(board.info.board_dir) / registry.STORE_FILE)
    assert store.get_str(it.ENDPOINT_NAME) == "ep-fab-1"
    assert store.get(it.BOOTSTRAP_DEVICE_CERT) == cert.cert_der
    assert store.is_factory(it.BOOTSTRAP_DEVICE_PRIVATE_KEY)


def test_reset_reboots_from_flash_and_sigterm_removes_board_json(start_board, factory_image: Path) -> None:
    board = start_board("life", image=factory_image)
    with serial.Serial(board.info.tty_link, 115200, timeout=5) as port:
        assert b"Factory flow begins" in _read_until(port, b"Factory flow begins")
        with ControlClient(board.info.control) as control:
            control.request("reset")
            again = _read_until(port, b"Factory flow begins")
            assert again.startswith(b"Start Device Management Client")
            assert control.request("state")["boots"] == 2
    board_json = Path(board.info.board_dir) / registry.BOARD_JSON
    made = [board_json, Path(board.info.control), Path(board.info.tty_link)]
    assert all(path.exists() for path in made)
    os.kill(board.info.pid, signal.SIGTERM)
    assert board.wait_gone(5)
    assert board.proc is not None and board.proc.returncode == 0
    assert [path for path in made if path.exists() or path.is_symlink()] == []
    assert registry.running_boards() == []


def test_a_board_that_fails_to_start_removes_what_it_made_and_says_why(sim_root: Path) -> None:
    import subprocess
    import sys

    board_dir = sim_root / "broken"
    (board_dir / registry.CONTROL_SOCKET / "in-the-way").mkdir(parents=True)
    proc = subprocess.run([sys.executable, "-m", "harness.sim", "--id", "broken",
                           "--board-dir", str(board_dir)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert "cannot use" in proc.stderr and registry.CONTROL_SOCKET in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (board_dir / registry.TTY_LINK).is_symlink(), "the tty link must be removed"
    assert not (board_dir / registry.BOARD_JSON).exists()


def test_second_process_for_same_board_is_refused(start_board, sim_root: Path) -> None:
    import subprocess
    import sys

    start_board("dup")
    proc = subprocess.run([sys.executable, "-m", "harness.sim", "--id", "dup"],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert "already runs" in proc.stderr
