"""PSK identities and keys of standard devices (DTLS PSK), in the service's SQLite store.

A key is a secret: it is read only to build the DTLS server context and never listed, logged
or returned by the REST API (only identities are).
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.cloud.records import utcnow
from harness.cloud.sqlite_db import SqliteDb, ts

PSK_SCHEMA = """
CREATE TABLE IF NOT EXISTS psk_keys (
    identity TEXT PRIMARY KEY,
    key_hex TEXT NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    endpoint_name TEXT,
    created_at TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class PskRecord:
    """One PSK identity: its account and (optional) endpoint name; the key is not kept here."""

    identity: str
    account_id: str
    endpoint_name: str | None


class PskStore:
    """The psk_keys table."""

    def __init__(self, sql: SqliteDb) -> None:
        self._sql = sql
        sql.executescript(PSK_SCHEMA)

    def put(self, identity: str, key: bytes, account_id: str,
            endpoint_name: str | None = None) -> PskRecord:
        """Add or replace the key of `identity` (for `account_id`)."""
        with self._sql.transaction() as db:
            db.execute("INSERT OR REPLACE INTO psk_keys VALUES (?, ?, ?, ?, ?)",
                       (identity, key.hex(), account_id, endpoint_name, ts(utcnow())))
        return PskRecord(identity, account_id, endpoint_name)

    def get(self, identity: str) -> PskRecord | None:
        """The record of an identity, or None."""
        rows = self._sql.query("SELECT * FROM psk_keys WHERE identity=?", (identity,))
        return PskRecord(rows[0]["identity"], rows[0]["account_id"], rows[0]["endpoint_name"]) \
            if rows else None

    def list(self, account_id: str | None = None) -> list[PskRecord]:
        """Identities (of one account, or all), without keys."""
        rows = self._sql.query("SELECT * FROM psk_keys ORDER BY identity") if account_id is None \
            else self._sql.query("SELECT * FROM psk_keys WHERE account_id=? ORDER BY identity",
                                 (account_id,))
        return [PskRecord(r["identity"], r["account_id"], r["endpoint_name"]) for r in rows]

    def delete(self, identity: str) -> bool:
        """Forget an identity; True if it existed."""
        with self._sql.transaction() as db:
            return db.execute("DELETE FROM psk_keys WHERE identity=?", (identity,)).rowcount > 0

    def keys(self) -> dict[str, bytes]:
        """identity -> key, for the DTLS server context only."""
        return {r["identity"]: bytes.fromhex(r["key_hex"])
                for r in self._sql.query("SELECT identity, key_hex FROM psk_keys")}

    def version(self) -> tuple:
        """Changes whenever a key is added, replaced or removed (for context caches)."""
        return tuple((r["identity"], r["created_at"]) for r in self._sql.query(
            "SELECT identity, created_at FROM psk_keys ORDER BY identity"))
