"""A remote serial port (RFC 2217) held open for a whole lease and served on a local pty.

Opening an RFC 2217 port negotiates options and closing it joins pyserial's reader thread,
about a second per test; a console opens its port for every test. The bridge opens the
network port once, when the place is acquired, and copies bytes between it and a local pty
(like `socat pty,link=... tcp:...`), so the console opens a local path exactly as for a board
on a USB cable. When the remote end goes away the pty is closed and its link removed: the
console sees the port disappear, and `error` says why.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import tty
from pathlib import Path

import serial

CHUNK = 4096


class SerialBridge:
    """rfc2217://host:port <-> a local pty linked at `link` (started by open(), ended by close())."""

    def __init__(self, url: str, link: Path, baudrate: int) -> None:
        """Bridge `url` to a pty linked at `link` (nothing is opened yet)."""
        self.url = url
        self.link = link
        self.baudrate = baudrate
        self.error: str | None = None
        self._remote: serial.SerialBase | None = None
        self._master: int | None = None
        self._slave: int | None = None
        self._stop = threading.Event()
        self._lost = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def alive(self) -> bool:
        """True while both ends are open."""
        return self._master is not None and self.error is None

    def open(self) -> None:
        """Connect to the remote port, make the pty and its link, start copying."""
        self._remote = serial.serial_for_url(self.url, self.baudrate, timeout=0.05)
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # bytes pass unchanged (no echo, no line discipline)
        self.link.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.link.with_name(f".{self.link.name}.tmp")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        tmp.symlink_to(os.ttyname(self._slave))
        os.replace(tmp, self.link)
        for name, loop in (("from", self._from_remote), ("to", self._to_remote)):
            thread = threading.Thread(target=loop, name=f"rfc2217-{name}-{self.link.parent.name}",
                                      daemon=True)
            thread.start()
            self._threads.append(thread)

    def _fail(self, why: str) -> None:
        if self.error is None and not self._stop.is_set():
            self.error = why
        self._stop.set()
        with contextlib.suppress(FileNotFoundError):
            self.link.unlink()
        master, self._master = self._master, None
        if master is not None:  # the console's reads fail: it sees the port disappear
            with contextlib.suppress(OSError):
                os.close(master)
        self._lost.set()

    def wait_lost(self, timeout: float) -> bool:
        """Wait until the remote end has gone away (the bridge then has ended); False on timeout."""
        return self._lost.wait(timeout)

    def _from_remote(self) -> None:
        remote, master = self._remote, self._master
        assert remote is not None and master is not None
        while not self._stop.is_set():
            try:
                data = remote.read(max(1, remote.in_waiting))
                if not data and not remote.is_open:
                    raise serial.SerialException("the connection closed")
            except (serial.SerialException, OSError, AttributeError, TypeError) as exc:
                self._fail(f"{self.url} closed ({exc or 'connection lost'})")
                return
            if data:
                with contextlib.suppress(OSError):
                    os.write(master, data)

    def _to_remote(self) -> None:
        remote, master = self._remote, self._master
        assert remote is not None and master is not None
        while not self._stop.is_set():
            if not select.select([master], [], [], 0.1)[0]:
                continue
            try:
                data = os.read(master, CHUNK)
            except OSError:  # no one has the pty open right now
                self._stop.wait(0.02)
                continue
            try:
                remote.write(data)
            except (serial.SerialException, OSError, AttributeError) as exc:
                self._fail(f"{self.url} refused a write ({exc})")
                return

    def close(self) -> None:
        """Stop copying, close both ends and remove the link."""
        self._stop.set()
        with contextlib.suppress(FileNotFoundError):
            self.link.unlink()
        for thread in self._threads:
            thread.join(2)
        self._threads = []
        if self._remote is not None:
            with contextlib.suppress(Exception):
                self._remote.close()
            self._remote = None
        for fd in (self._master, self._slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = None
