"""The virtual board's NOR flash: a file; programming only clears bits, erase sets 0xFF."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HilError

ERASED = 0xFF
RAM_START = 0x2000_0000
RAM_SIZE = 0x1_0000
FILE_MODE = 0o600
"""The flash file is readable by its owner only (like the store file)."""


class FlashAccessError(HilError):
    """A flash operation outside the flash or not sector aligned."""


@dataclass(frozen=True)
class FlashGeometry:
    """Address range and sector/page sizes of the flash."""

    start: int = 0x0000_0000
    size: int = 0x0010_0000
    sector_size: int = 0x1000
    page_size: int = 0x1000


class FlashFile:
    """Flash content kept in a file of `geometry.size` bytes (created blank)."""

    def __init__(self, path: str | os.PathLike[str], geometry: FlashGeometry = FlashGeometry()) -> None:
        """Open the flash file (owner-only: developer images carry a private key), blank if new."""
        self.path = Path(path)
        self.geometry = geometry
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        with os.fdopen(fd, "r+b") as fh:
            os.fchmod(fh.fileno(), FILE_MODE)
            if os.fstat(fh.fileno()).st_size != geometry.size:
                fh.truncate(0)
                fh.write(bytes([ERASED]) * geometry.size)

    def _offset(self, addr: int, size: int) -> int:
        g = self.geometry
        if size < 0 or addr < g.start or addr + size > g.start + g.size:
            raise FlashAccessError(
                f"flash range {addr:#x}+{size:#x} is outside {g.start:#x}..{g.start + g.size:#x}; "
                "use an address inside the flash."
            )
        return addr - g.start

    def read(self, addr: int, size: int) -> bytes:
        """Read `size` bytes at `addr`."""
        offset = self._offset(addr, size)
        with self.path.open("rb") as fh:
            fh.seek(offset)
            return fh.read(size)

    def program(self, addr: int, data: bytes) -> None:
        """Program bytes at `addr` (NOR semantics: new = old AND data)."""
        offset = self._offset(addr, len(data))
        old = self.read(addr, len(data))
        new = bytes(a & b for a, b in zip(old, data, strict=True))
        with self.path.open("r+b") as fh:
            fh.seek(offset)
            fh.write(new)

    def erase(self, addr: int, size: int) -> None:
        """Erase whole sectors covering [addr, addr+size)."""
        sector = self.geometry.sector_size
        if (addr - self.geometry.start) % sector or size % sector:
            raise FlashAccessError(
                f"erase {addr:#x}+{size:#x} is not aligned to the {sector:#x}-byte sector; align it."
            )
        offset = self._offset(addr, size)
        with self.path.open("r+b") as fh:
            fh.seek(offset)
            fh.write(bytes([ERASED]) * size)

    def erase_all(self) -> None:
        """Erase the whole flash."""
        self.erase(self.geometry.start, self.geometry.size)

    def content(self) -> bytes:
        """The whole flash."""
        return self.read(self.geometry.start, self.geometry.size)
