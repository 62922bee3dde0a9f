"""Flashing through pyOCD's Python API: the same calls for real and virtual boards."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pyocd.core import exceptions as pyocd_errors
from pyocd.core.helpers import ConnectHelper
from pyocd.flash.eraser import FlashEraser
from pyocd.flash.file_programmer import FileProgrammer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from harness.errors import HilError

log = logging.getLogger(__name__)


class FlashError(HilError):
    """Flashing failed: probe missing/busy, wrong target, bad image."""


@dataclass(frozen=True)
class ProbeRef:
    """Which probe and target pyOCD talks to for one board."""

    id: str
    """The board id (for messages)."""
    unique_id: str
    """The pyOCD probe unique id."""
    target: str
    """The pyOCD target type."""


IMAGE_FORMATS = (".bin", ".hex", ".elf", ".axf")
"""The file formats pyOCD's FileProgrammer reads (by extension)."""


def check_image(image: Path, flash_size: int | None = None) -> None:
    """Raise FlashError (one sentence) unless `image` is a non-empty pyOCD image file that fits
    `flash_size` bytes (a .bin; None: not checked here)."""
    if not image.is_file():
        raise FlashError(f"firmware image {image} does not exist; build it or fix the path.")
    if image.suffix.lower() not in IMAGE_FORMATS:
        raise FlashError(f"firmware image {image} is not a {'/'.join(IMAGE_FORMATS)} file; give "
                         "a firmware image or a manifest image name.")
    size = image.stat().st_size
    if size == 0:
        raise FlashError(f"firmware image {image} is empty; rebuild it.")
    if flash_size is not None and image.suffix.lower() == ".bin" and size > flash_size:
        raise FlashError(f"firmware image {image} is {size} bytes, more than the board's "
                         f"{flash_size}-byte flash; build an image for this target.")



def _progress_callback(progress: Progress | None, task: int | None) -> Callable[[float], None]:
    if progress is None or task is None:
        return lambda fraction: None  # pyOCD prints its own bar to stdout when given None
    return lambda fraction: progress.update(task, completed=fraction * 100)


def _open_session(board: ProbeRef):
    unique_id = board.unique_id
    try:
        session = ConnectHelper.session_with_chosen_probe(
            unique_id=unique_id, target_override=board.target, blocking=False,
            auto_open=True, options={"connect_mode": "halt", "frequency": 4_000_000},
        )
    except pyocd_errors.TargetSupportError:
        raise FlashError(
            f"board {board.id}: pyOCD does not know target type {board.target!r}; "
            "fix `target:` in the lab config (see `pyocd list --targets`)."
        ) from None
    except pyocd_errors.ProbeError as exc:
        if "busy" in str(exc):
            raise FlashError(
                f"board {board.id}: probe {unique_id} is busy; close the other debugger "
                "session (or wait for the test holding it)."
            ) from None
        raise
    if session is None:
        raise FlashError(
            f"board {board.id}: no debug probe {unique_id} is connected; plug it in / start the "
            "virtual board, and check `pyocd list`."
        )
    return session


def erase_chip(board: ProbeRef) -> None:
    """Chip erase through pyOCD: no firmware and no stored credentials (a factory-new board)."""
    with _open_session(board) as session:
        FlashEraser(session, FlashEraser.Mode.CHIP).erase()


def _program_once(board: ProbeRef, image: Path, timeout: float,
                  progress: Progress | None, task: int | None, chip_erase: bool) -> None:
    with _open_session(board) as session:
        session.options.set("flash.timeout.program", timeout)
        programmer = FileProgrammer(session, progress=_progress_callback(progress, task),
                                    chip_erase="chip" if chip_erase else "auto")
        programmer.program(str(image))
        session.target.reset()


def flash(board: ProbeRef, image_path: str | Path, *, timeout: float = 120.0,
          progress: bool = True, retries: int = 1, chip_erase: bool = False) -> float:
    """Program `image_path` into `board` and reset it; one retry on transfer errors; seconds taken.

    `chip_erase` erases the whole chip first, stored credentials included (a factory-new board).
    """
    image = Path(image_path)
    check_image(image)
    start = time.monotonic()
    bar = Progress(TextColumn(f"flash {board.id}"), BarColumn(), TimeElapsedColumn(),
                   transient=True) if progress else None
    task = bar.add_task("flash", total=100) if bar else None
    try:
        if bar:
            bar.start()
        for attempt in range(retries + 1):
            try:
                _program_once(board, image, timeout, bar, task, chip_erase)
                return time.monotonic() - start
            except (pyocd_errors.TransferError, pyocd_errors.ProbeError,
                    pyocd_errors.TimeoutError) as exc:
                if attempt >= retries:
                    raise FlashError(
                        f"board {board.id}: flashing {image.name} failed ({exc}); check the probe "
                        "and power, then retry."
                    ) from None
                log.warning("board %s: flashing failed (%s); retrying once", board.id, exc)
        raise AssertionError("unreachable")
    finally:
        if bar:
            bar.stop()
