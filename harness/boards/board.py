"""The Board interface: flash, reset, factory reset, power, console and what a board can do.

One implementation per board kind lives in harness.boards.kinds, registered in
harness.boards.registry. Callers ask `board.capabilities`, never the kind.
"""

from __future__ import annotations

import socket
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

from harness.boards.console import SerialConsole
from harness.boards.manifest import FirmwareManifest
from harness.config import BoardConfig
from harness.errors import HilError


class CapabilityMissing(HilError):
    """The board cannot do what was asked (the message says why and where it can)."""


class BoardUnavailable(HilError):
    """The board cannot run on this machine (a kit or tool is missing); tests skip with this."""


@dataclass(frozen=True)
class Capabilities:
    """What a board can do; a scenario that needs a missing one skips with `why_not(name)`."""

    has_probe: bool = False
    """A pyOCD probe: flashing, chip erase and reset go through pyOCD."""
    can_halt: bool = False
    """The core can be stopped (no more output, no more network traffic) until the next reset."""
    can_power_cycle: bool = False
    """A cold boot (power off, power on), not only a reset."""
    app_calls: bool = False
    """The application's own calls (de-register, ...) can be triggered from the harness."""
    factory_provisioning: bool = False
    """Its firmware listens for the factory provisioning protocol on the serial port."""
    firmware_modes: frozenset[str] = frozenset()
    """The firmware modes it can run (factory, developer)."""
    storage_faults: bool = False
    """One stored credential item can be damaged from the harness (a bad flash sector, a write cut
    by a power loss): scenarios about a corrupted credential store."""
    client_transport: str | None = None
    """The service transport its client uses regardless of the image (None: as the image says)."""
    reasons: Mapping[str, str] = field(default_factory=dict)
    """Why a capability is missing, per name (shown when a scenario skips)."""

    @property
    def can_deregister(self) -> bool:
        """The application's de-register call is reachable."""
        return self.app_calls

    def has(self, name: str) -> bool:
        """True if the capability `name` (a field or property above) is there."""
        if name not in CAPABILITY_NAMES:
            raise ValueError(f"unknown board capability {name!r}; use one of "
                             f"{', '.join(sorted(CAPABILITY_NAMES))}")
        return bool(getattr(self, name))

    def why_not(self, name: str) -> str:
        """One sentence: why the capability is missing on this board."""
        base = "app_calls" if name == "can_deregister" else name
        return self.reasons.get(name) or self.reasons.get(base) or f"the board lacks {name}"


@dataclass
class Survey:
    """One board as `hil boards` sees it: its console port, a status, and what is wrong."""

    port: str | None
    status: str
    problems: list[str] = field(default_factory=list)
    """Things the user must fix (the command fails); notes go into `status`."""


CAPABILITY_NAMES = frozenset(
    {f.name for f in fields(Capabilities) if f.type in ("bool", bool)} | {"can_deregister"})


class Board(ABC):
    """One lab board of some kind. Nothing is opened until start()/open_console()/flash()."""

    kind: ClassVar[str]
    """The lab config `kind:` this class implements."""

    def __init__(self, config: BoardConfig, *, emulate_baud: bool = True) -> None:
        """Wrap `config` (`emulate_baud`: virtual boards pace their serial output)."""
        self.config = config
        self.emulate_baud = emulate_baud
        self.console: SerialConsole | None = None
        self.last_image: Path | None = None

    @property
    def id(self) -> str:
        """The board id."""
        return self.config.id

    @property
    @abstractmethod
    def capabilities(self) -> Capabilities:
        """What this board can do."""

    # --- lifecycle -----------------------------------------------------------------------------
    def start(self, timeout: float = 15.0, *, fresh: bool = False) -> None:
        """Make the board reachable (a virtual board's process, ...); real boards: nothing.
        `fresh`: restart what another command started, so it runs with this process's settings."""
        return None

    def stop(self) -> None:
        """Close the console and stop what start() started."""
        self.close_console()

    def check(self) -> None:
        """Raise BoardUnavailable (one sentence with the fix) if the board cannot run here."""
        return None

    # --- console -------------------------------------------------------------------------------
    @abstractmethod
    def port(self) -> str | None:
        """The serial port path of its console (None if looked up by USB serial number)."""

    def open_console(self, log_path: str | Path | None = None) -> SerialConsole:
        """Open (or reopen with a new log) the console."""
        self.close_console()
        self.start()
        self.console = self._new_console(log_path)
        return self.console

    def _new_console(self, log_path: str | Path | None) -> SerialConsole:
        return SerialConsole(self.port(), baudrate=self.config.baudrate, log_path=log_path,
                             name=self.id)

    def close_console(self) -> None:
        """Close the console if open."""
        if self.console is not None:
            self.console.close()
            self.console = None

    # --- firmware ------------------------------------------------------------------------------
    def image_file(self, name: str, manifest: FirmwareManifest, dest_dir: Path, *,
                   developer_credentials: Any = None, extra: dict[str, Any] | None = None) -> Path:
        """The file to flash for image `name`: the manifest's file (built by kinds that build)."""
        file = manifest.image_file(name)
        if file is None:
            raise HilError(f"image {name!r} has no `file:` in {manifest.source}; board {self.id} "
                           "flashes files only: add the image's file.")
        if not file.is_file():
            raise HilError(f"firmware image file {file} (image {name!r}) is missing; build or copy it.")
        return file

    def check_image(self, image: Path) -> None:
        """Raise HilError (one sentence) if `image` cannot be this board's image; called before
        anything starts or is written."""
        if not image.is_file():
            raise HilError(f"firmware image {image} does not exist; build it or fix the path.")

    @abstractmethod
    def flash(self, image: str | Path, *, timeout: float = 120.0, progress: bool = False,
              chip_erase: bool = False) -> float:
        """Program an image and reset; seconds taken (`chip_erase`: wipe everything first)."""

    @abstractmethod
    def erase(self) -> None:
        """Make the board factory-new: no firmware, no stored credentials."""

    # --- control -------------------------------------------------------------------------------
    @abstractmethod
    def reset(self, *, halt: bool = False) -> None:
        """Reboot from flash keeping the storage (`halt`: stop the core until the next reset)."""

    def factory_reset(self) -> None:
        """Wipe the stored credentials, keep the firmware, reboot (here: erase + reflash the image
        this object flashed last)."""
        if self.last_image is None:
            raise CapabilityMissing(f"board {self.id}: flash an image first; a factory reset "
                                    "reflashes the last image after a chip erase.")
        self.erase()
        self.flash(self.last_image)

    def power_cycle(self) -> None:
        """Power off and on (a cold boot)."""
        self._missing("can_power_cycle")

    def deregister(self) -> None:
        """Make the application call the client's de-register."""
        self._missing("app_calls")

    def corrupt_item(self, name: str) -> None:
        """Damage the stored item `name` as a bad flash sector or an interrupted write leaves it:
        the second half of its stored record reads erased (0xFF); its factory backup is kept.
        Halt the board first and reset it after (the client reads its storage at start)."""
        self._missing("storage_faults")

    def _missing(self, capability: str) -> None:
        raise CapabilityMissing(f"board {self.id}: {self.capabilities.why_not(capability)}.")

    # --- discovery -----------------------------------------------------------------------------
    def probe_id(self) -> str | None:
        """The pyOCD unique id of its probe, or None without a probe."""
        return None

    def location(self) -> str:
        """The host the board is attached to (this one unless the kind says otherwise)."""
        return socket.gethostname()

    @abstractmethod
    def survey(self, ports: list[Any], probe_seen: bool) -> Survey:
        """What `hil boards` shows: its port among `ports` (pyserial ListPortInfo), its state."""

    def __enter__(self) -> Board:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
