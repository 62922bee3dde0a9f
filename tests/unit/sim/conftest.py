"""Fixtures for the virtual-board tests: a board root per test and running board processes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness.sim import registry
from harness.sim.firmware import build_image
from harness.sim.launcher import VirtualBoardProcess


@pytest.fixture
def sim_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private $HIL_SIM_DIR (pyOCD subprocesses inherit it)."""
    root = tmp_path / "boards"
    root.mkdir()
    monkeypatch.setenv(registry.SIM_DIR_ENV, str(root))
    return root


@pytest.fixture
def factory_image(tmp_path: Path) -> Path:
    """A factory-mode firmware image file."""
    path = tmp_path / "factory.bin"
    path.write_bytes(build_image("factory", client_version="4.13.4"))
    return path


@pytest.fixture
def start_board(sim_root: Path) -> Iterator[Callable[..., VirtualBoardProcess]]:
    """Start virtual board processes; every one is stopped at teardown."""
    started: list[VirtualBoardProcess] = []

    def start(board_id: str = "vb1", **kwargs: object) -> VirtualBoardProcess:
        proc = VirtualBoardProcess(board_id, root=sim_root, **kwargs)  # type: ignore[arg-type]
        started.append(proc)
        proc.start()
        return proc

    yield start
    for proc in started:
        proc.stop()
