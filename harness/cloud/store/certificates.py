"""Trusted CA certificates (per account and service) and recorded developer certificates."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from harness.cloud.records import DeveloperCertificateRecord, TrustedCertificate, new_id, utcnow
from harness.cloud.sqlite_db import from_ts, ts
from harness.cloud.store.base import ConflictError, NotFoundError, StoreBase, StoreError
from harness.pki import first_issuer, load_certificate_chain

SERVICES = ("bootstrap", "lwm2m")
STATUSES = ("ACTIVE", "INACTIVE")


class CertificateStore(StoreBase):
    """Trusted certificates and developer certificates of accounts."""

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

    def trusted_issuer(self, account_id: str, cert: x509.Certificate, *, service: str,
                       enrollment_only: bool = False) -> TrustedCertificate | None:
        """The account's ACTIVE trusted CA of `service` that issued `cert` (enrollment-mode CAs
        only when `enrollment_only`), or None."""
        trusted = self.list_trusted_certificates(account_id, service=service, active_only=True)
        return first_issuer(cert, [t for t in trusted if t.enrollment_mode or not enrollment_only])

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
