"""Benchmark: factory provisioning of a typical bundle over a virtual board's pty at 115200 baud.

Compares the measured time of provision() with the line-rate floor (request + response frame
bytes x 10 bits / baud). Median of 3 runs, each on a fresh board. Run: python bench/bench_serial.py
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

import serial

from harness import pki
from harness.provisioning.bundle import bootstrap_bundle
from harness.provisioning.device import FactoryDevice
from harness.provisioning.frame import encode_request
from harness.provisioning.host import provision
from harness.provisioning.store import ItemStore
from harness.sim import registry
from harness.sim.firmware import build_image
from harness.sim.launcher import VirtualBoardProcess

BAUD = 115200
RUNS = 3


def one_run(root: Path, image: Path, index: int, bundle, baud: int | None = BAUD) -> float:
    """Provision one fresh board; seconds taken by provision()."""
    board = VirtualBoardProcess(f"bench-{index}", root=root, baud=baud, image=image)
    info = board.start()
    try:
        with serial.Serial(info.tty_link, BAUD, timeout=10) as port:
            port.read_until(b"Factory flow begins")
            port.read_until(b"\n")
            start = time.perf_counter()
            result = provision(port, bundle, timeout=30)
            elapsed = time.perf_counter() - start
        assert result.ok, result.info
        return elapsed
    finally:
        board.stop()


def main() -> None:
    """Run the benchmark and print the numbers."""
    device_ca, server_ca = pki.make_ca("bench device CA"), pki.make_ca("bench server CA")
    cert = pki.make_bootstrap_device_cert(device_ca, "bench-ep-0001")
    bundle = bootstrap_bundle("bench-ep-0001", "coaps://127.0.0.1:5684?aid=0123456789abcdef0123456789abcdef",
                              server_ca.cert_der, cert)
    request = encode_request(bundle.to_cbor())
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "boards"
        root.mkdir()
        os.environ[registry.SIM_DIR_ENV] = str(root)
        image = Path(tmp) / "factory.bin"
        image.write_bytes(build_image("factory"))
        times = [one_run(root, image, i, bundle) for i in range(RUNS)]
        raw = [one_run(root, image, RUNS + i, bundle, baud=None) for i in range(RUNS)]
    response = len(FactoryDevice(ItemStore(None)).feed(request))  # the same device code, in memory
    floor = (len(request) + response) * 10 / BAUD
    median = statistics.median(times)
    print(f"request frame {len(request)} B, response frame {response} B at {BAUD} baud")
    print(f"line-rate floor {floor * 1000:.1f} ms; measured median {median * 1000:.1f} ms "
          f"(runs: {', '.join(f'{t * 1000:.1f}' for t in times)} ms); overhead {median / floor:.2f}x")
    print(f"without baud emulation: median {statistics.median(raw) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
