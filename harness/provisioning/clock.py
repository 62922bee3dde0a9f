"""The device's wall clock: unset (0) until provisioning's mbed.CurrentTime sets it."""

from __future__ import annotations

import time


class DeviceClock:
    """A settable clock; now() is 0 until set (a board without RTC), then it ticks."""

    def __init__(self, start: float | None = None) -> None:
        """Start unset, or at UNIX time `start`."""
        self._offset: float | None = None
        if start is not None:
            self.set(start)

    def set(self, unix_seconds: float) -> None:
        """Set the current time (what mbed.CurrentTime does)."""
        self._offset = float(unix_seconds) - time.monotonic()

    def now(self) -> float:
        """Current UNIX time, or 0 when never set."""
        return 0.0 if self._offset is None else time.monotonic() + self._offset

    @property
    def is_set(self) -> bool:
        """True once the clock was set."""
        return self._offset is not None
