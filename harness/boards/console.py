"""Serial console of a board: a reader thread, redacted lines, expect(), a per-test log file."""

from __future__ import annotations

import contextlib
import os
import re
import select
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import serial
from serial.tools import list_ports

from harness.boards.port_watch import USB_SERIAL_DIRS, PortWatch, folders_of
from harness.boards.redact import ConsoleRedactor
from harness.errors import HilError

CONTEXT_LINES = 30


class ConsoleError(HilError):
    """The serial port cannot be found or opened."""


class ConsoleTimeout(HilError):
    """expect()/readlines_until() saw no matching line in time (message has the last lines)."""


def port_for_serial_number(serial_number: str) -> str | None:
    """The device path of the USB serial port with this serial number, or None."""
    for port in list_ports.comports():
        if port.serial_number and port.serial_number.lower() == serial_number.lower():
            return port.device
    return None


class SerialConsole:
    """Reads a board's serial port in a thread; lines go to a buffer and a log file.

    Give `port` (a path) or `usb_serial_number` (the port is looked up, and looked up again
    after it disappears, e.g. USB re-enumeration after reset). Everything stored or logged is
    redacted (see harness.boards.redact). Use as a context manager or call close().

    Event-driven throughout: bytes are taken as soon as the port has them, a port that went away
    is opened again as soon as it reappears (see harness.boards.port_watch), and pausing, resuming
    and closing wake the reader at once (a wake-up pipe), so no step waits out a poll interval.
    """

    def __init__(
        self,
        port: str | None = None,
        *,
        usb_serial_number: str | None = None,
        baudrate: int = 115200,
        log_path: str | Path | None = None,
        reopen_timeout: float = 10.0,
        name: str | None = None,
    ) -> None:
        """Open the port and start the reader thread."""
        if not port and not usb_serial_number:
            raise ConsoleError("a console needs a serial port path or a USB serial number; set one.")
        self.port = port
        self.usb_serial_number = usb_serial_number
        self.baudrate = baudrate
        self.reopen_timeout = reopen_timeout
        self.name = name or port or usb_serial_number or "console"
        self.log_path = Path(log_path) if log_path else None
        self._log = None
        if self.log_path:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = self.log_path.open("a", encoding="utf-8")
        self._lines: list[str] = []
        self._times: list[float] = []  # time.time() each line was read (the reports' clock)
        self._cursor = 0
        self._cond = threading.Condition()
        self._redactor = ConsoleRedactor()
        self._stop = threading.Event()
        self._pause_req = threading.Event()
        self._paused = threading.Event()
        self._resumed = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._serial: serial.Serial | None = None
        self._serial = self._open(timeout=0)
        self._thread = threading.Thread(target=self._run, name=f"console-{self.name}", daemon=True)
        self._thread.start()

    # --- port ----------------------------------------------------------------------------------
    def _resolve(self) -> str | None:
        if self.usb_serial_number:
            return port_for_serial_number(self.usb_serial_number)
        return self.port

    def _open(self, timeout: float) -> serial.Serial:
        deadline = time.monotonic() + timeout
        folders = list(USB_SERIAL_DIRS) if self.usb_serial_number else folders_of(self.port or "")
        with PortWatch(folders, self._wake_r) as watch:
            while True:
                path = self._resolve()
                try:
                    if path:
                        if "://" in path:  # a network port (rfc2217://host:port of a remote board)
                            return serial.serial_for_url(path, self.baudrate, timeout=0.05)
                        return serial.Serial(path, self.baudrate, timeout=0.05, exclusive=True)
                except serial.SerialException as exc:
                    error = exc
                else:
                    error = None
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._stop.is_set():
                    what = f"USB serial number {self.usb_serial_number}" if self.usb_serial_number \
                        else path
                    why = f" ({error})" if error else " (no such port)"
                    raise ConsoleError(
                        f"serial port {what} cannot be opened{why}; check the cable/board and "
                        "that no other program holds the port."
                    )
                watch.wait(remaining)
                self._drain_wake()

    def _wake(self) -> None:
        """Interrupt the reader's wait (pause, close)."""
        if self._wake_w >= 0:
            with contextlib.suppress(BlockingIOError, OSError):
                os.write(self._wake_w, b"\0")

    def _drain_wake(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            os.read(self._wake_r, 4096)

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._pause_req.is_set():
                self._resumed.clear()
                self._paused.set()
                while self._pause_req.is_set() and not self._stop.is_set():
                    self._resumed.wait()
                    self._resumed.clear()
                self._paused.clear()
                continue
            if self._serial is None:  # the last reopen gave up: try again (it waits for the port)
                self._reopen(announce=False)
                continue
            try:
                data = self._read_available()
            except (serial.SerialException, OSError, TypeError, AttributeError, ValueError):
                data = None
            if data is None:
                self._reopen()
                continue
            if data:
                self._add(self._redactor.feed(data))

    def _read_available(self) -> bytes:
        """What the port has now, as soon as it arrives (no read window that holds a line back)."""
        assert self._serial is not None
        try:
            fd = self._serial.fileno()
        except (AttributeError, NotImplementedError, OSError, ValueError, TypeError):
            fd = None
        if fd is None:  # a network port: its own short read timeout
            return self._serial.read(max(1, self._serial.in_waiting))
        readable, _, _ = select.select([fd, self._wake_r], [], [])
        if self._wake_r in readable:  # pause or close first: a borrower's bytes stay in the port
            self._drain_wake()
            return b""
        return self._serial.read(max(1, self._serial.in_waiting))

    def _reopen(self, *, announce: bool = True) -> None:
        with contextlib.suppress(Exception):
            if self._serial is not None:
                self._serial.close()
        if announce:
            self._add([f"[console: {self.name} disappeared; reopening]"])
        try:
            self._serial = self._open(self.reopen_timeout)
            self._add([f"[console: {self.name} reopened]"])
        except ConsoleError as exc:
            if announce:
                self._add([f"[console: {exc}]"])
            self._serial = None

    def _add(self, lines: list[str]) -> None:
        if not lines:
            return
        with self._cond:
            self._lines.extend(lines)
            self._times.extend([time.time()] * len(lines))
            if self._log:
                stamp = time.strftime("%H:%M:%S")
                self._log.writelines(f"{stamp} {line}\n" for line in lines)
                self._log.flush()
            self._cond.notify_all()

    # --- reading -------------------------------------------------------------------------------
    @property
    def lines(self) -> list[str]:
        """Every line read so far (redacted)."""
        with self._cond:
            return list(self._lines)

    def timed_lines(self) -> list[tuple[float, str]]:
        """Every line so far with the time.time() it was read (for the report's timeline)."""
        with self._cond:
            return list(zip(self._times, self._lines, strict=True))

    def last_lines(self, count: int = CONTEXT_LINES) -> list[str]:
        """The last `count` lines."""
        with self._cond:
            return self._lines[-count:]

    def mark(self) -> int:
        """Move the expect() cursor to the end: only lines after this are matched."""
        with self._cond:
            self._cursor = len(self._lines)
            return self._cursor

    def readlines_until(self, pattern: str | re.Pattern[str], timeout: float) -> list[str]:
        """Lines from the cursor up to the first matching one (inclusive); cursor moves past it."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for i in range(self._cursor, len(self._lines)):
                    if regex.search(self._lines[i]):
                        out = self._lines[self._cursor: i + 1]
                        self._cursor = i + 1
                        return out
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise self._timeout(regex.pattern, timeout)
                self._cond.wait(remaining)

    def peek(self, pattern: str | re.Pattern[str], timeout: float) -> re.Match[str] | None:
        """Wait for a line after the cursor matching `pattern` without moving the cursor;
        the match, or None after `timeout`."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        with self._cond:
            checked = self._cursor
            while True:
                for i in range(checked, len(self._lines)):
                    if match := regex.search(self._lines[i]):
                        return match
                checked = len(self._lines)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)

    def expect(self, pattern: str | re.Pattern[str], timeout: float) -> re.Match[str]:
        """Wait for a line matching `pattern`; return the match."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        line = self.readlines_until(regex, timeout)[-1]
        match = regex.search(line)
        assert match is not None
        return match

    def _timeout(self, pattern: str, timeout: float) -> ConsoleTimeout:
        tail = self._lines[-CONTEXT_LINES:]
        partial = self._redactor.partial
        shown = "\n".join(f"  | {line}" for line in tail + ([partial] if partial else [])) or "  | (nothing)"
        where = f"full log: {self.log_path}" if self.log_path else "no log file"
        return ConsoleTimeout(
            f"console {self.name}: no line matched {pattern!r} within {timeout:g} s; check the board "
            f"output below ({where}).\nlast {len(tail)} lines:\n{shown}"
        )

    # --- writing / hand-over -------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        """Send bytes to the board."""
        if self._serial is None:
            raise ConsoleError(f"console {self.name} is not open; check the board.")
        self._serial.write(data)
        self._serial.flush()

    @contextlib.contextmanager
    def handed_over(self, timeout: float = 5.0) -> Iterator[serial.Serial]:
        """Pause the reader and lend the raw port (e.g. to provisioning.host.provision)."""
        self._pause_req.set()
        self._wake()
        try:
            if not self._paused.wait(timeout):
                raise ConsoleError(f"console {self.name} did not pause in {timeout} s; retry.")
            if self._serial is None:
                raise ConsoleError(f"console {self.name} is not open; check the board.")
            self._add(["[console: port lent to a raw client]"])
            yield self._serial
        finally:
            self._pause_req.clear()
            self._resumed.set()
        self._add(["[console: port back]"])

    def feed(self, data: bytes | str) -> None:
        """Add output that a borrower of the port read besides its own protocol (redacted).

        While the port is handed over (e.g. to the provisioning host) the board keeps printing;
        the borrower returns that text here so no console line is lost.
        """
        if data:
            self._add(self._redactor.feed(data.encode() if isinstance(data, str) else data))

    def close(self) -> None:
        """Stop the reader, close the port and the log."""
        self._stop.set()
        self._pause_req.clear()
        self._resumed.set()
        self._wake()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=5)
        with contextlib.suppress(Exception):
            if self._serial:
                self._serial.close()
        if not self._thread.is_alive() and self._wake_w >= 0:
            for fd in (self._wake_r, self._wake_w):
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._wake_r = self._wake_w = -1
        if self._log:
            self._log.close()
            self._log = None

    def __enter__(self) -> SerialConsole:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
