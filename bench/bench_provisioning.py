"""Benchmark: frame parsing throughput, device handling time, and a pty round trip."""

from __future__ import annotations

import os
import select
import statistics
import threading
import time
import tty

from harness import pki
from harness.provisioning import FactoryDevice, ItemStore, bootstrap_bundle, provision
from harness.provisioning.frame import FrameReader, encode_request


def main() -> None:
    """Print timings for the provisioning codec, handler and a pty round trip."""
    ca, server = pki.make_ca("bench CA"), pki.make_ca("bench server CA")
    cert = pki.make_bootstrap_device_cert(ca, "bench-ep")
    bundle = bootstrap_bundle("bench-ep", "coaps://127.0.0.1:5684?aid=1", server.cert_der, cert)
    cbor = bundle.to_cbor()
    frame = encode_request(cbor)
    print(f"bundle CBOR {len(cbor)} bytes, frame {len(frame)} bytes")

    stream = (b"log line of text\r\n" * 10 + frame) * 200
    reader = FrameReader("request")
    start = time.perf_counter()
    frames = [f for i in range(0, len(stream), 64) for f in reader.feed(stream[i:i + 64])]
    elapsed = time.perf_counter() - start
    print(f"reader: {len(frames)} frames, {len(stream) / elapsed / 1e6:.1f} MB/s in 64-byte reads")

    device = FactoryDevice(ItemStore())
    times = []
    for _ in range(50):
        t = time.perf_counter()
        device.handle(cbor)
        times.append(time.perf_counter() - t)
    print(f"device.handle: median {statistics.median(times) * 1e3:.2f} ms (in-memory store)")

    master, slave = os.openpty()
    tty.setraw(slave)
    stop = threading.Event()

    def read(n: int) -> bytes:
        ready, _, _ = select.select([master], [], [], 0.05)
        return os.read(master, n) if ready else b""

    thread = threading.Thread(target=FactoryDevice(ItemStore()).serve,
                              args=(read, lambda d: os.write(master, d)),
                              kwargs={"stop": stop}, daemon=True)
    thread.start()
    rounds = []
    for _ in range(20):
        t = time.perf_counter()
        assert provision(os.ttyname(slave), bundle, timeout=5).ok
        rounds.append(time.perf_counter() - t)
    stop.set()
    thread.join()
    os.close(master)
    os.close(slave)
    print(f"pty provision round trip: median {statistics.median(rounds) * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
