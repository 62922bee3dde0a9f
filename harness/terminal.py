"""Rich consoles for command output: fit the terminal on a tty, never wrap or cut when piped to a log."""

from __future__ import annotations

from typing import IO

from rich.console import Console

LOG_WIDTH = 1000
"""Line width when output is not a terminal (a log file or pipe): wide enough that paths stay whole."""


def output_console(file: IO[str] | None = None) -> Console:
    """A Console on `file` (stdout by default): the terminal's width on a tty, else LOG_WIDTH columns."""
    console = Console(file=file)
    if console.is_terminal:
        return console
    return Console(file=file, width=LOG_WIDTH)
