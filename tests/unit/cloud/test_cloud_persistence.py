"""Restart persistence and the store's own rules (pagination, conflicts, schema version)."""

import sqlite3

import pytest
from cloud_testkit import device, factory_ca, onboard, run, running, trusted_account

from harness import pki
from harness.cloud.records import DeviceState, utcnow
from harness.cloud.store import ConflictError, NotFoundError, Store, StoreError
from harness.errors import HilError


def test_cloud_restart_keeps_accounts_enrollments_devices_and_pki(tmp_path):
    ca = factory_ca()
    later = pki.make_bootstrap_device_cert(ca, "ftc-later").cert

    async def first():
        async with running(tmp_path) as svc:
            acc = trusted_account(svc, ca, enrollment=True)
            dev = device(svc, ca, "ep-persist")
            svc.enroll(acc.id, pki.enrollment_id(later))
            await onboard(svc, dev, aid=acc.id)
            await dev.close()
            return acc.id, dev.device_id, svc.server_ca_der, dev
    aid, device_id, server_ca, dev = run(first())

    async def second():
        async with running(tmp_path) as svc:
            assert svc.server_ca_der == server_ca  # devices keep trusting the service
            assert svc.store.get_account(aid).name == "acme"
            [enrollment] = svc.store.list_enrollments(aid).data
            assert enrollment.enrollment_identity == pki.enrollment_id(later)
            entry = svc.device(device_id)
            assert entry.endpoint_name == "ep-persist" and entry.state == DeviceState.REGISTERED
            # the LwM2M credential issued before the restart still registers, same id
            response = await dev.register(f"{svc.lwm2m_uri()}?aid={aid}")
            assert str(response.code).startswith("2.01") and dev.device_id == device_id
            assert [e.event_type for e in svc.store.list_events(device_id=device_id)][:3] == [
                "device-created", "bootstrap", "registration"]
            await dev.close()

    run(second())
    assert oct((tmp_path / "pki" / "server-ca.key").stat().st_mode & 0o777) == "0o600"


def test_cloud_store_pagination_and_conflicts(tmp_path):
    store = Store.open(tmp_path)
    try:
        acc = store.create_account("a", device_quota=5)
        ca = factory_ca()
        ids = [store.add_enrollment(acc.id, pki.enrollment_id(
            pki.make_bootstrap_device_cert(ca, f"d{i}").cert)).id for i in range(5)]
        page = store.list_enrollments(acc.id, limit=2)
        assert [e.id for e in page.data] == ids[:2] and page.has_more and page.total_count == 5
        page = store.list_enrollments(acc.id, limit=2, after=ids[3])
        assert [e.id for e in page.data] == ids[4:] and not page.has_more
        page = store.list_enrollments(acc.id, limit=10, order="desc")
        assert [e.id for e in page.data] == ids[::-1]
        with pytest.raises(ConflictError):
            identity = store.get_enrollment(ids[0]).enrollment_identity
            store.add_enrollment(acc.id, "A-" + identity[2:].lower())
        with pytest.raises(NotFoundError):
            store.list_enrollments(acc.id, after="nope")
        other = store.create_account("b")
        with pytest.raises(NotFoundError):  # another account's id is not a cursor of this list
            store.list_enrollments(other.id, after=ids[0])
        with pytest.raises(StoreError, match="limit"):
            store.list_enrollments(acc.id, limit=0)
        store.add_trusted_certificate(acc.id, "ca", ca.cert_pem)
        with pytest.raises(ConflictError):
            store.add_trusted_certificate(acc.id, "ca", factory_ca("x").cert_pem)
        with pytest.raises(HilError, match="No account"):
            store.create_device("missing", "ep")
        dev = store.create_device(acc.id, "ep")
        assert store.update_device(dev.id, state="registered").state is DeviceState.REGISTERED
        assert store.list_devices(acc.id, state="registered")[0].id == dev.id
    finally:
        store.close()


def test_cloud_store_refuses_other_schema_version(tmp_path):
    Store.open(tmp_path).close()
    with sqlite3.connect(tmp_path / "service.sqlite3") as db:
        db.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    with pytest.raises(StoreError, match="schema version 99"):
        Store.open(tmp_path)


def test_store_finds_the_account_of_an_admin_api_key_only(tmp_path):
    store = Store.open(tmp_path)
    try:
        first = store.create_account("first", admin_api_key="ak_first")
        second = store.create_account("second", admin_api_key="ak_second")
        store.create_account("keyless")
        assert store.account_by_api_key("ak_first").id == first.id
        assert store.account_by_api_key("ak_second").id == second.id
        assert store.account_by_api_key("ak_third") is None
        assert store.account_by_api_key("") is None
        store.update_account(first.id, admin_api_key=None)
        assert store.account_by_api_key("ak_first") is None
    finally:
        store.close()


def test_store_state_from_guards_only_the_state_and_the_event_names_the_state_kept(tmp_path):
    store = Store.open(tmp_path)
    try:
        account = store.create_account("guarded")
        dev = store.create_device(account.id, "ep-guard", events=[
            ("device-created", {"ep": "x"}, False, utcnow())])
        store.update_device(dev.id, state=DeviceState.REGISTERED)

        def event(entry):
            return [("bootstrap", {"state": str(entry.state)}, True, utcnow())]

        after = store.update_device(dev.id, state=DeviceState.BOOTSTRAPPED, events=event,
                                    state_from=(DeviceState.CLOUD_ENROLLING,), lifetime=77)
        assert after.state == DeviceState.REGISTERED and after.lifetime == 77
        stored = store.list_events(device_id=dev.id)
        assert [(e.event_type, e.data) for e in stored] == [
            ("device-created", {"ep": "x"}), ("bootstrap", {"state": str(DeviceState.REGISTERED)})]
        moved = store.update_device(dev.id, state=DeviceState.CLOUD_ENROLLING)
        assert moved.state == DeviceState.CLOUD_ENROLLING
        assert store.update_device(dev.id, state=DeviceState.BOOTSTRAPPED,
                                   state_from=(DeviceState.CLOUD_ENROLLING,)
                                   ).state == DeviceState.BOOTSTRAPPED
    finally:
        store.close()
