"""The developer-mode scenarios on the real Device Management Client (a native lab board), run
the way a lab runs them: `hil run --lab-config labs/real-client.yaml`, native board only."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from junitparser import JUnitXml

from harness.boards.board import BoardUnavailable
from harness.boards.registry import make_board
from harness.config import REPO_ROOT, load_lab_config

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

LAB = REPO_ROOT / "labs" / "real-client.yaml"
SCENARIOS = "developer"
"""-k expression: the developer-mode scenarios (tests/e2e/test_e2e_developer.py and the developer
onboarding / factory reset scenarios)."""


def test_developer_scenarios_pass_on_the_real_client(tmp_path: Path) -> None:
    native = next(b for b in load_lab_config(LAB).boards if "native" in b.tags)
    try:
        make_board(native).check()
    except BoardUnavailable as exc:
        pytest.skip(str(exc))
    junit = tmp_path / "junit.xml"
    env = {**os.environ, "HIL_NATIVE_DIR": str(tmp_path / "native"), "PYTHONUNBUFFERED": "1"}
    run = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "--lab-config", str(LAB), "-n", "0",
         "--junitxml", str(junit), "--", "--board-tags", "native", "-k", SCENARIOS],
        capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=540)
    cases = [case for suite in JUnitXml.fromfile(str(junit)) for case in suite]
    assert len(cases) >= 8, run.stdout[-3000:]
    failed = [case.name for case in cases if case.result and not case.is_skipped]
    assert run.returncode == 0 and not failed, f"failed on the real client: {failed}\n{run.stdout[-3000:]}"
    onboarding = next(c for c in cases
                      if c.name == "test_developer_certificate_device_bootstraps_and_registers")
    console = onboarding.system_out or ""
    assert "===== real-client-1 =====" in console
    assert "Client registered" in console and "Device ID: " in console
