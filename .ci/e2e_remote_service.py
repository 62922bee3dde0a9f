#!/usr/bin/env python3
"""The e2e suite against a separately started `hil cloud serve` (loopback, ports the OS picks,
its data dir in a temp dir). The service is stopped on every path; exit code = pytest's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAB = "labs/remote-service.yaml"
START_TIMEOUT = 60.0


def follow(proc: subprocess.Popen[str], seen: list[str], serving: threading.Event) -> None:
    """Keep the service's output (drained until it ends); set `serving` once it serves."""
    assert proc.stdout is not None
    for line in proc.stdout:
        seen.append(line.rstrip())
        if line.startswith("Serving"):
            serving.set()


def stop(proc: subprocess.Popen[str]) -> None:
    """Ctrl-C (a clean stop), then SIGTERM (SIGINT is ignored when run in the background), then kill."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        if proc.poll() is not None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            continue


def main() -> int:
    """Start the service, run the suite against it, stop the service."""
    with tempfile.TemporaryDirectory(prefix="dmhil-remote-") as tmp:
        data_dir = Path(tmp) / "service"
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        serve = subprocess.Popen(
            [sys.executable, "-m", "harness.cli", "cloud", "serve", "--lab-config", LAB,
             "--data-dir", str(data_dir)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        seen: list[str] = []
        try:
            serving = threading.Event()
            threading.Thread(target=follow, args=(serve, seen, serving), daemon=True).start()
            if not serving.wait(START_TIMEOUT):
                print(f"hil cloud serve did not start within {START_TIMEOUT:g} s:\n"
                      + "\n".join(seen[-20:]))
                return 1
            tests = subprocess.run(
                [sys.executable, "-m", "pytest", "tests/e2e", "--lab-config", LAB,
                 "--service-data-dir", str(data_dir), "-n", "2", "-q", "-rs", *sys.argv[1:]],
                cwd=ROOT, env=env, check=False)
            return tests.returncode
        finally:
            stop(serve)


if __name__ == "__main__":
    sys.exit(main())
