"""Where virtual boards live: board directories and their board.json (found by other processes)."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SIM_DIR_ENV = "HIL_SIM_DIR"
BOARD_JSON = "board.json"
FLASH_FILE = "flash.bin"
STORE_FILE = "store.json"
TTY_LINK = "tty"
CONTROL_SOCKET = "control.sock"
PROBE_PREFIX = "dmhil-"
TARGET_TYPE = "dmhil_vboard"
_MAX_UNIX_PATH = 100  # sun_path is 108 bytes on Linux; keep a margin


@dataclass(frozen=True)
class BoardInfo:
    """What a running virtual board publishes in its board.json."""

    id: str
    pid: int
    tty: str
    tty_link: str
    control: str
    probe_id: str
    target: str
    board_dir: str
    baud: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        """The board.json text."""
        return json.dumps(asdict(self), indent=2, sort_keys=True)


def sim_root() -> Path:
    """The folder holding virtual board directories: $HIL_SIM_DIR or ~/.cache/dm-hil/boards."""
    env = os.environ.get(SIM_DIR_ENV)
    return Path(env) if env else Path.home() / ".cache" / "dm-hil" / "boards"


def board_dir(board_id: str, root: Path | None = None) -> Path:
    """The directory of board `board_id` under `root` (default sim_root())."""
    return (root or sim_root()) / board_id


def probe_id_for(board_id: str) -> str:
    """The pyOCD unique id of a virtual board."""
    return PROBE_PREFIX + board_id


def control_socket_path(directory: Path) -> Path:
    """The control socket path for a board dir (in /tmp if the dir path is too long for AF_UNIX)."""
    path = directory / CONTROL_SOCKET
    if len(os.fsencode(path)) <= _MAX_UNIX_PATH:
        return path
    digest = hashlib.sha256(os.fsencode(directory.resolve())).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"dmhil-{digest}.sock"


def pid_alive(pid: int) -> bool:
    """True if a process with this pid exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_board_info(directory: Path) -> BoardInfo | None:
    """The board.json of a running board in `directory`, or None (absent, stale or unreadable)."""
    try:
        data = json.loads((directory / BOARD_JSON).read_text())
        info = BoardInfo(**data)
    except (OSError, ValueError, TypeError):
        return None
    return info if pid_alive(info.pid) else None


def running_boards(root: Path | None = None) -> list[BoardInfo]:
    """Every running virtual board under `root` (default sim_root()), sorted by id."""
    base = root or sim_root()
    if not base.is_dir():
        return []
    boards = [read_board_info(d) for d in sorted(base.iterdir()) if d.is_dir()]
    return [b for b in boards if b is not None]


def write_board_info(info: BoardInfo) -> None:
    """Publish board.json atomically."""
    path = Path(info.board_dir) / BOARD_JSON
    tmp = path.with_name(f".{BOARD_JSON}.{os.getpid()}.tmp")
    tmp.write_text(info.to_json())
    os.replace(tmp, path)
