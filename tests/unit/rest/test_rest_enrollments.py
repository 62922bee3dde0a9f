"""/v3/device-enrollments and the bulk upload / delete jobs over real HTTP."""

from __future__ import annotations

import secrets

import pytest

from harness.rest_client import ApiError


def _identity() -> str:
    return "A-" + ":".join(f"{b:02X}" for b in secrets.token_bytes(32))


def test_create_get_list_delete(account) -> None:
    identity = _identity()
    created = account.admin.create_enrollment("A-" + identity[2:].lower())
    assert created.enrollment_identity == identity and created.account_id == account.id
    assert created.object == "enrollment" and created.claimed_at is None
    assert account.admin.get_enrollment(created.id) == created
    page = account.admin.list_enrollments()
    assert (page.object, page.total_count, page.has_more) == ("list", 1, False)
    account.admin.delete_enrollment(created.id)
    with pytest.raises(ApiError) as err:
        account.admin.get_enrollment(created.id)
    assert err.value.status == 404 and err.value.error["object"] == "error"


def test_invalid_identity_is_400(account) -> None:
    with pytest.raises(ApiError) as err:
        account.admin.create_enrollment("B-12:34")
    assert err.value.status == 400 and "'A-'" in err.value.message
    with pytest.raises(ApiError) as err:
        account.admin.request("POST", "/v3/device-enrollments", expect=201, json_body={"x": 1})
    assert err.value.status == 400 and "enrollment_identity" in err.value.message


def test_duplicate_in_this_or_another_account_is_409(account, service_thread, base_url) -> None:
    from harness.rest_client import RestClient
    identity = _identity()
    account.admin.create_enrollment(identity)
    with pytest.raises(ApiError) as err:
        account.admin.create_enrollment(identity)
    assert err.value.status == 409
    other_key = "ak_" + secrets.token_hex(8)
    service_thread.run(lambda: service_thread.service.create_account("other", admin_api_key=other_key))
    with RestClient(base_url, other_key) as other, pytest.raises(ApiError) as err:
        other.create_enrollment(identity)
    assert err.value.status == 409
    with RestClient(base_url, other_key) as other, pytest.raises(ApiError) as err:
        other.get_enrollment(account.admin.list_enrollments().data[0].id)
    assert err.value.status == 404


def test_pagination_after_order_and_limit_bounds(account) -> None:
    ids = [account.admin.create_enrollment(_identity()).id for _ in range(5)]
    first = account.admin.list_enrollments(limit=2)
    assert [e.id for e in first.data] == ids[:2] and first.has_more and first.total_count == 5
    second = account.admin.list_enrollments(limit=2, after=ids[1])
    assert [e.id for e in second.data] == ids[2:4]
    desc = account.admin.list_enrollments(limit=3, order="DESC")
    assert [e.id for e in desc.data] == ids[::-1][:3]
    assert [e.id for e in account.admin.iter_enrollments()] == ids
    for bad in ({"limit": 1}, {"limit": 1001}, {"order": "UP"}, {"after": "nope"}):
        with pytest.raises(ApiError) as err:
            account.admin.request("GET", "/v3/device-enrollments", expect=200, params=bad)
        assert err.value.status == 400, bad


def test_bulk_upload_counts_and_reports(account) -> None:
    good = [_identity() for _ in range(3)]
    taken = _identity()
    account.admin.create_enrollment(taken)
    csv = ("enrollment_identity,comment\n"
           f"  {good[0]}  ,first\n"
           f'"{good[1]}",quoted\n'
           "\n"
           f'  "{good[2]}"  \n'
           f"{taken}\n"
           "A-not-valid\n")
    job = account.admin.start_bulk("upload", csv)
    assert job.object == "enrollment-identity-bulk-uploads" and job.total_count == 5
    done = account.admin.wait_bulk("upload", job.id)
    assert (done.processed_count, done.errors_count) == (5, 2)
    assert account.admin.list_enrollments().total_count == 4
    full = account.admin.bulk_report(done.full_report_file)
    errors = account.admin.bulk_report(done.errors_report_file).splitlines()
    assert full.splitlines()[0] == ("entity__id,entity__created_at,error__code,error__type,"
                                    "error__message,error__fields")
    assert len(full.splitlines()) == 6 and len(errors) == 3
    assert errors[1].startswith(f"{taken},") and ",409,duplicate," in errors[1]
    assert errors[2].startswith("A-not-valid,") and ",400," in errors[2]


def test_bulk_delete(account) -> None:
    identities = [_identity() for _ in range(2)]
    for identity in identities:
        account.admin.create_enrollment(identity)
    job = account.admin.start_bulk("delete", "id\n" + "\n".join([*identities, _identity()]) + "\n")
    done = account.admin.wait_bulk("delete", job.id)
    assert done.object == "enrollment-identity-bulk-deletes"
    assert (done.processed_count, done.errors_count) == (3, 1)
    assert account.admin.list_enrollments().total_count == 0
    with pytest.raises(ApiError) as err:
        account.admin.get_bulk("upload", job.id)
    assert err.value.status == 404


def test_bulk_upload_too_large_is_413(account) -> None:
    with pytest.raises(ApiError) as err:
        account.admin.start_bulk("upload", b"h\n" + b"x" * (10 * 1024 * 1024))
    assert err.value.status == 413 and "10 MB" in err.value.message
