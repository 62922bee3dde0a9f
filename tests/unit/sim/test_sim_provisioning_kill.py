"""kill -9 of a virtual board in the middle of provisioning never needs a chip erase."""

from __future__ import annotations

import os
import random
import signal
import sys
import time
from pathlib import Path

import serial

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "provisioning"))

from fcc_cases import Material, bundle, params  # noqa: E402

from harness.provisioning import items as it  # noqa: E402
from harness.provisioning.bundle import Bundle  # noqa: E402
from harness.provisioning.frame import encode_request  # noqa: E402
from harness.provisioning.host import Session  # noqa: E402
from harness.provisioning.store import ItemStore  # noqa: E402
from harness.sim import registry  # noqa: E402
from harness.sim.runtime import provisioning_problem  # noqa: E402


def _read_until(port: serial.Serial, text: bytes, timeout: float = 10.0) -> bytes:
    deadline = time.monotonic() + timeout
    data = b""
    while text not in data and time.monotonic() < deadline:
        data += port.read(port.in_waiting or 1)
    return data


def _kill(board) -> None:
    os.kill(board.info.pid, signal.SIGKILL)
    assert board.wait_gone(10)


def _good(m: Material, endpoint: str) -> bytes:
    import cbor2

    return cbor2.dumps(bundle(m, cert=m.device_cert(cn=endpoint),
                              config=params(EndpointName=endpoint)))


def test_kill_after_a_keep_alive_bundle_reboots_into_the_factory_flow(start_board, factory_image):
    m = Material.make()
    board = start_board("k9", image=factory_image)
    with serial.Serial(board.info.tty_link, 115200, timeout=0.2) as port:
        assert b"Factory flow begins" in _read_until(port, b"Factory flow begins")
        with Session(port, timeout=10) as session:
            first = Bundle(config_params={it.CLASS_ID: b"c" * 16}, verify=False, keep_alive=True)
            assert session.send(first).ok
            _kill(board)  # mid-session: power lost
    store_path = Path(board.dir) / registry.STORE_FILE
    assert not ItemStore(store_path).committed
    again = start_board("k9")  # same board directory, same flash: no erase
    with serial.Serial(again.info.tty_link, 115200, timeout=0.2) as port:
        assert b"Factory flow begins" in _read_until(port, b"Factory flow begins")
        with Session(port, timeout=10) as session:
            result = session.send_raw(_good(m, "ep-k9"))
            assert result.ok
        # the line may come in the same read as the response frame (then it is in result.console)
        after = result.console.encode() + _read_until(port, b"Factory flow done")
        assert b"Factory flow done" in after
    store = ItemStore(store_path)
    assert store.committed and provisioning_problem(store) is None


def test_kill_at_random_moments_of_the_commit_is_all_old_or_all_new(start_board, factory_image):
    m = Material.make()
    frame = encode_request(_good(m, "ep-race"))
    rng = random.Random(12)
    outcomes = {"old": 0, "new": 0}
    store_path = None
    for attempt in range(4):
        board = start_board(f"race{attempt}", image=factory_image)
        store_path = Path(board.dir) / registry.STORE_FILE
        with serial.Serial(board.info.tty_link, 115200, timeout=0.2) as port:
            assert b"Factory flow begins" in _read_until(port, b"Factory flow begins")
            port.write(frame)
            port.flush()
            time.sleep(rng.uniform(0.0, 0.15))  # the kill lands anywhere in handling/commit
            _kill(board)
        store = ItemStore(store_path)
        if store.committed:
            assert provisioning_problem(store) is None
            assert store.get_str(it.ENDPOINT_NAME) == "ep-race"
            outcomes["new"] += 1
        else:
            assert store.names() == []
            outcomes["old"] += 1
        again = start_board(f"race{attempt}")
        with serial.Serial(again.info.tty_link, 115200, timeout=0.2) as port:
            text = _read_until(port, b"Factory flow begins", timeout=3)
        assert (b"Factory flow begins" in text) == (not store.committed), text[-300:]
    assert sum(outcomes.values()) == 4
