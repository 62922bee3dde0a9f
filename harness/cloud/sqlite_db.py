"""One SQLite connection shared by threads: a lock, BEGIN IMMEDIATE transactions, ISO-8601 times.

Writes may also join a *group*: one transaction kept open (with the lock held) until
`commit_group()`, each write in its own savepoint, so a burst of writes costs one commit
(harness.cloud.commit_group answers the requests only after that commit).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CACHE_KIB = 8192
"""Page cache of a WAL database (SQLite's default is 2 MiB). Ids start with their creation time,
so new rows land at the end of the id indexes and the hot pages are few; 8 MiB holds them and the
upper levels of the other indexes at 50,000 devices (16 MiB cost 0.9 KiB more per device at
10,000 registered, for no measurable CPU at 50,000)."""


def ts(value: dt.datetime | None) -> str | None:
    """A datetime as the stored text (ISO-8601, UTC); None stays None."""
    return value.astimezone(dt.UTC).isoformat() if value else None


def from_ts(value: str | None) -> dt.datetime | None:
    """The datetime of a stored text; None (or empty) stays None."""
    return dt.datetime.fromisoformat(value) if value else None


class SqliteDb:
    """One connection behind a lock; `transaction()` for writes, `query()` for reads.

    `error` builds the HilError raised when the file cannot be opened or the
    connection is already closed; `name` says what the database is in those sentences.
    """

    def __init__(self, path: Path, *, name: str, error: Callable[[str], Exception],
                 wal: bool = False, busy_timeout: float = 5.0) -> None:
        self.path = Path(path)
        self._name = name
        self._error = error
        self._lock = threading.RLock()
        try:
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None,
                                 timeout=busy_timeout)
        except sqlite3.Error as exc:
            raise error(f"Cannot open the {name} {self.path} ({exc}); "
                        "check the data_dir exists and is writable.") from None
        db.row_factory = sqlite3.Row
        if wal:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        db.execute("PRAGMA foreign_keys=ON")
        self._db: sqlite3.Connection | None = db
        self._joining = 0  # > 0: transaction() joins the open group (only read with the lock held)
        self._group_open = False
        self._group_failed = False  # a write of the open group failed: the group was rolled back

    def _open_db(self) -> sqlite3.Connection:
        if self._db is None:
            raise self._error(f"The {self._name} is closed; start the service again.")
        return self._db

    def executescript(self, script: str) -> None:
        """Run a schema script (CREATE ... IF NOT EXISTS)."""
        with self._lock:
            self._open_db().executescript(script)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Hold the lock for one BEGIN IMMEDIATE ... COMMIT; any exception rolls back.

        Inside `joined()` the write joins the open group instead; otherwise an open group is
        settled first (a write outside the group is durable when this returns).
        """
        with self._lock:
            db = self._open_db()
            if self._joining:
                with self._grouped_write(db):
                    yield db
                return
            self._settle_group()
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            else:
                db.execute("COMMIT")

    @contextmanager
    def _grouped_write(self, db: sqlite3.Connection) -> Iterator[None]:
        """One write inside the open group (opened here if needed). No savepoint per write (it
        would copy every page the group already changed): a write failing after it changed rows
        rolls the whole group back, and its commit_group() then raises so no member of it is
        acknowledged."""
        if not self._group_open:
            self._lock.acquire()  # held until commit_group()
            try:
                db.execute("BEGIN IMMEDIATE")
            except BaseException:
                self._lock.release()
                raise
            self._group_open = True
        changes = db.total_changes
        try:
            yield
        except BaseException:
            if db.total_changes == changes:
                raise  # nothing of this write reached the group (a failed statement undoes itself)
            self._group_failed = True
            self._group_open = False
            try:
                if db.in_transaction:
                    db.execute("ROLLBACK")
            finally:
                self._lock.release()
            raise

    @contextmanager
    def joined(self) -> Iterator[None]:
        """Within this block, this thread's transactions join the open group (see commit_group)."""
        with self._lock:
            self._joining += 1
            try:
                yield
            finally:
                self._joining -= 1

    def commit_group(self) -> None:
        """COMMIT the open group (if any) and release its lock; on failure it is rolled back and
        this raises (also when a write of the group failed since the last call)."""
        with self._lock:
            if self._group_failed:
                self._group_failed = False
                if self._group_open:
                    self._group_open = False
                    try:
                        self._open_db().execute("ROLLBACK")
                    finally:
                        self._lock.release()
                raise self._error(f"A grouped write to the {self._name} failed; the group was "
                                  "rolled back.")
            if not self._group_open:
                return
            self._group_open = False
            try:
                self._open_db().execute("COMMIT")
            except BaseException:
                if self._db is not None and self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            finally:
                self._lock.release()

    def _settle_group(self) -> None:
        """Commit the open group, or roll it back when a write of it failed (it is doomed)."""
        if not self._group_open:
            return
        if not self._group_failed:
            self.commit_group()
            return
        self._group_open = False
        try:
            self._open_db().execute("ROLLBACK")
        finally:
            self._lock.release()

    def query(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        """All rows of one read statement."""
        with self._lock:
            return self._open_db().execute(sql, args).fetchall()

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            self._settle_group()
            if self._db is not None:
                self._db.close()
                self._db = None
