"""The real factory configurator client (Linux build, TCP transport) run as a local process."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from harness.errors import HilError
from harness.provisioning.frame import FrameReader, ResponseFrame, encode_request

ENV_BINARY = "HIL_FCC_CLIENT"
PEER_PATH = Path("shared/peers/fcc-linux/factory-client.elf")
_PORT_RE = re.compile(rb"Client IP Address and Port :\s*127\.0\.0\.1:(\d+)")
_LISTENING = b"Client is waiting for incoming connection"
START_TIMEOUT = 10.0
POOL_START_ATTEMPTS = 5
TRACE_LIMIT = 1 << 20  # bytes of its output kept (the newest)


def die_with_parent() -> None:
    """In a child between fork and exec: get SIGTERM when the harness process dies (Linux)."""
    import contextlib
    import ctypes
    import signal

    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class RealClientError(HilError):
    """The real factory client could not be started or talked to."""


def find_binary() -> Path | None:
    """factory-client.elf: $HIL_FCC_CLIENT, else shared/peers/fcc-linux/ beside the repository
    or beside one of its parent folders (a worktree), else None."""
    env = os.environ.get(ENV_BINARY)
    repo = Path(__file__).resolve().parents[2]
    candidates = [Path(env)] if env else [parent / PEER_PATH for parent in repo.parents]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


class RealFactoryClient:
    """One factory-client.elf process in its own directory (its storage lives in ./pal).

    start() waits for the port it prints; connect() opens the TCP link; exchange() sends one
    frame and returns the response frame, or None when the client closed the connection.
    The trace it prints (fcc checks, never key bytes of ours) is kept in `trace`.
    """

    def __init__(self, workdir: str | os.PathLike[str] | None = None,
                 binary: str | os.PathLike[str] | None = None,
                 on_output: Callable[[bytes], None] | None = None) -> None:
        """Prepare a client in `workdir` (a fresh temp dir when None); `on_output` gets each
        line it prints (from a reader thread)."""
        found = Path(binary) if binary else find_binary()
        if found is None:
            raise RealClientError(
                f"The real factory client was not found; set {ENV_BINARY} to factory-client.elf.")
        self.binary = found
        self._own_dir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="fcc-real-"))
        self.proc: subprocess.Popen[bytes] | None = None
        self.port: int | None = None
        self.sock: socket.socket | None = None
        self._trace = bytearray()
        self._trace_lock = threading.Lock()
        self._port_seen = threading.Event()
        self._pending_port: int | None = None
        self._reader_thread: threading.Thread | None = None
        self.on_output = on_output

    # --- process ---------------------------------------------------------------------------------
    def start(self, timeout: float = START_TIMEOUT, attempts: int = 2) -> int:
        """Start the process and return the TCP port it listens on (127.0.0.1).

        A start that prints no port in time is retried (the client rarely hangs at start-up).
        """
        for attempt in range(attempts):
            try:
                return self._start_once(timeout)
            except RealClientError:
                if attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")

    def _start_once(self, timeout: float) -> int:
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, ETHERNET_LINUX_IFACE_NAME="lo")
        self._port_seen.clear()
        self.port = None
        self.proc = subprocess.Popen([str(self.binary)], cwd=self.workdir, env=env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, preexec_fn=die_with_parent)  # noqa: PLW1509
        self._reader_thread = threading.Thread(target=self._pump, args=(self.proc,), daemon=True)
        self._reader_thread.start()
        deadline = time.monotonic() + timeout
        while not self._port_seen.wait(0.05) and time.monotonic() < deadline:
            if self.proc.poll() is not None:  # it gave up (e.g. could not bind): no need to wait
                break
        if not self._port_seen.is_set() or self.port is None:
            tail = self.trace[-300:].strip().replace("\n", " | ")
            self.stop()
            raise RealClientError(f"The real factory client printed no port within {timeout:g} s "
                                  f"(last output: {tail!r}); see {self.workdir}.")
        return self.port

    def _pump(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        for line in iter(proc.stdout.readline, b""):
            if self.on_output is not None:
                self.on_output(line)
            with self._trace_lock:
                self._trace += line
                if len(self._trace) > TRACE_LIMIT:
                    del self._trace[: len(self._trace) - TRACE_LIMIT]
                match = _PORT_RE.search(line)
                if match:
                    self._pending_port = int(match.group(1))
                elif _LISTENING in line and self._pending_port is not None:
                    self.port = self._pending_port  # printed after listen(): connectable now
                    self._port_seen.set()

    @property
    def trace(self) -> str:
        """Everything the process printed so far."""
        with self._trace_lock:
            return self._trace.decode("utf-8", errors="replace")

    def clear_trace(self) -> None:
        """Forget the trace printed so far."""
        with self._trace_lock:
            self._trace.clear()

    def wait_exit(self, timeout: float = 5.0) -> int | None:
        """Wait for the process to exit; its return code, or None if still running."""
        if self.proc is None:
            return None
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> None:
        """Close the connection and end the process (it stays only if already gone)."""
        self.close()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(3)
        if self._reader_thread is not None:
            self._reader_thread.join(2)  # the pipe ends with the process: readline() sees EOF
            self._reader_thread = None
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
        self.proc = None

    def remove(self) -> None:
        """Stop and delete the working directory if this object made it."""
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> RealFactoryClient:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()

    # --- connection ------------------------------------------------------------------------------
    def connect(self, timeout: float = 5.0) -> None:
        """Open the TCP connection to the running client."""
        if self.port is None:
            raise RealClientError("The real factory client is not started; call start() first.")
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def close(self) -> None:
        """Close the TCP connection if open."""
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def exchange_frame(self, frame: bytes, timeout: float = 30.0) -> ResponseFrame | None:
        """Send raw frame bytes, return the response frame (None: the client closed the link)."""
        if self.sock is None:
            self.connect()
        assert self.sock is not None
        self.sock.sendall(frame)
        reader = FrameReader("response")
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                tail = self.trace[-400:].strip().replace("\n", " | ")
                raise RealClientError(f"The real factory client did not answer within {timeout:g} s "
                                      f"(last output: {tail!r}).")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            except TimeoutError:
                continue
            if not chunk:
                self.close()
                return None
            for parsed in reader.feed(chunk):
                if isinstance(parsed, ResponseFrame):
                    return parsed
                raise RealClientError("The real factory client sent a garbled response frame.")

    def exchange(self, message: bytes, timeout: float = 30.0) -> ResponseFrame | None:
        """Frame `message` (CBOR), send it and return the response frame (None if closed)."""
        return self.exchange_frame(encode_request(message), timeout)


class RealClientPool:
    """Real clients started ahead of use (start-up is most of a short session's cost).

    get() hands out a started client in a fresh directory; done() stops and removes it in the
    background. close() stops everything the pool started.
    """

    def __init__(self, size: int = 3, binary: str | os.PathLike[str] | None = None) -> None:
        """Keep `size` clients started and waiting."""
        import queue

        self.size = size
        self.binary = binary
        self._ready: queue.Queue[RealFactoryClient | RealClientError] = queue.Queue()
        self._retire: queue.Queue[RealFactoryClient | None] = queue.Queue()
        self._stop = threading.Event()
        self._slots = threading.Semaphore(size)
        self._threads = [threading.Thread(target=self._fill, daemon=True),
                         threading.Thread(target=self._reap, daemon=True)]
        for thread in self._threads:
            thread.start()

    def _fill(self) -> None:
        while not self._stop.is_set():
            if not self._slots.acquire(timeout=0.2):
                continue
            item: RealFactoryClient | RealClientError
            for _ in range(POOL_START_ATTEMPTS):  # a start can fail (e.g. its random port is taken)
                client = RealFactoryClient(binary=self.binary)
                try:
                    client.start()
                except RealClientError as exc:
                    client.remove()
                    item = exc
                    continue
                item = client
                break
            self._ready.put(item)

    def _reap(self) -> None:
        while True:
            client = self._retire.get()
            if client is None:
                return
            client.remove()

    def get(self, timeout: float = 30.0) -> RealFactoryClient:
        """A started client (raises RealClientError if starting failed)."""
        item = self._ready.get(timeout=timeout)
        if isinstance(item, RealClientError):
            raise item
        return item

    def done(self, client: RealFactoryClient) -> None:
        """Retire a client: it is stopped and its directory removed in the background."""
        client.close()
        self._retire.put(client)
        self._slots.release()

    def close(self) -> None:
        """Stop the pool and every client it started."""
        self._stop.set()
        self._threads[0].join(5)
        while not self._ready.empty():
            item = self._ready.get_nowait()
            if isinstance(item, RealFactoryClient):
                self._retire.put(item)
        self._retire.put(None)
        self._threads[1].join(30)
