"""/v3/trusted-certificates (shared with the bootstrap server) and /v3/devices over real HTTP."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes

from harness.cloud.records import DeviceState
from harness.pki import make_ca
from harness.rest_client import ApiError


def test_trusted_certificate_lifecycle_changes_what_bootstrap_trusts(account, service_thread) -> None:
    ca = make_ca("factory CA")
    store = service_thread.service.store

    def trusted_ids() -> list[str]:
        return [t.id for t in service_thread.run(lambda: store.list_trusted_certificates(
            account.id, service="bootstrap", active_only=True))]

    tc = account.admin.create_trusted_certificate("factory", ca.cert_pem, enrollment_mode=True,
                                                  description="line 1")
    assert tc.object == "trusted-cert" and tc.valid and tc.status == "ACTIVE"
    assert tc.subject == ca.cert.subject.rfc4514_string() and tc.issuer == tc.subject
    assert tc.certificate_fingerprint == ca.cert.fingerprint(hashes.SHA256()).hex()
    assert trusted_ids() == [tc.id]
    updated = account.admin.update_trusted_certificate(tc.id, status="INACTIVE", name="factory-old")
    assert (updated.status, updated.name) == ("INACTIVE", "factory-old")
    assert trusted_ids() == []
    assert account.admin.get_trusted_certificate(tc.id).name == "factory-old"
    assert account.admin.list_trusted_certificates(service="bootstrap").total_count == 1
    account.admin.delete_trusted_certificate(tc.id)
    with pytest.raises(ApiError) as err:
        account.admin.get_trusted_certificate(tc.id)
    assert err.value.status == 404


def test_trusted_certificate_errors(account) -> None:
    ca = make_ca("dup CA")
    account.admin.create_trusted_certificate("one", ca.cert_pem)
    with pytest.raises(ApiError) as err:
        account.admin.create_trusted_certificate("one", make_ca("other").cert_pem)
    assert err.value.status == 409
    with pytest.raises(ApiError) as err:
        account.admin.create_trusted_certificate("two", ca.cert_pem)
    assert err.value.status == 409
    with pytest.raises(ApiError) as err:
        account.admin.create_trusted_certificate("bad", "-----BEGIN CERTIFICATE-----\nnope\n")
    assert err.value.status == 400 and "certificate" in err.value.message.lower()
    with pytest.raises(ApiError) as err:
        account.admin.create_trusted_certificate("svc", make_ca("x").cert_pem, service="mqtt")
    assert err.value.status == 400 and "service" in err.value.message
    second = account.admin.create_trusted_certificate("second", make_ca("second").cert_pem,
                                                      service="lwm2m")
    with pytest.raises(ApiError) as err:
        account.admin.update_trusted_certificate(second.id, name="one")
    assert err.value.status == 409
    with pytest.raises(ApiError) as err:  # the subject of "one"
        account.admin.update_trusted_certificate(second.id, certificate=ca.cert_pem.decode())
    assert err.value.status == 409 and "subject" in err.value.message


def test_trusted_certificate_with_a_taken_subject_is_409(account) -> None:
    account.admin.create_trusted_certificate("first", make_ca("same subject CA").cert_pem)
    with pytest.raises(ApiError) as err:  # another key, same subject
        account.admin.create_trusted_certificate("second", make_ca("same subject CA").cert_pem)
    assert err.value.status == 409 and "subject" in err.value.message
    assert account.admin.list_trusted_certificates().total_count == 1


def test_trusted_certificate_renewed_ca_replaces_the_certificate(account, service_thread) -> None:
    old, renewed = make_ca("OEM CA 2020"), make_ca("OEM CA 2026")
    tc = account.admin.create_trusted_certificate("oem", old.cert_pem)
    updated = account.admin.update_trusted_certificate(tc.id, certificate=renewed.cert_pem.decode())
    assert updated.id == tc.id and updated.name == "oem"
    assert updated.subject == renewed.cert.subject.rfc4514_string()
    assert updated.certificate_fingerprint == renewed.cert.fingerprint(hashes.SHA256()).hex()
    store = service_thread.service.store
    [stored] = service_thread.run(lambda: store.list_trusted_certificates(account.id))
    assert stored.certificate.strip() == renewed.cert_pem.decode().strip()


def test_devices_list_filters_and_get(account, service_thread) -> None:
    store = service_thread.service.store
    made = service_thread.run(lambda: [
        store.create_device(account.id, "ep-a", state=DeviceState.REGISTERED, device_key="aa" * 32,
                            execution_mode=5),
        store.create_device(account.id, "ep-b", state=DeviceState.BOOTSTRAPPED),
        store.create_device(account.id, "ep-c", state=DeviceState.REGISTERED)])
    everything = account.admin.list_devices()
    assert [d.id for d in everything.data] == [d.id for d in made] and everything.total_count == 3
    registered = account.admin.list_devices(state="registered")
    assert [d.endpoint_name for d in registered.data] == ["ep-a", "ep-c"]
    assert [d.id for d in account.admin.list_devices(endpoint_name="ep-b").data] == [made[1].id]
    one = account.admin.get_device(made[0].id)
    assert (one.state, one.device_key, one.device_execution_mode) == ("registered", "aa" * 32, 5)
    page = account.admin.list_devices(limit=2, order="DESC")
    assert [d.id for d in page.data] == [made[2].id, made[1].id] and page.has_more
    with pytest.raises(ApiError) as err:
        account.admin.list_devices(state="flying")
    assert err.value.status == 400 and "registered" in err.value.message
    with pytest.raises(ApiError) as err:
        account.admin.get_device("0" * 32)
    assert err.value.status == 404


def test_device_events_are_listed(account, service_thread) -> None:
    from harness.cloud import events as ev
    service = service_thread.service
    service_thread.run(lambda: service.events.publish(ev.Event(ev.REGISTRATION, "dev-9", account.id,
                                                               {"ep": "dev-9"})))
    events = account.admin.list_device_events(device_id="dev-9")
    assert [e.event_type for e in events.data] == ["registration"]
    assert events.data[0].state_change is True


def test_device_events_page_in_the_database(account, service_thread) -> None:
    from harness.cloud import events as ev
    service = service_thread.service
    for n in range(5):
        service_thread.run(lambda n=n: service.events.publish(ev.Event(
            ev.REG_UPDATE if n % 2 else ev.REGISTRATION, "dev-p", account.id, {"ep": "dev-p", "n": n})))
    service_thread.run(lambda: service.events.publish(ev.Event(ev.REGISTRATION, "dev-p", "other",
                                                               {"ep": "dev-p"})))
    first = account.admin.list_device_events(device_id="dev-p", limit=2, order="DESC")
    assert [e.data["n"] for e in first.data] == [4, 3]
    assert first.has_more and first.total_count == 5
    rest = account.admin.list_device_events(device_id="dev-p", limit=10, order="DESC",
                                            after=first.data[-1].id)
    assert [e.data["n"] for e in rest.data] == [2, 1, 0] and not rest.has_more
    updates = account.admin.list_device_events(device_id="dev-p", event_type="reg-update")
    assert [e.data["n"] for e in updates.data] == [1, 3] and updates.total_count == 2
    with pytest.raises(ApiError) as err:
        account.admin.list_device_events(after="not-an-event-id")
    assert err.value.status == 400 and "after" in err.value.message


def test_unknown_path_and_method_give_error_bodies(account) -> None:
    with pytest.raises(ApiError) as err:
        account.admin.request("GET", "/v3/nothing-here", expect=200)
    assert err.value.status == 404 and err.value.error["object"] == "error"
    with pytest.raises(ApiError) as err:
        account.admin.request("PATCH", "/v3/device-enrollments", expect=200)
    assert err.value.status == 405
