"""The real factory configurator client as a lab board: the device side of factory provisioning.

The client (../shared/peers/fcc-linux/factory-client.elf) speaks the provisioning frames over TCP.
The board keeps one pty for its lifetime (the "UART" the harness opens); each run of the client
gets a `socat` that bridges the pty to the client's TCP port, so host code that opens a serial
port (`hil provision`, the `factory` fixture) talks to the real device side unchanged. The
client's trace (its stdout) is the board's console. Flashing copies the binary and starts it on
a blank storage; reset restarts it on its storage (./pal); the client exits after a session.
It has no Device Management client: scenarios end once provisioning is answered.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import threading
import tty
from pathlib import Path
from typing import Any

from harness.boards.board import BoardUnavailable, Capabilities, Survey
from harness.boards.console import SerialConsole
from harness.boards.manifest import FirmwareManifest
from harness.boards.process_board import RUN_DIR, TTY_LINK, ProcessBoard, boards_folder
from harness.boards.process_port import plain
from harness.config import FCC_CLIENT_ENV, FactoryClientBoardConfig
from harness.errors import HilError
from harness.provisioning.real_client import RealClientError, RealFactoryClient, die_with_parent

FCC_DIR_ENV = "HIL_FCC_DIR"
"""Where fcc boards keep their binary, working dir (storage) and port link."""
TRACE_KEPT = 2000  # trace lines kept for a console opened after the client started
GET_SOCAT = "socat is not installed; apt-get install socat (the bridge from its TCP port to a pty)"


def fcc_root() -> Path:
    """The folder of all fcc boards: $HIL_FCC_DIR, else a per-user temp folder."""
    return boards_folder(FCC_DIR_ENV, "fcc")


class FactoryClientBoard(ProcessBoard):
    """factory-client.elf run as a child process, its socket bridged to a pty by socat."""

    kind = "fcc"
    config: FactoryClientBoardConfig
    client_name = "factory-client.elf"
    image_hint = "factory-client.elf"

    def __init__(self, config: FactoryClientBoardConfig, *, emulate_baud: bool = True) -> None:
        """Wrap `config`; its files live in $HIL_FCC_DIR/<id>."""
        super().__init__(config, fcc_root() / config.id, emulate_baud=emulate_baud)
        self.client_process: RealFactoryClient | None = None
        self.bridge: subprocess.Popen[bytes] | None = None
        self._master: int | None = None
        self._slave: int | None = None
        self._trace: list[bytes] = []
        self._trace_lock = threading.Lock()

    @property
    def capabilities(self) -> Capabilities:
        """Factory provisioning on the real device side; restart; factory images only."""
        return Capabilities(
            can_power_cycle=True, factory_provisioning=True, firmware_modes=frozenset({"factory"}),
            reasons={
                "has_probe": "an fcc board is a process, it has no debug probe",
                "can_halt": "the real factory client is not halted by the harness",
                "app_calls": "the real factory client has no Device Management client to call",
                "firmware_modes": "the real factory client runs the factory flow only",
            })

    def check(self) -> None:
        """Raise BoardUnavailable when the binary or socat is missing."""
        binary = self.config.binary_path()
        if not binary.is_file():
            raise BoardUnavailable(f"board {self.id}: no real factory client at {binary}; set "
                                   f"`binary:` or ${FCC_CLIENT_ENV} to factory-client.elf.")
        if shutil.which("socat") is None:
            raise BoardUnavailable(f"board {self.id}: {GET_SOCAT}.")

    # --- lifecycle -----------------------------------------------------------------------------
    def start(self, timeout: float = 15.0, *, fresh: bool = False) -> None:
        """Open the board's pty and run the flashed client (if any) unless it runs."""
        if self._master is None:
            self._open_pty()
        if self.client_process is None and self.client.is_file():
            self._run()

    def _open_pty(self) -> None:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        link = self.dir / TTY_LINK
        link.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            link.unlink()
        link.symlink_to(os.ttyname(self._slave))

    def _run(self) -> None:
        """Start the client on its storage, then socat between the pty and its TCP port."""
        self.check()
        with self._trace_lock:
            self._trace.clear()
        client = RealFactoryClient(self.dir / RUN_DIR, self.client, on_output=self._output)
        try:
            port = client.start()
        except RealClientError as exc:
            client.stop()
            raise HilError(f"board {self.id}: {exc}") from None
        self.client_process = client
        assert self._master is not None
        self.bridge = subprocess.Popen(
            ["socat", "-b65536", "FD:3", f"TCP:127.0.0.1:{port}"], pass_fds=(3,),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=self._master_as_fd3)  # noqa: PLW1509 - dup2 only, before exec

    def _master_as_fd3(self) -> None:  # runs in the child between fork and exec
        assert self._master is not None
        os.dup2(self._master, 3)
        die_with_parent()

    def _output(self, line: bytes) -> None:
        """A line of the client's trace: to the open console, and kept for one opened later."""
        text = plain(line)
        with self._trace_lock:
            self._trace.append(text)
            del self._trace[:-TRACE_KEPT]
        if self.console is not None:
            self.console.feed(text)

    def _new_console(self, log_path: str | Path | None) -> SerialConsole:
        console = super()._new_console(log_path)
        with self._trace_lock:
            backlog = b"".join(self._trace)
        console.feed(backlog)  # what the client printed before the console opened
        return console

    def _end(self, *, cut: bool = False) -> None:
        """Stop the bridge and the client (the pty stays: it is the board's UART)."""
        bridge, self.bridge = self.bridge, None
        if bridge is not None:
            if bridge.poll() is None:
                bridge.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                bridge.wait(5)
            if bridge.poll() is None:
                bridge.kill()
                bridge.wait(5)
        client, self.client_process = self.client_process, None
        if client is not None:
            client.stop()

    def stop(self) -> None:
        """Close the console, stop the client and socat, close the pty."""
        super().stop()
        self._end()
        for fd in (self._master, self._slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = None
        with contextlib.suppress(FileNotFoundError):
            (self.dir / TTY_LINK).unlink()

    # --- firmware ------------------------------------------------------------------------------
    def image_file(self, name: str, manifest: FirmwareManifest, dest_dir: Path, *,
                   developer_credentials: Any = None, extra: dict[str, Any] | None = None) -> Path:
        """The image of an fcc board is the real client binary itself."""
        entry = manifest.image(name)
        if entry.mode != "factory":
            raise HilError(f"image {name!r}: an fcc board runs the real factory client only; "
                           "use a factory image.")
        self.check()
        return self.config.binary_path()

    # --- discovery -----------------------------------------------------------------------------
    def survey(self, ports: list[Any], probe_seen: bool) -> Survey:
        """Binary and socat present; whether the client runs in this process."""
        try:
            self.check()
        except BoardUnavailable as exc:
            return Survey(None, "unavailable", [str(exc)])
        running = self.client_process is not None and self.client_process.proc is not None \
            and self.client_process.proc.poll() is None
        return Survey(self.port() if self._master is not None else None,
                      "running" if running else "not running")
