"""Board kinds, registered in one place: lab config `kind:` -> Board implementation.

Each kind's module is imported when a board of that kind is made, so a process pays only for the
kinds its lab uses (the labgrid kind loads labgrid's client, the pyocd kinds pyOCD).
"""

from __future__ import annotations

from collections.abc import Callable

from harness.boards.board import Board
from harness.config import BoardConfig
from harness.errors import HilError


def _pyocd() -> type[Board]:
    from harness.boards.kinds.pyocd import PyocdBoard
    return PyocdBoard


def _sim() -> type[Board]:
    from harness.boards.kinds.virtual import VirtualBoard
    return VirtualBoard


def _native() -> type[Board]:
    from harness.boards.kinds.native import NativeBoard
    return NativeBoard


def _fcc() -> type[Board]:
    from harness.boards.kinds.factory_client import FactoryClientBoard
    return FactoryClientBoard


def _labgrid() -> type[Board]:
    from harness.boards.kinds.labgrid import LabgridBoard
    return LabgridBoard


KINDS: dict[str, Callable[[], type[Board]]] = {"pyocd": _pyocd, "sim": _sim, "native": _native,
                                               "fcc": _fcc, "labgrid": _labgrid}
"""Every board kind (its `kind` name -> its class, imported on first use); a new kind is a module
in harness/boards/kinds/ plus one entry here (and its config model in harness/config/boards.py)."""

BACKOFF_ENV = "HIL_SIM_BACKOFF_BASE"
"""The virtual client's retry back-off base (harness.sim.client.settings.ENV_BACKOFF_BASE)."""

TEST_ENVIRONMENT: dict[str, str] = {BACKOFF_ENV: "0.2"}
"""Environment for boards a test session starts: virtual clients retry after 0.2, 0.4, ... s."""


def board_class(kind: str) -> type[Board]:
    """The Board implementation of a kind name (KeyError if there is none)."""
    return KINDS[kind]()


def make_board(config: BoardConfig, *, emulate_baud: bool = True) -> Board:
    """The Board of a lab config entry, by its kind."""
    try:
        loader = KINDS[config.kind]
    except KeyError:
        raise HilError(f"board {config.id}: no board kind {config.kind!r}; use one of "
                       f"{', '.join(KINDS)}.") from None
    return loader()(config, emulate_baud=emulate_baud)  # type: ignore[call-arg]
