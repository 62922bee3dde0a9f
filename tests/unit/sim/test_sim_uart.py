"""The virtual board's UART (PtySerial) on a real pty, opened by pyserial like a host would."""

from __future__ import annotations

import asyncio
import threading
import time

import serial

from harness.sim.pty_serial import PtySerial

BAUD = 115200


class Host:
    """A host that opens the port and collects (arrival time, bytes) until `count` bytes came
    (or, with `until`, until the data ends with those bytes)."""

    def __init__(self, path: str, count: int, timeout: float = 5.0, until: bytes = b"") -> None:
        self.path, self.count, self.timeout, self.until = path, count, timeout, until
        self.got: list[tuple[float, bytes]] = []
        self.opened = threading.Event()
        self.first = threading.Event()

    def _read(self) -> None:
        deadline = time.monotonic() + self.timeout
        with serial.Serial(self.path, BAUD, timeout=0.02) as port:
            self.opened.set()
            while not self._done() and time.monotonic() < deadline:
                data = port.read(port.in_waiting or 1)
                if data:
                    self.got.append((time.monotonic(), data))
                    self.first.set()

    def _done(self) -> bool:
        if self.until:
            return self.data.endswith(self.until)
        return sum(len(b) for _, b in self.got) >= self.count

    async def start(self) -> asyncio.Future[None]:
        """Start reading in a thread once the port is open; the future ends with the reads."""
        task = asyncio.get_running_loop().run_in_executor(None, self._read)
        await asyncio.to_thread(self.opened.wait, 5)
        return task

    @property
    def data(self) -> bytes:
        """Everything received."""
        return b"".join(data for _, data in self.got)



def _compute(seconds: float) -> None:
    """Busy work for `seconds` on the calling thread (a firmware computing, never yielding)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass

BUSY = 0.5
"""Seconds the firmware computes without yielding: ten times the transfer's line time, so a
loaded machine's scheduling delays cannot make a transfer that waited look like one that did not."""


def test_output_keeps_line_rate_while_the_firmware_loop_is_busy() -> None:
    """The firmware blocks its loop for longer than the whole transfer: the bytes still go out
    at line rate, spread over the line time, not in a burst when the loop is free again."""

    async def scenario() -> tuple[float, float, float]:
        uart = PtySerial(BAUD)
        try:
            host = Host(uart.path, 576)
            reading = await host.start()
            await asyncio.wait_for(uart.attached.wait(), 5)
            start = time.monotonic()
            uart.write(b"x" * 576)  # 50 ms of line time
            _compute(BUSY)  # the firmware computes without yielding (blocks its loop)
            await reading
            return start, host.got[0][0], host.got[-1][0]
        finally:
            await uart.close()

    start, first, last = asyncio.run(scenario())
    line_time = 576 * 10 / BAUD
    assert first - start < BUSY / 3, "the first slice waited for the busy loop"
    assert last - first > line_time * 0.6, "the bytes came in a burst, not at line rate"
    assert last - start < BUSY * 0.7, "the transfer waited for the busy loop to end"


def test_a_reset_drops_what_was_not_sent_but_finishes_the_line_on_the_wire() -> None:
    """Two seconds of output are queued; a reset soon after the first line started drops the
    rest, but the line on the wire is finished: the host sees whole old lines, then the boot's."""
    old_lines = 2000  # 24,000 bytes: 2 s of line time, far more than any scheduling delay

    async def scenario() -> bytes:
        uart = PtySerial(BAUD)
        try:
            lines = b"first line of the old boot\r\n" + b"never sent\r\n" * old_lines
            host = Host(uart.path, 0, timeout=5.0, until=b"\nboot\r\n")
            reading = await host.start()
            await asyncio.wait_for(uart.attached.wait(), 5)
            uart.write(lines)
            await asyncio.to_thread(host.first.wait, 5)  # the line has started, the rest is in RAM
            uart.discard_output()
            uart.write_line("boot")
            await reading
            return host.data
        finally:
            await uart.close()

    received = asyncio.run(scenario())
    assert received.startswith(b"first line of the old boot\r\n")
    assert received.endswith(b"\r\nboot\r\n"), "the boot line did not come, or came glued"
    old = received[len(b"first line of the old boot\r\n"):-len(b"boot\r\n")]
    sent_lines = old.count(b"never sent\r\n")
    assert old == b"never sent\r\n" * sent_lines, "a half line was left on the wire"
    assert sent_lines < old_lines // 2, "the reset did not drop the output still in RAM"


def test_received_bytes_reach_the_firmware_after_their_line_time() -> None:
    async def scenario() -> tuple[float, bytes]:
        uart = PtySerial(BAUD)
        got: asyncio.Queue[bytes] = asyncio.Queue()
        uart.set_receiver(got.put_nowait)
        try:
            port = await asyncio.to_thread(serial.Serial, uart.path, BAUD, timeout=0.1)
            await asyncio.wait_for(uart.attached.wait(), 5)
            start = time.monotonic()
            await asyncio.to_thread(port.write, b"y" * 288)  # 25 ms of line time
            data = b""
            while len(data) < 288:
                data += await asyncio.wait_for(got.get(), 5)
            port.close()
            return time.monotonic() - start, data
        finally:
            await uart.close()

    elapsed, data = asyncio.run(scenario())
    assert data == b"y" * 288
    assert elapsed >= 288 * 10 / BAUD * 0.95
