"""The board's UART: a raw pty whose line timing runs in its own thread, like a UART peripheral.

Detecting that the host opened the port: the master is put in packet mode (TIOCPKT). pyserial
(like most serial tools) ends its open() with tcflush(TCIFLUSH), which the kernel reports to the
master as a TIOCPKT_FLUSHREAD packet. That is the moment from which bytes the board writes are
kept by the host, so `attached` is set then and pending output (which the flush dropped anyway)
is discarded. The board keeps its own slave fd open so the master never sees EIO/HUP while no
host is connected; output written while nobody reads fills the pty buffer and is dropped beyond
`max_backlog` bytes, like a UART nobody listens to.

The UART is hardware beside the CPU: its thread moves bytes whatever the firmware's asyncio loop
(the CPU) is doing, so a busy firmware never stalls or bunches the line. Baud emulation: each byte
takes 10 bits / baud of line time, in both directions; output goes out in 16-byte slices on the
line's own schedule (a late wake-up catches up instead of adding up), received bytes reach the
firmware when their last bit has arrived. A reset of the board drops output not yet sent (it was
in RAM) after the line being sent.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import errno
import fcntl
import os
import pty
import select
import struct
import termios
import threading
import time
import tty
from collections.abc import Callable
from pathlib import Path

TIOCPKT = getattr(termios, "TIOCPKT", 0x5420)
TIOCPKT_DATA = 0x00
TIOCPKT_FLUSHREAD = 0x01
_CHUNK = 16  # bytes per paced write: 1.4 ms of line time at 115200 baud
_UNPACED_WRITE = 4096


class PtySerial:
    """A raw pty pair: the host opens `path`; the board reads/writes through this object.

    Create it inside the board's running loop: received bytes and `attached` are delivered there.
    """

    def __init__(self, baud: int | None = None, *, max_backlog: int = 64 * 1024) -> None:
        """Create the pty (raw, packet mode on the master) and start the UART thread;
        `baud` None = no line-time emulation."""
        self.baud = baud
        self.max_backlog = max_backlog
        self.master, self._slave = pty.openpty()
        tty.setraw(self._slave)
        fcntl.ioctl(self.master, TIOCPKT, struct.pack("i", 1))
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self._slave)
        self.attached = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._receiver: Callable[[bytes], None] | None = None
        self._lock = threading.Lock()
        self._out = bytearray()  # written by the firmware, not yet on the line
        self._mid_line = False  # the last byte on the line was not a newline
        self._wake_r, self._wake_w = os.pipe()
        for fd in (self._wake_r, self._wake_w):
            os.set_blocking(fd, False)
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=f"uart-{self.path}", daemon=True)
        self._thread.start()

    # --- firmware side (called in the board's loop) -------------------------------------------
    def set_receiver(self, receiver: Callable[[bytes], None] | None) -> None:
        """Where bytes from the host go (None: dropped, nobody is reading the UART)."""
        self._receiver = receiver

    def write(self, data: bytes) -> None:
        """Queue bytes for the host (never blocks; overflow beyond max_backlog is dropped)."""
        if self._closed or not data:
            return
        with self._lock:
            self._out += data
            if len(self._out) > self.max_backlog:
                del self._out[: len(self._out) - self.max_backlog]
        self._wake()

    def write_line(self, text: str) -> None:
        """Write one text line with CRLF (like printf through Mbed OS's stdio)."""
        self.write(text.encode("utf-8", errors="replace") + b"\r\n")

    def discard_output(self) -> None:
        """Drop output not yet on the line (a reset loses the firmware's transmit buffer); a line
        whose start is already out is finished first, so the host never gets half a line glued
        to the next boot's first one."""
        with self._lock:
            end = self._out.find(b"\n") + 1 if self._mid_line else 0
            del self._out[end:]

    def _hand_over(self, data: bytes) -> None:
        if self._receiver is not None:
            self._receiver(data)

    def _wake(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self._wake_w, b"\0")

    # --- the UART thread ----------------------------------------------------------------------
    def _run(self) -> None:
        line = _Line(self.baud)
        received: collections.deque[tuple[float, bytes]] = collections.deque()
        rx_free_at = 0.0
        while not self._closed:
            now = time.monotonic()
            while received and received[0][0] <= now:
                self._deliver(received.popleft()[1])
            blocked = self._transmit(line, now)
            deadlines = [received[0][0]] if received else []
            if line.due is not None and not blocked and self._pending():
                deadlines.append(line.due)
            timeout = max(0.0, min(deadlines) - now) if deadlines else None
            try:
                readable, _, _ = select.select([self.master, self._wake_r],
                                               [self.master] if blocked else [], [], timeout)
            except (OSError, ValueError):
                return  # closed under us
            if self._wake_r in readable:
                with contextlib.suppress(OSError):
                    os.read(self._wake_r, 4096)
            if self.master in readable:
                for data in self._receive():
                    if not self.baud:
                        self._deliver(data)
                        continue
                    rx_free_at = max(time.monotonic(), rx_free_at) + len(data) * 10 / self.baud
                    received.append((rx_free_at, data))

    def _pending(self) -> bool:
        with self._lock:
            return bool(self._out)

    def _transmit(self, line: _Line, now: float) -> bool:
        """Put due output on the line; True when the pty is full (wait until it is writable)."""
        while True:
            with self._lock:
                if not self._out:
                    line.idle(now)
                    return False
                if not line.may_send(now):
                    return False
                chunk = bytes(self._out[: _CHUNK if self.baud else _UNPACED_WRITE])
            try:
                written = os.write(self.master, chunk)
            except BlockingIOError:
                return True
            except OSError as exc:
                if exc.errno not in (errno.EIO, errno.EBADF):
                    raise
                written = len(chunk)
            with self._lock:
                if self._out.startswith(chunk[:written]):  # not discarded meanwhile
                    del self._out[:written]
                if written:
                    self._mid_line = chunk[written - 1] != 0x0A
            line.sent(written, now)

    def _receive(self) -> list[bytes]:
        try:
            packet = os.read(self.master, 4096)
        except OSError:
            return []
        if not packet:
            return []
        status, data = packet[0], packet[1:]
        if status == TIOCPKT_DATA:
            return [data] if data else []
        if status & TIOCPKT_FLUSHREAD:  # the host's open flushed what it had: start afresh
            with self._lock:
                self._out.clear()
                self._mid_line = False
            self._loop.call_soon_threadsafe(self.attached.set)
        return []

    def _deliver(self, data: bytes) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closing
            self._loop.call_soon_threadsafe(self._hand_over, data)

    # --- lifetime -----------------------------------------------------------------------------
    def link(self, link_path: Path) -> None:
        """Make a stable symlink (e.g. BOARD_DIR/tty) to the pty slave path."""
        with contextlib.suppress(FileNotFoundError):
            link_path.unlink()
        link_path.symlink_to(self.path)

    async def close(self) -> None:
        """Stop the UART thread and close both ends."""
        if self._closed:
            return
        self._closed = True
        self._wake()
        await asyncio.to_thread(self._thread.join, 5.0)
        for fd in (self.master, self._slave, self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)


class _Line:
    """The transmit line's schedule: when the next slice may start (None while idle)."""

    def __init__(self, baud: int | None) -> None:
        self.baud = baud
        self.due: float | None = None
        self._drained = True  # the buffer ran empty after the last slice

    def may_send(self, now: float) -> bool:
        """True when the line is free for the next slice at `now`."""
        return self.due is None or now >= self.due

    def sent(self, count: int, now: float) -> None:
        """`count` bytes went out: the line is busy for their time after the previous slice
        while output kept coming (the schedule, not the wake-up: a late wake-up is caught up),
        else from now."""
        if not self.baud:
            return
        fresh = self.due is None or (self._drained and now >= self.due)
        self.due = (now if fresh or self.due is None else self.due) + count * 10 / self.baud
        self._drained = False

    def idle(self, now: float) -> None:
        """Nothing to send: the next slice starts the line anew once the last one is through."""
        self._drained = True
        if self.due is not None and now >= self.due:
            self.due = None
