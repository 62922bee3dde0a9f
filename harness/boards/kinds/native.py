"""The real Device Management Client as a lab board: a kit linked with developer credentials,
run as a local process.

Flashing links the kit's client with the credentials (build-client.sh); the process runs in the
board's working dir, whose ./pal is its storage; reset restarts the process on that storage,
factory reset wipes it; the console is its stdout, served on a pty like a UART.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tty
from pathlib import Path
from typing import Any

from harness.boards.board import BoardUnavailable, Capabilities, Survey
from harness.boards.console import SerialConsole
from harness.boards.manifest import FirmwareManifest, ManifestError
from harness.boards.process_board import RUN_DIR, TTY_LINK, ProcessBoard, boards_folder
from harness.boards.process_port import ProcessPort
from harness.config import KIT_ENV, NativeBoardConfig
from harness.devcreds import DeveloperCredentials, parse_c_file, write_c_file
from harness.errors import HilError
from harness.provisioning.real_client import die_with_parent

NATIVE_DIR_ENV = "HIL_NATIVE_DIR"
"""Where native boards keep their linked client, working dir and console link."""
BUILD_SCRIPT = "build-client.sh"
LINK_TIMEOUT = 120.0
STOP_TIMEOUT = 5.0
GET_A_CLIENT = ("get the Device Management Client kit (pdmc-linux-tcp, see the README's "
                f"\"Real client\" section) and point `kit:` or ${KIT_ENV} at it")


def spawn_args(command: list[str]) -> tuple[list[str], dict[str, Any]]:
    """`command` so that it gets SIGTERM when the harness dies: through util-linux's setpriv
    (Python then starts it with vfork, in well under a millisecond), else a pre-exec hook (a
    full fork of the harness, ~15 ms: a reset's restart waits for it)."""
    setpriv = shutil.which("setpriv")
    if setpriv:
        return [setpriv, "--pdeathsig", "TERM", "--", *command], {}
    return command, {"preexec_fn": die_with_parent}


def native_root() -> Path:
    """The folder of all native boards: $HIL_NATIVE_DIR, else a per-user temp folder."""
    return boards_folder(NATIVE_DIR_ENV, "native")


class NativeBoard(ProcessBoard):
    """The kit's client, linked per image, as a child process of the harness."""

    kind = "native"
    config: NativeBoardConfig
    client_name = "client.elf"
    image_hint = "a mbed_cloud_dev_credentials.c (`hil cloud dev-cert`) or a linked client"
    folder_mode = 0o700

    def __init__(self, config: NativeBoardConfig, *, emulate_baud: bool = True) -> None:
        """Wrap `config`; its files live in $HIL_NATIVE_DIR/<id>."""
        super().__init__(config, native_root() / config.id, emulate_baud=emulate_baud)
        self.proc: subprocess.Popen[bytes] | None = None
        self.serial: ProcessPort | None = None
        self.halted = False

    @property
    def capabilities(self) -> Capabilities:
        """A process: restart, stop (halt), wipe; developer images only, no app calls."""
        return Capabilities(
            can_halt=True, can_power_cycle=True, storage_faults=True,
            firmware_modes=frozenset({"developer"}),
            client_transport=self.config.transport,
            reasons={
                "has_probe": "a native board is a process, it has no debug probe",
                "app_calls": "the real client's example application takes no de-register call "
                             "from outside",
                "factory_provisioning": "the real client kit links developer-mode clients only "
                                        "(credentials compiled in, no factory provisioning)",
                "firmware_modes": "the real client kit links developer-mode clients only",
            })

    def kit(self) -> Path:
        """The kit folder, checked: it exists with its build script, and gcc/g++ are there."""
        kit = self.config.kit_path()
        if not (kit / BUILD_SCRIPT).is_file() or not (kit / "lib").is_dir():
            raise BoardUnavailable(f"board {self.id}: no real client kit at {kit}; {GET_A_CLIENT}.")
        missing = [cc for cc in ("gcc", "g++") if shutil.which(cc) is None]
        if missing:
            raise BoardUnavailable(f"board {self.id}: {' and '.join(missing)} not found; the real "
                                   "client is linked at flash time: apt-get install build-essential.")
        return kit

    def check(self) -> None:
        """Raise BoardUnavailable when the kit or a compiler is missing."""
        self.kit()

    # --- lifecycle -----------------------------------------------------------------------------
    def start(self, timeout: float = 15.0, *, fresh: bool = False) -> None:
        """Open its console pty and run the linked client (if linked) unless it runs."""
        if self.serial is None:
            self.serial = ProcessPort(self.dir / TTY_LINK)
        if self.proc is None and not self.halted and self.client.is_file():
            self._run()

    def open_console(self, log_path: str | Path | None = None) -> SerialConsole:
        """Open the console first, then run the client: its first lines are not lost."""
        self.close_console()
        if self.serial is None:
            self.serial = ProcessPort(self.dir / TTY_LINK)
        self.console = self._new_console(log_path)
        self.start()
        return self.console

    def _run(self) -> None:
        assert self.serial is not None
        (self.dir / RUN_DIR).mkdir(parents=True, exist_ok=True)
        # a terminal, not a pipe: the client's stdio stays line-buffered, so each console line
        # shows when printed (through a pipe it would wait in a 4 KB buffer)
        master, terminal = os.openpty()
        tty.setraw(terminal)
        command, spawn = spawn_args([str(self.client)])
        try:
            self.proc = subprocess.Popen(command, cwd=self.dir / RUN_DIR, stdin=terminal,
                                         stdout=terminal, stderr=terminal, **spawn)
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(terminal)
        self.serial.attach(master, master)

    def _end(self, *, cut: bool = False) -> None:
        """Stop the client process and drain its console: SIGTERM (it shuts down and flushes its
        output), or with `cut` SIGKILL, as a reset or power cut stops a CPU (nothing more runs;
        a terminal keeps its stdio line-buffered, so every finished line is already out)."""
        proc, self.proc = self.proc, None
        self.halted = False
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                if cut:
                    proc.kill()
                else:
                    proc.send_signal(signal.SIGCONT)
                    proc.terminate()
            try:
                proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(STOP_TIMEOUT)
        if self.serial is not None:
            self.serial.detach()

    def stop(self) -> None:
        """Close the console, stop the client, close its pty."""
        super().stop()
        self._end()
        if self.serial is not None:
            self.serial.close()
            self.serial = None

    # --- firmware ------------------------------------------------------------------------------
    def image_file(self, name: str, manifest: FirmwareManifest, dest_dir: Path, *,
                   developer_credentials: Any = None, extra: dict[str, Any] | None = None) -> Path:
        """The image of a native board is its credentials file (linked in at flash time)."""
        entry = manifest.image(name)
        if entry.mode != "developer" or developer_credentials is None:
            raise ManifestError(f"image {name!r}: a native board links developer credentials "
                                "into the real client; use a developer image and pass them.")
        if not isinstance(developer_credentials, DeveloperCredentials):
            raise HilError(f"image {name!r}: developer credentials must be DeveloperCredentials.")
        return write_c_file(developer_credentials, Path(dest_dir) / f"{name}-{self.id}.c")

    def flash(self, image: str | Path, *, timeout: float = LINK_TIMEOUT, progress: bool = False,
              chip_erase: bool = False) -> float:
        """Link the client with a credentials file (or copy a linked client), then run it."""
        return super().flash(image, timeout=timeout, progress=progress, chip_erase=chip_erase)

    def _install(self, source: Path, timeout: float) -> None:
        """Link a credentials file (.c) into the kit's client, or copy a linked client."""
        if source.suffix == ".c":
            self._link(source, timeout)
        else:
            shutil.copyfile(source, self.client)

    def _link(self, creds: Path, timeout: float) -> None:
        try:
            parse_c_file(creds.read_text(), str(creds))
        except UnicodeDecodeError:
            raise HilError(f"{creds} is not a C source file; pass the mbed_cloud_dev_credentials.c "
                           "that `hil cloud dev-cert` wrote.") from None
        script = self.kit() / BUILD_SCRIPT
        try:
            done = subprocess.run([str(script), str(creds), str(self.client)], capture_output=True,
                                  text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise HilError(f"board {self.id}: linking the client took over {timeout:g} s; "
                           "check the machine's load and retry.") from None
        if done.returncode != 0:
            why = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise HilError(f"board {self.id}: {BUILD_SCRIPT} failed ({why[0]}); fix the kit or "
                           "the credentials file.")

    # --- control -------------------------------------------------------------------------------
    def reset(self, *, halt: bool = False) -> None:
        """Restart the client on its storage (`halt`: stop it, SIGSTOP, until the next reset)."""
        self.start()
        if halt:
            if self.proc is not None and self.proc.poll() is None:
                self.proc.send_signal(signal.SIGSTOP)
                # wait until it is stopped (the signal is asynchronous); it stays waitable
                os.waitid(os.P_PID, self.proc.pid, os.WSTOPPED | os.WNOWAIT)
                self.halted = True
            return
        self._restart(cut=True)

    # --- discovery -----------------------------------------------------------------------------
    def survey(self, ports: list[Any], probe_seen: bool) -> Survey:
        """Kit and compilers present; whether a client is linked and runs in this process."""
        try:
            self.kit()
        except BoardUnavailable as exc:
            return Survey(None, "unavailable", [str(exc)])
        linked = "client linked" if self.client.is_file() else "no client linked yet"
        running = "running" if self.proc is not None and self.proc.poll() is None else "not running"
        return Survey(self.port() if self.serial else None, f"{running} ({linked})")
