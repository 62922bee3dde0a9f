"""The local service as a child process for the probes of tools/ (run by them, not by hand).

Lowers RLIMIT_NOFILE to --nofile, starts the service (all transports, REST), trusts --ca for a
fresh account and prints one JSON line: the account, the URIs, the REST URL, the server CA.
Each line on stdin makes it print one JSON line of figures; EOF stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import resource
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from harness.cloud.service import DeviceManagementService  # noqa: E402
from harness.config import RateLimit, Retention, ServiceConfig, StreamConfig, Timing  # noqa: E402


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _udp_drops() -> dict[int, int]:
    """Datagrams the kernel dropped on this process's udp sockets (receive buffer full), by
    local port."""
    inodes = set()
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = fd.readlink().name
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    drops: dict[int, int] = {}
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] in inodes:
                port = int(fields[1].rsplit(":", 1)[1], 16)
                drops[port] = drops.get(port, 0) + int(fields[-1])
    return drops


def figures(svc: DeviceManagementService) -> dict:
    """What the service holds and wrote so far."""
    budget = svc.connection_budget
    denials, events = svc.store.count_records() if svc.store else (0, 0)
    db = Path(svc.data_dir) / "service.sqlite3"
    wal = Path(f"{db}-wal")
    return {"open": len(budget.live), "refused": budget.refused, "evicted": budget.evicted,
            "idle_closed": budget.idle_closed, "denials": denials, "events": events,
            "refusals_not_recorded": svc.refusal_budget.total_suppressed,
            "db_bytes": db.stat().st_size + (wal.stat().st_size if wal.exists() else 0),
            "rss_kib": _rss_kib(), "udp_drops": _udp_drops()}


class LoopLag:
    """The longest the event loop was late to wake a 10 ms timer since the last reading."""

    def __init__(self) -> None:
        self.worst = 0.0

    async def watch(self) -> None:
        """Measure until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            start = loop.time()
            await asyncio.sleep(0.01)
            self.worst = max(self.worst, loop.time() - start - 0.01)

    def take(self) -> float:
        """The worst lag in ms, then start over."""
        worst, self.worst = self.worst, 0.0
        return round(worst * 1000, 1)


async def _serve(args: argparse.Namespace) -> None:
    ports = {"tls_record": 0, "tcp_length": 0, "udp": 0, "dtls": 0}
    config = ServiceConfig(
        transports=["tls-record", "tcp-length", "udp", "dtls"], bootstrap=ports, lwm2m=ports,
        stream=StreamConfig(max_connections=args.max_connections,
                            first_message_timeout=args.first_message_timeout),
        timing=Timing(rate_limit=RateLimit(count=1_000_000)),  # the probes register often
        retention=Retention(log_lines_per_minute=args.log_lines_per_minute))
    if args.slow_callback_ms:  # asyncio logs each callback that held the loop this long
        loop = asyncio.get_running_loop()
        loop.set_debug(True)
        loop.slow_callback_duration = args.slow_callback_ms / 1000
    svc = DeviceManagementService(config, Path(args.data_dir))
    await svc.start()
    try:
        acc = svc.create_account("probe")
        svc.add_trusted_certificate(acc.id, "probe CA", Path(args.ca).read_bytes())
        info = {"aid": acc.id, "rest": svc.rest.url, "server_ca": svc.server_ca_pem.decode(),
                "cap": svc.connection_budget.cap,
                "bootstrap": {k: svc.bootstrap_uri(k) for k in svc.bootstrap_server.bound},
                "lwm2m": {k: svc.lwm2m_uri(k) for k in svc.lwm2m_server.bound}}
        print(json.dumps(info), flush=True)
        loop = asyncio.get_running_loop()
        lag = LoopLag()
        watcher = asyncio.create_task(lag.watch())
        while await loop.run_in_executor(None, sys.stdin.readline):
            print(json.dumps({**figures(svc), "loop_lag_max_ms": lag.take()}), flush=True)
        watcher.cancel()
    finally:
        await svc.stop()


def main() -> None:
    """Parse arguments, lower the open-file limit, serve until stdin closes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nofile", type=int, default=1024)
    parser.add_argument("--ca", required=True)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--max-connections", type=int, default=None)
    parser.add_argument("--first-message-timeout", type=float, default=30.0)
    parser.add_argument("--log-lines-per-minute", type=int, default=60)
    parser.add_argument("--debug", action="store_true", help="DEBUG log with timestamps")
    parser.add_argument("--slow-callback-ms", type=float, default=0,
                        help="log the callbacks that hold the event loop this long (asyncio debug)")
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(args.nofile, hard), hard))
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.INFO, stream=sys.stderr,
                        format=("%(relativeCreated)d " if args.debug else "")
                        + "%(levelname)s %(name)s: %(message)s")
    asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
