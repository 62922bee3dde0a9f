"""The control socket client against a real unix socket server that misbehaves."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from harness.sim.control import ControlClient, ControlError


def _serve_once(path: Path, reply: bytes) -> tuple[socket.socket, threading.Thread]:
    """A unix socket server that reads one request line and writes `reply`."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)

    def answer() -> None:
        conn, _ = server.accept()
        with conn, conn.makefile("rwb") as f:
            f.readline()
            f.write(reply)
            f.flush()

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    return server, thread


@pytest.mark.parametrize(("reply", "message"), [
    (b"{not json\n", r"sent a garbled control reply; restart it\.$"),
    (b"", r"closed the control socket; restart it\.$"),
    (b'{"ok": false, "error": "flash is locked; unlock it."}\n', r"^flash is locked; unlock it\.$"),
])
def test_sim_control_client_bad_replies_are_clear(tmp_path, reply, message):
    path = tmp_path / "control.sock"
    server, thread = _serve_once(path, reply)
    try:
        with ControlClient(path, timeout=5) as control, pytest.raises(ControlError, match=message):
            control.request("info")
    finally:
        thread.join(timeout=5)
        server.close()
    assert not thread.is_alive()


def test_sim_control_client_missing_socket(tmp_path):
    with ControlClient(tmp_path / "nope.sock", timeout=1) as control, \
            pytest.raises(ControlError, match=r"is unreachable .*start the board"):
        control.request("info")
