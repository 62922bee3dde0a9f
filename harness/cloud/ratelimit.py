"""The registration rate limit: more than N operations in a window -> held for a while."""

from __future__ import annotations

import time
from collections.abc import Callable

from harness.config import RateLimit


class RateLimiter:
    """Counts register/update operations per key (device id or endpoint name).

    Keys whose operations have all left the window and that are not held are forgotten at most
    once per window, so the maps only hold keys active in the last window or still held.
    """

    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.clock = clock
        self._ops: dict[str, list[float]] = {}  # at most count + 1 times each (a list: small)
        self._held_until: dict[str, float] = {}
        self._next_sweep = clock() + limit.window

    def held_for(self, key: str) -> float:
        """Seconds `key` stays held (0 when not held)."""
        until = self._held_until.get(key)
        if until is None:
            return 0.0
        remaining = until - self.clock()
        if remaining <= 0:
            del self._held_until[key]
            return 0.0
        return remaining

    def count(self, key: str) -> bool:
        """Count one operation; True when it pushes `key` over the limit (now held)."""
        now = self.clock()
        if now >= self._next_sweep:
            self._sweep(now)
        ops = self._ops.get(key)
        if ops is None:
            ops = self._ops[key] = [now]
        else:
            ops.append(now)
        horizon = now - self.limit.window
        while ops and ops[0] <= horizon:
            del ops[0]
        if len(ops) > self.limit.count:
            self._held_until[key] = now + self.limit.hold
            ops.clear()
            return True
        return False

    def tracked_keys(self) -> int:
        """How many keys the limiter currently remembers (counters or holds)."""
        return len(self._ops.keys() | self._held_until.keys())

    def _sweep(self, now: float) -> None:
        """Forget keys with no operation in the window and holds that have ended."""
        horizon = now - self.limit.window
        for key in [k for k, ops in self._ops.items() if not ops or ops[-1] <= horizon]:
            del self._ops[key]
        for key in [k for k, until in self._held_until.items() if until <= now]:
            del self._held_until[key]
        self._next_sweep = now + self.limit.window
