"""A bench session as a developer runs it: `hil cloud serve`, `hil flash`, `hil provision`."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.boards.registry import make_board
from harness.config import REPO_ROOT, load_lab_config
from harness.sim import registry

pytestmark = pytest.mark.slow


def hil(*args: str, env: dict[str, str], timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], capture_output=True,
                          text=True, env=env, timeout=timeout, cwd=REPO_ROOT)


def wait_for_line(proc: subprocess.Popen[str], text: str, timeout: float) -> list[str]:
    """Lines of `proc`'s stdout up to the one containing `text` (unbuffered reads + select)."""
    fd = proc.stdout.fileno()
    pending, seen = b"", []
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not sel.select(deadline - time.monotonic()):
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                seen.append(line.decode(errors="replace").rstrip())
                if text in seen[-1]:
                    return seen
    raise AssertionError(f"no {text!r} from {proc.args} within {timeout} s; got: {seen[-10:]}")


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[tuple[dict[str, str], Path]]:
    """A running `hil cloud serve` with its own data dir and sim dir; all stopped afterwards."""
    env = {**os.environ, registry.SIM_DIR_ENV: str(tmp_path / "boards"), "PYTHONUNBUFFERED": "1"}
    data_dir = tmp_path / "cloud"
    serve = subprocess.Popen([sys.executable, "-m", "harness.cli", "cloud", "serve", "--data-dir",
                              str(data_dir)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, env=env, cwd=REPO_ROOT)
    try:
        wait_for_line(serve, "Serving", 60)
        yield env, data_dir
    finally:
        serve.send_signal(signal.SIGINT)
        serve.wait(timeout=30)
        for info in registry.running_boards(tmp_path / "boards"):
            os.kill(info.pid, signal.SIGTERM)


def test_serve_flash_provision_registers_the_board(bench):
    env, data_dir = bench
    assert (data_dir / "service.json").exists()
    flashed = hil("flash", "vboard-1", "factory", "--erase", env=env)
    assert flashed.returncode == 0, flashed.stderr
    out = hil("provision", "vboard-1", "--data-dir", str(data_dir), "--mode", "first-to-claim",
              env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "FCC_STATUS_SUCCESS" in out.stdout and "enrollment id A-" in out.stdout
    assert "Client registered" in out.stdout
    devices = hil("cloud", "devices", "--data-dir", str(data_dir), "--state", "registered", env=env)
    assert "Device Directory (1 devices)" in devices.stdout


def test_provisioning_a_provisioned_board_says_how_to_make_it_factory_new(bench):
    env, data_dir = bench
    assert hil("flash", "vboard-2", "factory", "--erase", env=env).returncode == 0
    assert hil("provision", "vboard-2", "--data-dir", str(data_dir), env=env).returncode == 0
    again = hil("provision", "vboard-2", "--data-dir", str(data_dir), "--follow", "0",
                "--timeout", "2", env=env)
    assert again.returncode == 2
    assert "hil flash vboard-2 factory --erase" in again.stderr and "Traceback" not in again.stderr


def test_provision_without_a_running_service_is_one_sentence(tmp_path):
    env = {**os.environ, registry.SIM_DIR_ENV: str(tmp_path / "boards")}
    out = hil("provision", "vboard-1", "--data-dir", str(tmp_path / "none"), env=env)
    assert out.returncode == 2
    assert "No local Device Management service is running" in out.stderr
    assert "Traceback" not in out.stderr


def test_developer_board_from_dev_cert_c_file_registers(bench, tmp_path):
    env, data_dir = bench
    c_file = tmp_path / "mbed_cloud_dev_credentials.c"
    made = hil("cloud", "dev-cert", "--data-dir", str(data_dir), "--out", str(c_file), env=env)
    assert made.returncode == 0, made.stderr
    assert "MBED_CLOUD_DEV_BOOTSTRAP_DEVICE_PRIVATE_KEY" in c_file.read_text()
    flashed = hil("flash", "vboard-3", "developer", "--erase", "--dev-credentials", str(c_file),
                  env=env)
    assert flashed.returncode == 0, flashed.stderr
    os.environ[registry.SIM_DIR_ENV] = env[registry.SIM_DIR_ENV]
    try:
        board = make_board(load_lab_config().board("vboard-3"))
        with board.open_console(tmp_path / "console.log") as console:
            board.reset()  # what it printed before the port was open is gone, as on hardware
            console.expect("Client registered", timeout=30)
            device_id = console.expect(r"Device ID: (\S+)", timeout=5).group(1)
    finally:
        del os.environ[registry.SIM_DIR_ENV]
    devices = hil("cloud", "devices", "--data-dir", str(data_dir), "--state", "registered", env=env)
    assert device_id[:8] in devices.stdout


def test_dev_cert_needs_a_running_service(tmp_path):
    out = hil("cloud", "dev-cert", "--data-dir", str(tmp_path / "cloud"), "--out",
              str(tmp_path / "x.c"), env=dict(os.environ))
    assert out.returncode == 2 and "No local Device Management service is running" in out.stderr
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "x.c").exists()


def test_console_shows_what_the_board_prints(bench):
    env, data_dir = bench
    assert hil("flash", "vboard-4", "factory", "--erase", env=env).returncode == 0
    assert hil("provision", "vboard-4", "--data-dir", str(data_dir), env=env).returncode == 0
    console = subprocess.Popen([sys.executable, "-m", "harness.cli", "console", "vboard-4"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, env=env, cwd=REPO_ROOT)
    try:
        wait_for_line(console, "vboard-4 console on", 30)  # the port is open from here on
        reset = hil("flash", "vboard-4", "factory", env=env)  # reflash + reset: it boots again
        assert reset.returncode == 0, reset.stderr
        seen = wait_for_line(console, "Client registered", 30)
        assert any("Start Device Management Client" in line for line in seen)
    finally:
        console.stdin.close()  # end of input ends the session
        assert console.wait(timeout=15) == 0
