"""Probe: malformed CoAP at every port while a legitimate device registers alongside.

Starts the service in a child process, sends --count malformed messages to each udp and dtls port
(garbage, truncated headers, non-UTF-8 Uri-Path/Uri-Query, requests that are refused; --rate a
second) and
--count/--per-connection connections of garbage to each tcp-length and tls-record port, from
flood processes, while a device registers over udp and tcp-length every --interval seconds.
Prints figures as JSON (Register latencies, log lines and tracebacks, rows, database size,
RSS); exit 1 if a Register took over 1 s or failed, or a traceback was logged.

    python3 tools/probe_malformed_coap.py --count 100000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "unit" / "cloud"))

from lab_client import LabDevice  # noqa: E402 - tests/unit/cloud/lab_client.py

from harness import pki  # noqa: E402
from tools.probe_child import service_child  # noqa: E402


def _host_port(uri: str) -> tuple[str, int]:
    host, port = uri.split("//", 1)[1].rsplit(":", 1)
    return host.strip("[]"), int(port)


async def _registrar(kind: str, uri: str, aid: str, stop: asyncio.Event, interval: float,
                     registered: asyncio.Event) -> list[tuple[float, float | None]]:
    """Register once (before the flood), then every `interval` s until `stop`; seconds each
    Register under the flood took (None = failed)."""
    times: list[tuple[float, float | None]] = []  # (started at, seconds or None)
    dev = LabDevice(kind, f"legit-{kind}")
    try:
        await dev.register(f"{uri}?aid={aid}", lifetime=3600, timeout=10.0)
        registered.set()
        while not stop.is_set():
            start = time.perf_counter()
            try:
                response = await dev.register(f"{uri}?aid={aid}", lifetime=3600, timeout=5.0)
                ok = str(response.code).startswith("2.01")
            except Exception:  # noqa: BLE001 - a failed Register is a figure
                ok = False
            times.append((start, time.perf_counter() - start if ok else None))
            await asyncio.sleep(interval)
    finally:
        await dev.close()
    return times


async def _measure(info: dict, flood_commands: list[list[str]], interval: float,
                   flood_nice: int) -> dict:
    stop = asyncio.Event()
    ready = {k: asyncio.Event() for k in ("udp", "tcp-length")}
    tasks = [asyncio.create_task(_registrar(k, info["lwm2m"][k], info["aid"], stop, interval,
                                            ready[k])) for k in ready]
    await asyncio.wait_for(asyncio.gather(*(e.wait() for e in ready.values())), 20)
    # asyncio subprocesses, not threads waiting on Popen: aiocoap resolves each udp request's
    # address in the loop's default executor, which waiting threads would fill (the udp
    # Registers then wait for a flood to end: the 2.4-4.5 s measured before this was found).
    floods = [await asyncio.create_subprocess_exec("nice", "-n", str(flood_nice), *cmd, stdin=subprocess.PIPE,
                                                   stdout=subprocess.PIPE)
              for cmd in flood_commands]
    for proc in floods:  # Python start-up of the floods is not the service's time
        await proc.stdout.readline()
    for proc in floods:
        proc.stdin.write(b"go\n")
        await proc.stdin.drain()
    start = time.perf_counter()
    try:
        await asyncio.gather(*(p.wait() for p in floods))
    finally:
        for proc in floods:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    flood_seconds = time.perf_counter() - start
    stop.set()
    results = {kind: [seconds for started, seconds in times if started >= start]
               for kind, times in zip(ready, await asyncio.gather(*tasks), strict=True)}
    return {"flood_seconds": round(flood_seconds, 1), "registers": results}


def probe(args: argparse.Namespace) -> dict:
    """Run the probe; the figures."""
    ca = pki.make_ca("probe factory CA")
    with tempfile.TemporaryDirectory(prefix="probe-malformed-") as tmp, \
            service_child(Path(tmp), ca, *(["--debug"] if args.debug else []),
                          nice=args.service_nice) as child:
        info = child.info
        before = child.figures()
        me = [sys.executable, str(Path(__file__).with_name("coap_flood.py"))]
        floods = []
        for server in ("bootstrap", "lwm2m"):
            for kind in ("udp", "dtls"):  # on dtls: records of no session
                host, port = _host_port(info[server][kind])
                floods.append([*me, "udp", host, str(port), str(args.count), str(args.rate)])
            for kind in ("tcp-length", "tls-record"):
                host, port = _host_port(info[server][kind])
                floods.append([*me, "stream", host, str(port),
                               str(max(1, args.count // args.per_connection)),
                               str(args.per_connection)])
        measured = asyncio.run(_measure(info, floods, args.interval, args.flood_nice))
        after = child.figures()
        lines = child.log_lines()
        if args.log:
            Path(args.log).write_text("\n".join(lines) + "\n")
    latencies = {k: [t for t in v if t is not None] for k, v in measured["registers"].items()}
    failed = {k: sum(t is None for t in v) for k, v in measured["registers"].items()}
    slowest = {k: round(max(v), 3) if v else None for k, v in latencies.items()}
    return {
        "count_per_udp_port": args.count, "rate_per_udp_port": args.rate,
        "service_nice": args.service_nice, "flood_nice": args.flood_nice,
        "load_average": Path("/proc/loadavg").read_text().split()[:3],
        "flood_seconds": measured["flood_seconds"],
        "registers": {k: len(v) for k, v in measured["registers"].items()},
        "registers_failed": failed,
        "register_slowest_s": slowest,
        "registers_over_1s": {k: [i for i, t in enumerate(v) if t is None or t > 1.0]
                              for k, v in measured["registers"].items()},
        "register_median_s": {k: round(sorted(v)[len(v) // 2], 4) if v else None
                              for k, v in latencies.items()},
        "log_lines": len(lines),
        "log_bytes": sum(len(line) + 1 for line in lines),
        "tracebacks": sum(line.startswith("Traceback") for line in lines),
        "service_before": before, "service_after": after,
        "ok": not any(failed.values()) and all(s is not None and s <= 1.0 for s in slowest.values())
        and not any(line.startswith("Traceback") for line in lines),
    }


def main() -> int:
    """Parse arguments; run a flood process or the probe."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000, help="malformed messages per port")
    parser.add_argument("--per-connection", type=int, default=50,
                        help="garbage frames per stream connection")
    parser.add_argument("--rate", type=float, default=2000.0,
                        help="malformed datagrams a second per udp port (0: unthrottled)")
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between Registers")
    parser.add_argument("--flood-nice", type=int, default=10,
                        help="niceness of the flood processes: an attacker does not share the "
                             "service's CPU (0: they compete with it)")
    parser.add_argument("--service-nice", type=int, default=None,
                        help="niceness of the service (negative, as root: it gets the CPU a "
                             "dedicated host gives it while other work loads the machine)")
    parser.add_argument("--log", help="keep the service log in this file")
    parser.add_argument("--debug", action="store_true",
                        help="the service logs at DEBUG level with timestamps (with --log)")
    args = parser.parse_args()
    figures = probe(args)
    print(json.dumps(figures, indent=2))
    return 0 if figures["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
