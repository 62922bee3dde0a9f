"""Wait for a serial port to (re)appear: inotify on the folders it shows up in, not a poll.

A board's port vanishes and comes back when it resets (USB re-enumeration: /dev/ttyACM0 again)
or restarts (a virtual board's new pty, linked again at BOARD_DIR/tty). The folders where it will
appear are watched for new entries and attribute changes (udev sets the node's permissions just
after creating it); each change wakes the waiter at once. Where no folder can be watched (none
exists yet, no inotify instance left) the waiter falls back to short timed retries.
"""

from __future__ import annotations

import contextlib
import os
import select
from collections.abc import Iterable
from pathlib import Path

from inotify_simple import INotify, flags

USB_SERIAL_DIRS = ("/dev", "/dev/serial/by-id")
"""Where a USB serial port appears again after re-enumeration."""

RETRY_CAP = 0.1
"""Longest wait between two open attempts without inotify (the fallback)."""

EVENT_RETRY = 0.5
"""With inotify: the wait between attempts when no event comes (an open may fail for a reason
no folder event reports, e.g. a port another program holds)."""


def folders_of(path: str) -> list[str]:
    """The folders where `path` (and each symlink on the way to its target) appears."""
    found: list[str] = []
    current = Path(path)
    for _ in range(8):  # a link to a link ...: watch each hop's folder
        found.append(str(current.parent))
        try:
            target = os.readlink(current)
        except OSError:
            break
        current = (current.parent / target) if not os.path.isabs(target) else Path(target)
    return list(dict.fromkeys(found))


class PortWatch:
    """Watches folders for a port to appear; wait() returns on a change, a wake or the timeout."""

    def __init__(self, folders: Iterable[str], wake_fd: int | None = None) -> None:
        """Watch `folders` (those that exist); `wake_fd` readable also ends a wait."""
        self.wake_fd = wake_fd
        self._inotify = None
        self._retry = 0.002  # without events: 2 ms, doubling up to RETRY_CAP
        try:
            self._inotify = INotify(nonblocking=True)
        except OSError:
            return
        mask = flags.CREATE | flags.MOVED_TO | flags.ATTRIB
        watched = 0
        for folder in folders:
            with contextlib.suppress(OSError):
                self._inotify.add_watch(folder, mask)
                watched += 1
        if not watched:
            self.close()

    @property
    def event_driven(self) -> bool:
        """True when changes wake wait() (else it retries on a timer)."""
        return self._inotify is not None

    def wait(self, timeout: float) -> None:
        """Wait until a watched folder changes, the wake fd is readable, or `timeout` s pass
        (at most EVENT_RETRY s with inotify, else a growing retry interval up to RETRY_CAP)."""
        fds = [fd for fd in (self._inotify.fileno() if self._inotify else None, self.wake_fd)
               if fd is not None]
        if self._inotify is not None:
            limit = min(timeout, EVENT_RETRY)
        else:
            limit = min(timeout, self._retry)
            self._retry = min(self._retry * 2, RETRY_CAP)
        readable, _, _ = select.select(fds, [], [], max(0.0, limit))
        if self._inotify is not None and self._inotify.fileno() in readable:
            with contextlib.suppress(OSError):
                self._inotify.read(timeout=0)

    def close(self) -> None:
        """Stop watching."""
        if self._inotify is not None:
            with contextlib.suppress(OSError):
                self._inotify.close()
            self._inotify = None

    def __enter__(self) -> PortWatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
