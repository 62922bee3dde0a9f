"""Tests against real peers: they share the provisioning case builders of the unit tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_PROVISIONING_TESTS = Path(__file__).resolve().parents[1] / "unit" / "provisioning"
if str(_PROVISIONING_TESTS) not in sys.path:
    sys.path.insert(0, str(_PROVISIONING_TESTS))  # fcc_cases, fcc_runner


@pytest.fixture
def run(tmp_path):
    """The bootstrap-configuration peer tests: start the service with an account configuration
    and the linked real client, run(config[, service_config]) -> _Run; all closed at the end."""
    from test_peer_pdmc_bootstrap_config import _Run

    runs: list[_Run] = []

    def start(config: dict | None, service_config: dict | None = None) -> _Run:
        runs.append(_Run(tmp_path, config, service_config))
        return runs[-1]
    yield start
    for started in runs:
        started.close()
