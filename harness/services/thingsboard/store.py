"""The ThingsBoard service's state in SQLite: devices, credentials, profiles, events, data."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.cloud.sqlite_db import SqliteDb
from harness.errors import HilError
from harness.services.thingsboard import records as r

SCHEMA = """
CREATE TABLE IF NOT EXISTS devices (
  id TEXT PRIMARY KEY, name TEXT UNIQUE NOT NULL, type TEXT NOT NULL, label TEXT,
  created_ms INTEGER NOT NULL, profile_id TEXT, provisioned INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS credentials (
  id TEXT PRIMARY KEY, device_id TEXT UNIQUE NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
  type TEXT NOT NULL, credentials_id TEXT UNIQUE NOT NULL, value TEXT);
CREATE TABLE IF NOT EXISTS profiles (
  id TEXT PRIMARY KEY, name TEXT UNIQUE NOT NULL, provision_type TEXT NOT NULL,
  provision_key TEXT UNIQUE, provision_secret TEXT, certificate_pem TEXT,
  certificate_regex TEXT NOT NULL DEFAULT '(.*)', allow_create_by_x509 INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY AUTOINCREMENT, ts_ms INTEGER NOT NULL, type TEXT NOT NULL,
  device_id TEXT, client_id TEXT, credentials_type TEXT, transport TEXT, code INTEGER,
  reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS data (
  id INTEGER PRIMARY KEY AUTOINCREMENT, device_id TEXT NOT NULL, scope TEXT NOT NULL,
  ts_ms INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS data_by_device ON data(device_id, scope, key);
"""


class StoreError(HilError):
    """A store operation that cannot be done (unknown device, name taken, bad credentials)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def now_ms() -> int:
    """The current time in epoch milliseconds (ThingsBoard's timestamps)."""
    return int(time.time() * 1000)


class TbStore:
    """Devices, credentials, provisioning profiles, events and device data in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.db = SqliteDb(path, name="ThingsBoard store", error=StoreError, wal=True)
        self.db.executescript(SCHEMA)
        self._listeners: list[Callable[[r.Event], None]] = []
        self._lock = threading.Lock()
        self.revision = 0
        """Counts changes of credentials and profiles (the TLS trust anchors follow it)."""

    def close(self) -> None:
        """Close the database."""
        self.db.close()

    # --- devices ---------------------------------------------------------------------------------
    def create_device(self, name: str, type_: str = "default", *, label: str | None = None,
                      profile_id: str | None = None) -> r.Device:
        """Create a device; StoreError when the name is taken."""
        if not name:
            raise StoreError("Device name should be specified!")
        if self.device_by_name(name) is not None:
            raise StoreError(f"Device with such name already exists: {name}", 400)
        device = r.Device(str(uuid.uuid4()), name, type_ or "default", now_ms(), profile_id, False, label)
        with self.db.transaction() as db:
            db.execute("INSERT INTO devices VALUES (?,?,?,?,?,?,?)",
                       (device.id, name, device.type, label, device.created_ms, profile_id, 0))
        return device

    def _device(self, row: Any) -> r.Device:
        return r.Device(row["id"], row["name"], row["type"], row["created_ms"], row["profile_id"],
                        bool(row["provisioned"]), row["label"])

    def device(self, device_id: str) -> r.Device:
        """The device with this id, or StoreError (404)."""
        rows = self.db.query("SELECT * FROM devices WHERE id=?", (device_id,))
        if not rows:
            raise StoreError(f"Device with id [{device_id}] is not found", 404)
        return self._device(rows[0])

    def device_by_name(self, name: str) -> r.Device | None:
        """The device with this name, or None."""
        rows = self.db.query("SELECT * FROM devices WHERE name=?", (name,))
        return self._device(rows[0]) if rows else None

    def devices(self) -> list[r.Device]:
        """Every device, oldest first."""
        return [self._device(row) for row in self.db.query("SELECT * FROM devices ORDER BY created_ms")]

    def mark_provisioned(self, device_id: str) -> None:
        """Record that the device was provisioned (a pre-provisioned device provisions once)."""
        with self.db.transaction() as db:
            db.execute("UPDATE devices SET provisioned=1 WHERE id=?", (device_id,))

    def delete_device(self, device_id: str) -> None:
        """Delete a device and its credentials."""
        self.device(device_id)
        with self.db.transaction() as db:
            db.execute("DELETE FROM devices WHERE id=?", (device_id,))
        self.revision += 1

    # --- credentials -----------------------------------------------------------------------------
    def set_credentials(self, device_id: str, type_: str, credentials_id: str,
                        value: str | None) -> r.Credentials:
        """Replace the device's credentials; StoreError when another device uses the same id."""
        self.device(device_id)
        clash = self.db.query("SELECT device_id FROM credentials WHERE credentials_id=?", (credentials_id,))
        if clash and clash[0]["device_id"] != device_id:
            raise StoreError("Specified credentials are already registered!", 400)
        old = self.db.query("SELECT id FROM credentials WHERE device_id=?", (device_id,))
        cred_id = old[0]["id"] if old else str(uuid.uuid4())
        with self.db.transaction() as db:
            db.execute("DELETE FROM credentials WHERE device_id=?", (device_id,))
            db.execute("INSERT INTO credentials VALUES (?,?,?,?,?)",
                       (cred_id, device_id, type_, credentials_id, value))
        self.revision += 1
        return r.Credentials(cred_id, device_id, type_, credentials_id, value)

    def _credentials(self, row: Any) -> r.Credentials:
        return r.Credentials(row["id"], row["device_id"], row["type"], row["credentials_id"], row["value"])

    def credentials_of(self, device_id: str) -> r.Credentials:
        """The device's credentials, or StoreError (404)."""
        rows = self.db.query("SELECT * FROM credentials WHERE device_id=?", (device_id,))
        if not rows:
            raise StoreError(f"Device credentials for device [{device_id}] are not found", 404)
        return self._credentials(rows[0])

    def credentials_by_id(self, credentials_id: str) -> r.Credentials | None:
        """The credentials with this credentialsId (token, basic hash, certificate hash), or None."""
        rows = self.db.query("SELECT * FROM credentials WHERE credentials_id=?", (credentials_id,))
        return self._credentials(rows[0]) if rows else None

    def x509_certificates(self) -> list[str]:
        """PEM of every device certificate (the broker's TLS layer trusts them)."""
        return [row["value"] for row in self.db.query(
            "SELECT value FROM credentials WHERE type=?", (r.X509_CERTIFICATE,)) if row["value"]]

    # --- profiles --------------------------------------------------------------------------------
    def create_profile(self, profile: r.Profile) -> r.Profile:
        """Store a provisioning profile (a new id is assigned when it has none)."""
        if any(p.name == profile.name for p in self.profiles()):
            raise StoreError(f"Device profile with such name already exists: {profile.name}")
        if profile.provision_key and self.profile_by_key(profile.provision_key):
            raise StoreError("Device profile with such provision device key already exists!")
        pid = profile.id or str(uuid.uuid4())
        with self.db.transaction() as db:
            db.execute("INSERT INTO profiles VALUES (?,?,?,?,?,?,?,?)",
                       (pid, profile.name, profile.provision_type, profile.provision_key,
                        profile.provision_secret, profile.certificate_pem, profile.certificate_regex,
                        int(profile.allow_create_by_x509)))
        self.revision += 1
        return self.profile(pid)

    def _profile(self, row: Any) -> r.Profile:
        return r.Profile(row["id"], row["name"], row["provision_type"], row["provision_key"],
                         row["provision_secret"], row["certificate_pem"], row["certificate_regex"],
                         bool(row["allow_create_by_x509"]))

    def profile(self, profile_id: str) -> r.Profile:
        """The profile with this id, or StoreError (404)."""
        rows = self.db.query("SELECT * FROM profiles WHERE id=?", (profile_id,))
        if not rows:
            raise StoreError(f"Device profile with id [{profile_id}] is not found", 404)
        return self._profile(rows[0])

    def profile_by_key(self, key: str) -> r.Profile | None:
        """The profile whose provisionDeviceKey is `key`, or None."""
        rows = self.db.query("SELECT * FROM profiles WHERE provision_key=?", (key,))
        return self._profile(rows[0]) if rows else None

    def profiles(self) -> list[r.Profile]:
        """Every profile."""
        return [self._profile(row) for row in self.db.query("SELECT * FROM profiles")]

    # --- events ----------------------------------------------------------------------------------
    def add_listener(self, listener: Callable[[r.Event], None]) -> None:
        """Call `listener(event)` for every event recorded from now on (any thread)."""
        with self._lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[r.Event], None]) -> None:
        """Stop calling `listener`."""
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def record(self, type_: str, reason: str, *, device_id: str | None = None,
               client_id: str | None = None, credentials_type: str | None = None,
               transport: str | None = None, code: int | None = None) -> r.Event:
        """Record an event (never pass a secret in `reason`)."""
        ts = now_ms()
        with self.db.transaction() as db:
            cur = db.execute("INSERT INTO events (ts_ms,type,device_id,client_id,credentials_type,"
                             "transport,code,reason) VALUES (?,?,?,?,?,?,?,?)",
                             (ts, type_, device_id, client_id, credentials_type, transport, code, reason))
            event = r.Event(int(cur.lastrowid or 0), ts, type_, device_id, client_id, credentials_type,
                            transport, code, reason)
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener(event)
        return event

    def events(self, *, after: int = 0, device_id: str | None = None) -> list[r.Event]:
        """Events with id > `after` (optionally of one device), oldest first."""
        sql, args = "SELECT * FROM events WHERE id>?", [after]
        if device_id:
            sql += " AND device_id=?"
            args.append(device_id)
        return [r.Event(row["id"], row["ts_ms"], row["type"], row["device_id"], row["client_id"],
                        row["credentials_type"], row["transport"], row["code"], row["reason"])
                for row in self.db.query(sql + " ORDER BY id", tuple(args))]

    # --- telemetry and attributes ----------------------------------------------------------------
    def save_data(self, device_id: str, scope: str, values: dict[str, Any], ts_ms: int | None = None) -> None:
        """Store telemetry ('telemetry') or client attributes ('CLIENT_SCOPE') key-values."""
        ts = ts_ms or now_ms()
        with self.db.transaction() as db:
            db.executemany("INSERT INTO data (device_id,scope,ts_ms,key,value) VALUES (?,?,?,?,?)",
                           [(device_id, scope, ts, k, json.dumps(v)) for k, v in values.items()])

    def data(self, device_id: str, scope: str) -> dict[str, list[tuple[int, Any]]]:
        """key -> [(ts_ms, value)] newest first."""
        out: dict[str, list[tuple[int, Any]]] = {}
        for row in self.db.query("SELECT key, ts_ms, value FROM data WHERE device_id=? AND scope=? "
                                 "ORDER BY ts_ms DESC, id DESC", (device_id, scope)):
            out.setdefault(row["key"], []).append((row["ts_ms"], json.loads(row["value"])))
        return out
