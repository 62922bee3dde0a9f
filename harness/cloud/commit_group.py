"""Group commit: the store writes of one loop turn share one COMMIT; their answers wait for it.

A Register is acknowledged only once its device row and events are committed (an acknowledged
registration survives kill -9), but a COMMIT per Register costs more than the rest of the store
work. Writes made in `joined()` go into one open transaction (harness.cloud.sqlite_db); the group
is committed on the next turn of the event loop, then every `after_commit` callback runs with
True (or False when the COMMIT failed: nothing of the group was stored).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from harness.cloud.sqlite_db import SqliteDb

log = logging.getLogger(__name__)


class CommitGroup:
    """Collects writes and their follow-ups until the next loop turn commits them together."""

    def __init__(self, sql: SqliteDb, loop: asyncio.AbstractEventLoop) -> None:
        self._sql = sql
        self._loop = loop
        self._waiting: list[Callable[[bool], None]] = []
        self._scheduled = False

    @contextmanager
    def joined(self) -> Iterator[None]:
        """Store writes in this block join the open group (committed on the next loop turn)."""
        with self._sql.joined():
            yield
        self._schedule()

    def after_commit(self, callback: Callable[[bool], None]) -> None:
        """Call `callback(committed)` once the writes made so far are committed (or failed)."""
        self._waiting.append(callback)
        self._schedule()

    async def committed(self) -> bool:
        """Wait for the commit of the writes made so far; True when they are stored."""
        done: asyncio.Future[bool] = self._loop.create_future()
        self.after_commit(done.set_result)
        return await done

    def _schedule(self) -> None:
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self.flush)

    def flush(self) -> None:
        """Commit now and run the waiting callbacks."""
        self._scheduled = False
        waiting, self._waiting = self._waiting, []
        try:
            self._sql.commit_group()
            ok = True
        except Exception:  # noqa: BLE001 - every waiter hears of it
            log.exception("committing %d grouped store writes failed", len(waiting))
            ok = False
        for callback in waiting:
            try:
                callback(ok)
            except Exception:  # noqa: BLE001 - one failing follow-up must not stop the others
                log.exception("a follow-up of a grouped commit failed")
