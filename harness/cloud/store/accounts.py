"""Accounts: id (aid), device quota, commercial flag and the hash of the admin API key."""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
from dataclasses import replace
from typing import Any

from harness.cloud.records import Account, new_id, utcnow
from harness.cloud.sqlite_db import ts
from harness.cloud.store.base import ConflictError, StoreBase, StoreError, account_from_row


def hash_api_key(key: str) -> str:
    """SHA-256 hex digest of an API key (only the hash is stored)."""
    return hashlib.sha256(key.encode()).hexdigest()


class AccountStore(StoreBase):
    """Accounts of the service."""

    def create_account(self, name: str, *, device_quota: int = 1000, commercial: bool = False,
                       admin_api_key: str | None = None, account_id: str | None = None) -> Account:
        """Create an account; its id is a fresh 32-hex aid unless given."""
        if device_quota < 0:
            raise StoreError(f"device_quota {device_quota} is negative; give 0 or more.")
        account = Account(account_id or new_id(), name, device_quota, commercial,
                          hash_api_key(admin_api_key) if admin_api_key else None, utcnow())
        try:
            with self._tx() as db:
                db.execute("INSERT INTO accounts VALUES (?,?,?,?,?,?)",
                           (account.id, name, device_quota, int(commercial), account.admin_key_hash,
                            ts(account.created_at)))
        except sqlite3.IntegrityError:
            raise ConflictError(f"Account {account.id} already exists; use another id.") from None
        return account

    def list_accounts(self) -> list[Account]:
        """All accounts, oldest first."""
        return [account_from_row(r) for r in self._query("SELECT * FROM accounts ORDER BY rowid")]

    def account_by_api_key(self, api_key: str) -> Account | None:
        """The account whose admin API key is `api_key`, or None (constant-time hash comparison)."""
        wanted = hash_api_key(api_key)
        found = None
        for row in self._query("SELECT * FROM accounts WHERE admin_key_hash IS NOT NULL"):
            if hmac.compare_digest(row["admin_key_hash"], wanted):
                found = row
        return account_from_row(found) if found is not None else None

    def update_account(self, account_id: str, **changes: Any) -> Account:
        """Change name, device_quota, commercial or admin_api_key of an account."""
        account = self._require_account(account_id)
        allowed = {"name", "device_quota", "commercial", "admin_api_key"}
        unknown = set(changes) - allowed
        if unknown:
            raise StoreError(f"Cannot change {sorted(unknown)} of an account; change {sorted(allowed)}.")
        if "admin_api_key" in changes:
            key = changes.pop("admin_api_key")
            changes["admin_key_hash"] = hash_api_key(key) if key else None
        account = replace(account, **changes)
        with self._tx() as db:
            db.execute("UPDATE accounts SET name=?, device_quota=?, commercial=?, admin_key_hash=? "
                       "WHERE id=?", (account.name, account.device_quota, int(account.commercial),
                                      account.admin_key_hash, account.id))
        self._accounts[account.id] = account
        return account
