"""The enrollment list: enrollment identities (A-...) an account claims by First-to-Claim."""

from __future__ import annotations

import datetime as dt
import sqlite3

from harness.cloud.records import Enrollment, Page, new_id, utcnow
from harness.cloud.sqlite_db import from_ts, ts
from harness.cloud.store.base import ConflictError, NotFoundError, StoreBase
from harness.errors import HilError
from harness.pki import normalize_enrollment_id


class EnrollmentStore(StoreBase):
    """Enrollments of accounts."""

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
