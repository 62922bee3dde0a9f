"""Fixtures for the report tests: two real pytest --junitxml runs of a small enriched suite."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]

# A stand-in for the fixtures plugin: it enriches each test with the harness.report helpers exactly
# the way fixtures/ is meant to (user_properties, PhaseTimer, console section, collector).
PLUGIN = '''
import os

import pytest

from harness.report import ConsoleLogCollector, PhaseTimer, attach_console_log, record_board, record_device

collector = ConsoleLogCollector()
KEY_PEM = os.environ["REPORT_TEST_KEY_PEM"]


@pytest.fixture
def board(request):
    name = request.param
    record_board(request.node.user_properties, board=name, target="K64F",
                 probe_id=f"vprobe-{name}", firmware="factory-4.13.4")
    yield name
    attach_console_log(
        request.node,
        f"[BOOT] {name}\\nClient registered\\n{KEY_PEM}\\n"
        "Authorization: Bearer ak_0123456789abcdef\\nDevice ID: 0176aa\\x1b[0m\\x00 end\\n",
    )


@pytest.fixture
def timer(request):
    return PhaseTimer(request.node.user_properties)


@pytest.fixture
def broken_service():
    raise RuntimeError("service not started")


def pytest_runtest_logreport(report):
    collector.add(report.nodeid, report.sections)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session):
    if session.config.option.xmlpath and not hasattr(session.config, "workerinput"):
        collector.write(session.config.option.xmlpath, suite_properties={"lab": os.environ["HIL_LAB"]})
'''

SUITE = '''
import os

import pytest

from harness.report import record_device

BOARDS = ["vb0", "vb1"]
SECONDS = {"vb0": (1.0, 2.0, 3.0), "vb1": (2.0, 4.0, 6.0)}


@pytest.mark.parametrize("board", BOARDS, indirect=True)
def test_developer_certificate(board, timer, request):
    scale = 1.0 if os.environ["HIL_LAB"] == "lab-a" else 3.0
    for phase, seconds in zip(("provision", "bootstrap", "register"), SECONDS[board]):
        timer.record(phase, seconds * scale)
    record_device(request.node.user_properties, endpoint_name=f"ep-{board}", device_id="0176aa")


@pytest.mark.parametrize("board", BOARDS, indirect=True)
def test_untrusted_ca(board):
    message = "ConnectSecureConnectionFailed not seen, password=hunter2"
    assert board == "vb0" or os.environ["HIL_LAB"] == "lab-b", message


@pytest.mark.parametrize("board", BOARDS, indirect=True)
def test_rate_limit(board):
    pytest.skip("needs shortened service timings")


class TestOwnership:
    @pytest.mark.parametrize("board", ["vb0"], indirect=True)
    def test_transfer(self, board, broken_service):
        pass
'''


@dataclass(frozen=True)
class Runs:
    """The JUnit files of two runs of the sample suite and the private key PEM their consoles printed."""

    lab_a: Path
    lab_b: Path
    key_pem: str


def _private_key_pem() -> str:
    """A real EC private key in PEM, as a console might (wrongly) print it."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture(scope="session")
def junit_runs() -> Iterator[Runs]:
    """Run the sample suite twice with real pytest (lab-a serial, lab-b under xdist -n 2)."""
    # Own temporary directory: concurrent pytest sessions may prune the shared pytest-of-<user> dirs.
    with tempfile.TemporaryDirectory(prefix="report_sample_") as tmp:
        yield _run_sample_suite(Path(tmp))


def _run_sample_suite(project: Path) -> Runs:
    """Write the sample project into project and run it twice; return the JUnit files."""
    (project / "pytest.ini").write_text("[pytest]\n")
    (project / "conftest.py").write_text(textwrap.dedent(PLUGIN))
    (project / "test_onboarding.py").write_text(textwrap.dedent(SUITE))
    key_pem = _private_key_pem()
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        "REPORT_TEST_KEY_PEM": key_pem,
    }
    env.pop("PYTEST_ADDOPTS", None)
    runs = {
        "lab-a": (project / "lab-a.xml", []),
        "lab-b": (project / "lab-b.xml", ["-p", "xdist.plugin", "-n", "2"]),
    }
    procs = {
        lab: subprocess.Popen(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={xml}", *extra],
            cwd=project,
            env={**env, "HIL_LAB": lab},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for lab, (xml, extra) in runs.items()
    }
    for lab, proc in procs.items():
        try:
            output, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            for p in procs.values():
                p.kill()
                p.communicate()
            raise
        # pytest exits 1 when some test failed (lab-a has one failure and both have a setup error).
        assert proc.returncode == 1, f"{lab} run exited {proc.returncode}:\n{output}"
        assert runs[lab][0].is_file(), f"{lab} run wrote no JUnit file:\n{output}"
    return Runs(lab_a=runs["lab-a"][0], lab_b=runs["lab-b"][0], key_pem=key_pem)
