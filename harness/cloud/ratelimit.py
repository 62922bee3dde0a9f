"""The registration rate limit: more than N operations in a window -> held for a while."""

from __future__ import annotations

import collections
import time
from collections.abc import Callable

from harness.config import RateLimit


class RateLimiter:
    """Counts register/update operations per key (device id or endpoint name)."""

    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.clock = clock
        self._ops: dict[str, collections.deque[float]] = {}
        self._held_until: dict[str, float] = {}

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
        ops = self._ops.setdefault(key, collections.deque())
        ops.append(now)
        while ops and ops[0] <= now - self.limit.window:
            ops.popleft()
        if len(ops) > self.limit.count:
            self._held_until[key] = now + self.limit.hold
            ops.clear()
            return True
        return False

    def forget(self, key: str) -> None:
        """Drop the counters of `key`."""
        self._ops.pop(key, None)
        self._held_until.pop(key, None)
