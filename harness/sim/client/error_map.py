"""How server answers become client errors: harness.client.failures (this name stays for the
simulator's modules)."""

from __future__ import annotations

from harness.client.failures import Failure, bootstrap_failure, registration_failure

__all__ = ["Failure", "bootstrap_failure", "registration_failure"]
