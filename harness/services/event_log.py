"""A thread-safe copy of a remote service's event stream, numbered like the service numbers it."""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable

from harness.cloud.events import Event, EventTimeout

KEEP = 2000
"""Events kept locally (the service itself keeps fewer)."""


class EventLog:
    """Events by sequence number; waits wake when the poller appends."""

    def __init__(self) -> None:
        self._events: collections.deque[tuple[int, Event]] = collections.deque(maxlen=KEEP)
        self._cond = threading.Condition()
        self.next = 0
        self.gaps = 0
        """Events the service dropped before they were fetched (a slow poller)."""

    def extend(self, events: list[tuple[int, Event]], next_seq: int, oldest: int) -> None:
        """Add events fetched from the service (`oldest`: the first it still keeps)."""
        with self._cond:
            if oldest > self.next:
                self.gaps += oldest - self.next
            for seq, event in events:
                if seq >= self.next:
                    self._events.append((seq, event))
            self.next = max(self.next, next_seq)
            self._cond.notify_all()

    def caught_up(self, position: int, timeout: float) -> bool:
        """Wait until every event numbered below `position` has been fetched (False on timeout)."""
        with self._cond:
            return self._cond.wait_for(lambda: self.next >= position, timeout)

    def since(self, since: int) -> list[Event]:
        """Events numbered `since` or later."""
        with self._cond:
            return [e for seq, e in self._events if seq >= since]

    def wait_for(self, predicate: Callable[[Event], bool], timeout: float, *, since: int,
                 what: str) -> Event:
        """The first event numbered `since` or later that matches (EventTimeout otherwise)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for seq, event in self._events:
                    if seq >= since and predicate(event):
                        return event
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            last = [e.brief() for _, e in list(self._events)[-10:]]
        seen = "\n  ".join(last) or "(no events at all)"
        raise EventTimeout(f"No event matching {what} within {timeout:g} s; last events:\n  {seen}")
