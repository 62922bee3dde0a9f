"""Host and device talking over a real pty pair, with log text interleaved by the device."""

from __future__ import annotations

import os
import select
import threading
import tty
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import serial

from harness.provisioning import (
    FactoryDevice,
    FccStatus,
    ItemStore,
    ProvisioningError,
    Session,
    provision,
)
from harness.provisioning import items as it
from harness.provisioning.frame import FrameReader, FtcdStatus, encode_request, encode_response

LOG_TEXT = b"[INFO][fce ]: Factory flow begins on this UART\r\n"


@dataclass
class PtyBoard:
    """The device end of a pty pair served by a thread; `path` is what the host opens."""

    path: str
    master: int
    slave: int
    stop: threading.Event
    thread: threading.Thread | None = None

    def read(self, size: int) -> bytes:
        """Read what the host wrote, b'' after 50 ms of silence."""
        ready, _, _ = select.select([self.master], [], [], 0.05)
        return os.read(self.master, size) if ready else b""

    def write(self, data: bytes) -> None:
        """Write everything to the host."""
        view = memoryview(data)
        while view:
            view = view[os.write(self.master, view):]

    def serve(self, handler: Callable[[PtyBoard], None]) -> None:
        """Run `handler(self)` in a thread until stop."""
        self.thread = threading.Thread(target=handler, args=(self,), daemon=True)
        self.thread.start()


@pytest.fixture
def pty_board() -> Iterator[PtyBoard]:
    """A raw pty pair; the thread (if any) is stopped and both fds closed afterwards."""
    master, slave = os.openpty()
    tty.setraw(slave)
    board = PtyBoard(os.ttyname(slave), master, slave, threading.Event())
    yield board
    board.stop.set()
    if board.thread is not None:
        board.thread.join(timeout=5)
        assert not board.thread.is_alive()
    os.close(master)
    os.close(slave)


def _serve_device(device: FactoryDevice) -> Callable[[PtyBoard], None]:
    def run(board: PtyBoard) -> None:
        board.write(b"boot banner\r\n")
        device.serve(board.read, board.write, stop=board.stop,
                     before_response=lambda: LOG_TEXT)
    return run


def test_provision_over_pty_with_interleaved_logs(pty_board, good_bundle):
    store = ItemStore()
    pty_board.serve(_serve_device(FactoryDevice(store)))
    result = provision(pty_board.path, good_bundle, timeout=5)
    assert result.ok, result
    assert result.status == FccStatus.SUCCESS and result.status_name == "FCC_STATUS_SUCCESS"
    assert result.info == "The Factory process succeeded\n"
    assert "Item not set:mbed.UpdateAuthCert" in result.warnings
    assert LOG_TEXT.decode() in result.console
    assert store.get(it.ENDPOINT_NAME) == b"ep-0001"


def test_session_over_pty_with_keep_alive_then_disable(pty_board, good_bundle):
    from harness.provisioning import Bundle

    device = FactoryDevice(ItemStore())
    pty_board.serve(_serve_device(device))
    first = Bundle(config_params={it.CLASS_ID: bytes(16), it.VENDOR_ID: bytes(16)}, verify=False)
    good_bundle.disable = True
    port = serial.Serial(pty_board.path, 115200, timeout=None)
    try:
        with Session(port, timeout=5) as session:
            results = session.send_all([first, good_bundle])
            assert [r.status for r in results] == [FccStatus.SUCCESS, FccStatus.SUCCESS]
            assert "Item not set:mbed.ClassId" not in results[1].warnings
            again = session.send(good_bundle)
        assert port.is_open and port.timeout is None  # caller's port left as it was
    finally:
        port.close()
    # a new session erases the storage, the disable flag with it (the Linux client, facts 1.6)
    assert again.ok and device.sessions_committed == 2
    assert device.store.get(it.RBP_FACTORY_DISABLED) == b"\x01"


def test_bad_hash_over_pty_gets_transport_status_8(pty_board, good_bundle):
    pty_board.serve(_serve_device(FactoryDevice(ItemStore())))
    frame = bytearray(encode_request(good_bundle.to_cbor()))
    frame[-1] ^= 0x01
    with Session(pty_board.path, timeout=5) as session:
        result = session.send_frame(bytes(frame))
        assert result.transport_status == FtcdStatus.INCONSISTENT_MESSAGE_SIGNATURE
        assert not result.ok
        assert session.send(good_bundle).ok  # the device recovers


def test_bundle_error_travels_with_transport_status_0(pty_board, good_bundle):
    pty_board.serve(_serve_device(FactoryDevice(ItemStore())))
    good_bundle.config_params[it.ENDPOINT_NAME] = "not-the-cn"
    result = provision(pty_board.path, good_bundle, timeout=5)
    assert result.transport_status == 0
    assert result.status == FccStatus.INVALID_LWM2M_CN_ATTR
    with pytest.raises(ProvisioningError, match="Certificate CN attribute invalid"):
        result.raise_for_status(pty_board.path)


def test_silent_device_times_out_naming_the_port(pty_board, good_bundle):
    with pytest.raises(ProvisioningError, match=f"No provisioning response from {pty_board.path}"):
        provision(pty_board.path, good_bundle, timeout=0.3)


def test_garbled_response_is_a_clear_error(pty_board, good_bundle):
    def garbler(board: PtyBoard) -> None:
        reader = FrameReader("request")
        while not board.stop.is_set():
            if reader.feed(board.read(4096)):
                bad = bytearray(encode_response(0, b"\xbf\xff"))
                bad[-1] ^= 0xFF
                board.write(bytes(bad))
    pty_board.serve(garbler)
    with pytest.raises(ProvisioningError, match="garbled"):
        provision(pty_board.path, good_bundle, timeout=5)


def test_missing_port_is_a_clear_error(tmp_path, good_bundle):
    with pytest.raises(ProvisioningError, match="Cannot open serial port"):
        provision(str(tmp_path / "ttyNOPE"), good_bundle, timeout=0.2)


def test_busy_port_is_a_clear_error(pty_board, good_bundle):
    with serial.Serial(pty_board.path, exclusive=True), \
            pytest.raises(ProvisioningError,
                          match=rf"Cannot open serial port {pty_board.path} .*no other program"):
        provision(pty_board.path, good_bundle, timeout=0.2)
