"""The device directory: one row per device, its state and credentials' bookkeeping."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import fields, replace
from typing import Any

from harness.cloud.records import Device, DeviceState, new_id, utcnow
from harness.cloud.sqlite_db import from_ts, ts
from harness.cloud.store.base import ConflictError, NotFoundError, StoreBase, StoreError

_DEVICE_TIMES = {"bootstrapped_timestamp", "bootstrap_expiration_date", "connector_expiration_date",
                 "registered_at", "last_seen", "created_at", "updated_at"}
_DEVICE_FIELDS = [f.name for f in fields(Device)]
_UPDATE_SQL = f"UPDATE devices SET {','.join(f'{n}=?' for n in _DEVICE_FIELDS)} WHERE id=?"  # noqa: S608
_INSERT_SQL = (f"INSERT INTO devices ({','.join(_DEVICE_FIELDS)}) "  # noqa: S608
               f"VALUES ({','.join('?' * len(_DEVICE_FIELDS))})")
_EVENT_SQL = ("INSERT INTO events (device_id, account_id, event_type, data, state_change, created_at) "
              "VALUES (?,?,?,?,?,?)")

EventRow = tuple[str, dict[str, Any], bool, Any]
"""An event written with a device change: (type, data, state_change, created_at)."""


class DeviceStore(StoreBase):
    """Devices of accounts; the count per account is kept as devices are created (no COUNT(*))."""

    _device_counts: dict[str, int]

    @staticmethod
    def _write_events(db: sqlite3.Connection, device: Device, events: Sequence[EventRow]) -> None:
        for event_type, data, state_change, created in events:
            db.execute(_EVENT_SQL, (device.id, device.account_id, event_type,
                                    json.dumps(data, default=str), int(state_change), ts(created)))

    @staticmethod
    def _device(row: sqlite3.Row) -> Device:
        d = {k: row[k] for k in _DEVICE_FIELDS}
        for key in _DEVICE_TIMES:
            d[key] = from_ts(d[key])
        d["state"] = DeviceState(d["state"])
        d["resources"] = json.loads(d["resources"])
        return Device(**d)

    def _device_values(self, device: Device) -> tuple[Any, ...]:
        values = []
        for name in _DEVICE_FIELDS:
            value = getattr(device, name)
            if name in _DEVICE_TIMES:
                value = ts(value)
            elif name == "resources":
                value = json.dumps(value, separators=(",", ":"))
            elif name == "state":
                value = str(value)
            values.append(value)
        return tuple(values)

    def create_device(self, account_id: str, endpoint_name: str, *, device_id: str | None = None,
                      state: DeviceState = DeviceState.CLOUD_ENROLLING, events: Sequence[EventRow] = (),
                      **attrs: Any) -> Device:
        """Create a Device Directory entry with a fresh 32-hex id (unless given), and its `events`
        in the same transaction."""
        self._require_account(account_id)
        now = utcnow()
        device = Device(id=device_id or new_id(), account_id=account_id, endpoint_name=endpoint_name,
                        state=state, created_at=now, updated_at=now, **attrs)
        try:
            with self._tx() as db:
                db.execute(_INSERT_SQL, self._device_values(device))
                self._write_events(db, device, events)
                counts = self.__dict__.get("_device_counts")
                if counts is not None and account_id in counts:
                    counts[account_id] += 1
        except sqlite3.IntegrityError:
            raise ConflictError(f"Device {device.id} already exists; use another id.") from None
        return device

    def update_device(self, device_id: str, *, when_state: tuple[DeviceState, ...] | None = None,
                      state_from: tuple[DeviceState, ...] | None = None,
                      events: Sequence[EventRow] | Callable[[Device], Sequence[EventRow]] = (),
                      **changes: Any) -> Device:
        """Change fields of a device (updated_at is set) and write its `events` in the same
        transaction; returns the new row.

        With `when_state`, the change applies only if the device is in one of those states at
        that moment (in the same transaction); otherwise the row is returned unchanged and no
        event is written. With `state_from`, only the `state` change waits for one of those
        states; the other fields and the events are written anyway. `events` may be a function
        of the new row (an event that names the state the device ended in).
        """
        unknown = set(changes) - set(_DEVICE_FIELDS) - {"id"}
        if unknown or "id" in changes:
            raise StoreError(f"Cannot change {sorted(unknown | ({'id'} & set(changes)))} of a device.")
        if "state" in changes:
            changes["state"] = DeviceState(changes["state"])
        with self._tx() as db:
            row = db.execute("SELECT * FROM devices WHERE id=?", (device_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"No device {device_id!r}; list the devices to find the id.")
            current = DeviceState(row["state"])
            if when_state is not None and current not in when_state:
                return self._device(row)
            if state_from is not None and current not in state_from:
                changes.pop("state", None)
            device = replace(self._device(row), **changes, updated_at=utcnow())
            db.execute(_UPDATE_SQL, (*self._device_values(device), device_id))
            self._write_events(db, device, events(device) if callable(events) else events)
        return device

    def get_device(self, device_id: str) -> Device | None:
        """The device with this id, or None."""
        rows = self._query("SELECT * FROM devices WHERE id=?", (device_id,))
        return self._device(rows[0]) if rows else None

    def list_devices(self, account_id: str | None = None, *, state: DeviceState | str | None = None,
                     endpoint_name: str | None = None, device_key: str | None = None,
                     developer_certificate_id: str | None = None) -> list[Device]:
        """Devices filtered by account, state, endpoint name, bootstrap cert key or developer cert."""
        sql, args = "SELECT * FROM devices WHERE 1=1", []
        for column, value in (("account_id", account_id), ("state", state),
                              ("endpoint_name", endpoint_name), ("device_key", device_key),
                              ("developer_certificate_id", developer_certificate_id)):
            if value is not None:
                sql += f" AND {column}=?"
                args.append(str(value))
        return [self._device(r) for r in self._query(sql + " ORDER BY rowid", tuple(args))]

    def count_devices(self, account_id: str, *, developer_certificate_id: str | None = None) -> int:
        """How many devices an account (or one of its developer certificates) has."""
        if developer_certificate_id:
            rows = self._query("SELECT COUNT(*) AS n FROM devices WHERE developer_certificate_id=?",
                               (developer_certificate_id,))
            return int(rows[0]["n"])
        counts = self.__dict__.setdefault("_device_counts", {})
        count = counts.get(account_id)
        if count is None:
            with self._tx() as db:  # the lock: a create cannot slip between the count and the cache
                count = counts[account_id] = int(db.execute(
                    "SELECT COUNT(*) FROM devices WHERE account_id=?", (account_id,)).fetchone()[0])
        return count
