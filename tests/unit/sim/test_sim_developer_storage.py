"""A developer image's start-up check of its stored credentials (the example application's
verify_cloud_configuration): a damaged set is refused, an intact or merely expired one is kept."""

from __future__ import annotations

import datetime as dt

import pytest

from harness.pki import make_bootstrap_device_cert, make_ca
from harness.provisioning import ItemStore
from harness.provisioning import items as it
from harness.provisioning.bundle import BundleError
from harness.provisioning.verify import verify_device
from harness.sim.runtime import developer_storage_problem, write_developer_credentials

NOW = 1_800_000_000.0


def _stored(validity: dt.timedelta = dt.timedelta(days=3650 * 3)) -> ItemStore:
    device = make_bootstrap_device_cert(make_ca("dev CA"), "dev-ep", validity=validity)
    store = ItemStore()
    write_developer_credentials(store, {
        "endpoint_name": "dev-ep", "account_id": "0" * 32,
        "bootstrap_uri": f"coaps://127.0.0.1:5684?aid={'0' * 32}",
        "device_cert_der": device.cert_der, "private_key_der": device.key_der,
        "server_ca_der": make_ca("server CA").cert_der})
    return store


@pytest.mark.parametrize("item", [it.BOOTSTRAP_DEVICE_CERT, it.BOOTSTRAP_SERVER_CA_CERT,
                                  it.BOOTSTRAP_SERVER_URI, it.MANUFACTURER])
def test_an_intact_developer_set_passes_and_a_damaged_item_is_refused(item):
    """Any item the developer flow stored: the real client reads each one back (tests/peers/
    test_peer_pdmc_corrupt_storage.py, tests/e2e/test_e2e_corrupt_storage.py on a native board)."""
    store = _stored()
    assert developer_storage_problem(store, NOW) is None
    store.damage(item)
    assert developer_storage_problem(store, NOW) == f"stored item {item} fails its integrity check"


def test_a_damaged_runtime_item_is_left_to_the_client():
    """The LwM2M credentials are not the developer flow's: the client meets them (code 17)."""
    store = _stored()
    store.put(it.LWM2M_DEVICE_CERT, b"0" * 40, factory=False)
    store.damage(it.LWM2M_DEVICE_CERT)
    assert developer_storage_problem(store, NOW) is None


def test_an_expired_developer_certificate_does_not_reset_the_storage():
    """`status != FCC_STATUS_SUCCESS && status != FCC_STATUS_EXPIRED_CERTIFICATE` resets."""
    store = _stored(validity=dt.timedelta(days=1))
    later = NOW + 400 * 86400
    with pytest.raises(BundleError) as info:
        verify_device(store, later)
    assert info.value.status == it.FccStatus.EXPIRED_CERTIFICATE
    assert developer_storage_problem(store, later) is None
