"""Root conftest: load the harness's pytest plugin from fixtures/ (not an installed package)."""

from hypothesis import HealthCheck, settings

pytest_plugins = ["fixtures.plugin"]

# CI machines are small and shared (`-n auto` on 2 cores): property tests must not fail because
# generating examples was slow there; they still fail on a wrong result.
settings.register_profile("hil", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("hil")
