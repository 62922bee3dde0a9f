"""A process's stdout as a serial port: a pty whose other end the harness opens like a UART.

A relay thread copies the process's output into the pty (ANSI colour codes and carriage returns
removed, as a terminal would show them); bytes nobody reads are dropped when the pty's buffer is
full, as a UART drops them, so the process never blocks on its console. What is typed into the
port goes to the process's stdin.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import select
import threading
import tty
from pathlib import Path

ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")


def plain(data: bytes) -> bytes:
    """Output without ANSI escape sequences and carriage returns."""
    return ANSI.sub(b"", data).replace(b"\r", b"")


class ProcessPort:
    """One pty for the lifetime of a board; attach() each process run to it."""

    def __init__(self, link: Path) -> None:
        """Open a pty in raw mode and point the symlink `link` at its port path."""
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self._slave)
        self.link = link
        link.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            link.unlink()
        link.symlink_to(self.path)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._carry = b""

    def attach(self, stdout_fd: int, stdin_fd: int | None) -> None:
        """Relay a new process's output into the port until it ends: `stdout_fd` is the master of
        the pty the process writes to (a terminal keeps its C stdio line-buffered) or a pipe's
        read end; typed input goes to `stdin_fd` (may be the same pty master)."""
        self.detach()
        self._stop.clear()
        self._carry = b""
        self._thread = threading.Thread(target=self._run, args=(stdout_fd, stdin_fd),
                                        name=f"port-{self.link.parent.name}", daemon=True)
        self._thread.start()

    def detach(self, timeout: float = 5.0) -> None:
        """Wait for the relay of the last process to drain (its stdout closed) and end."""
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                self._stop.set()
                self._thread.join(timeout)
            self._thread = None

    def _run(self, out_fd: int, in_fd: int | None) -> None:
        try:
            while not self._stop.is_set():
                ready, _, _ = select.select([out_fd, self.master], [], [], 0.2)
                if out_fd in ready:
                    try:
                        data = os.read(out_fd, 65536)
                    except OSError:  # EIO: the process closed its terminal (it ended)
                        data = b""
                    if not data:
                        break
                    self._write(data)
                if self.master in ready:
                    self._typed(in_fd)
        finally:
            os.close(out_fd)
            if in_fd is not None and in_fd != out_fd:
                with contextlib.suppress(OSError):
                    os.close(in_fd)

    def _write(self, data: bytes) -> None:
        text = self._carry + data
        # keep an escape sequence cut at the chunk's end for the next chunk
        cut = text.rfind(b"\x1b")
        if cut != -1 and not ANSI.match(text, cut) and len(text) - cut < 16:
            text, self._carry = text[:cut], text[cut:]
        else:
            self._carry = b""
        out = plain(text)
        with self._lock:
            try:
                os.write(self.master, out)
            except OSError as exc:  # buffer full (nobody reading): dropped, as by a UART
                if exc.errno not in (errno.EAGAIN, errno.EIO):
                    raise

    def _typed(self, in_fd: int | None) -> None:
        try:
            data = os.read(self.master, 4096)
        except OSError:
            return
        if in_fd is not None and data:
            with contextlib.suppress(OSError):
                os.write(in_fd, data)

    def close(self) -> None:
        """End the relay, close the pty and remove the link."""
        self._stop.set()
        self.detach(1.0)
        for fd in (self.master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            self.link.unlink()
