"""SerialConsole on a real pty: expect, timeouts with context, redaction, reopen."""

from __future__ import annotations

import os
import pty
import threading
import time
import tty
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from harness.boards.console import ConsoleTimeout, SerialConsole
from harness.boards.port_watch import EVENT_RETRY, PortWatch
from harness.provisioning.frame import encode_response

# a real private key, made at run time (never committed)
PEM_KEY = ec.generate_private_key(ec.SECP256R1()).private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()
KEY_BODY = PEM_KEY.splitlines()[1:-1]


class FakeBoardEnd:
    """The board side of a pty pair (the test writes what a board would print)."""

    def __init__(self, link: Path) -> None:
        self.master, self.slave = pty.openpty()
        tty.setraw(self.slave)
        self.link = link
        link.unlink(missing_ok=True)
        link.symlink_to(os.ttyname(self.slave))

    def write(self, data: bytes) -> None:
        os.write(self.master, data)

    def read(self) -> bytes:
        return os.read(self.master, 4096)

    def close(self) -> None:
        for fd in (self.master, self.slave):
            os.close(fd)


@pytest.fixture
def board_end(tmp_path: Path) -> Iterator[FakeBoardEnd]:
    end = FakeBoardEnd(tmp_path / "tty")
    yield end
    end.close()


@pytest.fixture
def console(board_end: FakeBoardEnd, tmp_path: Path) -> Iterator[SerialConsole]:
    con = SerialConsole(str(board_end.link), log_path=tmp_path / "logs" / "console.log", name="dut")
    yield con
    con.close()


def test_expect_and_readlines_until(console: SerialConsole, board_end: FakeBoardEnd) -> None:
    board_end.write(b"boot\r\nEndpoint Name: ep-1\r\nDevice ID: 0123abc\r\n")
    assert console.expect(r"Device ID: (\S+)", timeout=5).group(1) == "0123abc"
    board_end.write(b"a\r\nb\r\nClient registered\r\n")
    assert console.readlines_until("Client registered", timeout=5) == ["a", "b", "Client registered"]


def test_expect_timeout_shows_last_lines_and_log(console: SerialConsole, board_end: FakeBoardEnd,
                                                 tmp_path: Path) -> None:
    board_end.write(b"".join(f"line {i}\r\n".encode() for i in range(40)))
    console.expect("line 39", timeout=5)
    with pytest.raises(ConsoleTimeout) as err:
        console.expect("Client registered", timeout=0.2)
    text = str(err.value)
    assert "'Client registered'" in text and str(tmp_path / "logs" / "console.log") in text
    assert "line 39" in text and "line 10" in text and "line 9\n" not in text  # exactly the last 30


def test_secrets_never_reach_the_log(console: SerialConsole, board_end: FakeBoardEnd,
                                     tmp_path: Path) -> None:
    frame = encode_response(0, b"\xa1cSID" + b"SECRETPAYLOAD" * 3)
    board_end.write(b"dump:\r\n" + PEM_KEY.replace("\n", "\r\n").encode() + b"log " + frame
                    + b" after\r\nAuthorization: Bearer ak_0123456789abcdef\r\ndone\r\n")
    console.expect("done", timeout=5)
    log = (tmp_path / "logs" / "console.log").read_text()
    assert "SECRET" not in log and "ak_0123456789abcdef" not in log
    assert not any(line in log for line in KEY_BODY)
    assert "[private key redacted]" in log
    assert "[provisioning frame:" in log and "after" in log
    assert all("SECRET" not in line for line in console.lines)
    assert not any(body in line for line in console.lines for body in KEY_BODY)


def test_write_reaches_board(console: SerialConsole, board_end: FakeBoardEnd) -> None:
    console.write(b"reboot\n")
    assert board_end.read() == b"reboot\n"


def test_reopens_after_port_disappears(console: SerialConsole, board_end: FakeBoardEnd,
                                       tmp_path: Path) -> None:
    board_end.write(b"first\r\n")
    console.expect("first", timeout=5)
    board_end.close()
    replacement = FakeBoardEnd(board_end.link)  # "re-enumerated" under the same name
    board_end.master, board_end.slave = os.dup(replacement.master), os.dup(replacement.slave)
    console.expect("reopened", timeout=10)
    replacement.write(b"second\r\n")
    assert console.expect("second", timeout=5)
    replacement.close()


def test_a_returning_port_is_reopened_on_its_event_not_on_a_poll(console: SerialConsole,
                                                                  board_end: FakeBoardEnd) -> None:
    """The console waits for the port's folder to change (inotify): reopened well within the
    fallback retry interval after the link reappears."""
    board_end.write(b"first\r\n")
    console.expect("first", timeout=5)
    board_end.link.unlink()
    board_end.close()
    console.expect("disappeared", timeout=5)
    replacement = FakeBoardEnd(board_end.link)
    back = time.monotonic()
    board_end.master, board_end.slave = os.dup(replacement.master), os.dup(replacement.slave)
    console.expect("reopened", timeout=5)
    assert time.monotonic() - back < EVENT_RETRY * 0.8
    replacement.close()


def test_port_watch_wakes_on_a_new_entry(tmp_path: Path) -> None:
    with PortWatch([str(tmp_path)]) as watch:
        assert watch.event_driven
        threading.Timer(0.05, (tmp_path / "ttyACM0").touch).start()
        start = time.monotonic()
        watch.wait(5)
        assert 0.03 < time.monotonic() - start < EVENT_RETRY * 0.8


def test_a_borrower_gets_every_byte_sent_while_it_holds_the_port(console: SerialConsole,
                                                                 board_end: FakeBoardEnd) -> None:
    """Hand-overs back to back: the paused reader takes none of the borrower's bytes."""
    for i in range(20):
        with console.handed_over() as port:
            board_end.write(b"frame %d\r\n" % i)
            assert port.read_until(b"\r\n") == b"frame %d\r\n" % i
    board_end.write(b"after\r\n")
    console.expect("after", timeout=5)
    assert not any(line.startswith("frame") for line in console.lines)


def test_feed_keeps_what_a_borrower_read_and_redacts_it(console: SerialConsole, tmp_path: Path) -> None:
    with console.handed_over():
        pass
    console.feed("Factory flow done\r\n" + PEM_KEY + "Client registered\r\n")
    assert console.expect("Client registered", timeout=2)
    assert "Factory flow done" in console.lines
    log = (tmp_path / "logs" / "console.log").read_text()
    assert not any(line in log for line in KEY_BODY) and "Client registered" in log
