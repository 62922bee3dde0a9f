"""The service's persistent state in one SQLite file (WAL): accounts, CAs, enrollments, devices."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import sqlite3
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes

from harness.cloud.psk_store import PskStore
from harness.cloud.records import (
    Account,
    Denial,
    DeveloperCertificateRecord,
    Device,
    DeviceState,
    Enrollment,
    EventRecord,
    Page,
    TrustedCertificate,
    new_id,
    utcnow,
)
from harness.cloud.schema import SCHEMA, SCHEMA_VERSION
from harness.cloud.sqlite_db import SqliteDb, from_ts, ts
from harness.errors import HilError
from harness.pki import load_certificate_chain, normalize_enrollment_id

DB_FILE = "service.sqlite3"
SERVICES = ("bootstrap", "lwm2m")
STATUSES = ("ACTIVE", "INACTIVE")


class StoreError(HilError):
    """A store operation the caller asked for that cannot be done (unknown id, duplicate...)."""


class NotFoundError(StoreError):
    """The id asked for does not exist."""


class ConflictError(StoreError):
    """The object already exists (duplicate name, enrollment identity...)."""


def hash_api_key(key: str) -> str:
    """SHA-256 hex digest of an API key (only the hash is stored)."""
    return hashlib.sha256(key.encode()).hexdigest()


_DEVICE_TIMES = {"bootstrapped_timestamp", "bootstrap_expiration_date", "connector_expiration_date",
                 "registered_at", "last_seen", "created_at", "updated_at"}
_DEVICE_FIELDS = [f.name for f in fields(Device)]


class Store:
    """SQLite-backed store; thread-safe (one connection behind a lock), every write a transaction."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._sql = SqliteDb(self.path, name="service store", error=StoreError, wal=True)
        self._tx = self._sql.transaction
        self._query = self._sql.query
        self._sql.executescript(SCHEMA)
        self._check_version()
        self.psk = PskStore(self._sql)

    @classmethod
    def open(cls, data_dir: Path) -> Store:
        """Open (or create) the store in `data_dir`."""
        return cls(Path(data_dir) / DB_FILE)

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

    # ------------------------------------------------------------------ accounts

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

    @staticmethod
    def _account(row: sqlite3.Row) -> Account:
        return Account(row["id"], row["name"], row["device_quota"], bool(row["commercial"]),
                       row["admin_key_hash"], from_ts(row["created_at"]))  # type: ignore[arg-type]

    def get_account(self, account_id: str) -> Account | None:
        """The account with this id, or None."""
        rows = self._query("SELECT * FROM accounts WHERE id=?", (account_id,))
        return self._account(rows[0]) if rows else None

    def list_accounts(self) -> list[Account]:
        """All accounts, oldest first."""
        return [self._account(r) for r in self._query("SELECT * FROM accounts ORDER BY rowid")]

    def account_by_api_key(self, api_key: str) -> Account | None:
        """The account whose admin API key is `api_key`, or None (constant-time hash comparison)."""
        wanted = hash_api_key(api_key)
        found = None
        for row in self._query("SELECT * FROM accounts WHERE admin_key_hash IS NOT NULL"):
            if hmac.compare_digest(row["admin_key_hash"], wanted):
                found = row
        return self._account(found) if found is not None else None

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
        return account

    def _require_account(self, account_id: str) -> Account:
        account = self.get_account(account_id)
        if account is None:
            raise NotFoundError(f"No account {account_id!r}; create it first or check the aid.")
        return account

    # ------------------------------------------------------------------ trusted certificates

    def add_trusted_certificate(
        self, account_id: str, name: str, certificate_pem: str | bytes, *, service: str = "bootstrap",
        status: str = "ACTIVE", enrollment_mode: bool = False, description: str = "",
    ) -> TrustedCertificate:
        """Add a trusted CA certificate (PEM; the first certificate of a chain) to an account."""
        self._require_account(account_id)
        if service not in SERVICES:
            raise StoreError(f"Trusted certificate service {service!r} is unknown; "
                             "use 'bootstrap' or 'lwm2m'.")
        if status not in STATUSES:
            raise StoreError(f"Trusted certificate status {status!r} is unknown; use ACTIVE or INACTIVE.")
        pem = certificate_pem.decode() if isinstance(certificate_pem, bytes) else certificate_pem
        cert = load_certificate_chain(pem)[0]
        now = utcnow()
        tc = TrustedCertificate(
            id=new_id(), account_id=account_id, name=name, service=service, status=status,
            enrollment_mode=enrollment_mode, certificate=pem, subject=cert.subject.rfc4514_string(),
            issuer=cert.issuer.rfc4514_string(), fingerprint=cert.fingerprint(hashes.SHA256()).hex(),
            valid_from=cert.not_valid_before_utc, valid_to=cert.not_valid_after_utc,
            description=description, created_at=now, updated_at=now,
        )
        try:
            with self._tx() as db:
                dup = db.execute("SELECT id FROM trusted_certificates WHERE account_id=? AND "
                                 "(name=? OR subject=?)", (account_id, name, tc.subject)).fetchone()
                if dup:
                    raise ConflictError(f"Account {account_id} already has a trusted certificate named "
                                        f"{name!r} or with this subject; use another name or delete it.")
                db.execute("INSERT INTO trusted_certificates VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                           (tc.id, account_id, name, service, status, int(enrollment_mode), pem,
                            tc.subject, tc.issuer, tc.fingerprint, ts(tc.valid_from), ts(tc.valid_to),
                            description, ts(now), ts(now)))
        except sqlite3.IntegrityError:
            raise ConflictError(f"Account {account_id} already has a trusted certificate named "
                                f"{name!r}; use another name.") from None
        return tc

    @staticmethod
    def _trusted(row: sqlite3.Row) -> TrustedCertificate:
        d = dict(row)
        d["enrollment_mode"] = bool(d["enrollment_mode"])
        for key in ("valid_from", "valid_to", "created_at", "updated_at"):
            d[key] = from_ts(d[key])
        return TrustedCertificate(**d)

    def get_trusted_certificate(self, cert_id: str) -> TrustedCertificate | None:
        """The trusted certificate with this id, or None."""
        rows = self._query("SELECT * FROM trusted_certificates WHERE id=?", (cert_id,))
        return self._trusted(rows[0]) if rows else None

    def list_trusted_certificates(self, account_id: str | None = None, *, service: str | None = None,
                                  active_only: bool = False) -> list[TrustedCertificate]:
        """Trusted certificates of one account (or all), optionally one service / ACTIVE only."""
        sql, args = "SELECT * FROM trusted_certificates WHERE 1=1", []
        if account_id is not None:
            sql += " AND account_id=?"
            args.append(account_id)
        if service is not None:
            sql += " AND service=?"
            args.append(service)
        if active_only:
            sql += " AND status='ACTIVE'"
        return [self._trusted(r) for r in self._query(sql + " ORDER BY rowid", tuple(args))]

    def update_trusted_certificate(self, cert_id: str, **changes: Any) -> TrustedCertificate:
        """Change name, status, enrollment_mode, description, service or the certificate (PEM)
        of a trusted certificate; a new certificate recomputes subject, issuer, fingerprint and
        validity."""
        tc = self.get_trusted_certificate(cert_id)
        if tc is None:
            raise NotFoundError(f"No trusted certificate {cert_id!r}; list them to find the id.")
        if "certificate" in changes:
            pem = changes["certificate"]
            pem = pem.decode() if isinstance(pem, bytes) else pem
            cert = load_certificate_chain(pem)[0]
            changes.update(certificate=pem, subject=cert.subject.rfc4514_string(),
                           issuer=cert.issuer.rfc4514_string(),
                           fingerprint=cert.fingerprint(hashes.SHA256()).hex(),
                           valid_from=cert.not_valid_before_utc, valid_to=cert.not_valid_after_utc)
        allowed = {"name", "status", "enrollment_mode", "description", "service", "certificate",
                   "subject", "issuer", "fingerprint", "valid_from", "valid_to"}
        unknown = set(changes) - allowed
        if unknown:
            raise StoreError(f"Cannot change {sorted(unknown)} of a trusted certificate; "
                             f"change {sorted(allowed)}.")
        if changes.get("status", tc.status) not in STATUSES:
            raise StoreError(f"Status {changes['status']!r} is unknown; use ACTIVE or INACTIVE.")
        if changes.get("service", tc.service) not in SERVICES:
            raise StoreError(f"Service {changes['service']!r} is unknown; use 'bootstrap' or 'lwm2m'.")
        tc = replace(tc, **changes, updated_at=utcnow())
        try:
            with self._tx() as db:
                db.execute("UPDATE trusted_certificates SET name=?, status=?, enrollment_mode=?, "
                           "description=?, service=?, certificate=?, subject=?, issuer=?, "
                           "fingerprint=?, valid_from=?, valid_to=?, updated_at=? WHERE id=?",
                           (tc.name, tc.status, int(tc.enrollment_mode), tc.description, tc.service,
                            tc.certificate, tc.subject, tc.issuer, tc.fingerprint,
                            ts(tc.valid_from), ts(tc.valid_to), ts(tc.updated_at), tc.id))
        except sqlite3.IntegrityError:
            raise ConflictError(f"Another trusted certificate is named {tc.name!r}; "
                                "use another name.") from None
        return tc

    def delete_trusted_certificate(self, cert_id: str) -> None:
        """Delete a trusted certificate."""
        with self._tx() as db:
            cur = db.execute("DELETE FROM trusted_certificates WHERE id=?", (cert_id,))
        if cur.rowcount == 0:
            raise NotFoundError(f"No trusted certificate {cert_id!r}; list them to find the id.")

    # ------------------------------------------------------------------ enrollments

    def add_enrollment(self, account_id: str, enrollment_identity: str, *,
                       expires_at: dt.datetime | None = None) -> Enrollment:
        """Add an enrollment identity (A-...) to an account's enrollment list."""
        self._require_account(account_id)
        identity = normalize_enrollment_id(enrollment_identity)
        enrollment = Enrollment(new_id(), account_id, identity, utcnow(), expires_at, None, None)
        try:
            with self._tx() as db:
                db.execute("INSERT INTO enrollments VALUES (?,?,?,?,?,?,?)",
                           (enrollment.id, account_id, identity, ts(enrollment.created_at),
                            ts(expires_at), None, None))
        except sqlite3.IntegrityError:
            raise ConflictError(f"Enrollment identity {identity[:14]}... is already enrolled (in this "
                                "or another account); delete that enrollment first.") from None
        return enrollment

    @staticmethod
    def _enrollment(row: sqlite3.Row) -> Enrollment:
        return Enrollment(row["id"], row["account_id"], row["enrollment_identity"],
                          from_ts(row["created_at"]), from_ts(row["expires_at"]),  # type: ignore[arg-type]
                          from_ts(row["claimed_at"]), row["enrolled_device_id"])

    def get_enrollment(self, enrollment_id: str) -> Enrollment | None:
        """The enrollment with this id, or None."""
        rows = self._query("SELECT * FROM enrollments WHERE id=?", (enrollment_id,))
        return self._enrollment(rows[0]) if rows else None

    def find_enrollment(self, enrollment_identity: str) -> Enrollment | None:
        """The enrollment (in any account) for this enrollment identity, or None."""
        try:
            identity = normalize_enrollment_id(enrollment_identity)
        except HilError:
            return None
        rows = self._query("SELECT * FROM enrollments WHERE enrollment_identity=?", (identity,))
        return self._enrollment(rows[0]) if rows else None

    def list_enrollments(self, account_id: str, *, limit: int = 50, after: str | None = None,
                         order: str = "ASC") -> Page[Enrollment]:
        """One page of an account's enrollments, by creation; `after` is the last id seen."""
        return self._page("enrollments", account_id, limit, after, order, self._enrollment)

    def claim_enrollment(self, enrollment_id: str, device_id: str) -> Enrollment:
        """Mark an enrollment claimed by a device (claimed_at now, enrolled_device_id)."""
        with self._tx() as db:
            cur = db.execute("UPDATE enrollments SET claimed_at=?, enrolled_device_id=? WHERE id=?",
                             (ts(utcnow()), device_id, enrollment_id))
        if cur.rowcount == 0:
            raise NotFoundError(f"No enrollment {enrollment_id!r}; list them to find the id.")
        return self.get_enrollment(enrollment_id)  # type: ignore[return-value]

    def delete_enrollment(self, enrollment_id: str) -> None:
        """Delete an enrollment (the device can then be claimed by another account)."""
        with self._tx() as db:
            cur = db.execute("DELETE FROM enrollments WHERE id=?", (enrollment_id,))
        if cur.rowcount == 0:
            raise NotFoundError(f"No enrollment {enrollment_id!r}; list them to find the id.")

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

    # ------------------------------------------------------------------ developer certificates

    def add_developer_certificate(self, account_id: str, fingerprint: str, name: str
                                  ) -> DeveloperCertificateRecord:
        """Record a developer certificate (by its SHA-256 hex fingerprint) of an account."""
        self._require_account(account_id)
        rec = DeveloperCertificateRecord(new_id(), account_id, fingerprint.lower(), name, utcnow())
        try:
            with self._tx() as db:
                db.execute("INSERT INTO developer_certificates VALUES (?,?,?,?,?)",
                           (rec.id, account_id, rec.fingerprint, name, ts(rec.created_at)))
        except sqlite3.IntegrityError:
            raise ConflictError("This developer certificate is already recorded; "
                                "issue a new one.") from None
        return rec

    @staticmethod
    def _devcert(row: sqlite3.Row) -> DeveloperCertificateRecord:
        return DeveloperCertificateRecord(row["id"], row["account_id"], row["fingerprint"],
                                          row["name"], from_ts(row["created_at"]))  # type: ignore[arg-type]

    def find_developer_certificate(self, fingerprint: str) -> DeveloperCertificateRecord | None:
        """The developer certificate with this fingerprint (hex), or None."""
        rows = self._query("SELECT * FROM developer_certificates WHERE fingerprint=?",
                           (fingerprint.lower(),))
        return self._devcert(rows[0]) if rows else None

    def list_developer_certificates(self, account_id: str) -> list[DeveloperCertificateRecord]:
        """Developer certificates of an account."""
        return [self._devcert(r) for r in self._query(
            "SELECT * FROM developer_certificates WHERE account_id=? ORDER BY rowid", (account_id,))]

    def delete_developer_certificate(self, devcert_id: str) -> None:
        """Delete a developer certificate record (its devices stay)."""
        with self._tx() as db:
            cur = db.execute("DELETE FROM developer_certificates WHERE id=?", (devcert_id,))
        if cur.rowcount == 0:
            raise NotFoundError(f"No developer certificate {devcert_id!r}; list them to find the id.")

    # ------------------------------------------------------------------ devices

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
                      state: DeviceState = DeviceState.CLOUD_ENROLLING, **attrs: Any) -> Device:
        """Create a Device Directory entry with a fresh 32-hex id (unless given)."""
        self._require_account(account_id)
        now = utcnow()
        device = Device(id=device_id or new_id(), account_id=account_id, endpoint_name=endpoint_name,
                        state=state, created_at=now, updated_at=now, **attrs)
        marks = ",".join("?" * len(_DEVICE_FIELDS))
        try:
            with self._tx() as db:
                db.execute(f"INSERT INTO devices ({','.join(_DEVICE_FIELDS)}) VALUES ({marks})",  # noqa: S608
                           self._device_values(device))
        except sqlite3.IntegrityError:
            raise ConflictError(f"Device {device.id} already exists; use another id.") from None
        return device

    def update_device(self, device_id: str, *, when_state: tuple[DeviceState, ...] | None = None,
                      **changes: Any) -> Device:
        """Change fields of a device (updated_at is set); returns the new row.

        With `when_state`, the change applies only if the device is in one of those states at
        that moment (in the same transaction); otherwise the row is returned unchanged.
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
            if when_state is not None and DeviceState(row["state"]) not in when_state:
                return self._device(row)
            device = replace(self._device(row), **changes, updated_at=utcnow())
            sets = ",".join(f"{n}=?" for n in _DEVICE_FIELDS)
            db.execute(f"UPDATE devices SET {sets} WHERE id=?",  # noqa: S608
                       (*self._device_values(device), device_id))
        return device

    def get_device(self, device_id: str) -> Device | None:
        """The device with this id, or None."""
        rows = self._query("SELECT * FROM devices WHERE id=?", (device_id,))
        return self._device(rows[0]) if rows else None

    def delete_device(self, device_id: str) -> None:
        """Delete a device from the directory."""
        with self._tx() as db:
            cur = db.execute("DELETE FROM devices WHERE id=?", (device_id,))
        if cur.rowcount == 0:
            raise NotFoundError(f"No device {device_id!r}; list the devices to find the id.")

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

    def list_devices_page(self, account_id: str, *, limit: int = 50, after: str | None = None,
                          order: str = "ASC") -> Page[Device]:
        """One page of an account's devices, by creation."""
        return self._page("devices", account_id, limit, after, order, self._device)

    def count_devices(self, account_id: str, *, developer_certificate_id: str | None = None) -> int:
        """How many devices an account (or one of its developer certificates) has."""
        if developer_certificate_id:
            rows = self._query("SELECT COUNT(*) AS n FROM devices WHERE developer_certificate_id=?",
                               (developer_certificate_id,))
        else:
            rows = self._query("SELECT COUNT(*) AS n FROM devices WHERE account_id=?", (account_id,))
        return int(rows[0]["n"])

    # ------------------------------------------------------------------ events and denials

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

    def list_denials(self, *, account_id: str | None = None) -> list[Denial]:
        """Rejected bootstraps, oldest first."""
        sql, args = "SELECT * FROM denials", ()
        if account_id is not None:
            sql, args = sql + " WHERE account_id=?", (account_id,)
        return [Denial(r["id"], r["reason"], r["endpoint_name"], r["account_id"],
                       r["enrollment_identity"], r["fingerprint"], r["trusted_certificate_id"],
                       from_ts(r["created_at"])) for r in self._query(sql + " ORDER BY id", args)]  # type: ignore[arg-type]
