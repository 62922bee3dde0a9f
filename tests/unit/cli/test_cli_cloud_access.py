"""Bench access to a running `hil cloud serve`: accounts, API keys (shown once, never logged or
stored), applications with verification keys, and the README's curl call."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from test_cli_bench import hil, wait_for_line

from harness import pki
from harness.config import REPO_ROOT
from harness.rest_client import sign_jwt

pytestmark = pytest.mark.slow


def _get(url: str, headers: dict[str, str]) -> tuple[int, str]:
    """GET with the real curl when there is one (the README's example), else httpx."""
    if shutil.which("curl"):
        args = ["curl", "-s", "-w", "\n%{http_code}", url]
        for name, value in headers.items():
            args += ["-H", f"{name}: {value}"]
        out = subprocess.run(args, capture_output=True, text=True, timeout=30, check=True).stdout
        body, _, status = out.rpartition("\n")
        return int(status), body
    answer = httpx.get(url, headers=headers)
    return answer.status_code, answer.text


def test_bench_user_makes_an_account_a_key_and_an_app_and_calls_the_api(tmp_path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "HIL_SIM_LOG_LEVEL": "DEBUG"}
    data_dir = tmp_path / "cloud"
    serve = subprocess.Popen([sys.executable, "-m", "harness.cli", "cloud", "serve", "--data-dir",
                              str(data_dir)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, env=env, cwd=REPO_ROOT)
    try:
        printed = "\n".join(wait_for_line(serve, "Serving", 60))
        rest = json.loads((data_dir / "service.json").read_text())["rest"]
        assert f'curl -H "Authorization: Bearer $KEY" {rest}/v3/devices' in printed

        def run(*args: str) -> subprocess.CompletedProcess[str]:
            done = hil("cloud", *args, "--data-dir", str(data_dir), env=env)
            assert done.returncode == 0, done.stderr
            return done

        made = run("account", "create", "acme", "--quota", "5")
        assert "account acme: id " in made.stdout
        issued = run("api-key", "create", "--account", "acme", "--name", "bench")
        key = issued.stdout.strip()
        assert key.startswith("ak_") and "\n" not in key and key not in issued.stderr
        assert "shown once" in issued.stderr
        status, body = _get(f"{rest}/v3/devices", {"Authorization": f"Bearer {key}"})
        assert status == 200 and json.loads(body)["data"] == []

        listed = run("api-key", "list", "--account", "acme")
        assert "bench" in listed.stdout and key not in listed.stdout
        assert "acme" in run("account", "list").stdout

        signing = pki.make_ca("bench app key")
        cert = tmp_path / "app.crt"
        cert.write_bytes(signing.cert_pem)
        app_id = run("app", "create", "dashboard", "--account", "acme").stdout.split()[-1]
        run("app", "add-key", "--account", "acme", "--app", app_id, "--cert", str(cert))
        assert "dashboard" in run("app", "list", "--account", "acme").stdout
        token = sign_jwt(signing.key_pem, "ES256", app_id)
        status, _ = _get(f"{rest}/v3/devices", {"Authorization": f"Bearer {token}",
                                                "X-Application-ID": app_id})
        assert status == 200

        again = hil("cloud", "account", "create", "acme", "--data-dir", str(data_dir), env=env)
        assert again.returncode == 2 and "exists already" in again.stderr
        nobody = hil("cloud", "api-key", "create", "--account", "nobody", "--data-dir",
                     str(data_dir), env=env)
        assert nobody.returncode == 2 and "hil cloud account create nobody" in nobody.stderr
    finally:
        serve.send_signal(signal.SIGINT)
        rest_of_output, _ = serve.communicate(timeout=30)
    assert key not in printed + rest_of_output, "an API key reached the service's output"
    for path in Path(data_dir).rglob("*"):  # the store keeps hashes only
        if path.is_file():
            assert key.encode() not in path.read_bytes(), f"the API key is stored in {path}"


def test_bench_commands_without_a_running_service_are_one_sentence(tmp_path):
    out = hil("cloud", "api-key", "create", "--account", "acme", "--data-dir", str(tmp_path),
              env=dict(os.environ))
    assert out.returncode == 2 and "No local Device Management service is running" in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("args", [["account", "create"], ["api-key", "create"],
                                  ["app", "add-key", "--account", "a"]])
def test_bench_commands_say_what_is_missing(args):
    out = hil("cloud", *args, env=dict(os.environ))
    assert out.returncode == 2 and "required" in out.stderr
