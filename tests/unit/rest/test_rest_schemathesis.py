"""schemathesis against /openapi.json, CI-sized: every operation, one schema-valid or one
schema-invalid request (alternately), authenticated; no 5xx and every response as documented
(tools/fuzz_rest.py runs both kinds and more examples)."""

from __future__ import annotations

import pytest
from rest_schema_fuzz import Credentials, fuzz
from rest_test_support import Receiver

from harness.cloud.rest.api_keys import load_or_create_operator_key


@pytest.fixture
def receiver():
    """A local webhook receiver (generated callback URLs are replaced by its URL)."""
    hook = Receiver()
    yield hook
    hook.close()


def test_every_operation_answers_as_documented(base_url, service, account, receiver):
    creds = Credentials(account.api_key, load_or_create_operator_key(service.data_dir), receiver.url)
    report = fuzz(base_url, creds, examples=1, seed=12, alternate=True)
    assert report.operations >= 59, report.figures()
    assert not report.server_errors, report.server_errors[:5]
    assert not report.failures, report.failures
    assert report.operations <= report.requests, report.figures()
