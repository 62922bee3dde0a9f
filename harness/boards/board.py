"""Board = config + serial console + probe operations, for real and virtual boards alike."""

from __future__ import annotations

import os
import select
import signal
from pathlib import Path

from pyocd.core.helpers import ConnectHelper

from harness.boards.console import SerialConsole
from harness.boards.flashing import FlashError, flash, probe_id_of
from harness.config import BoardConfig
from harness.errors import HilError
from harness.sim import registry
from harness.sim.control import ControlClient
from harness.sim.launcher import BoardStartError, VirtualBoardProcess


class Board:
    """One lab board. Virtual boards ("sim") get their process started on demand by start()."""

    def __init__(self, config: BoardConfig, *, emulate_baud: bool = True) -> None:
        """Wrap `config`; nothing is opened yet. Virtual boards live under $HIL_SIM_DIR."""
        self.config = config
        self.emulate_baud = emulate_baud
        self.process: VirtualBoardProcess | None = None
        self.console: SerialConsole | None = None

    @property
    def id(self) -> str:
        """The board id."""
        return self.config.id

    @property
    def is_virtual(self) -> bool:
        """True for a virtual board."""
        return self.config.kind == "sim"

    @property
    def board_dir(self) -> Path:
        """The virtual board's state dir."""
        return registry.board_dir(self.id)

    # --- lifecycle -----------------------------------------------------------------------------
    def start(self, timeout: float = 15.0, *, fresh: bool = False) -> None:
        """Virtual board: start its process unless one already runs (`fresh`: restart a process
        someone else started, so it runs with this process's environment). Real board: nothing."""
        if not self.is_virtual:
            return
        info = registry.read_board_info(self.board_dir)
        if info is not None and fresh and self.process is None:
            self._stop_foreign(info.pid, timeout)
            info = None
        if info is not None:
            return
        baud = self.config.baudrate if self.emulate_baud else None
        self.process = VirtualBoardProcess(self.id, baud=baud, target=self.config.target)
        self.process.start(timeout)

    def _stop_foreign(self, pid: int, timeout: float) -> None:
        """Shut down a board process another command started and wait until it is gone."""
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:
            return
        try:
            os.kill(pid, signal.SIGTERM)
            if not select.select([fd], [], [], timeout)[0]:
                raise BoardStartError(f"virtual board {self.id} (pid {pid}) did not stop within "
                                      f"{timeout:g} s; kill it and retry.")
        except ProcessLookupError:
            pass
        finally:
            os.close(fd)

    def stop(self) -> None:
        """Close the console and stop a board process this object started."""
        self.close_console()
        if self.process is not None:
            self.process.stop()
            self.process = None

    def port(self) -> str | None:
        """The serial port path (virtual: the stable tty symlink)."""
        if self.is_virtual:
            return str(self.board_dir / registry.TTY_LINK)
        return self.config.serial_port

    # --- console -------------------------------------------------------------------------------
    def open_console(self, log_path: str | Path | None = None) -> SerialConsole:
        """Open (or reopen with a new log) the serial console."""
        self.close_console()
        self.start()
        self.console = SerialConsole(
            self.port() if (self.is_virtual or not self.config.usb_serial_number) else None,
            usb_serial_number=None if self.is_virtual else self.config.usb_serial_number,
            baudrate=self.config.baudrate, log_path=log_path, name=self.id,
        )
        return self.console

    def close_console(self) -> None:
        """Close the console if open."""
        if self.console is not None:
            self.console.close()
            self.console = None

    # --- probe ---------------------------------------------------------------------------------
    def flash(self, image: str | Path, *, timeout: float = 120.0, progress: bool = False,
              chip_erase: bool = False) -> float:
        """Program an image through pyOCD and reset; seconds taken (`chip_erase`: wipe all first)."""
        self.start()
        return flash(self.config, image, timeout=timeout, progress=progress, chip_erase=chip_erase)

    def reset(self, *, halt: bool = False) -> None:
        """Reset through the probe (pyOCD), optionally staying halted."""
        self.start()
        session = ConnectHelper.session_with_chosen_probe(
            unique_id=probe_id_of(self.config), target_override=self.config.target, blocking=False,
            options={"resume_on_disconnect": not halt})  # pyOCD resumes the core on close otherwise
        if session is None:
            raise FlashError(f"board {self.id}: probe {probe_id_of(self.config)} is not connected; "
                             "check `pyocd list`.")
        with session:
            if halt:
                session.target.reset_and_halt()
            else:
                session.target.reset()

    def power_cycle(self) -> None:
        """Virtual board: power off and on (cold boot). Real board: a probe hardware reset."""
        if not self.is_virtual:
            self.reset()
            return
        control = self.control()
        with control:
            control.request("power", on=False)
            control.request("power", on=True)

    def control(self) -> ControlClient:
        """The virtual board's control socket client."""
        info = registry.read_board_info(self.board_dir)
        if info is None:
            raise HilError(f"virtual board {self.id} is not running; start it (Board.start()).")
        return ControlClient(info.control)

    def __enter__(self) -> Board:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
