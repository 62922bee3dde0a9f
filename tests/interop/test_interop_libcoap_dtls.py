"""Interop: libcoap's coap-client-openssl registers through `hil cloud serve`, as a user would.

Independent peer (libcoap + OpenSSL) against the service's DTLS (Mbed TLS): PSK and X.509 (PKI)
over DTLS 1.2, and NoSec over udp, each with the one command the README shows; then
`hil cloud devices` lists them with their binding (OMA LwM2M 1.1.1 Core §6.2.1.1 Register).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.served import wait_serving

COAP_CLIENT = shutil.which("coap-client-openssl")
REPO = Path(__file__).resolve().parents[2]
PSK_IDENTITY, PSK_KEY = "sensor-psk-1", "interop-secret-1"
START_TIMEOUT = 30.0


def _require_libcoap() -> str:
    if COAP_CLIENT is not None:
        return COAP_CLIENT
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail("CI is set but coap-client-openssl is missing; apt-get install libcoap3-bin.")
    pytest.skip("coap-client-openssl not installed (apt-get install libcoap3-bin)")


def _hil(*args: str, **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], capture_output=True,
                          text=True, timeout=60, cwd=REPO, check=False, **kwargs)


@pytest.fixture
def served(tmp_path):
    """`hil cloud serve --standard-account standard --psk ...` in its own process; its URIs."""
    data = tmp_path / "cloud"
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "cloud", "serve", "--data-dir", str(data),
         "--standard-account", "standard", "--psk", f"{PSK_IDENTITY}:{PSK_KEY}"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        try:
            wait_serving(proc, START_TIMEOUT)
        except RuntimeError as exc:
            pytest.fail(str(exc))
        yield data, json.loads((data / "service.json").read_text())
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _register(client: str, uri: str, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([client, "-m", "post", "-t", "40", "-e", "</3/0>,</1/0>", *options, uri],
                          capture_output=True, text=True, timeout=60, check=False)


def _devices(data: Path) -> str:
    result = _hil("cloud", "devices", "--data-dir", str(data))
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_libcoap_registers_over_dtls_psk_pki_and_nosec(served, tmp_path):
    """Three standard clients, three security modes, one service started from the command line."""
    client = _require_libcoap()
    data, uris = served
    dtls, udp = uris["lwm2m"]["dtls"], uris["lwm2m"]["udp"]

    psk = _register(client, f"{dtls}/rd?ep=libcoap-psk&lt=300&lwm2m=1.1&b=U",
                    "-u", PSK_IDENTITY, "-k", PSK_KEY)
    assert psk.returncode == 0, psk.stderr

    made = _hil("cloud", "device-cert", "libcoap-pki", "--out-dir", str(tmp_path / "pki"),
                "--data-dir", str(data))
    assert made.returncode == 0, made.stderr
    pki = tmp_path / "pki"
    x509 = _register(client, f"{dtls}/rd?ep=libcoap-pki&lt=300&lwm2m=1.1&b=U&Q",
                     "-c", str(pki / "libcoap-pki.crt"), "-j", str(pki / "libcoap-pki.key"),
                     "-R", str(pki / "server-ca.pem"))
    assert x509.returncode == 0, x509.stderr

    nosec = _register(client, f"{udp}/rd?ep=libcoap-nosec&lt=300&lwm2m=1.0&b=UQ")
    assert nosec.returncode == 0, nosec.stderr

    rows = {line.split("│")[3].strip(): line for line in _devices(data).splitlines()
            if line.count("│") > 5 and "libcoap-" in line}
    assert set(rows) == {"libcoap-psk", "libcoap-pki", "libcoap-nosec"}
    assert all("registered" in row for row in rows.values())
    assert "psk" in rows["libcoap-psk"] and "nosec" in rows["libcoap-nosec"]
    assert "UQ" in rows["libcoap-pki"] and "UQ" in rows["libcoap-nosec"]


def test_libcoap_with_a_wrong_psk_key_is_not_let_in(served):
    """A PSK client with the wrong key fails the DTLS handshake; it is never taken as NoSec."""
    client = _require_libcoap()
    data, uris = served
    wrong = _register(client, f"{uris['lwm2m']['dtls']}/rd?ep=libcoap-bad&lt=300&lwm2m=1.1&b=U",
                      "-u", PSK_IDENTITY, "-k", "not-the-key-at-all")
    assert "libcoap-bad" not in _devices(data)
    assert "bad record mac" in wrong.stdout + wrong.stderr  # the server's alert (wrong key)
