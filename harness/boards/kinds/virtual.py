"""A virtual board: a simulated board process (harness.sim) with a pty console and a pyOCD probe.

The only module of harness.boards that imports harness.sim.
"""

from __future__ import annotations

import os
import select
import signal
from pathlib import Path
from typing import Any

from harness.boards.board import Capabilities, Survey
from harness.boards.flashing import ProbeRef, check_image
from harness.boards.manifest import FirmwareManifest, ManifestError
from harness.boards.probe_board import ProbeBoard
from harness.config import VirtualBoardConfig
from harness.errors import HilError
from harness.sim import registry
from harness.sim.client.settings import ENV_BACKOFF_BASE
from harness.sim.control import ControlClient
from harness.sim.firmware import build_image
from harness.sim.flash import FlashGeometry
from harness.sim.launcher import BoardStartError, VirtualBoardProcess

BACKOFF_ENV = ENV_BACKOFF_BASE
"""Environment variable of the virtual client's reconnection back-off base (s)."""


def write_private(path: Path, data: bytes) -> Path:
    """Write `data` atomically with owner-only permissions (developer images carry a key)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path


class VirtualBoard(ProbeBoard):
    """A `python -m harness.sim` process started on demand; flashed and reset through pyOCD."""

    kind = "sim"
    config: VirtualBoardConfig

    def __init__(self, config: VirtualBoardConfig, *, emulate_baud: bool = True) -> None:
        """Wrap `config`; the board's state lives under $HIL_SIM_DIR."""
        super().__init__(config, emulate_baud=emulate_baud)
        self.process: VirtualBoardProcess | None = None

    @property
    def capabilities(self) -> Capabilities:
        """Everything: the probe, halt, power and the application's calls."""
        return Capabilities(has_probe=True, can_halt=True, can_power_cycle=True, app_calls=True,
                            factory_provisioning=True, storage_faults=True,
                            firmware_modes=frozenset({"factory", "developer"}))

    @property
    def board_dir(self) -> Path:
        """The virtual board's state dir."""
        return registry.board_dir(self.id)

    def probe_ref(self) -> ProbeRef:
        """Its probe (registered with pyOCD by the plugin) and target."""
        return ProbeRef(self.id, registry.probe_id_for(self.id), self.config.target)

    def probe_id(self) -> str | None:
        """The probe unique id pyOCD lists for it (`dmhil-<id>`)."""
        return registry.probe_id_for(self.id)

    # --- lifecycle -----------------------------------------------------------------------------
    def start(self, timeout: float = 15.0, *, fresh: bool = False) -> None:
        """Start its process unless one runs (`fresh`: restart one someone else started)."""
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
        super().stop()
        if self.process is not None:
            self.process.stop()
            self.process = None

    def port(self) -> str | None:
        """The stable tty symlink of its pty."""
        return str(self.board_dir / registry.TTY_LINK)

    # --- firmware ------------------------------------------------------------------------------
    def image_file(self, name: str, manifest: FirmwareManifest, dest_dir: Path, *,
                   developer_credentials: Any = None, extra: dict[str, Any] | None = None) -> Path:
        """A manifest file, else the virtual image built into `dest_dir` (owner-only)."""
        if manifest.image_file(name) is not None:
            return super().image_file(name, manifest, dest_dir)
        entry = manifest.image(name)
        if entry.mode == "developer" and developer_credentials is None:
            raise ManifestError(f"image {name!r} is a developer image; pass developer "
                                "credentials to build it.")
        data = build_image(name, client_version=entry.client_version, mode=entry.mode,
                           transport=entry.transport, dialect=entry.dialect,
                           developer_credentials=developer_credentials, extra=extra)
        path = Path(dest_dir) / f"{name}-{self.id}.bin"
        if not path.exists() or path.read_bytes() != data:
            write_private(path, data)
        return path

    def check_image(self, image: Path) -> None:
        """A pyOCD image file that fits the virtual flash."""
        check_image(image, FlashGeometry().size)

    def power_cycle(self) -> None:
        """Power off and on (cold boot)."""
        with self.control() as control:
            control.request("power", on=False)
            control.request("power", on=True)

    def corrupt_item(self, name: str) -> None:
        """Damage one item of the board's credential store (Board.corrupt_item), over its control
        socket: the store is the board process's."""
        with self.control() as control:
            control.request("corrupt_item", name=name)

    def deregister(self) -> None:
        """The application's de-register call, over the board's control socket."""
        with self.control() as control:
            if control.request("unregister")["unregistered"] is not True:
                raise HilError(f"board {self.id}: the application had no running client to "
                               "de-register; wait until it registered.")

    def control(self) -> ControlClient:
        """The board process's control socket client."""
        info = registry.read_board_info(self.board_dir)
        if info is None:
            raise HilError(f"virtual board {self.id} is not running; start it (Board.start()).")
        return ControlClient(info.control)

    # --- discovery -----------------------------------------------------------------------------
    def survey(self, ports: list[Any], probe_seen: bool) -> Survey:
        """Its tty link when the process runs; not running is a note (started on demand)."""
        info = registry.read_board_info(self.board_dir)
        if info is None:
            return Survey(None, "virtual board not running (started on demand)")
        return Survey(info.tty_link, "running")
