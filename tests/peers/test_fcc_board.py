"""The real factory configurator client as a lab board (kind `fcc`), driven by the normal host
code: `hil flash` + `hil provision` against a running `hil cloud serve`, and the e2e provisioning
scenario through the pytest fixtures with its trace in the JUnit report. Skipped (with the
reason) when the client binary or socat is missing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from fixtures.served import wait_serving
from harness.provisioning.real_client import find_binary

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.skipif(find_binary() is None, reason="real factory client not found (HIL_FCC_CLIENT)"),
    pytest.mark.skipif(shutil.which("socat") is None, reason="socat missing: apt-get install socat"),
]
TRACE_LINE = "fcc_bundle_handler"  # printed by the real client only (its mbed-trace)


@pytest.fixture
def fcc_lab(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A lab config with one fcc board, and the environment that keeps its files in tmp_path."""
    lab = yaml.safe_load((ROOT / "lab_config.yaml").read_text())
    lab["boards"] = [{"id": "fcc-1", "kind": "fcc", "tags": ["fcc"]}]
    path = tmp_path / "lab_fcc.yaml"
    path.write_text(yaml.safe_dump(lab))
    env = {**os.environ, "HIL_FCC_DIR": str(tmp_path / "fcc"), "HIL_LOCK_DIR": str(tmp_path / "locks"),
           "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return path, env


def _hil(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], capture_output=True,
                          text=True, env=env, timeout=timeout, cwd=ROOT)


def test_hil_provision_against_the_real_factory_client(fcc_lab, tmp_path):
    lab, env = fcc_lab
    data = tmp_path / "cloud"
    service = subprocess.Popen([sys.executable, "-m", "harness.cli", "cloud", "serve",
                                "--data-dir", str(data), "--lab-config", str(lab)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=ROOT, text=True)
    try:
        wait_serving(service, 30)
        assert json.loads((data / "service.json").read_text())["bootstrap"]["tls-record"]
        flashed = _hil("flash", "fcc-1", "fcc-factory", "--erase", "--lab-config", str(lab), env=env)
        assert flashed.returncode == 0, flashed.stderr
        done = _hil("provision", "fcc-1", "--lab-config", str(lab), "--data-dir", str(data),
                    "--follow", "20", env=env)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "fcc-1: FCC_STATUS_SUCCESS: The Factory process succeeded" in done.stdout
        assert "Successfully completed factory flow" in done.stdout
        assert "Traceback" not in done.stderr
    finally:
        service.terminate()
        service.wait(10)


def test_e2e_provisioning_scenario_on_the_real_factory_client_shows_its_trace(fcc_lab, tmp_path):
    lab, env = fcc_lab
    junit = tmp_path / "junit.xml"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/e2e/test_e2e_factory_provisioning.py",
         "--lab-config", str(lab), f"--junitxml={junit}", "-p", "no:cacheprovider", "-q",
         "--hil-log-dir", str(tmp_path / "logs")],
        capture_output=True, text=True, env=env, timeout=240, cwd=ROOT)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    cases = ET.parse(junit).getroot().iter("testcase")
    outs = {case.get("name"): "".join(case.itertext()) for case in cases}
    assert len(outs) == 2, outs.keys()
    for name, text in outs.items():
        assert TRACE_LINE in text, f"{name}: the real client's trace is not in the JUnit"
    accepted = outs["test_production_bootstrap_bundle_is_accepted_and_ends_the_factory_flow"]
    assert "Successfully completed factory flow" in accepted
