"""The labgrid board kind without a lab: config, resource reading, errors, the serial bridge.

The distributed path itself (coordinator, exporters, ser2net, pyocd server) is tests/remote.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest
import serial

from harness.boards.board import CapabilityMissing
from harness.boards.kinds.labgrid import (
    LabgridBoard,
    missing_resources,
    place_status,
    probe_unique_id,
    serial_url,
)
from harness.boards.labgrid_places import (
    Coordinator,
    LabgridError,
    PlaceResource,
    PlaceState,
    import_client,
)
from harness.boards.registry import make_board
from harness.boards.serial_bridge import SerialBridge
from harness.config import ConfigError, LabgridBoardConfig, board_config, parse_lab_config

ENTRY = {"id": "far-1", "kind": "labgrid", "target": "nrf52840", "coordinator": "127.0.0.1:20408",
         "place": "rig1-nrf"}


def _serial(**params: object) -> PlaceResource:
    return PlaceResource("rig1", "nrf", "NetworkSerialPort", "NetworkSerialPort",
                         {"host": "10.0.0.5", "port": 3001, "speed": 115200, **params}, True, None)


def _probe(avail: bool = True) -> PlaceResource:
    return PlaceResource("rig1", "nrf", "PyOCDProbeServer", "PyOCDProbeServer",
                         {"host": "10.0.0.5", "port": 5555}, avail, None)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_lab_entry_names_coordinator_and_place_and_makes_a_labgrid_board() -> None:
    board = make_board(board_config(**ENTRY))
    assert isinstance(board, LabgridBoard)
    assert isinstance(board.config, LabgridBoardConfig) and board.config.place == "rig1-nrf"
    assert board.capabilities.has_probe and not board.capabilities.can_deregister
    with pytest.raises(CapabilityMissing, match="labgrid place"):
        board.deregister()


def test_a_lab_entry_without_place_or_with_a_bad_coordinator_is_named_with_its_line() -> None:
    text = ("boards:\n"
            "  - {id: far-1, kind: labgrid, target: nrf52840, coordinator: 'rig1 20408'}\n")
    with pytest.raises(ConfigError) as err:
        parse_lab_config(text)
    problems = "\n".join(err.value.problems)
    assert "boards[0] (id far-1).place (line 2): is required" in problems
    assert "boards[0] (id far-1).coordinator (line 2)" in problems


def test_serial_and_probe_resources_become_pyserial_and_pyocd_addresses() -> None:
    assert serial_url(_serial()) == "rfc2217://10.0.0.5:3001?ign_set_control"
    assert serial_url(_serial(protocol="raw")) == "socket://10.0.0.5:3001"
    assert probe_unique_id(_probe()) == "remote:10.0.0.5:5555"


def test_a_place_lacking_a_probe_or_with_one_unavailable_is_reported() -> None:
    whole = PlaceState("rig1-nrf", None, [_serial(), _probe()])
    assert missing_resources(whole) == []
    assert place_status(whole) == "labgrid place rig1-nrf on rig1: free"
    no_probe = PlaceState("rig1-nrf", "ci-7/jenkins", [_serial()])
    assert "has no PyOCDProbeServer resource" in missing_resources(no_probe)[0]
    assert place_status(no_probe).endswith("acquired by ci-7/jenkins")
    gone = PlaceState("rig1-nrf", None, [_serial(), _probe(avail=False)])
    assert "not available" in missing_resources(gone)[0]


def test_an_unreachable_coordinator_is_one_sentence_in_time() -> None:
    import_client()  # importing labgrid (seconds on a loaded machine) is not the timeout measured
    start = time.monotonic()
    with pytest.raises(LabgridError, match=r"labgrid coordinator 127\.0\.0\.1:\d+: connect failed"):
        Coordinator(f"127.0.0.1:{_closed_port()}", timeout=3)
    assert time.monotonic() - start < 3.5


def test_hil_boards_survey_names_the_unreachable_coordinator() -> None:
    board = make_board(board_config(**{**ENTRY, "coordinator": f"127.0.0.1:{_closed_port()}"}))
    survey = board.survey([], probe_seen=False)
    assert survey.status == "labgrid place unreachable"
    assert "connect failed" in survey.problems[0]


@pytest.fixture
def tcp_peer() -> tuple[socket.socket, int]:
    """A raw TCP serial server (like ser2net's raw mode) on loopback; one accepted connection."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    thread = threading.Thread(target=lambda: accepted.append(server.accept()[0]), daemon=True)
    thread.start()
    yield accepted, server.getsockname()[1], thread
    for conn in accepted:
        conn.close()
    server.close()


def test_bridge_carries_bytes_both_ways_and_reports_the_remote_end_closing(
        tcp_peer, tmp_path: Path) -> None:
    accepted, port, thread = tcp_peer
    bridge = SerialBridge(f"socket://127.0.0.1:{port}", tmp_path / "far" / "tty", 115200)
    bridge.open()
    try:
        thread.join(5)
        remote = accepted[0]
        remote.settimeout(5)
        with serial.Serial(str(bridge.link), 115200, timeout=5) as local:
            remote.sendall(b"Client registered\r\n")
            assert local.read_until(b"\n") == b"Client registered\r\n"
            local.write(b"\x01frame\x02")
            got = b""
            while len(got) < 7:
                got += remote.recv(64)
            assert got == b"\x01frame\x02"
            remote.close()  # the exporter host is gone
            assert bridge.wait_lost(5), "the bridge did not notice the exporter going away"
        assert not bridge.alive and "closed" in (bridge.error or "")
        assert not bridge.link.exists()
    finally:
        bridge.close()
