"""Persisted device events and rejected bootstraps (denials)."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from typing import Any

from harness.cloud.records import Denial, EventRecord, Page, utcnow
from harness.cloud.sqlite_db import from_ts, ts
from harness.cloud.store.base import StoreBase


class EventStore(StoreBase):
    """Events and denials."""

    def record_event(self, event_type: str, *, device_id: str | None, account_id: str | None,
                     data: dict[str, Any], state_change: bool = False,
                     created_at: dt.datetime | None = None) -> EventRecord:
        """Persist one device event."""
        created = created_at or utcnow()
        with self._tx() as db:
            cur = db.execute("INSERT INTO events (device_id, account_id, event_type, data, state_change,"
                             " created_at) VALUES (?,?,?,?,?,?)",
                             (device_id, account_id, event_type, json.dumps(data, default=str),
                              int(state_change), ts(created)))
        return EventRecord(int(cur.lastrowid or 0), device_id, account_id, event_type, data,
                           state_change, created)

    def list_events(self, *, device_id: str | None = None, account_id: str | None = None,
                    event_type: str | None = None, limit: int = 1000) -> list[EventRecord]:
        """Persisted events, oldest first, filtered by device, account or type."""
        sql, args = "SELECT * FROM events WHERE 1=1", []
        for column, value in (("device_id", device_id), ("account_id", account_id),
                              ("event_type", event_type)):
            if value is not None:
                sql += f" AND {column}=?"
                args.append(value)
        rows = self._query(sql + " ORDER BY id LIMIT ?", (*args, limit))
        return [self._event(r) for r in rows]

    def list_events_page(self, account_id: str, *, device_id: str | None = None,
                         event_type: str | None = None, limit: int = 50, after: str | None = None,
                         order: str = "ASC") -> Page[EventRecord]:
        """One page of an account's persisted events (optionally one device / type), by id."""
        return self._page("events", account_id, limit, after, order, self._event,
                          {"device_id": device_id, "event_type": event_type})

    @staticmethod
    def _event(row: sqlite3.Row) -> EventRecord:
        return EventRecord(row["id"], row["device_id"], row["account_id"], row["event_type"],
                           json.loads(row["data"]), bool(row["state_change"]),
                           from_ts(row["created_at"]))  # type: ignore[arg-type]

    def record_denial(self, reason: str, *, endpoint_name: str | None = None,
                      account_id: str | None = None, enrollment_identity: str | None = None,
                      fingerprint: str | None = None, trusted_certificate_id: str | None = None) -> Denial:
        """Persist a rejected bootstrap with its reason."""
        created = utcnow()
        with self._tx() as db:
            cur = db.execute("INSERT INTO denials (reason, endpoint_name, account_id, "
                             "enrollment_identity, fingerprint, trusted_certificate_id, created_at) "
                             "VALUES (?,?,?,?,?,?,?)",
                             (reason, endpoint_name, account_id, enrollment_identity, fingerprint,
                              trusted_certificate_id, ts(created)))
        return Denial(int(cur.lastrowid or 0), reason, endpoint_name, account_id, enrollment_identity,
                      fingerprint, trusted_certificate_id, created)

    def prune_records(self, *, max_denials: int, max_events: int, before: dt.datetime
                      ) -> tuple[int, int]:
        """Keep the newest `max_denials`/`max_events` rows made at or after `before`."""
        deleted = []
        with self._tx() as db:
            for table, keep in (("denials", max_denials), ("events", max_events)):
                cur = db.execute(f"DELETE FROM {table} WHERE created_at < ? OR id <= "  # noqa: S608
                                 f"(SELECT COALESCE(MAX(id), 0) FROM {table}) - ?",
                                 (ts(before), keep))
                deleted.append(cur.rowcount)
        return deleted[0], deleted[1]

    def count_records(self) -> tuple[int, int]:
        """(denial rows, event rows) in the store."""
        rows = self._query("SELECT (SELECT COUNT(*) FROM denials) AS d, "
                           "(SELECT COUNT(*) FROM events) AS e", ())
        return int(rows[0]["d"]), int(rows[0]["e"])

    def list_denials(self, *, account_id: str | None = None) -> list[Denial]:
        """Rejected bootstraps, oldest first."""
        sql, args = "SELECT * FROM denials", ()
        if account_id is not None:
            sql, args = sql + " WHERE account_id=?", (account_id,)
        return [Denial(r["id"], r["reason"], r["endpoint_name"], r["account_id"],
                       r["enrollment_identity"], r["fingerprint"], r["trusted_certificate_id"],
                       from_ts(r["created_at"])) for r in self._query(sql + " ORDER BY id", args)]  # type: ignore[arg-type]
