"""What peers can make the service write: a refusal budget, a log-line limit and row retention.

A peer that is refused (untrusted CA, unknown enrollment, bad query) costs a denial row, an
event and a log line. `RefusalBudget` lets `refusals_per_minute` of them through (with a burst);
the rest are counted and reported as one summary denial when recording resumes.
`LogLineLimit` lets each log message template through `log_lines_per_minute` times a minute and
says how many it held back. `prune` keeps the denials and events tables within the lab's policy.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable

from harness.config import Retention

WINDOW = 60.0
LIMITED_LOGGERS = ("coap-server", "harness.transport", "harness.cloud.service",
                   "harness.cloud.bootstrap", "harness.cloud.lwm2m_server", "harness.cloud.rd_fastpath")
"""The loggers whose lines a peer can cause without authenticating."""


class RefusalBudget:
    """A token bucket over refusals that are recorded (denial + event)."""

    def __init__(self, retention: Retention, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = retention.refusals_per_minute / WINDOW
        self.burst = float(retention.refusal_burst)
        self.clock = clock
        self.tokens = self.burst
        self.stamp = clock()
        self.suppressed = 0
        self.total_suppressed = 0

    def allow(self) -> bool:
        """True when this refusal may be recorded; else it is only counted."""
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        self.suppressed += 1
        self.total_suppressed += 1
        return False

    def take_suppressed(self) -> int:
        """How many refusals went unrecorded since the last call (reset to 0)."""
        count, self.suppressed = self.suppressed, 0
        return count


class LogLineLimit(logging.Filter):
    """At most `per_minute` lines a minute per message template; then one note of what was held."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.per_minute = per_minute
        self.clock = clock
        self._windows: dict[tuple[str, object], list[float | int]] = {}  # key -> [start, n, held]

    def filter(self, record: logging.LogRecord) -> bool:
        """Pass or hold one record."""
        if record.levelno >= logging.ERROR and record.exc_info is None:
            return True
        now = self.clock()
        key = (record.name, record.msg)
        window = self._windows.get(key)
        if window is None or now - window[0] >= WINDOW:
            held = int(window[2]) if window else 0
            self._windows[key] = [now, 1, 0]
            if len(self._windows) > 1000:  # forget old templates
                self._windows = {k: w for k, w in self._windows.items() if now - w[0] < WINDOW}
            if held:
                record.msg = f"{record.msg} ({held} similar lines held back in the last minute)"
            return True
        window[1] += 1
        if window[1] <= self.per_minute:
            return True
        window[2] += 1
        return False


def install_log_limit(per_minute: int) -> LogLineLimit:
    """Put one LogLineLimit on every logger of LIMITED_LOGGERS."""
    limit = LogLineLimit(per_minute)
    for name in LIMITED_LOGGERS:
        logging.getLogger(name).addFilter(limit)
    return limit


def remove_log_limit(limit: LogLineLimit) -> None:
    """Undo install_log_limit."""
    for name in LIMITED_LOGGERS:
        logging.getLogger(name).removeFilter(limit)


def prune(store, retention: Retention, now: dt.datetime | None = None) -> tuple[int, int]:
    """Delete denials and events beyond the retention policy; (denials, events) deleted."""
    before = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=retention.max_age_days)
    return store.prune_records(max_denials=retention.max_denials,
                               max_events=retention.max_events, before=before)


class RefusalGate:
    """Asks the budget before a refusal is recorded; writes one summary denial on resuming."""

    def __init__(self, budget: RefusalBudget, record_denial: Callable[[str], object]) -> None:
        self.budget = budget
        self.record_denial = record_denial

    def admit(self) -> bool:
        """True when this refusal may be recorded (denial + event)."""
        if not self.budget.allow():
            return False
        held = self.budget.take_suppressed()
        if held:
            self.record_denial(f"{held} refusals were not recorded (over service.retention."
                               "refusals_per_minute)")
        return True
