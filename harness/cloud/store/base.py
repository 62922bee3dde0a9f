"""The store's core: one SQLite file (WAL), its schema check, errors and paging."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from typing import Any

from harness.cloud.records import Account, Page
from harness.cloud.schema import SCHEMA, SCHEMA_VERSION
from harness.cloud.sqlite_db import SqliteDb, from_ts
from harness.errors import HilError

DB_FILE = "service.sqlite3"


class StoreError(HilError):
    """A store operation the caller asked for that cannot be done (unknown id, duplicate...)."""


class NotFoundError(StoreError):
    """The id asked for does not exist."""


class ConflictError(StoreError):
    """The object already exists (duplicate name, enrollment identity...)."""


def account_from_row(row: sqlite3.Row) -> Account:
    """An Account from its `accounts` row."""
    return Account(row["id"], row["name"], row["device_quota"], bool(row["commercial"]),
                   row["admin_key_hash"], from_ts(row["created_at"]))  # type: ignore[arg-type]


def _check_is_store(path: Path) -> None:
    """Refuse (StoreError, nothing written) a file that is not a dm-hil service database."""
    if not path.is_file() or path.stat().st_size == 0:
        return
    try:
        with contextlib.closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro",
                                                uri=True)) as db:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE "
                                                   "type='table'")}
    except sqlite3.Error as exc:
        raise StoreError(f"{path} is not a readable service database ({exc}); move it away "
                         "(the service starts a new one) or point --data-dir at the right "
                         "directory.") from None
    if tables and "meta" not in tables:
        raise StoreError(f"{path} is an SQLite database of something else (tables: "
                         f"{', '.join(sorted(tables)[:5])}), not a service database; point "
                         "--data-dir at the service's data dir.")


class StoreBase:
    """SQLite-backed store; thread-safe (one connection behind a lock), every write a transaction."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        _check_is_store(self.path)
        self._sql = SqliteDb(self.path, name="service store", error=StoreError, wal=True)
        self._accounts: dict[str, Account] = {}  # read once (accounts change only through us)
        self._tx = self._sql.transaction
        self._query = self._sql.query
        self._sql.executescript(SCHEMA)
        self._check_version()

    @property
    def database(self) -> SqliteDb:
        """The SQLite connection under the store (grouped commits: harness.cloud.commit_group)."""
        return self._sql

    def close(self) -> None:
        """Close the database (idempotent)."""
        self._sql.close()

    def _check_version(self) -> None:
        with self._tx() as db:
            row = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if row is None:
                db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            elif int(row["value"]) != SCHEMA_VERSION:
                raise StoreError(
                    f"The store {self.path} has schema version {row['value']}, this harness uses "
                    f"{SCHEMA_VERSION}; delete the data_dir or use a matching harness version."
                )

    def get_account(self, account_id: str) -> Account | None:
        """The account with this id, or None."""
        account = self._accounts.get(account_id)
        if account is None:
            rows = self._query("SELECT * FROM accounts WHERE id=?", (account_id,))
            if not rows:
                return None
            account = self._accounts[account_id] = account_from_row(rows[0])
        return account

    def _require_account(self, account_id: str) -> Account:
        account = self.get_account(account_id)
        if account is None:
            raise NotFoundError(f"No account {account_id!r}; create it first or check the aid.")
        return account

    def _page(self, table: str, account_id: str, limit: int, after: str | None, order: str,
              convert: Any, filters: dict[str, Any] | None = None) -> Page[Any]:
        """One page of `table` rows of an account; `filters` maps column names (from code, never
        from a request) to values that must match."""
        order = order.upper()
        if order not in ("ASC", "DESC"):
            raise StoreError(f"order {order!r} is unknown; use ASC or DESC.")
        if not 1 <= limit <= 1000:
            raise StoreError(f"limit {limit} is out of range; use 1..1000.")
        where, args = "account_id=?", [account_id]
        for column, value in (filters or {}).items():
            if value is not None:
                where += f" AND {column}=?"
                args.append(value)
        total = self._query(f"SELECT COUNT(*) AS n FROM {table} WHERE {where}",  # noqa: S608
                            tuple(args))[0]["n"]
        sql = f"SELECT * FROM {table} WHERE {where}"  # noqa: S608
        if after:
            rows = self._query(f"SELECT rowid AS position FROM {table} WHERE id=? AND account_id=?",  # noqa: S608
                               (after, account_id))
            if not rows:
                raise NotFoundError(f"after={after!r} is not an id of this list; "
                                    "pass the id of the last item you got.")
            sql += " AND rowid > ?" if order == "ASC" else " AND rowid < ?"
            args.append(rows[0]["position"])
        sql += f" ORDER BY rowid {order} LIMIT ?"
        args.append(limit + 1)
        rows = self._query(sql, tuple(args))
        return Page([convert(r) for r in rows[:limit]], len(rows) > limit, total, limit, after, order)
