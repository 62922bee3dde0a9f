"""Benchmark: reset -> `Client registered` on the real client (a native board) and on a virtual
board, next to the time of two bare TLS handshakes against the same service.

Run: python3 bench/bench_reset.py [--resets 20] [--kit PATH]
Each board is flashed with a developer image (the native board links the real Device Management
Client from its kit, ../shared/peers/pdmc-linux-tcp or $HIL_PDMC_KIT), onboards once, then is
reset `resets` times; each time runs from the reset to the board's `Client registered` console
line (a registration with stored credentials: a TLS handshake, then Register). Two bare
handshakes (the real client's TLS offer, device clock 0 then the adopted time, no CoAP) give the
floor. Prints each board's median and the handshakes, in milliseconds. A board whose kit or
compiler is missing is skipped with the reason.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.boards.board import Board, BoardUnavailable  # noqa: E402
from harness.boards.dialect import dialect_for_image  # noqa: E402
from harness.boards.manifest import load_manifest  # noqa: E402
from harness.boards.registry import TEST_ENVIRONMENT, make_board  # noqa: E402
from harness.cloud.service_thread import ServiceThread  # noqa: E402
from harness.config import RateLimit, ServiceConfig, Timing, board_config  # noqa: E402
from harness.transport import bare_handshake, device_tls_context  # noqa: E402

REGISTER_TIMEOUT = 60.0


class DeviceClock:
    """A factory-new device's clock: 0 until a handshake hands it the server's time."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def adopt(self, unix: int) -> None:
        self.now = float(unix)


def time_resets(board: Board, image: Path, resets: int, log: Path) -> list[float]:
    """Flash, wait for the first registration, then time `resets` resets to `Client registered`."""
    registered = dialect_for_image(board.config.firmware)["registered"]
    console = board.open_console(log)
    board.erase()
    console.mark()
    board.flash(image)
    console.expect(registered, REGISTER_TIMEOUT)
    seconds = []
    for _ in range(resets):
        console.mark()
        start = time.perf_counter()
        board.reset()
        console.expect(registered, REGISTER_TIMEOUT)
        seconds.append(time.perf_counter() - start)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resets", type=int, default=20, help="resets per board (default 20)")
    parser.add_argument("--kit", default=None, help="the real client kit (default: $HIL_PDMC_KIT "
                                                    "or ../shared/peers/pdmc-linux-tcp)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-reset-") as tmp:
        root = Path(tmp)
        os.environ.setdefault("HIL_SIM_DIR", str(root / "boards"))
        os.environ.setdefault("HIL_NATIVE_DIR", str(root / "native"))
        for name, value in TEST_ENVIRONMENT.items():
            os.environ.setdefault(name, value)
        # every reset registers again: lift the registration rate limit (10 in 10 s)
        timing = Timing(rate_limit=RateLimit(count=100_000, window=10.0, hold=1.0))
        thread = ServiceThread(ServiceConfig(transports=["tls-record"], timing=timing), root / "cloud")
        service = thread.start()
        manifest = load_manifest()
        boards = [board_config(id="bench-native", kind="native", **({"kit": args.kit} if args.kit else {})),
                  board_config(id="bench-vboard", kind="sim", firmware="developer")]
        try:
            account = thread.run(lambda: service.create_account("bench"))
            host, port = urlsplit(service.bootstrap_uri("tls-record")).netloc.rsplit(":", 1)
            for config in boards:
                board = make_board(config)
                try:
                    board.check()
                except BoardUnavailable as exc:
                    print(f"{config.id}: skipped ({exc})")
                    continue
                dev = thread.run(lambda: service.issue_developer_certificate(account.id))
                image = board.image_file(config.firmware, manifest, root / "fw",
                                         developer_credentials=dev.c_credentials())
                try:
                    seconds = time_resets(board, image, args.resets, root / f"{config.id}.log")
                finally:
                    board.stop()
                clock = DeviceClock()
                tls = device_tls_context(dev.credential, [dev.server_ca_der], clock=clock,
                                         on_time=clock.adopt)
                handshakes = [asyncio.run(bare_handshake(host, int(port), tls)) for _ in range(2)]
                print(f"{config.id} ({board.kind}): reset -> Client registered, {len(seconds)} "
                      f"resets: median {statistics.median(seconds) * 1000:.0f} ms "
                      f"(min {min(seconds) * 1000:.0f}, max {max(seconds) * 1000:.0f}); bare "
                      f"handshakes: {', '.join(f'{h * 1000:.1f}' for h in handshakes)} ms "
                      "(clock 0, then adopted time)")
        finally:
            thread.stop()


if __name__ == "__main__":
    main()
