"""One SQLite connection shared by threads: a lock, BEGIN IMMEDIATE transactions, ISO-8601 times."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


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
        db.execute("PRAGMA foreign_keys=ON")
        self._db: sqlite3.Connection | None = db

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
        """Hold the lock for one BEGIN IMMEDIATE ... COMMIT; any exception rolls back."""
        with self._lock:
            db = self._open_db()
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            else:
                db.execute("COMMIT")

    def query(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        """All rows of one read statement."""
        with self._lock:
            return self._open_db().execute(sql, args).fetchall()

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
