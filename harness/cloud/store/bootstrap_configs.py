"""Per-account bootstrap configurations (harness.config.bootstrap_config), in the SQLite store."""

from __future__ import annotations

import json

from harness.cloud.records import utcnow
from harness.cloud.sqlite_db import SqliteDb, ts
from harness.config.bootstrap_config import BootstrapConfig

BOOTSTRAP_CONFIG_SCHEMA = """
CREATE TABLE IF NOT EXISTS bootstrap_configs (
    account_id TEXT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    config TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
"""


class BootstrapConfigStore:
    """The bootstrap_configs table: one configuration per account (none = the service's)."""

    def __init__(self, sql: SqliteDb) -> None:
        self._sql = sql
        sql.executescript(BOOTSTRAP_CONFIG_SCHEMA)

    def put(self, account_id: str, config: BootstrapConfig) -> None:
        """Set the configuration of `account_id`."""
        with self._sql.transaction() as db:
            db.execute("INSERT OR REPLACE INTO bootstrap_configs VALUES (?, ?, ?)",
                       (account_id, json.dumps(config.model_dump(mode="json")), ts(utcnow())))

    def get(self, account_id: str) -> BootstrapConfig | None:
        """The configuration of `account_id`, or None (it uses the service's)."""
        rows = self._sql.query("SELECT config FROM bootstrap_configs WHERE account_id=?",
                               (account_id,))
        return BootstrapConfig.model_validate(json.loads(rows[0]["config"])) if rows else None

    def delete(self, account_id: str) -> bool:
        """Back to the service's configuration; True if the account had its own."""
        with self._sql.transaction() as db:
            return db.execute("DELETE FROM bootstrap_configs WHERE account_id=?",
                              (account_id,)).rowcount > 0
