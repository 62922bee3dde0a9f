"""Store rows -> v3 response objects."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from harness import rest_models as models
from harness.cloud import records
from harness.cloud.rest.errors import bad_request
from harness.cloud.rest.storage import Application, BulkOperation, VerificationKey

T = TypeVar("T")


def iso(value: dt.datetime | None) -> str | None:
    """RFC 3339 UTC with milliseconds and Z, as the v3 API writes times."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def etag(*parts: Any) -> str:
    """A short opaque etag from the parts that change."""
    return hashlib.sha1("|".join(str(p) for p in parts).encode()).hexdigest()[:16]  # noqa: S324


def enrollment(row: records.Enrollment) -> models.Enrollment:
    """Enrollment response."""
    return models.Enrollment(id=row.id, etag=etag(row.id, row.claimed_at), account_id=row.account_id,
                             created_at=iso(row.created_at), expires_at=iso(row.expires_at),
                             claimed_at=iso(row.claimed_at), enrollment_identity=row.enrollment_identity,
                             enrolled_device_id=row.enrolled_device_id)


def trusted_certificate(row: records.TrustedCertificate) -> models.TrustedCertificate:
    """Trusted certificate response with the computed fields."""
    now = dt.datetime.now(dt.UTC)
    return models.TrustedCertificate(
        id=row.id, etag=etag(row.id, row.updated_at), account_id=row.account_id, name=row.name,
        service=row.service, status=row.status, enrollment_mode=row.enrollment_mode,
        certificate=row.certificate, certificate_fingerprint=row.fingerprint, issuer=row.issuer,
        subject=row.subject, validity=iso(row.valid_to), valid=row.valid_from <= now <= row.valid_to,
        description=row.description, owner_id=None, created_at=iso(row.created_at),
        updated_at=iso(row.updated_at))


def device(row: records.Device) -> models.DeviceData:
    """Device Directory response."""
    return models.DeviceData(
        id=row.id, account_id=row.account_id, endpoint_name=row.endpoint_name, state=str(row.state),
        device_key=row.device_key, ca_id=row.ca_id, mechanism=row.mechanism,
        device_execution_mode=int(row.execution_mode),
        bootstrapped_timestamp=iso(row.bootstrapped_timestamp),
        bootstrap_expiration_date=iso(row.bootstrap_expiration_date),
        connector_expiration_date=iso(row.connector_expiration_date),
        endpoint_type=row.endpoint_type, lifetime=row.lifetime,
        created_at=iso(row.created_at), updated_at=iso(row.updated_at))


def device_event(row: records.EventRecord) -> models.DeviceEvent:
    """Device event response."""
    return models.DeviceEvent(id=str(row.id), device_id=row.device_id, event_type=row.event_type,
                              event_type_category=row.event_type.split("-")[0],
                              state_change=row.state_change, data=row.data,
                              date_time=iso(row.created_at))


def application(row: Application) -> models.Application:
    """Application response."""
    return models.Application(id=row.id, etag=etag(row.id, row.updated_at), account_id=row.account_id,
                              name=row.name, description=row.description, status=row.status,
                              created_at=iso(row.created_at), updated_at=iso(row.updated_at))


def verification_key(row: VerificationKey) -> models.VerificationKey:
    """Verification key response (certificate only)."""
    return models.VerificationKey(
        id=row.id, etag=etag(row.id, row.updated_at), account_id=row.account_id,
        application_id=row.application_id, name=row.name, description=row.description,
        certificate=row.certificate, certificate_fingerprint=row.fingerprint, key_type=row.key_type,
        key_bits=row.key_bits, status=row.status, valid_from=iso(row.valid_from),
        expiration=iso(row.valid_to), expired=row.expired(), created_at=iso(row.created_at),
        updated_at=iso(row.updated_at))


def bulk(row: BulkOperation, base_path: str) -> models.BulkResponse:
    """Bulk job response; report URLs are relative to the service root."""
    done = row.status == "completed"
    return models.BulkResponse(
        object="enrollment-identity-bulk-uploads" if row.kind == "upload"
        else "enrollment-identity-bulk-deletes",
        id=row.id, etag=etag(row.id, row.status, row.processed_count), account_id=row.account_id,
        created_at=iso(row.created_at), status=row.status, total_count=row.total_count,
        processed_count=row.processed_count, errors_count=row.errors_count,
        completed_at=iso(row.completed_at),
        full_report_file=f"{base_path}/{row.id}/full_report.csv" if done else None,
        errors_report_file=f"{base_path}/{row.id}/errors_report.csv" if done else None)


def check_order(order: str) -> str:
    """ASC or DESC (any case), else a 400."""
    value = order.upper()
    if value not in ("ASC", "DESC"):
        raise bad_request(f"order {order!r} is unknown; use ASC or DESC.", "order")
    return value


def page_of(items: Sequence[T], *, limit: int, after: str | None, order: str,
            id_of: Callable[[T], str], convert: Callable[[T], Any]) -> dict[str, Any]:
    """The v3 list object over an in-memory list already in ascending creation order."""
    order = check_order(order)
    ordered = list(items) if order == "ASC" else list(reversed(items))
    start = 0
    if after:
        ids = [id_of(i) for i in ordered]
        if after not in ids:
            raise bad_request(f"after={after!r} is not an id of this list; pass the id of the last "
                              "item you got.", "after")
        start = ids.index(after) + 1
    chunk = ordered[start:start + limit]
    return {"object": "list", "limit": limit, "after": after, "order": order,
            "has_more": start + limit < len(ordered), "total_count": len(items),
            "data": [convert(i) for i in chunk]}


def store_page(page: records.Page[Any], convert: Callable[[Any], Any]) -> dict[str, Any]:
    """The v3 list object from a store Page."""
    return {"object": "list", "limit": page.limit, "after": page.after, "order": page.order,
            "has_more": page.has_more, "total_count": page.total_count,
            "data": [convert(i) for i in page.data]}
