"""The real Device Management Client (pdmc-linux-tcp kit) as a test peer: find, link, run, stop.

The kit holds the client of the Linux example application (EX 4.13.2) as static libraries and
`build-client.sh`, which links them with a developer credentials file in under a second. The
client runs in an empty directory (storage in ./pal) and prints its console to stdout; it never
exits on its own, so every run here is bounded and stopped on every path.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

KIT_ENV = "HIL_PDMC_KIT"
REPO = Path(__file__).resolve().parents[2]
CANDIDATES = (REPO.parent / "shared" / "peers" / "pdmc-linux-tcp",
              REPO.parent.parent / "shared" / "peers" / "pdmc-linux-tcp")
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
LINK_TIMEOUT = 60.0
STOP_TIMEOUT = 5.0


def find_kit() -> tuple[Path | None, str]:
    """The kit folder, or None and the sentence saying how to get what is missing."""
    configured = os.environ.get(KIT_ENV)
    candidates = (Path(configured),) if configured else CANDIDATES
    kit = next((c for c in candidates if (c / "build-client.sh").is_file()), None)
    if kit is None:
        where = configured or " or ".join(str(c) for c in CANDIDATES)
        return None, (f"the real Device Management Client kit (pdmc-linux-tcp) is not at {where}; "
                      f"set {KIT_ENV} to a kit folder holding build-client.sh and lib/ (its "
                      "README says how it is built from the public 4.13.2 sources)")
    missing = [tool for tool in ("gcc", "g++") if shutil.which(tool) is None]
    if missing:
        return None, (f"{' and '.join(missing)} not found, needed to link the real client; "
                      "install them with: apt-get install -y build-essential")
    return kit, ""


def link_client(kit: Path, credentials_c: Path, out: Path, bootstrap_uri: str) -> Path:
    """Link the client with `credentials_c` and `bootstrap_uri` (build-client.sh's third argument)."""
    done = subprocess.run([str(kit / "build-client.sh"), str(credentials_c), str(out), bootstrap_uri],
                          capture_output=True, text=True, timeout=LINK_TIMEOUT, check=False)
    if done.returncode != 0:
        raise AssertionError(f"build-client.sh failed ({done.returncode}): {done.stderr.strip()}")
    return out


class ClientProcess:
    """One run of the linked client in `workdir`; `lines` is its stdout without colours and CRs."""

    def __init__(self, elf: Path, workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.lines: list[str] = []
        self._changed = threading.Condition()
        # stdout on a pty: the C library then flushes every line (a pipe would hold them back)
        master, slave = os.openpty()
        try:
            self.process = subprocess.Popen([str(elf)], cwd=workdir, stdin=subprocess.DEVNULL,
                                            stdout=slave, stderr=slave)
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)
        self._output = os.fdopen(master, "rb", buffering=0)
        self._reader = threading.Thread(target=self._read, name="pdmc-stdout", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        pending = b""
        while True:
            try:
                chunk = self._output.read(4096)
            except OSError:  # EIO: the client closed its side of the pty
                chunk = b""
            if not chunk:
                break
            pending += chunk
            *complete, pending = pending.split(b"\n")
            with self._changed:
                for raw in complete:
                    text = raw.decode("utf-8", errors="replace")
                    self.lines.append(ANSI.sub("", text).replace("\r", ""))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for(self, pattern: str, timeout: float, after: int = 0) -> re.Match[str]:
        """The first stdout line matching `pattern` (from line index `after`, e.g. a former
        `len(lines)`), within `timeout` seconds."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        seen = after
        with self._changed:
            while True:
                for line in self.lines[seen:]:
                    match = regex.search(line)
                    if match:
                        return match
                seen = len(self.lines)
                left = deadline - time.monotonic()
                if left <= 0 or (self.process.poll() is not None and not self._reader.is_alive()):
                    break
                self._changed.wait(left)
        raise AssertionError(f"the real client printed no line matching {pattern!r} within "
                             f"{timeout:g} s; its last lines:\n" + "\n".join(self.console(40)))

    def console(self, last: int | None = None) -> list[str]:
        """Console lines (the example's own and the error lines, no trace noise)."""
        keep = [line for line in self.lines if line and not line.startswith("[DBG")]
        return keep[-last:] if last else keep

    def stop(self) -> int:
        """SIGTERM (the client then exits 0 and flushes), SIGKILL if it lingers; the exit code."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT)
        self._reader.join(STOP_TIMEOUT)
        self._output.close()
        return self.process.returncode


@dataclass
class DeveloperSetup:
    """A service for the real client (stream transports), a developer account, its certificate
    and the credentials C file to link."""

    kit: Path
    svc: Any
    account: Any
    credentials_c: Path
    thread: Any = None
    """The ServiceThread (its `call` runs a coroutine on the service's loop)."""
    cert: Any = None
    """The developer certificate the credentials file holds."""

    def operate(self, device_id: str, code: Any, path: str, payload: bytes = b"",
                content_format: int | None = None,
                timeout: float = 10.0) -> tuple[str, int | None, bytes]:
        """A request of the service's LwM2M server to a registered client: (code, ct, payload)."""
        return self.thread.call(self.svc.lwm2m.operate(device_id, code, path, payload=payload,
                                                       content_format=content_format,
                                                       timeout=timeout))


@contextlib.contextmanager
def developer_setup(tmp_path: Path) -> Iterator[DeveloperSetup]:
    """The kit (skips the test without it), a running service and a developer account."""
    kit, why = find_kit()
    if kit is None:
        pytest.skip(why)
    from harness.cloud.developer import issue_developer_certificate
    from harness.cloud.service_thread import ServiceThread
    from harness.config import ServiceConfig
    from harness.devcreds import write_c_file

    config = ServiceConfig(transports=["tls-record", "tcp-length"],
                           bootstrap={"tls_record": 0, "tcp_length": 0},
                           lwm2m={"tls_record": 0, "tcp_length": 0})
    thread = ServiceThread(config, tmp_path / "service", start_rest=False)
    with thread as svc:
        account = svc.store.create_account("developer")
        cert = issue_developer_certificate(svc.store, svc.pki, account.id,
                                           svc.bootstrap_uri("tls-record"))
        creds = write_c_file(cert.c_credentials(), tmp_path / "mbed_cloud_dev_credentials.c")
        yield DeveloperSetup(kit, svc, account, creds, thread, cert)
