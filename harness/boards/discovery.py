"""What is connected: the lab's boards matched with pyOCD probes and serial ports."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from serial.tools import list_ports

from harness.boards.registry import make_board
from harness.config import BoardConfig, LabConfig

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
    status: str = "ok"
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
    """Match the lab's boards with probes (by id) and serial ports (each kind finds its own)."""
    probes = connected_probes()
    ports = list(list_ports.comports())
    claimed_probes: set[str] = set()
    statuses = []
    for config in lab.boards:
        board = make_board(config)
        pid = board.probe_id()
        probe = next((p for p in probes if pid and p.unique_id.lower() == pid.lower()), None)
        if probe:
            claimed_probes.add(probe.unique_id)
        survey = board.survey(ports, probe is not None)
        statuses.append(BoardStatus(config, probe, survey.port, survey.status, survey.problems))
    claimed_ports = {s.port for s in statuses if s.port}
    return Discovery(
        boards=statuses,
        unclaimed_probes=[p for p in probes if p.unique_id not in claimed_probes],
        unclaimed_ports=[p.device for p in ports if p.device not in claimed_ports],
    )
