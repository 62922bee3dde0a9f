"""Fixtures of the transport tests."""

import pytest
from transport_testkit import Creds, make_creds


@pytest.fixture(scope="session")
def creds() -> Creds:
    """One PKI for all transport tests."""
    return make_creds()
