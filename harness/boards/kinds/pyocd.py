"""A real board behind a pyOCD probe, with a USB serial console."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.boards.board import Capabilities, Survey
from harness.boards.console import SerialConsole
from harness.boards.flashing import ProbeRef, check_image
from harness.boards.probe_board import ProbeBoard
from harness.config import PyocdBoardConfig


class PyocdBoard(ProbeBoard):
    """Flashing, erase and reset through pyOCD; the console on its USB serial port."""

    kind = "pyocd"
    config: PyocdBoardConfig

    @property
    def capabilities(self) -> Capabilities:
        """A probe board: halt and reset through pyOCD; no application calls from the harness."""
        return Capabilities(
            has_probe=True, can_halt=True, factory_provisioning=True,
            firmware_modes=frozenset({"factory", "developer"}),
            reasons={"app_calls": "the application's calls are reachable on virtual boards only",
                     "can_power_cycle": "power is not switchable on a probe board (no power "
                                        "relay in the lab config)"})

    def probe_ref(self) -> ProbeRef:
        """Its probe and pyOCD target."""
        return ProbeRef(self.id, self.config.probe_id, self.config.target)

    def probe_id(self) -> str | None:
        """The configured probe unique id."""
        return self.config.probe_id

    def port(self) -> str | None:
        """The configured serial port path (None: found by USB serial number)."""
        return None if self.config.usb_serial_number else self.config.serial_port

    def _new_console(self, log_path: str | Path | None) -> SerialConsole:
        return SerialConsole(self.port(), usb_serial_number=self.config.usb_serial_number,
                             baudrate=self.config.baudrate, log_path=log_path, name=self.id)

    def check_image(self, image: Path) -> None:
        """A pyOCD image file (.bin/.hex/.elf/.axf), not empty; its fit is pyOCD's to judge."""
        check_image(image)

    def survey(self, ports: list[Any], probe_seen: bool) -> Survey:
        """Its USB serial port (by serial number or path) and whether its probe is there."""
        found = None
        for port in ports:
            by_sn = self.config.usb_serial_number and port.serial_number and \
                port.serial_number.lower() == self.config.usb_serial_number.lower()
            if by_sn or (self.config.serial_port and port.device == self.config.serial_port):
                found = port.device
        problems = [] if probe_seen else [f"probe {self.config.probe_id} not connected"]
        if not found:
            want = self.config.usb_serial_number or self.config.serial_port
            problems.append(f"serial port {want} not found")
        return Survey(found, "ok", problems)
