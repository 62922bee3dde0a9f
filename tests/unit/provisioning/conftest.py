"""Shared credentials and helpers for the provisioning tests."""

from __future__ import annotations

import pytest
from provisioning_helpers import BS_URI, ENDPOINT

from harness import pki
from harness.provisioning import Bundle, FactoryDevice, ItemStore, bootstrap_bundle


@pytest.fixture(scope="session")
def device_ca() -> pki.Credential:
    """The OEM CA that signs device certificates."""
    return pki.make_ca("dm-hil test device CA")


@pytest.fixture(scope="session")
def server_ca() -> pki.Credential:
    """The CA of the bootstrap/LwM2M server."""
    return pki.make_ca("dm-hil test server CA")


@pytest.fixture(scope="session")
def device_cert(device_ca: pki.Credential) -> pki.Credential:
    """A bootstrap device certificate with CN = ENDPOINT."""
    return pki.make_bootstrap_device_cert(device_ca, ENDPOINT)


@pytest.fixture
def good_bundle(server_ca: pki.Credential, device_cert: pki.Credential) -> Bundle:
    """A bootstrap bundle that provisions successfully."""
    return bootstrap_bundle(ENDPOINT, BS_URI, server_ca.cert_der, device_cert)


@pytest.fixture
def store(tmp_path) -> ItemStore:
    """A file-backed item store in the test's temp dir."""
    return ItemStore(tmp_path / "kvstore.json")


@pytest.fixture
def device(store: ItemStore) -> FactoryDevice:
    """A production-build factory device over `store`."""
    return FactoryDevice(store)
