"""pyOCD sees virtual boards: `pyocd list`, flashing via the Python API and the CLI, reset/halt."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pyocd.core import exceptions
from pyocd.core.helpers import ConnectHelper
from pyocd.core.target import Target
from pyocd.flash.file_programmer import FileProgrammer

from harness.sim import registry
from harness.sim.control import ControlClient
from harness.sim.firmware import build_image, parse_image


def _session(unique_id: str):
    return ConnectHelper.session_with_chosen_probe(
        unique_id=unique_id, target_override="dmhil_vboard", blocking=False)


@pytest.mark.slow
def test_pyocd_list_shows_running_board(start_board) -> None:
    start_board("listed")
    out = subprocess.run([sys.executable, "-m", "pyocd", "list"], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert "dmhil-listed" in out.stdout
    assert "dmhil_vboard" in out.stdout


def test_flash_via_python_api_then_reset_and_halt(start_board, factory_image: Path) -> None:
    board = start_board("api")
    session = _session("dmhil-api")
    assert session is not None
    with session:
        FileProgrammer(session).program(str(factory_image))
        session.target.reset_and_halt()
        assert session.target.get_state() == Target.State.HALTED
        session.target.reset()
        assert session.target.get_state() == Target.State.RUNNING
        head = bytes(session.target.read_memory_block8(0, 16))
    assert head == factory_image.read_bytes()[:16]
    flash = (Path(board.info.board_dir) / registry.FLASH_FILE).read_bytes()
    assert parse_image(flash).name == "factory"
    with ControlClient(board.info.control) as control:
        info = control.request("info")
    assert info["image"]["name"] == "factory"
    assert info["boots"] == 1  # FileProgrammer halted, reset_and_halt held, reset booted once


@pytest.mark.slow
def test_pyocd_flash_cli_replaces_image(start_board, tmp_path: Path) -> None:
    board = start_board("cli", image=None)
    image = tmp_path / "v47.bin"
    image.write_bytes(build_image("factory-4.7", client_version="4.7.1"))
    out = subprocess.run([sys.executable, "-m", "pyocd", "flash", "-u", "dmhil-cli", "-t", "dmhil_vboard",
                          str(image)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr + out.stdout
    flash = (Path(board.info.board_dir) / registry.FLASH_FILE).read_bytes()
    assert parse_image(flash).client_version == "4.7.1"


def test_probe_is_exclusive_like_usb(start_board) -> None:
    start_board("busy")
    first = _session("dmhil-busy")
    with first:
        second = _session("dmhil-busy")
        with pytest.raises(exceptions.ProbeError, match="busy"):
            second.open()
