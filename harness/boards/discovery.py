"""What is connected: the lab's boards matched with pyOCD probes and serial ports."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from serial.tools import list_ports

from harness.boards.flashing import probe_id_of
from harness.config import BoardConfig, LabConfig
from harness.sim import registry

log = logging.getLogger(__name__)


@dataclass
class ProbeSeen:
    """A debug probe pyOCD reports."""

    unique_id: str
    description: str


@dataclass
class BoardStatus:
    """One lab board and what was found for it."""

    board: BoardConfig
    probe: ProbeSeen | None = None
    port: str | None = None
    running: bool = False
    problems: list[str] = field(default_factory=list)


@dataclass
class Discovery:
    """Boards with their status, plus probes and ports no board claims."""

    boards: list[BoardStatus]
    unclaimed_probes: list[ProbeSeen]
    unclaimed_ports: list[str]


def connected_probes() -> list[ProbeSeen]:
    """Every probe pyOCD sees (virtual boards included), without waiting."""
    from pyocd.core.helpers import ConnectHelper

    try:
        probes = ConnectHelper.get_all_connected_probes(blocking=False, print_wait_message=False)
    except Exception as exc:  # a broken USB backend must not hide the rest
        log.warning("pyOCD probe listing failed: %s", exc)
        return []
    return [ProbeSeen(p.unique_id, p.description) for p in probes]


def discover(lab: LabConfig) -> Discovery:
    """Match the lab's boards with probes (by id) and serial ports (path or USB serial number)."""
    probes = connected_probes()
    ports = list(list_ports.comports())
    claimed_probes: set[str] = set()
    claimed_ports: set[str] = set()
    statuses = []
    for board in lab.boards:
        status = BoardStatus(board)
        pid = probe_id_of(board)
        status.probe = next((p for p in probes if p.unique_id.lower() == pid.lower()), None)
        if status.probe:
            claimed_probes.add(status.probe.unique_id)
        if board.kind == "sim":
            info = registry.read_board_info(registry.board_dir(board.id))
            status.running = info is not None
            status.port = info.tty_link if info else None
            if not info:
                status.problems.append("virtual board not running (started on demand)")
        else:
            for port in ports:
                by_sn = board.usb_serial_number and port.serial_number and \
                    port.serial_number.lower() == board.usb_serial_number.lower()
                if by_sn or (board.serial_port and port.device == board.serial_port):
                    status.port = port.device
                    claimed_ports.add(port.device)
            if not status.probe:
                status.problems.append(f"probe {pid} not connected")
            if not status.port:
                want = board.usb_serial_number or board.serial_port
                status.problems.append(f"serial port {want} not found")
        statuses.append(status)
    return Discovery(
        boards=statuses,
        unclaimed_probes=[p for p in probes if p.unique_id not in claimed_probes],
        unclaimed_ports=[p.device for p in ports if p.device not in claimed_ports],
    )
