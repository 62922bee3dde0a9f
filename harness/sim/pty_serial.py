"""The board's UART: a raw pty driven from the board's asyncio loop, with optional baud pacing.

Detecting that the host opened the port: the master is put in packet mode (TIOCPKT). pyserial
(like most serial tools) ends its open() with tcflush(TCIFLUSH), which the kernel reports to the
master as a TIOCPKT_FLUSHREAD packet. That is the moment from which bytes the board writes are
kept by the host, so `attached` is set then and pending output (which the flush dropped anyway)
is discarded. The board keeps its own slave fd open so the master never sees EIO/HUP while no
host is connected; output written while nobody reads fills the pty buffer and is dropped beyond
`max_backlog` bytes, like a UART nobody listens to.

Baud emulation: each byte takes 10 bits / baud of line time, in both directions; output is paced
in 16-byte slices, so the host sees bytes as the line would deliver them, not 256 at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import os
import pty
import struct
import termios
import tty
from collections.abc import Callable
from pathlib import Path

TIOCPKT = getattr(termios, "TIOCPKT", 0x5420)
TIOCPKT_DATA = 0x00
TIOCPKT_FLUSHREAD = 0x01
_CHUNK = 16  # bytes per paced write: 1.4 ms of line time at 115200 baud


class PtySerial:
    """A raw pty pair: the host opens `path`; the board reads/writes through this object."""

    def __init__(self, baud: int | None = None, *, max_backlog: int = 64 * 1024) -> None:
        """Create the pty (raw, packet mode on the master); `baud` None = no line-time emulation."""
        self.baud = baud
        self.max_backlog = max_backlog
        self.master, self._slave = pty.openpty()
        tty.setraw(self._slave)
        fcntl.ioctl(self.master, TIOCPKT, struct.pack("i", 1))
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self._slave)
        self.attached = asyncio.Event()
        self._receiver: Callable[[bytes], None] | None = None
        self._out = bytearray()
        self._out_event = asyncio.Event()
        self._rx_free_at = 0.0
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self.master, self._on_readable)
        self._writer = self._loop.create_task(self._write_loop())
        self._closed = False

    # --- host -> board ------------------------------------------------------------------------
    def set_receiver(self, receiver: Callable[[bytes], None] | None) -> None:
        """Where bytes from the host go (None: dropped, nobody is reading the UART)."""
        self._receiver = receiver

    def _on_readable(self) -> None:
        try:
            packet = os.read(self.master, 4096)
        except BlockingIOError:
            return
        except OSError:
            return
        if not packet:
            return
        status, data = packet[0], packet[1:]
        if status == TIOCPKT_DATA:
            if data:
                self._deliver(data)
            return
        if status & TIOCPKT_FLUSHREAD:
            self._out.clear()
            self.attached.set()

    def _deliver(self, data: bytes) -> None:
        if not self.baud:
            self._hand_over(data)
            return
        now = self._loop.time()
        self._rx_free_at = max(now, self._rx_free_at) + len(data) * 10 / self.baud
        self._loop.call_at(self._rx_free_at, self._hand_over, data)

    def _hand_over(self, data: bytes) -> None:
        if self._receiver is not None:
            self._receiver(data)

    # --- board -> host ------------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        """Queue bytes for the host (never blocks; overflow beyond max_backlog is dropped)."""
        if self._closed or not data:
            return
        self._out += data
        if len(self._out) > self.max_backlog:
            del self._out[: len(self._out) - self.max_backlog]
        self._out_event.set()

    def write_line(self, text: str) -> None:
        """Write one text line with CRLF (like printf through Mbed OS's stdio)."""
        self.write(text.encode("utf-8", errors="replace") + b"\r\n")

    async def _write_loop(self) -> None:
        tx_free_at = 0.0
        idle = True
        while True:
            await self._out_event.wait()
            if not self._out:
                self._out_event.clear()
                idle = True
                continue
            chunk = bytes(self._out[:_CHUNK])
            if self.baud:
                now = self._loop.time()
                if idle:  # the line starts now; while busy the slices keep the line's own schedule,
                    tx_free_at = now  # so a late wake-up is caught up instead of adding up
                    idle = False
                tx_free_at += len(chunk) * 10 / self.baud
                if tx_free_at > now:
                    await asyncio.sleep(tx_free_at - now)
                if not self._out.startswith(chunk):  # a host open flushed it meanwhile
                    continue
            written = await self._write_some(chunk)
            del self._out[:written]

    async def _write_some(self, chunk: bytes) -> int:
        while True:
            try:
                return os.write(self.master, chunk)
            except BlockingIOError:
                await self._writable()
            except OSError as exc:
                if exc.errno in (errno.EIO, errno.EBADF):
                    return len(chunk)
                raise

    async def _writable(self) -> None:
        fut: asyncio.Future[None] = self._loop.create_future()
        self._loop.add_writer(self.master, lambda: fut.done() or fut.set_result(None))
        try:
            await fut
        finally:
            self._loop.remove_writer(self.master)

    # --- lifetime -----------------------------------------------------------------------------
    def link(self, link_path: Path) -> None:
        """Make a stable symlink (e.g. BOARD_DIR/tty) to the pty slave path."""
        with contextlib.suppress(FileNotFoundError):
            link_path.unlink()
        link_path.symlink_to(self.path)

    async def close(self) -> None:
        """Stop the writer and close both ends."""
        if self._closed:
            return
        self._closed = True
        self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer
        self._loop.remove_reader(self.master)
        for fd in (self.master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)
