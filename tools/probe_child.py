"""Start tools/service_child.py for a probe and talk to it (shared by the probes of tools/)."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding

from harness import pki

CHILD = Path(__file__).resolve().parent / "service_child.py"


class ServiceChild:
    """A running child service: `info` (URIs, aid, server CA), `figures()`, its log lines."""

    def __init__(self, proc: subprocess.Popen, info: dict, log: Path) -> None:
        self.proc, self.info, self.log = proc, info, log
        self.server_ca_der = pki.load_certificate(info["server_ca"].encode()).public_bytes(
            Encoding.DER)

    def figures(self) -> dict:
        """The child's current figures (connections, rows, RSS...)."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("figures\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def log_lines(self) -> list[str]:
        """The child's log so far."""
        return self.log.read_text(errors="replace").splitlines()


@contextlib.contextmanager
def service_child(tmp: Path, ca: pki.Credential, *extra: str,
                  nice: int | None = None) -> Iterator[ServiceChild]:
    """Run the child service in `tmp` trusting `ca` (at niceness `nice`); stop it afterwards."""
    ca_file = tmp / "ca.pem"
    ca_file.write_bytes(ca.cert_pem)
    log = tmp / "service.log"
    cmd = [*(["nice", "-n", str(nice)] if nice is not None else []),
           sys.executable, str(CHILD), "--ca", str(ca_file), "--data-dir", str(tmp / "data"),
           *extra]
    with log.open("w") as log_out, subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log_out, text=True) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError(f"the service did not start; see {log}: "
                                   + log.read_text()[-2000:])
            yield ServiceChild(proc, json.loads(line), log)
        finally:
            with contextlib.suppress(BrokenPipeError, OSError):
                assert proc.stdin is not None
                proc.stdin.close()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
