"""`openssl s_server` as an independent TLS peer for the device-engine tests."""

from __future__ import annotations

import contextlib
import selectors
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.pki import Credential

OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(
    OPENSSL is None, reason="the openssl command is missing; install it (apt-get install openssl)"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def s_server(tmp: Path, server: Credential, client_ca: Credential, *extra: str,
             timeout: float = 10.0) -> Iterator[int]:
    """Run `openssl s_server` (its defaults plus `extra`) requiring a client cert; yield its port."""
    assert OPENSSL is not None
    cert, key, ca = tmp / "server.pem", tmp / "server.key", tmp / "client-ca.pem"
    cert.write_bytes(server.chain_pem)
    key.touch(mode=0o600)
    key.write_bytes(server.key_pem)
    ca.write_bytes(client_ca.cert_pem)
    port = _free_port()
    proc = subprocess.Popen(
        [OPENSSL, "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(cert),
         "-key", str(key), "-CAfile", str(ca), "-Verify", "2", "-no_tls1_3", *extra],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert proc.stdout is not None
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        deadline, seen = time.monotonic() + timeout, b""
        while b"ACCEPT" not in seen:
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                raise AssertionError(f"openssl s_server did not start: {seen.decode()!r}")
            chunk = proc.stdout.read1(4096)
            if not chunk:
                raise AssertionError(f"openssl s_server exited: {seen.decode()!r}")
            seen += chunk
        yield port
    finally:
        proc.kill()
        proc.wait(timeout=5)
