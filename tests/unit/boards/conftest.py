"""Fixtures for the board-layer tests: a private sim dir, lock dir and a one-board lab."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.boards.board import Board
from harness.boards.registry import make_board
from harness.config import LabConfig, board_config
from harness.sim import registry
from harness.sim.firmware import build_image


@pytest.fixture
def boards_sim_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private $HIL_SIM_DIR."""
    root = tmp_path / "boards"
    root.mkdir()
    monkeypatch.setenv(registry.SIM_DIR_ENV, str(root))
    return root


@pytest.fixture
def lab() -> LabConfig:
    """A lab with two virtual boards and one real board."""
    return LabConfig(boards=[
        board_config(id="vb-a", kind="sim", tags=["fast"]),
        board_config(id="vb-b", kind="sim", tags=["fast", "udp"]),
        board_config(id="real-1", kind="pyocd", target="k64f", probe_id="0240000032044e45",
                    usb_serial_number="0240000032044e45"),
    ])


@pytest.fixture
def image_file(tmp_path: Path) -> Path:
    """A factory image file."""
    path = tmp_path / "factory.bin"
    path.write_bytes(build_image("factory"))
    return path


@pytest.fixture
def virtual_board(boards_sim_root: Path) -> Iterator[Board]:
    """A started virtual board (stopped at teardown)."""
    board = make_board(board_config(id="vb-test", kind="sim"))
    board.start()
    try:
        yield board
    finally:
        board.stop()
