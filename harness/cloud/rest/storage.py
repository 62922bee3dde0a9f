"""The REST API's own tables (applications, verification keys, channels, bulk jobs) in the service DB."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.cloud.records import new_id, utcnow
from harness.cloud.rest.errors import ApiProblem, bad_request, conflict
from harness.cloud.rest.verification_certs import VerificationCert
from harness.cloud.sqlite_db import SqliteDb, from_ts, ts

MAX_KEYS_PER_APPLICATION = 2

SCHEMA = """
CREATE TABLE IF NOT EXISTS rest_applications (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rest_verification_keys (
    id TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES rest_applications(id) ON DELETE CASCADE,
    account_id TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    certificate TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    key_type TEXT NOT NULL,
    key_bits INTEGER NOT NULL,
    status TEXT NOT NULL,
    valid_from TEXT NOT NULL,
    valid_to TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (account_id, name),
    UNIQUE (account_id, fingerprint)
);
CREATE TABLE IF NOT EXISTS rest_notification_channels (
    owner TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('webhook', 'websocket')),
    url TEXT,
    headers TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rest_bulk_operations (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('upload', 'delete')),
    status TEXT NOT NULL,
    total_count INTEGER NOT NULL,
    processed_count INTEGER NOT NULL,
    errors_count INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    completed_at TEXT,
    full_report TEXT,
    errors_report TEXT
);
"""


def _unavailable(text: str) -> ApiProblem:
    return ApiProblem(503, text)


@dataclass(frozen=True)
class Application:
    """An application of an account; JWTs are issued by its verification keys."""

    id: str
    account_id: str
    name: str
    description: str
    status: str
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True)
class VerificationKey:
    """An uploaded X.509 certificate whose public key verifies an application's JWTs."""

    id: str
    application_id: str
    account_id: str
    name: str
    description: str
    certificate: str
    fingerprint: str
    key_type: str
    key_bits: int
    status: str
    valid_from: dt.datetime
    valid_to: dt.datetime
    created_at: dt.datetime
    updated_at: dt.datetime

    def expired(self, now: dt.datetime | None = None) -> bool:
        """True when the certificate is outside its validity period."""
        now = now or dt.datetime.now(dt.UTC)
        return not (self.valid_from <= now <= self.valid_to)


@dataclass(frozen=True)
class NotificationChannel:
    """The notification channel of one credential (admin key or application)."""

    owner: str
    account_id: str
    kind: str  # webhook | websocket
    url: str | None
    headers: dict[str, str]
    created_at: dt.datetime


@dataclass(frozen=True)
class BulkOperation:
    """A bulk enrollment upload or delete job with its counts and CSV reports."""

    id: str
    account_id: str
    kind: str  # upload | delete
    status: str  # new | processing | completed
    total_count: int
    processed_count: int
    errors_count: int
    created_at: dt.datetime
    completed_at: dt.datetime | None
    full_report: str | None
    errors_report: str | None


def _row(cls: type, row: sqlite3.Row, times: tuple[str, ...]) -> Any:
    data = dict(row)
    for key in times:
        data[key] = from_ts(data[key])
    return cls(**data)


_APP_TIMES = ("created_at", "updated_at")
_KEY_TIMES = ("valid_from", "valid_to", "created_at", "updated_at")
_BULK_TIMES = ("created_at", "completed_at")


class RestStorage:
    """The REST tables, on their own connection to the service's SQLite file (WAL)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._sql = SqliteDb(self.path, name="REST storage", error=_unavailable, busy_timeout=10)
        self._tx = self._sql.transaction
        self._query = self._sql.query
        self._sql.executescript(SCHEMA)

    def close(self) -> None:
        """Close the connection (idempotent)."""
        self._sql.close()

    # ------------------------------------------------------------------ applications

    def create_application(self, account_id: str, name: str, description: str = "",
                           status: str = "ACTIVE") -> Application:
        """Create an application in an account."""
        now = utcnow()
        app = Application(new_id(), account_id, name, description, status, now, now)
        with self._tx() as db:
            db.execute("INSERT INTO rest_applications VALUES (?,?,?,?,?,?,?)",
                       (app.id, account_id, name, description, status, ts(now), ts(now)))
        return app

    def get_application(self, application_id: str) -> Application | None:
        """The application with this id (any account), or None."""
        rows = self._query("SELECT * FROM rest_applications WHERE id=?", (application_id,))
        return _row(Application, rows[0], _APP_TIMES) if rows else None

    def list_applications(self, account_id: str) -> list[Application]:
        """Applications of an account, oldest first."""
        rows = self._query("SELECT * FROM rest_applications WHERE account_id=? ORDER BY rowid",
                           (account_id,))
        return [_row(Application, r, _APP_TIMES) for r in rows]

    def update_application(self, application_id: str, **changes: Any) -> Application:
        """Change name, description or status of an application."""
        with self._tx() as db:
            for column in ("name", "description", "status"):
                if changes.get(column) is not None:
                    db.execute(f"UPDATE rest_applications SET {column}=? WHERE id=?",  # noqa: S608
                               (changes[column], application_id))
            db.execute("UPDATE rest_applications SET updated_at=? WHERE id=?",
                       (ts(utcnow()), application_id))
        return self.get_application(application_id)  # type: ignore[return-value]

    def delete_application(self, application_id: str) -> None:
        """Delete an application; its verification keys and channel go with it."""
        with self._tx() as db:
            db.execute("DELETE FROM rest_notification_channels WHERE owner=?",
                       (f"app:{application_id}",))
            db.execute("DELETE FROM rest_applications WHERE id=?", (application_id,))

    # ------------------------------------------------------------------ verification keys

    def _check_unique(self, db: sqlite3.Connection, account_id: str, name: str | None,
                      fingerprint: str | None, skip_id: str = "") -> None:
        if name is not None and db.execute(
                "SELECT 1 FROM rest_verification_keys WHERE account_id=? AND name=? AND id<>?",
                (account_id, name, skip_id)).fetchone():
            raise conflict(f"A verification key named {name!r} already exists; choose another name.")
        if fingerprint is not None and db.execute(
                "SELECT 1 FROM rest_verification_keys WHERE account_id=? AND fingerprint=? AND id<>?",
                (account_id, fingerprint, skip_id)).fetchone():
            raise conflict("This certificate is already uploaded as a verification key; "
                           "upload a different certificate.")

    def add_verification_key(self, app: Application, name: str, cert: VerificationCert,
                             description: str = "") -> VerificationKey:
        """Attach a verification key to an application (at most two per application)."""
        now = utcnow()
        key = VerificationKey(new_id(), app.id, app.account_id, name, description, cert.pem,
                              cert.fingerprint, cert.key_type, cert.key_bits, "ACTIVE",
                              cert.valid_from, cert.valid_to, now, now)
        with self._tx() as db:
            count = db.execute("SELECT COUNT(*) FROM rest_verification_keys WHERE application_id=?",
                               (app.id,)).fetchone()[0]
            if count >= MAX_KEYS_PER_APPLICATION:
                raise bad_request(f"Application {app.id} already has {MAX_KEYS_PER_APPLICATION} "
                                  "verification keys, the most allowed; delete one first.")
            self._check_unique(db, app.account_id, name, cert.fingerprint)
            db.execute("INSERT INTO rest_verification_keys VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                       (key.id, app.id, app.account_id, name, description, cert.pem, cert.fingerprint,
                        cert.key_type, cert.key_bits, "ACTIVE", ts(cert.valid_from),
                        ts(cert.valid_to), ts(now), ts(now)))
        return key

    def get_verification_key(self, key_id: str) -> VerificationKey | None:
        """The verification key with this id, or None."""
        rows = self._query("SELECT * FROM rest_verification_keys WHERE id=?", (key_id,))
        return _row(VerificationKey, rows[0], _KEY_TIMES) if rows else None

    def list_verification_keys(self, application_id: str) -> list[VerificationKey]:
        """Verification keys of an application, oldest first."""
        rows = self._query("SELECT * FROM rest_verification_keys WHERE application_id=? ORDER BY rowid",
                           (application_id,))
        return [_row(VerificationKey, r, _KEY_TIMES) for r in rows]

    def update_verification_key(self, key: VerificationKey, *, name: str | None = None,
                                description: str | None = None, status: str | None = None,
                                cert: VerificationCert | None = None) -> VerificationKey:
        """Rename, re-describe, (de)activate or replace the certificate of a verification key."""
        with self._tx() as db:
            self._check_unique(db, key.account_id, name, cert.fingerprint if cert else None, key.id)
            sets: dict[str, Any] = {"name": name, "description": description, "status": status}
            if cert is not None:
                sets.update(certificate=cert.pem, fingerprint=cert.fingerprint, key_type=cert.key_type,
                            key_bits=cert.key_bits, valid_from=ts(cert.valid_from),
                            valid_to=ts(cert.valid_to))
            sets = {k: v for k, v in sets.items() if v is not None}
            sets["updated_at"] = ts(utcnow())
            assignments = ",".join(f"{k}=?" for k in sets)
            db.execute(f"UPDATE rest_verification_keys SET {assignments} WHERE id=?",  # noqa: S608
                       (*sets.values(), key.id))
        return self.get_verification_key(key.id)  # type: ignore[return-value]

    def delete_verification_key(self, key_id: str) -> None:
        """Delete one verification key."""
        with self._tx() as db:
            db.execute("DELETE FROM rest_verification_keys WHERE id=?", (key_id,))

    # ------------------------------------------------------------------ notification channels

    def set_channel(self, owner: str, account_id: str, kind: str, url: str | None = None,
                    headers: dict[str, str] | None = None) -> NotificationChannel:
        """Create or replace the one notification channel of a credential."""
        now = utcnow()
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO rest_notification_channels VALUES (?,?,?,?,?,?)",
                       (owner, account_id, kind, url, json.dumps(headers or {}), ts(now)))
        return NotificationChannel(owner, account_id, kind, url, dict(headers or {}), now)

    def get_channel(self, owner: str) -> NotificationChannel | None:
        """The channel of a credential, or None."""
        rows = self._query("SELECT * FROM rest_notification_channels WHERE owner=?", (owner,))
        return self._channel(rows[0]) if rows else None

    def list_channels(self, account_id: str | None = None) -> list[NotificationChannel]:
        """Channels of an account (or all)."""
        if account_id is None:
            rows = self._query("SELECT * FROM rest_notification_channels ORDER BY rowid")
        else:
            rows = self._query("SELECT * FROM rest_notification_channels WHERE account_id=? "
                               "ORDER BY rowid", (account_id,))
        return [self._channel(r) for r in rows]

    @staticmethod
    def _channel(row: sqlite3.Row) -> NotificationChannel:
        return NotificationChannel(row["owner"], row["account_id"], row["kind"], row["url"],
                                   json.loads(row["headers"]), from_ts(row["created_at"]))  # type: ignore[arg-type]

    def delete_channel(self, owner: str) -> bool:
        """Delete a credential's channel; True if there was one."""
        with self._tx() as db:
            cur = db.execute("DELETE FROM rest_notification_channels WHERE owner=?", (owner,))
        return cur.rowcount > 0

    # ------------------------------------------------------------------ bulk operations

    def create_bulk(self, account_id: str, kind: str, total: int) -> BulkOperation:
        """Record a new bulk job (status new)."""
        now = utcnow()
        job = BulkOperation(new_id(), account_id, kind, "new", total, 0, 0, now, None, None, None)
        with self._tx() as db:
            db.execute("INSERT INTO rest_bulk_operations VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                       (job.id, account_id, kind, "new", total, 0, 0, ts(now), None, None, None))
        return job

    def update_bulk(self, job_id: str, **changes: Any) -> None:
        """Update status, counts, completion time or reports of a bulk job."""
        if "completed_at" in changes:
            changes["completed_at"] = ts(changes["completed_at"])
        assignments = ",".join(f"{k}=?" for k in changes)
        with self._tx() as db:
            db.execute(f"UPDATE rest_bulk_operations SET {assignments} WHERE id=?",  # noqa: S608
                       (*changes.values(), job_id))

    def get_bulk(self, job_id: str) -> BulkOperation | None:
        """The bulk job with this id, or None."""
        rows = self._query("SELECT * FROM rest_bulk_operations WHERE id=?", (job_id,))
        return _row(BulkOperation, rows[0], _BULK_TIMES) if rows else None
