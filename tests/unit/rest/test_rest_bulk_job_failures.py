"""A bulk job whose store fails still completes, with 500 rows in its report."""

from __future__ import annotations

import asyncio
import secrets

from harness.cloud.rest.api_keys import ApiKeyStorage
from harness.cloud.rest.context import RestContext
from harness.cloud.rest.notifications import NotificationHub
from harness.cloud.rest.routes_enrollments import _run_job
from harness.cloud.rest.storage import RestStorage
from harness.cloud.store import Store


def _identity() -> str:
    return "A-" + ":".join(f"{b:02X}" for b in secrets.token_bytes(32))


def test_bulk_job_completes_when_the_store_fails(tmp_path) -> None:
    store = Store.open(tmp_path)
    storage = RestStorage(store.path)
    ctx = RestContext(store=store, storage=storage, hub=NotificationHub(storage),
                      api_keys=ApiKeyStorage(store.path))
    try:
        account = store.create_account("acme")
        job = storage.create_bulk(account.id, "upload", 2)
        store.close()  # e.g. the service stopping while the job runs
        asyncio.run(_run_job(ctx, job.id, account.id, "upload", [_identity(), "A-bad"]))
        done = storage.get_bulk(job.id)
        assert (done.status, done.processed_count, done.errors_count) == ("completed", 2, 2)
        lines = done.errors_report.splitlines()
        assert ",500,internal_error," in lines[1] and ",400,invalid," in lines[2]
    finally:
        asyncio.run(ctx.hub.close())
        storage.close()
        store.close()
