"""Fixtures of the DeviceClient tests."""

from __future__ import annotations

import pytest
from simclient_lab import ENDPOINT, Pki

from harness import pki


@pytest.fixture(scope="session")
def lab_pki() -> Pki:
    """Certificates shared by the tests (made once: key generation is the slow part)."""
    ca = pki.make_ca("simclient test CA", valid_from_epoch=True)  # the service's choice
    return Pki(ca=ca, server=pki.make_server_cert(ca, "localhost", valid_from_epoch=True),
               bootstrap=pki.make_bootstrap_device_cert(ca, ENDPOINT))
