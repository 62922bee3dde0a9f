"""Benchmark: reset and power cycle -> `Client registered`, read through the harness console, on the
real client (a native board) and on a virtual board, each next to its same-run reference.

Run: python3 bench/bench_reset.py [--resets 20] [--kit PATH]
Each board is flashed with a developer image (the native board links the real Device Management
Client from its kit, ../shared/peers/pdmc-linux-tcp or $HIL_PDMC_KIT), onboards once, then runs
`resets` rounds; a round times Board.reset() and Board.power_cycle() from the call to the board's
`Client registered` console line (a registration with stored credentials: a TLS handshake, then
Register), and right after them its reference: for the virtual board one bare TLS handshake (the
real client's offer at the adopted time, no CoAP) against the same service, the floor of any
registration; for the native board the linked client run by hand on the same storage (exec to its
own `Client registered` line, no harness). Each "added" figure is the median over rounds of
(time - reference): what the harness and the board's start-up add. Prints medians in milliseconds;
a board whose kit or compiler is missing is skipped with the reason.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import tty
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


def time_to_registered(console, registered, action) -> float:
    """Seconds from calling `action` to the console's next line matching `registered`."""
    console.mark()
    start = time.perf_counter()
    action()
    console.expect(registered, REGISTER_TIMEOUT)
    return time.perf_counter() - start


def client_alone(board) -> float:
    """The native board's linked client run by hand on its storage (the board's own client held
    stopped meanwhile): seconds from exec to its `Client registered` line on a pty."""
    board.reset(halt=True)
    master, terminal = os.openpty()
    tty.setraw(terminal)
    start = time.perf_counter()
    proc = subprocess.Popen([str(board.client)], cwd=board.storage.parent, stdin=terminal,
                            stdout=terminal, stderr=terminal)
    os.close(terminal)
    seen = b""
    try:
        while b"Client registered" not in seen:
            if not select.select([master], [], [], REGISTER_TIMEOUT)[0]:
                raise TimeoutError("the client alone did not register")
            seen = seen[-64:] + os.read(master, 65536)
        return time.perf_counter() - start
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        os.close(master)


def run_rounds(board: Board, image: Path, rounds: int, log: Path, reference,
               reference_halts: bool) -> dict[str, list[float]]:
    """Flash, wait for the first registration, then `rounds` x (reset, power cycle, reference);
    `reference_halts`: the reference holds the board's client stopped (it is reset afterwards)."""
    registered = dialect_for_image(board.config.firmware)["registered"]
    console = board.open_console(log)
    board.erase()
    console.mark()
    board.flash(image)
    console.expect(registered, REGISTER_TIMEOUT)
    times: dict[str, list[float]] = {"reset": [], "power": [], "reference": []}
    for _ in range(rounds):
        times["reset"].append(time_to_registered(console, registered, board.reset))
        times["power"].append(time_to_registered(console, registered, board.power_cycle))
        times["reference"].append(reference())
        if reference_halts:  # its client was held stopped: run it again for the next round
            time_to_registered(console, registered, board.reset)
    return times


def ms(value: float) -> str:
    """Seconds as whole milliseconds."""
    return f"{value * 1000:.0f}"


def report(name: str, kind: str, times: dict[str, list[float]], reference: str) -> None:
    """Print one board's medians, its reference and what the harness adds."""
    ref = times["reference"]
    parts = []
    for path in ("reset", "power"):
        values = times[path]
        added = statistics.median(v - r for v, r in zip(values, ref, strict=True))
        parts.append(f"{path} {ms(statistics.median(values))} (min {ms(min(values))}, max "
                     f"{ms(max(values))}), added {ms(added)}")
    print(f"{name} ({kind}), {len(ref)} rounds, ms -> Client registered: {'; '.join(parts)}; "
          f"{reference} {ms(statistics.median(ref))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resets", type=int, default=20,
                        help="rounds per board, each a reset, a power cycle and the reference "
                             "(default 20)")
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
        # each board with its reference: the client run by hand, or a bare handshake
        boards = [(board_config(id="bench-native", kind="native",
                                **({"kit": args.kit} if args.kit else {})), "the client alone"),
                  (board_config(id="bench-vboard", kind="sim", firmware="developer"),
                   "bare handshake")]
        try:
            account = thread.run(lambda: service.create_account("bench"))
            host, port = urlsplit(service.bootstrap_uri("tls-record")).netloc.rsplit(":", 1)
            for config, label in boards:
                board = make_board(config)
                try:
                    board.check()
                except BoardUnavailable as exc:
                    print(f"{config.id}: skipped ({exc})")
                    continue
                dev = thread.run(lambda: service.issue_developer_certificate(account.id))
                image = board.image_file(config.firmware, manifest, root / "fw",
                                         developer_credentials=dev.c_credentials())
                clock = DeviceClock()
                tls = device_tls_context(dev.credential, [dev.server_ca_der], clock=clock,
                                         on_time=clock.adopt)
                asyncio.run(bare_handshake(host, int(port), tls))  # clock 0: adopts the time
                by_hand = label == "the client alone"
                if by_hand:
                    reference = lambda b=board: client_alone(b)  # noqa: E731
                else:
                    reference = lambda t=tls: asyncio.run(bare_handshake(host, int(port), t))  # noqa: E731
                try:
                    times = run_rounds(board, image, args.resets, root / f"{config.id}.log",
                                       reference, reference_halts=by_hand)
                finally:
                    board.stop()
                report(config.id, board.kind, times, label)
        finally:
            thread.stop()


if __name__ == "__main__":
    main()
