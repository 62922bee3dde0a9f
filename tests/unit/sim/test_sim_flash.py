"""The virtual board's flash file: owner-only, blank when new, NOR programming, kept on reopen."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from harness.sim.flash import ERASED, FlashAccessError, FlashFile, FlashGeometry

SMALL = FlashGeometry(start=0, size=0x2000, sector_size=0x1000, page_size=0x1000)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_flash_file_is_blank_and_readable_by_its_owner_only(tmp_path: Path) -> None:
    flash = FlashFile(tmp_path / "flash.bin", SMALL)
    assert flash.content() == bytes([ERASED]) * SMALL.size
    assert _mode(flash.path) == 0o600


def test_an_existing_world_readable_flash_file_is_made_owner_only_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "flash.bin"
    FlashFile(path, SMALL).program(0x10, b"\x12\x34")
    path.chmod(0o644)
    again = FlashFile(path, SMALL)
    assert _mode(path) == 0o600
    assert again.read(0x10, 2) == b"\x12\x34"


def test_programming_only_clears_bits_and_erase_sets_them(tmp_path: Path) -> None:
    flash = FlashFile(tmp_path / "flash.bin", SMALL)
    flash.program(0, b"\xf0")
    flash.program(0, b"\x0f")
    assert flash.read(0, 1) == b"\x00"
    flash.erase(0, SMALL.sector_size)
    assert flash.read(0, 1) == bytes([ERASED])


def test_a_flash_file_of_the_wrong_size_is_replaced_by_a_blank_one(tmp_path: Path) -> None:
    path = tmp_path / "flash.bin"
    path.write_bytes(b"\x00" * 10)
    assert FlashFile(path, SMALL).content() == bytes([ERASED]) * SMALL.size


def test_access_outside_the_flash_names_the_range(tmp_path: Path) -> None:
    flash = FlashFile(tmp_path / "flash.bin", SMALL)
    with pytest.raises(FlashAccessError, match="outside"):
        flash.read(SMALL.size - 1, 2)
