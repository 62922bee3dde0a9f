"""Board kinds, registered in one place: lab config `kind:` -> Board implementation."""

from __future__ import annotations

from harness.boards.board import Board
from harness.boards.kinds.factory_client import FactoryClientBoard
from harness.boards.kinds.labgrid import LabgridBoard
from harness.boards.kinds.native import NativeBoard
from harness.boards.kinds.pyocd import PyocdBoard
from harness.boards.kinds.virtual import BACKOFF_ENV, VirtualBoard
from harness.config import BoardConfig
from harness.errors import HilError

KINDS: dict[str, type[Board]] = {cls.kind: cls for cls in (PyocdBoard, VirtualBoard, NativeBoard,
                                                   FactoryClientBoard, LabgridBoard)}
"""Every board kind; a new kind is a module in harness/boards/kinds/ plus one entry here
(and its config model in harness/config/boards.py)."""

TEST_ENVIRONMENT: dict[str, str] = {BACKOFF_ENV: "0.2"}
"""Environment for boards a test session starts: virtual clients retry after 0.2, 0.4, ... s."""


def make_board(config: BoardConfig, *, emulate_baud: bool = True) -> Board:
    """The Board of a lab config entry, by its kind."""
    try:
        cls = KINDS[config.kind]
    except KeyError:
        raise HilError(f"board {config.id}: no board kind {config.kind!r}; use one of "
                       f"{', '.join(KINDS)}.") from None
    return cls(config, emulate_baud=emulate_baud)  # type: ignore[arg-type]
