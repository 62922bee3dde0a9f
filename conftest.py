"""Root conftest: load the harness's pytest plugin from fixtures/ (not an installed package)."""

from __future__ import annotations

import pytest

pytest_plugins = ["fixtures.plugin"]


def use_hil_hypothesis_profile() -> None:
    """CI machines are small and shared (`-n auto` on 2 cores): property tests must not fail
    because generating examples was slow there; they still fail on a wrong result."""
    from hypothesis import HealthCheck, settings

    if settings.get_current_profile_name() != "hil":
        settings.register_profile("hil", deadline=None, suppress_health_check=[HealthCheck.too_slow])
        settings.load_profile("hil")


def pytest_collectstart(collector: pytest.Collector) -> None:
    """Load the hypothesis profile before the first test module that uses hypothesis is imported
    (@given takes the profile at import); other runs, such as the e2e suite, never import it."""
    if isinstance(collector, pytest.Module) and "hypothesis" in collector.path.read_text(errors="replace"):
        use_hil_hypothesis_profile()
