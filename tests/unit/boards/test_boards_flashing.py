"""Board layer end to end on a virtual board: pyOCD flashing, console, provisioning over the pty."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import pki
from harness.boards.board import Board
from harness.boards.dialect import dialect_for_image
from harness.boards.flashing import FlashError, ProbeRef, flash
from harness.boards.manifest import ManifestError, load_manifest
from harness.boards.registry import make_board
from harness.config import board_config
from harness.provisioning import items as it
from harness.provisioning.bundle import bootstrap_bundle
from harness.provisioning.host import provision
from harness.provisioning.store import ItemStore
from harness.sim import registry
from harness.sim.firmware import parse_image


def test_flash_console_provision(virtual_board: Board, image_file: Path, tmp_path: Path) -> None:
    log = tmp_path / "logs" / "vb.log"
    console = virtual_board.open_console(log)
    dialect = dialect_for_image("factory")
    seconds = virtual_board.flash(image_file, timeout=30)
    assert seconds < 30
    assert console.expect(dialect["version"], timeout=10).group(1) == "4.13.4"
    console.expect(dialect["factory_ready"], timeout=10)
    ca, server_ca = pki.make_ca("dev CA"), pki.make_ca("srv CA")
    cert = pki.make_bootstrap_device_cert(ca, "ep-board-1")
    bundle = bootstrap_bundle("ep-board-1", "coaps://127.0.0.1:5684?aid=0123456789abcdef0123456789abcdef",
                              server_ca.cert_der, cert)
    with console.handed_over() as port:
        result = provision(port, bundle, timeout=10)
    assert result.ok, result.info
    store = ItemStore(virtual_board.board_dir / registry.STORE_FILE)
    assert store.get_str(it.ENDPOINT_NAME) == "ep-board-1"
    console.close()
    text = log.read_text(errors="replace")
    assert "Factory flow begins" in text
    assert cert.key_der[-20:].hex() not in text.encode().hex()  # no key bytes in the log


def test_reset_halt_keeps_the_core_halted_after_the_probe_disconnects(virtual_board: Board,
                                                                      image_file: Path) -> None:
    virtual_board.flash(image_file, timeout=30)
    virtual_board.reset(halt=True)
    with virtual_board.control() as control:
        assert control.request("state")["state"] == "halted"
    virtual_board.reset()
    with virtual_board.control() as control:
        assert control.request("state")["state"] in ("booting", "running")


def test_flash_errors_are_clear(virtual_board: Board, tmp_path: Path, image_file: Path) -> None:
    with pytest.raises(FlashError, match="does not exist"):
        flash(virtual_board.probe_ref(), tmp_path / "missing.bin", progress=False)
    ghost = ProbeRef("ghost", "no-such-probe-123", "k64f")
    with pytest.raises(FlashError, match="no debug probe no-such-probe-123"):
        flash(ghost, image_file, progress=False)
    wrong = ProbeRef(virtual_board.id, virtual_board.probe_ref().unique_id, "no_such_target_xyz")
    with pytest.raises(FlashError, match="does not know target type"):
        flash(wrong, image_file, progress=False)


def test_images_and_manifest(tmp_path: Path) -> None:
    board = make_board(board_config(id="vb-img", kind="sim"))
    manifest = load_manifest()
    built = board.image_file("factory-4.7", manifest, tmp_path / "fw")
    assert parse_image(built.read_bytes()).client_version == "4.7.1"
    assert built.stat().st_mode & 0o077 == 0
    with pytest.raises(ManifestError, match="developer image"):
        board.image_file("developer", manifest, tmp_path / "fw")
    with pytest.raises(ManifestError, match="no firmware image 'nope'"):
        board.image_file("nope", manifest, tmp_path / "fw")


def test_fresh_start_replaces_a_board_process_another_command_left_running(boards_sim_root):
    config = board_config(id="vb-fresh", kind="sim")
    first = make_board(config)
    first.start()
    try:
        old = registry.read_board_info(first.board_dir).pid
        second = make_board(config)
        second.start(fresh=True)  # e.g. the suite, after `hil flash` left the board running
        try:
            new = registry.read_board_info(second.board_dir).pid
            assert new != old
            assert first.process.proc.wait(timeout=5) is not None  # the old process has exited
        finally:
            second.stop()
    finally:
        first.stop()
