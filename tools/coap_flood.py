"""Flood one port with malformed CoAP (stdlib only, so many can start at once); see
probe_malformed_coap.py.

    python3 tools/coap_flood.py udp HOST PORT COUNT RATE
    python3 tools/coap_flood.py stream HOST PORT CONNECTIONS FRAMES_PER_CONNECTION
"""

from __future__ import annotations

import random
import socket
import struct
import sys
import time


def _option(delta: int, value: bytes) -> bytes:
    assert delta < 13 and len(value) < 13
    return bytes([(delta << 4) | len(value)]) + value


def malformed(rng: random.Random, mid: int) -> bytes:
    """One malformed (or refused) CoAP message; MIDs vary so deduplication does not hide it."""
    head = struct.pack("!BBH", 0x40, 0x02, mid & 0xFFFF)  # CON POST, no token
    kind = mid % 6
    if kind == 0:
        return rng.randbytes(rng.randint(1, 40))
    if kind == 1:
        return head[:rng.randint(1, 3)]  # truncated header
    if kind == 2:
        return head + _option(11, b"\xff\xfe")  # Uri-Path not UTF-8
    if kind == 3:
        return head + _option(11, b"rd") + _option(4, b"ep=\xc3")  # Uri-Query cut in a UTF-8 char
    if kind == 4:
        return head + _option(11, b"bs") + _option(4, b"ep=")  # refused: no endpoint name
    return head + _option(11, b"rd") + _option(4, b"ep=z") + _option(0, "lt=\u00b2".encode())


def flood_udp(host: str, port: int, count: int, rate: float) -> None:
    """Send `count` malformed datagrams, `rate` a second (0: as fast as the socket takes them)."""
    rng = random.Random(port)
    start = time.perf_counter()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for mid in range(count):
            if rate and mid % 100 == 0:
                ahead = start + mid / rate - time.perf_counter()
                if ahead > 0:
                    time.sleep(ahead)
            try:
                sock.sendto(malformed(rng, mid), (host, port))
            except OSError:
                time.sleep(0.001)  # ENOBUFS: let the receiver catch up


def flood_stream(host: str, port: int, connections: int, per_connection: int) -> None:
    """Open `connections` connections, each writing `per_connection` garbage frames then closing."""
    rng = random.Random(port)
    for n in range(connections):
        try:
            with socket.create_connection((host, port), timeout=2) as sock:
                frames = b"".join(struct.pack("!I", len(m)) + m for m in
                                  (malformed(rng, n * per_connection + i)
                                   for i in range(per_connection)))
                sock.sendall(frames if n % 2 else rng.randbytes(len(frames)))
        except OSError:
            continue


def main() -> None:
    """Run one flood from the command line."""
    kind, host, port, count, per = sys.argv[1:6]
    print("ready", flush=True)  # the probe starts every flood at once, after their start-up
    sys.stdin.readline()
    if kind == "udp":
        flood_udp(host, int(port), int(count), float(per))
    else:
        flood_stream(host, int(port), int(count), int(per))


if __name__ == "__main__":
    main()
