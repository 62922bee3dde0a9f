"""Probe: idle stream connections beyond the open-file limit; the service keeps serving new clients.

Starts the local service in a child process whose RLIMIT_NOFILE is lowered to --nofile, opens
--idle silent TCP connections to its tcp-length and tls-record ports (they send nothing), then
checks, --rounds times, that a new client is served on udp, tcp-length, tls-record (a full
bootstrap with mutual TLS) and the REST API. Prints the figures as JSON; exit 1 if a client was
not served or the service logged more than --max-log-lines lines.

    python3 tools/probe_stream_limits.py --idle 1100 --nofile 1024 --rounds 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import socket
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from aiocoap import Message
from aiocoap.numbers.codes import Code

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "unit" / "cloud"))

from lab_client import LabDevice  # noqa: E402 - tests/unit/cloud/lab_client.py

from harness import pki  # noqa: E402
from harness.transport import create_client_context  # noqa: E402
from tools.probe_child import service_child  # noqa: E402


def _host_port(uri: str) -> tuple[str, int]:
    host, port = uri.split("//", 1)[1].rsplit(":", 1)
    return host.strip("[]"), int(port)


# ---------------------------------------------------------------- the parent: the probe

def open_idle(targets: list[tuple[str, int]], count: int) -> tuple[list[socket.socket], int]:
    """Open `count` silent TCP connections spread over `targets`; (sockets, failed connects)."""
    socks, failed = [], 0
    for i in range(count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.settimeout(2.0)
        try:
            sock.connect(targets[i % len(targets)])
            socks.append(sock)
        except OSError:
            failed += 1
            sock.close()
    return socks, failed


async def _timed(coro) -> float | None:
    start = time.perf_counter()
    try:
        await asyncio.wait_for(coro, 10.0)
    except Exception:  # noqa: BLE001 - a failure is what the probe reports
        return None
    return round(time.perf_counter() - start, 4)


async def _coap_get(kind: str, uri: str) -> None:
    ctx = await create_client_context(kind)
    try:
        await ctx.request(Message(code=Code.GET, uri=f"{uri}/.well-known/core")).response
    finally:
        await ctx.shutdown()


async def _bootstrap(info: dict, ca: pki.Credential, n: int) -> None:
    cred = pki.make_bootstrap_device_cert(ca, f"probe-{n}")
    dev = LabDevice("tls-record", f"probe-{n}", credential=cred,
                    server_ca_der=info["server_ca_der"])
    try:
        await dev.bootstrap(info["bootstrap"]["tls-record"], aid=info["aid"])
    finally:
        await dev.close()


async def _rest(url: str) -> None:
    def get() -> int:
        try:
            with urllib.request.urlopen(f"{url}/v3/devices", timeout=5) as response:  # noqa: S310
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code
    status = await asyncio.get_running_loop().run_in_executor(None, get)
    if status != 401:
        raise RuntimeError(f"REST answered {status}")


async def serve_round(info: dict, ca: pki.Credential, n: int) -> dict[str, float | None]:
    """One new client per transport; seconds each took (None = not served)."""
    return {
        "udp": await _timed(_coap_get("udp", info["lwm2m"]["udp"])),
        "tcp-length": await _timed(_coap_get("tcp-length", info["lwm2m"]["tcp-length"])),
        "tls-record": await _timed(_bootstrap(info, ca, n)),
        "rest": await _timed(_rest(info["rest"])),
    }


def probe(args: argparse.Namespace) -> dict:
    """Run the probe; the figures."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    ca = pki.make_ca("probe factory CA")
    extra = ["--nofile", str(args.nofile), "--first-message-timeout",
             str(args.first_message_timeout)]
    if args.max_connections:
        extra += ["--max-connections", str(args.max_connections)]
    with tempfile.TemporaryDirectory(prefix="probe-limits-") as tmp, \
            service_child(Path(tmp), ca, *extra) as child:
        info = {**child.info, "server_ca_der": child.server_ca_der}
        targets = [_host_port(info[s][k]) for s in ("bootstrap", "lwm2m")
                   for k in ("tcp-length", "tls-record")]
        start = time.perf_counter()
        socks, failed = open_idle(targets, args.idle)
        opened_in = time.perf_counter() - start
        rounds = [asyncio.run(serve_round(info, ca, n)) for n in range(args.rounds)]
        stats = child.figures()
        for sock in socks:
            sock.close()
        lines = child.log_lines()
        if args.log:
            Path(args.log).write_text("\n".join(lines) + "\n")
    served = {k: [r[k] for r in rounds] for k in rounds[0]}
    return {
        "nofile": args.nofile, "cap": info["cap"], "idle_opened": len(socks),
        "idle_connect_failed": failed, "idle_open_seconds": round(opened_in, 2),
        "service": stats,
        "served": {k: f"{sum(v is not None for v in vs)}/{len(vs)}" for k, vs in served.items()},
        "slowest_s": {k: max((v for v in vs if v is not None), default=None)
                      for k, vs in served.items()},
        "log_lines": len(lines),
        "log_lines_fd": sum("open files" in line or "cannot accept" in line for line in lines),
        "tracebacks": sum(line.startswith("Traceback") for line in lines),
        "ok": all(v is not None for vs in served.values() for v in vs)
        and len(lines) <= args.max_log_lines,
    }


def main() -> int:
    """Parse arguments; run the child or the probe."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle", type=int, default=1100, help="silent connections to open")
    parser.add_argument("--nofile", type=int, default=1024, help="the service's open-file limit")
    parser.add_argument("--rounds", type=int, default=5, help="new clients per transport")
    parser.add_argument("--max-connections", type=int, default=None,
                        help="service.stream.max_connections (default: from the limit)")
    parser.add_argument("--first-message-timeout", type=float, default=30.0)
    parser.add_argument("--max-log-lines", type=int, default=50)
    parser.add_argument("--log", help="keep the service log in this file")
    args = parser.parse_args()
    figures = probe(args)
    print(json.dumps(figures, indent=2))
    return 0 if figures["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
