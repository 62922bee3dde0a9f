"""Tests against real peers: they share the provisioning case builders of the unit tests."""

from __future__ import annotations

import sys
from pathlib import Path

_PROVISIONING_TESTS = Path(__file__).resolve().parents[1] / "unit" / "provisioning"
if str(_PROVISIONING_TESTS) not in sys.path:
    sys.path.insert(0, str(_PROVISIONING_TESTS))  # fcc_cases, fcc_runner
