"""The board's boot error for an image whose client settings are unusable (e2e helper)."""

from __future__ import annotations

import re
from typing import Any

BOOT_ERROR = re.compile(r"^\[BOOT\] Error: (.*)$")
TIMEOUT = 20.0


def check_boot_error(board: Any, sentence: str) -> None:
    """After provisioning, the board prints `sentence` as its boot error and its client never
    starts bootstrapping or registering."""
    lines = board.console.readlines_until(BOOT_ERROR, TIMEOUT * board.scale)
    error = BOOT_ERROR.match(lines[-1])
    assert error is not None and error.group(1) == sentence, lines[-5:]
    assert not any("Client registering" in line or "Client bootstrapping" in line
                   for line in board.console.lines[-len(lines):]), lines
