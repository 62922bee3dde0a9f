"""A board flashed, erased and reset through a pyOCD probe (a real board's, a virtual board's
plugin, or a remote `pyocd server`): the calls are the same, only the probe differs."""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pyocd.core.helpers import ConnectHelper

from harness.boards.board import Board
from harness.boards.flashing import FlashError, ProbeRef, erase_chip, flash


def probe_session(probe: ProbeRef, *, halt: bool) -> Any:
    """An open-able pyOCD session on the board's probe (resumes the core on close unless `halt`)."""
    session = ConnectHelper.session_with_chosen_probe(
        unique_id=probe.unique_id, target_override=probe.target, blocking=False,
        options={"resume_on_disconnect": not halt})  # pyOCD resumes the core on close otherwise
    if session is None:
        raise FlashError(f"board {probe.id}: probe {probe.unique_id} is not connected; "
                         "check `pyocd list`.")
    return session


def probe_reset(probe: ProbeRef, *, halt: bool = False) -> None:
    """Reset through the probe, optionally staying halted."""
    with probe_session(probe, halt=halt) as session:
        if halt:
            session.target.reset_and_halt()
        else:
            session.target.reset()


class ProbeBoard(Board):
    """Flash, erase and reset through the board's pyOCD probe."""

    @abc.abstractmethod
    def probe_ref(self) -> ProbeRef:
        """Its probe and pyOCD target."""

    @contextlib.contextmanager
    def _at_probe(self) -> Iterator[None]:
        """Around each probe call: the board is started (a kind may explain errors too)."""
        self.start()
        yield

    def flash(self, image: str | Path, *, timeout: float = 120.0, progress: bool = False,
              chip_erase: bool = False) -> float:
        """Program the image through the probe and reset."""
        with self._at_probe():
            seconds = flash(self.probe_ref(), image, timeout=timeout, progress=progress,
                            chip_erase=chip_erase)
        self.last_image = Path(image)
        return seconds

    def erase(self) -> None:
        """Chip erase through the probe."""
        with self._at_probe():
            erase_chip(self.probe_ref())

    def reset(self, *, halt: bool = False) -> None:
        """Reset through the probe (`halt`: the core stays halted)."""
        with self._at_probe():
            probe_reset(self.probe_ref(), halt=halt)
