"""/v3/device-enrollments and the bulk upload / delete jobs."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

from fastapi import APIRouter, File, Query, Response, UploadFile
from fastapi.responses import PlainTextResponse

from harness import rest_models as models
from harness.cloud.records import utcnow
from harness.cloud.rest import serialize
from harness.cloud.rest.auth import Caller, Ctx
from harness.cloud.rest.bulk_csv import MAX_CSV_BYTES, ReportRow, parse_identities, write_report
from harness.cloud.rest.context import RestContext
from harness.cloud.rest.errors import ApiProblem, bad_request, conflict, not_found
from harness.cloud.store import ConflictError, NotFoundError
from harness.errors import HilError
from harness.pki import normalize_enrollment_id

log = logging.getLogger(__name__)
router = APIRouter(tags=["device enrollments"])
UPLOADS = "/v3/device-enrollments-bulk-uploads"
DELETES = "/v3/device-enrollments-bulk-deletes"

Limit = Annotated[int, Query(ge=2, le=1000, description="page size, 2-1000")]


def _valid_identity(text: str) -> str:
    try:
        return normalize_enrollment_id(text)
    except HilError as exc:
        raise bad_request(str(exc), "enrollment_identity") from None


@router.post("/v3/device-enrollments", status_code=201, response_model=models.Enrollment)
def create_enrollment(body: models.EnrollmentRequest, caller: Caller, ctx: Ctx) -> models.Enrollment:
    """Add an enrollment identity to the caller's account (409 if enrolled anywhere)."""
    identity = _valid_identity(body.enrollment_identity)
    try:
        row = ctx.store.add_enrollment(caller.account_id, identity)
    except ConflictError as exc:
        raise conflict(str(exc)) from None
    return serialize.enrollment(row)


@router.get("/v3/device-enrollments", response_model=models.ListResponse[models.Enrollment])
def list_enrollments(caller: Caller, ctx: Ctx, limit: Limit = 50, after: str | None = None,
                     order: str = "ASC") -> dict:
    """One page of the account's enrollments."""
    order = serialize.check_order(order)
    try:
        page = ctx.store.list_enrollments(caller.account_id, limit=limit, after=after, order=order)
    except NotFoundError as exc:
        raise bad_request(str(exc), "after") from None
    return serialize.store_page(page, serialize.enrollment)


def _own_enrollment(ctx: RestContext, account_id: str, enrollment_id: str):
    row = ctx.store.get_enrollment(enrollment_id)
    if row is None or row.account_id != account_id:
        raise not_found("enrollment", enrollment_id)
    return row


@router.get("/v3/device-enrollments/{enrollment_id}", response_model=models.Enrollment)
def get_enrollment(enrollment_id: str, caller: Caller, ctx: Ctx) -> models.Enrollment:
    """One enrollment of the account."""
    return serialize.enrollment(_own_enrollment(ctx, caller.account_id, enrollment_id))


@router.delete("/v3/device-enrollments/{enrollment_id}", status_code=204)
def delete_enrollment(enrollment_id: str, caller: Caller, ctx: Ctx) -> Response:
    """Remove an enrollment from the account."""
    _own_enrollment(ctx, caller.account_id, enrollment_id)
    ctx.store.delete_enrollment(enrollment_id)
    return Response(status_code=204)


# ---------------------------------------------------------------- bulk jobs

def _process(ctx: RestContext, account_id: str, kind: str, identity: str) -> ReportRow:
    now = serialize.iso(utcnow()) or ""
    try:
        value = normalize_enrollment_id(identity)
    except HilError as exc:
        return ReportRow(identity, now, "400", "invalid", str(exc), "enrollment_identity")
    if kind == "upload":
        try:
            row = ctx.store.add_enrollment(account_id, value)
        except ConflictError:
            return ReportRow(value, now, "409", "duplicate",
                             "Enrollment identity already exists (in this or another account).",
                             "enrollment_identity")
        return ReportRow(value, serialize.iso(row.created_at) or now)
    found = ctx.store.find_enrollment(value)
    if found is None or found.account_id != account_id:
        return ReportRow(value, now, "404", "not_found",
                         "Enrollment identity is not in this account.", "enrollment_identity")
    ctx.store.delete_enrollment(found.id)
    return ReportRow(value, now)


async def _run_job(ctx: RestContext, job_id: str, account_id: str, kind: str,
                   identities: list[str]) -> None:
    ctx.storage.update_bulk(job_id, status="processing")
    rows: list[ReportRow] = []
    errors = internal = 0
    for index, identity in enumerate(identities, 1):
        try:
            row = _process(ctx, account_id, kind, identity)
        except Exception:  # noqa: BLE001 - one failing identity must not stall the whole job
            internal += 1
            if internal == 1:
                log.exception("bulk %s %s: identity #%d failed", kind, job_id, index)
            row = ReportRow(identity, serialize.iso(utcnow()) or "", "500", "internal_error",
                            "Internal error; see the service log.", "enrollment_identity")
        rows.append(row)
        errors += row.failed
        if index % 200 == 0:
            ctx.storage.update_bulk(job_id, processed_count=index, errors_count=errors)
            await asyncio.sleep(0)
    if internal:
        log.error("bulk %s %s: %d of %d identities failed with an internal error",
                  kind, job_id, internal, len(identities))
    ctx.storage.update_bulk(job_id, status="completed", processed_count=len(identities),
                            errors_count=errors, completed_at=utcnow(),
                            full_report=write_report(rows),
                            errors_report=write_report([r for r in rows if r.failed]))


def _job_finished(ctx: RestContext, job_id: str, task: asyncio.Task[None]) -> None:
    """Forget a finished job task; a job that crashed says so in the log."""
    ctx.bulk_tasks.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.error("bulk job %s stopped: %r", job_id, task.exception(), exc_info=task.exception())


async def _start_job(ctx: RestContext, account_id: str, kind: str, upload: UploadFile, base: str
                     ) -> models.BulkResponse:
    data = await upload.read(MAX_CSV_BYTES + 1)
    identities = parse_identities(data)
    job = ctx.storage.create_bulk(account_id, kind, len(identities))
    task = asyncio.get_running_loop().create_task(_run_job(ctx, job.id, account_id, kind, identities))
    ctx.bulk_tasks.add(task)
    task.add_done_callback(lambda done: _job_finished(ctx, job.id, done))
    return serialize.bulk(job, base)


def _own_job(ctx: RestContext, account_id: str, job_id: str, kind: str):
    job = ctx.storage.get_bulk(job_id)
    if job is None or job.account_id != account_id or job.kind != kind:
        raise not_found(f"bulk {kind}", job_id)
    return job


def _report(ctx: RestContext, account_id: str, job_id: str, kind: str, which: str) -> PlainTextResponse:
    job = _own_job(ctx, account_id, job_id, kind)
    if job.status != "completed":
        raise ApiProblem(409, f"Bulk job {job_id} is still {job.status}; wait until it is completed.")
    text = job.full_report if which == "full" else job.errors_report
    return PlainTextResponse(text or "", media_type="text/csv")


CsvFile = Annotated[UploadFile, File(description="CSV, <= 10 MB: header line, then one identity a line")]


@router.post(UPLOADS, status_code=201, response_model=models.BulkResponse)
async def bulk_upload(enrollment_identities: CsvFile, caller: Caller, ctx: Ctx) -> models.BulkResponse:
    """Start enrolling every identity of a CSV."""
    return await _start_job(ctx, caller.account_id, "upload", enrollment_identities, UPLOADS)


@router.get(UPLOADS + "/{job_id}", response_model=models.BulkResponse)
def bulk_upload_status(job_id: str, caller: Caller, ctx: Ctx) -> models.BulkResponse:
    """Status and counts of a bulk upload."""
    return serialize.bulk(_own_job(ctx, caller.account_id, job_id, "upload"), UPLOADS)


@router.get(UPLOADS + "/{job_id}/full_report.csv", response_class=PlainTextResponse)
def bulk_upload_full_report(job_id: str, caller: Caller, ctx: Ctx) -> PlainTextResponse:
    """Every identity of a completed upload with its outcome."""
    return _report(ctx, caller.account_id, job_id, "upload", "full")


@router.get(UPLOADS + "/{job_id}/errors_report.csv", response_class=PlainTextResponse)
def bulk_upload_errors_report(job_id: str, caller: Caller, ctx: Ctx) -> PlainTextResponse:
    """The identities of a completed upload that failed, with why."""
    return _report(ctx, caller.account_id, job_id, "upload", "errors")


@router.post(DELETES, status_code=201, response_model=models.BulkResponse)
async def bulk_delete(enrollment_identities: CsvFile, caller: Caller, ctx: Ctx) -> models.BulkResponse:
    """Start deleting every identity of a CSV from the account."""
    return await _start_job(ctx, caller.account_id, "delete", enrollment_identities, DELETES)


@router.get(DELETES + "/{job_id}", response_model=models.BulkResponse)
def bulk_delete_status(job_id: str, caller: Caller, ctx: Ctx) -> models.BulkResponse:
    """Status and counts of a bulk delete."""
    return serialize.bulk(_own_job(ctx, caller.account_id, job_id, "delete"), DELETES)


@router.get(DELETES + "/{job_id}/full_report.csv", response_class=PlainTextResponse)
def bulk_delete_full_report(job_id: str, caller: Caller, ctx: Ctx) -> PlainTextResponse:
    """Every identity of a completed delete with its outcome."""
    return _report(ctx, caller.account_id, job_id, "delete", "full")


@router.get(DELETES + "/{job_id}/errors_report.csv", response_class=PlainTextResponse)
def bulk_delete_errors_report(job_id: str, caller: Caller, ctx: Ctx) -> PlainTextResponse:
    """The identities of a completed delete that failed, with why."""
    return _report(ctx, caller.account_id, job_id, "delete", "errors")
