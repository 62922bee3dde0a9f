"""A board that is a local process: its "flash" is an executable in the board's folder, its
storage the ./pal of its working dir, its console a pty linked at <folder>/tty.

Board kinds that run a real client binary (native, fcc) share the lifecycle here: flash puts
the executable in and runs it, reset restarts it on its storage, factory reset wipes the storage
first, erase leaves a factory-new board. Each kind says how to run and stop its process.
"""

from __future__ import annotations

import abc
import contextlib
import os
import shutil
import tempfile
import time
from pathlib import Path

from harness.boards.board import Board
from harness.config import BoardConfigBase
from harness.errors import HilError

RUN_DIR = "run"
STORAGE = "pal"
TTY_LINK = "tty"
ESFS_NAME_SIZE = slice(4, 6)
"""Where an ESFS file's header keeps its name's length (little endian, after the version and
mode fields); the name (a KCM prefix such as `Cert_`, then the item's name) follows."""


def boards_folder(env: str, kind: str) -> Path:
    """Where the boards of a process kind live: $`env`, else a per-user temp folder."""
    value = os.environ.get(env)
    return Path(value) if value else Path(tempfile.gettempdir()) / f"dm-hil-{kind}-{os.getuid()}"


class ProcessBoard(Board):
    """A client executable run as a child process of the harness, on a storage folder."""

    client_name: str
    """The file name of the executable in the board's folder."""
    image_hint: str
    """What to give `flash` (the end of the sentence when the image file is missing)."""
    folder_mode = 0o777

    def __init__(self, config: BoardConfigBase, folder: Path, *, emulate_baud: bool = True) -> None:
        """Wrap `config`; the board's files live in `folder`."""
        super().__init__(config, emulate_baud=emulate_baud)
        self.dir = folder

    @property
    def client(self) -> Path:
        """The board's client executable (its "flash")."""
        return self.dir / self.client_name

    @property
    def storage(self) -> Path:
        """The client's storage (./pal of its working dir)."""
        return self.dir / RUN_DIR / STORAGE

    def port(self) -> str | None:
        """The stable link to the board's console pty."""
        return str(self.dir / TTY_LINK)

    @abc.abstractmethod
    def _run(self) -> None:
        """Start the client process on its storage."""

    @abc.abstractmethod
    def _end(self, *, cut: bool = False) -> None:
        """Stop the client process (the console pty stays); `cut`: at once, as a reset stops a CPU."""

    def _install(self, source: Path, timeout: float) -> None:
        """Put the image in as the client executable (a copy; a kind may link instead)."""
        shutil.copyfile(source, self.client)

    def _restart(self, *, cut: bool = False) -> None:
        """Stop the client (`cut`: at once) and run it again if one is flashed."""
        self._end(cut=cut)
        if self.client.is_file():
            self._run()

    def _wipe(self) -> None:
        shutil.rmtree(self.dir / RUN_DIR, ignore_errors=True)

    # --- firmware ------------------------------------------------------------------------------
    def flash(self, image: str | Path, *, timeout: float = 120.0, progress: bool = False,
              chip_erase: bool = False) -> float:
        """Put the image in as the client and run it (`chip_erase`: on a blank storage)."""
        started = time.monotonic()
        source = Path(image)
        if not source.is_file():
            raise HilError(f"image {source} does not exist; give {self.image_hint}.")
        self.start()
        self._end()
        if chip_erase:
            self._wipe()
        self.dir.mkdir(mode=self.folder_mode, parents=True, exist_ok=True)
        self._install(source, timeout)
        self.client.chmod(0o700)  # a linked client carries the device's private key
        self._run()
        return time.monotonic() - started

    def erase(self) -> None:
        """No client, no storage: a factory-new board."""
        self._end()
        self._wipe()
        with contextlib.suppress(FileNotFoundError):
            self.client.unlink()

    # --- control -------------------------------------------------------------------------------
    def reset(self, *, halt: bool = False) -> None:
        """Restart the client on its storage."""
        if halt:
            self._missing("can_halt")
        self.start()
        self._restart()

    def factory_reset(self) -> None:
        """Wipe the storage (./pal) and restart the client."""
        self.start()
        self._end()
        self._wipe()
        if self.client.is_file():
            self._run()

    def power_cycle(self) -> None:
        """A process's cold boot is a restart."""
        self.reset()

    def corrupt_item(self, name: str) -> None:
        """Damage the stored item `name` (Board.corrupt_item): in the client's ESFS storage, the
        second half of the item's ./pal/WORKING file after its name (the value's tail and the
        CMAC) is erased to 0xFF; the factory copy in ./pal/BACKUP is kept."""
        working = self.storage / "WORKING"
        files = sorted(working.iterdir()) if working.is_dir() else []
        for path in files:
            data = path.read_bytes()
            size = int.from_bytes(data[ESFS_NAME_SIZE], "little")
            start = ESFS_NAME_SIZE.stop + size
            if data[ESFS_NAME_SIZE.stop:start].decode(errors="replace").partition("_")[2] == name:
                middle = start + (len(data) - start) // 2
                path.write_bytes(data[:middle] + bytes([0xFF]) * (len(data) - middle))
                return
        raise HilError(f"board {self.id}: no stored item {name} among the {len(files)} files of "
                       f"{working}; name an item the client stored (e.g. mbed.LwM2MDeviceCert).")
