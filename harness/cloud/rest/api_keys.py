"""Accounts' API keys (ak_...) and the service operator's key (op_...): only hashes are stored.

An account may hold several API keys (`hil cloud api-key create`); the key itself is returned
once, when it is made, and never stored, logged or listed. The operator key lets the operator
(a bench user or the test harness) use the admin API: it is made once per data dir and kept in
`<data_dir>/operator-key` (mode 0600).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from harness.cloud.records import new_id, utcnow
from harness.cloud.rest.errors import ApiProblem
from harness.cloud.runtime import OPERATOR_KEY_FILE
from harness.cloud.sqlite_db import SqliteDb, from_ts, ts

API_KEY_PREFIX = "ak_"
OPERATOR_KEY_PREFIX = "op_"

SCHEMA = """
CREATE TABLE IF NOT EXISTS rest_api_keys (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
"""


def key_hash(key: str) -> str:
    """SHA-256 hex digest of a key (what is stored and compared)."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_api_key() -> str:
    """A fresh account API key."""
    return API_KEY_PREFIX + secrets.token_hex(24)


def load_or_create_operator_key(data_dir: Path) -> str:
    """The operator key of the service on `data_dir`, made on first use (file mode 0600)."""
    path = Path(data_dir) / OPERATOR_KEY_FILE
    try:
        key = path.read_text().strip()
    except FileNotFoundError:
        key = ""
    if key.startswith(OPERATOR_KEY_PREFIX):
        return key
    key = OPERATOR_KEY_PREFIX + secrets.token_hex(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


@dataclass(frozen=True)
class ApiKeyRecord:
    """An API key of an account, without the key."""

    id: str
    account_id: str
    name: str
    created_at: dt.datetime


def _unavailable(text: str) -> ApiProblem:
    return ApiProblem(503, text)


class ApiKeyStorage:
    """The API key table, on its own connection to the service's SQLite file."""

    def __init__(self, path: Path) -> None:
        self._sql = SqliteDb(Path(path), name="API key storage", error=_unavailable, busy_timeout=10)
        self._sql.executescript(SCHEMA)

    def close(self) -> None:
        """Close the connection (idempotent)."""
        self._sql.close()

    def create(self, account_id: str, name: str) -> tuple[ApiKeyRecord, str]:
        """Make a key for the account: (record, the key itself, to be shown once)."""
        key = new_api_key()
        record = ApiKeyRecord(new_id(), account_id, name, utcnow())
        with self._sql.transaction() as db:
            db.execute("INSERT INTO rest_api_keys VALUES (?,?,?,?,?)",
                       (record.id, account_id, name, key_hash(key), ts(record.created_at)))
        return record, key

    def list(self, account_id: str) -> list[ApiKeyRecord]:
        """The account's keys (never the keys themselves), oldest first."""
        rows = self._sql.query("SELECT id, account_id, name, created_at FROM rest_api_keys "
                               "WHERE account_id=? ORDER BY rowid", (account_id,))
        return [ApiKeyRecord(r["id"], r["account_id"], r["name"], from_ts(r["created_at"]))  # type: ignore[arg-type]
                for r in rows]

    def account_of(self, key: str) -> str | None:
        """The account id a key belongs to, or None."""
        rows = self._sql.query("SELECT account_id FROM rest_api_keys WHERE key_hash=?",
                               (key_hash(key),))
        return rows[0]["account_id"] if rows else None


def is_operator_key(token: str, operator_hash: str | None) -> bool:
    """True when `token` is the service's operator key (constant-time comparison)."""
    return operator_hash is not None and hmac.compare_digest(key_hash(token), operator_hash)
