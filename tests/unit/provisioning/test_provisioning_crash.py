"""A crash at any store write leaves the old credential set or the new one, never a mix."""

from __future__ import annotations

import shutil

import pytest
from fcc_cases import Material, bundle, params
from fcc_runner import run_virtual
from provisioning_helpers import run

from harness.provisioning import FactoryDevice, ItemStore
from harness.provisioning import items as it
from harness.sim.runtime import provisioning_problem, write_developer_credentials


class SimulatedCrash(BaseException):
    """The board lost power: nothing after this point runs (not an Exception: nothing catches it)."""


def _snapshot(store: ItemStore) -> dict[str, str]:
    """Item name -> SHA-256 of its value (a failing assert shows no key material)."""
    import hashlib

    return {name: hashlib.sha256(store.get(name) or b"").hexdigest()[:16] for name in store.names()}


def _crash_at(monkeypatch: pytest.MonkeyPatch, point: int) -> list[str]:
    """Make the `point`-th write step raise SimulatedCrash; returns the steps seen."""
    seen: list[str] = []

    def hook(step: str) -> None:
        seen.append(step)
        if len(seen) == point:
            raise SimulatedCrash(step)

    monkeypatch.setattr(ItemStore, "fault_hook", staticmethod(hook))
    return seen


def _session(m: Material, endpoint: str) -> list[bytes]:
    import cbor2

    cert = m.device_cert(cn=endpoint)
    first = {"SchemeVersion": "0.0.1", "KpAlvSess": 1, "Verify": 0,
             "ConfigParams": [{"Name": it.CLASS_ID, "Data": b"c" * 16}]}
    last = bundle(m, cert=cert, config=params(EndpointName=endpoint))
    return [cbor2.dumps(first), cbor2.dumps(last)]


def test_crash_at_every_write_step_of_a_session_is_all_old_or_all_new(tmp_path, monkeypatch):
    m = Material.make()
    golden = tmp_path / "golden.json"
    run_virtual(_session(m, "ep-old"), ItemStore(golden))
    old = _snapshot(ItemStore(golden))
    new_steps = _session(m, "ep-new")
    reference = tmp_path / "reference.json"
    shutil.copy(golden, reference)
    run_virtual(new_steps, ItemStore(reference))
    new = _snapshot(ItemStore(reference))
    assert new != old
    outcomes = {"old": 0, "new": 0}
    point = 1
    while True:
        path = tmp_path / f"store-{point}.json"
        shutil.copy(golden, path)
        seen = _crash_at(monkeypatch, point)
        try:
            run_virtual(new_steps, ItemStore(path))
            crashed = False
        except SimulatedCrash:
            crashed = True
        monkeypatch.setattr(ItemStore, "fault_hook", None)
        after = ItemStore(path)  # what the board finds when it boots again
        state = _snapshot(after)
        assert state in (old, new), f"crash at step {point} ({seen[-1:]}) left a mixed store"
        outcomes["old" if state == old else "new"] += 1
        assert after.committed and provisioning_problem(after) is None
        if not crashed:
            break
        point += 1
    # every step of the one commit write was hit; before the rename: old, from it on: new
    assert point == 5 and outcomes == {"old": 3, "new": 2}, outcomes


def test_crash_during_the_first_provisioning_leaves_a_blank_uncommitted_store(tmp_path, monkeypatch):
    m = Material.make()
    for point in (1, 2, 3):
        path = tmp_path / f"blank-{point}.json"
        _crash_at(monkeypatch, point)
        with pytest.raises(SimulatedCrash):
            run_virtual(_session(m, "ep-1"), ItemStore(path))
        monkeypatch.setattr(ItemStore, "fault_hook", None)
        store = ItemStore(path)
        assert not store.committed and store.names() == []
        assert provisioning_problem(store) == "no committed credential set"


def test_developer_flow_commits_in_one_write(tmp_path, monkeypatch):
    from harness import pki

    ca = pki.make_ca("dev CA")
    cred = pki.make_bootstrap_device_cert(ca, "ep-dev")
    creds = {"endpoint_name": "ep-dev", "bootstrap_uri": "coaps://h?aid=1",
             "device_cert_der": cred.cert_der, "server_ca_der": ca.cert_der,
             "private_key_der": cred.key_der}
    path = tmp_path / "dev.json"
    _crash_at(monkeypatch, 2)
    with pytest.raises(SimulatedCrash):
        write_developer_credentials(ItemStore(path), creds)
    monkeypatch.setattr(ItemStore, "fault_hook", None)
    assert ItemStore(path).names() == []
    write_developer_credentials(ItemStore(path), creds)
    assert ItemStore(path).committed and ItemStore(path).get_str(it.ENDPOINT_NAME) == "ep-dev"


def test_a_bundle_refused_half_way_keeps_nothing_in_the_committed_store(tmp_path, good_bundle):
    store = ItemStore(tmp_path / "kv.json")
    good_bundle.config_params[it.UTC_OFFSET] = "not an offset"  # fails after every item is stored
    resp = run(FactoryDevice(store), good_bundle)
    assert resp.status == 33
    assert ItemStore(tmp_path / "kv.json").names() == [] and not store.committed


def test_the_clients_credential_write_is_all_or_nothing(tmp_path, monkeypatch):
    """The client stores what Bootstrap-Finish committed with put_many: one write."""
    path = tmp_path / "client.json"
    ItemStore(path).put(it.ENDPOINT_NAME, b"ep", factory=True)
    update = {it.LWM2M_SERVER_URI: b"coaps://h?aid=1", it.LWM2M_DEVICE_CERT: b"c" * 300,
              it.LWM2M_DEVICE_PRIVATE_KEY: b"k" * 100, it.INTERNAL_ENDPOINT: b"dev-1"}
    for point in (1, 2, 3, 4):
        store = ItemStore(path)
        _crash_at(monkeypatch, point)
        with pytest.raises(SimulatedCrash):
            store.put_many(update, factory=False)
        monkeypatch.setattr(ItemStore, "fault_hook", None)
        names = set(ItemStore(path).names()) - {it.ENDPOINT_NAME}
        assert names in (set(), set(update)), f"crash at step {point}: {sorted(names)}"
        for name in names:
            ItemStore(path).delete(name)
