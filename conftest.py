"""Root conftest: load the harness's pytest plugin from fixtures/ (not an installed package)."""

pytest_plugins = ["fixtures.plugin"]
