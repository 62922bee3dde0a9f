"""Benchmark: LwM2M Register over UDP NoSec at scale, 128 in flight, batches up to 50,000 registered.

Run: python3 bench/bench_registration_scale.py [--total 50000] [--batch 1000] [--inflight 128]
     [--report-at 1000,10000,50000] [--runs 3] [--peer-cmd "CMD ... {port} ..."]
The local service runs in a child process (UDP only, no REST); this process is a raw UDP load
generator: one socket per client, a confirmable POST /rd?ep=..&lt=86400&lwm2m=1.1&b=U with a link-format
body, CoAP retransmission (2 s, doubling), `inflight` clients at once. Per reported batch it prints
registrations/s, the server's CPU per registration (from /proc/<pid>/stat), p50/p99 latency,
retransmissions and memory per registered device (RSS growth, and peak growth, over the count);
at the end the server's CPU per second while idle. With --peer-cmd the same load also runs
against that command ({port} is replaced by a free UDP port) and each figure gets a ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import selectors
import shlex
import socket
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TICK = os.sysconf("SC_CLK_TCK")
BODY = b"</1/0>,</3/0>,</4/0>,</5/0>"


def _option(number: int, last: int, value: bytes) -> bytes:
    delta, length = number - last, len(value)
    assert delta < 13 and length < 269  # noqa: S101 - our own fixed options
    if length < 13:
        return bytes([(delta << 4) | length]) + value
    return bytes([(delta << 4) | 13, length - 13]) + value


def register_message(mid: int, token: bytes, ep: str, aid: str | None, lifetime: int = 86400) -> bytes:
    """A CON POST /rd with ep, lt, b (and aid) and a link-format body."""
    out = bytearray([0x40 | len(token), 0x02]) + struct.pack("!H", mid) + token
    out += _option(11, 0, b"rd") + _option(12, 11, b"\x28")
    queries = [f"ep={ep}", f"lt={lifetime}", "lwm2m=1.1", "b=U"] + ([f"aid={aid}"] if aid else [])
    last = 12
    for q in queries:
        out += _option(15, last, q.encode())
        last = 15
    return bytes(out + b"\xff" + BODY)


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (all threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def proc_mem(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) in bytes."""
    vals = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            vals[line.split(":")[0]] = int(line.split()[1]) * 1024
    return vals["VmRSS"], vals["VmHWM"]


class Load:
    """Registers clients against host:port, `inflight` at once, one socket per client."""

    def __init__(self, port: int, aid: str | None, inflight: int, prefix: str) -> None:
        self.addr = ("127.0.0.1", port)
        self.aid, self.inflight, self.prefix = aid, inflight, prefix
        self.sel = selectors.DefaultSelector()
        self.next_client = 0
        self.retransmissions = 0

    def _start(self, pending: dict) -> None:
        i = self.next_client
        self.next_client += 1
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setblocking(False)
        sock.connect(self.addr)
        mid, token = random.randrange(65536), os.urandom(4)
        msg = register_message(mid, token, f"{self.prefix}-{i}", self.aid)
        now = time.perf_counter()
        state = {"sock": sock, "msg": msg, "mid": mid, "token": token, "t0": now, "timeout": 2.0,
                 "resend": now + 2.0}
        sock.send(msg)
        self.sel.register(sock, selectors.EVENT_READ, state)
        pending[sock] = state

    def run(self, count: int) -> list[float]:
        """Register `count` more clients; their latencies in seconds."""
        latencies: list[float] = []
        pending: dict = {}
        goal = self.next_client + count
        while self.next_client < goal and len(pending) < self.inflight:
            self._start(pending)
        while pending:
            for key, _ in self.sel.select(timeout=0.05):
                st = key.data
                try:
                    data = st["sock"].recv(2048)
                except OSError:
                    continue
                if len(data) < 4:
                    continue
                mtype, code = (data[0] >> 4) & 3, data[1]
                if mtype == 0 and code >= 0x40:  # separate CON response: ACK it
                    st["sock"].send(bytes([0x60, 0]) + data[2:4])
                if code == 0:
                    continue  # empty ACK; the response follows
                if code != 0x41:
                    raise RuntimeError(f"Register answered {code >> 5}.{code & 31:02d}: {data[4:]!r}")
                latencies.append(time.perf_counter() - st["t0"])
                self.sel.unregister(st["sock"])
                st["sock"].close()
                del pending[st["sock"]]
                if self.next_client < goal:
                    self._start(pending)
            now = time.perf_counter()
            for st in pending.values():
                if now >= st["resend"]:
                    st["sock"].send(st["msg"])
                    st["timeout"] *= 2
                    st["resend"] = now + st["timeout"]
                    self.retransmissions += 1
        return latencies


def _serve_child() -> None:
    """In the child: run the local service (udp only), print its port, serve until stdin closes."""
    import asyncio
    import tempfile

    sys.path.insert(0, str(ROOT))
    from harness.cloud.service import DeviceManagementService
    from harness.config import ServiceConfig

    async def main() -> None:
        with tempfile.TemporaryDirectory(prefix="dmhil-regscale-") as tmp:
            svc = DeviceManagementService(ServiceConfig(transports=["udp"]), Path(tmp), start_rest=False)
            await svc.start()
            account = svc.create_account("scale", device_quota=10_000_000)
            port = int(svc.lwm2m_uri("udp").rsplit(":", 1)[1].split("/")[0])
            print(json.dumps({"port": port, "aid": account.id}), flush=True)
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, sys.stdin.read)
            await svc.stop()

    asyncio.run(main())


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(peer_cmd: str | None) -> tuple[subprocess.Popen, int, str | None]:
    """Start our service (or the peer command); (process, udp port, account id)."""
    if peer_cmd is None:
        proc = subprocess.Popen([sys.executable, __file__, "--serve-child"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True, cwd=ROOT)
        info = json.loads(proc.stdout.readline())
        return proc, info["port"], info["aid"]
    port = _free_udp_port()
    proc = subprocess.Popen(shlex.split(peer_cmd.replace("{port}", str(port))),
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # a foreign command has no readiness signal; give it a second to bind
    return proc, port, None


def one_run(args: argparse.Namespace, peer_cmd: str | None, run_no: int) -> dict[int, dict]:
    """One pass up to --total; figures at each --report-at count, plus idle CPU."""
    proc, port, aid = start_server(peer_cmd)
    try:
        load = Load(port, aid, args.inflight, f"r{run_no}-{os.getpid()}")
        base_rss, _ = proc_mem(proc.pid)
        out: dict[int, dict] = {}
        done = 0
        while done < args.total:
            cpu0, t0, rt0 = proc_cpu(proc.pid), time.perf_counter(), load.retransmissions
            lat = sorted(load.run(args.batch))
            wall, cpu = time.perf_counter() - t0, proc_cpu(proc.pid) - cpu0
            done += args.batch
            if done in args.report_at:
                rss, hwm = proc_mem(proc.pid)
                out[done] = {"rate": args.batch / wall, "cpu_us": cpu / args.batch * 1e6,
                             "p50_ms": lat[len(lat) // 2] * 1e3, "p99_ms": lat[int(len(lat) * .99)] * 1e3,
                             "retx": load.retransmissions - rt0,
                             "kib_per_dev": (rss - base_rss) / done / 1024,
                             "peak_kib_per_dev": (hwm - base_rss) / done / 1024}
        cpu0 = proc_cpu(proc.pid)
        time.sleep(args.idle)
        out[-1] = {"idle_ms_per_s": (proc_cpu(proc.pid) - cpu0) / args.idle * 1e3}
        return out
    finally:
        if proc.stdin:
            proc.stdin.close()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.terminate()
            proc.wait(timeout=10)


def medians(runs: list[dict[int, dict]]) -> dict[int, dict]:
    """Median of each figure over runs."""
    return {n: {k: statistics.median(r[n][k] for r in runs) for k in runs[0][n]} for n in runs[0]}


def show(name: str, m: dict[int, dict]) -> None:
    """Print one server's median figures."""
    for n, f in m.items():
        if n < 0:
            print(f"{name}: idle CPU with all registered: {f['idle_ms_per_s']:.1f} ms per second")
            continue
        print(f"{name}: at {n:>6} registered: {f['rate']:7.0f} reg/s, CPU {f['cpu_us']:7.0f} µs/reg, "
              f"p50 {f['p50_ms']:6.1f} ms, p99 {f['p99_ms']:7.1f} ms, {f['retx']:.0f} retx, "
              f"memory {f['kib_per_dev']:.2f} KiB/device (peak {f['peak_kib_per_dev']:.2f})")


def main() -> None:
    """Parse options, run, print medians (and ratios against --peer-cmd)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--inflight", type=int, default=128)
    parser.add_argument("--report-at", default="1000,10000,50000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--idle", type=float, default=5.0, help="seconds of idle CPU measurement")
    parser.add_argument("--peer-cmd", help="another LwM2M server command; {port} = its UDP port")
    parser.add_argument("--serve-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_child:
        _serve_child()
        return
    args.report_at = {int(x) for x in args.report_at.split(",") if int(x) <= args.total}
    ours, peer = [], []
    for run_no in range(args.runs):
        ours.append(one_run(args, None, run_no))
        if args.peer_cmd:
            peer.append(one_run(args, args.peer_cmd, run_no))
    m = medians(ours)
    show("dm-hil", m)
    if args.peer_cmd:
        p = medians(peer)
        show("peer", p)
        for n in sorted(k for k in m if k > 0):
            print(f"ratio at {n}: reg/s {m[n]['rate'] / p[n]['rate']:.2f}, "
                  f"CPU/reg {m[n]['cpu_us'] / p[n]['cpu_us']:.2f}")
    first, last = min(k for k in m if k > 0), max(m)
    print(f"median CPU per registration at {last} / at {first}: "
          f"{m[last]['cpu_us'] / m[first]['cpu_us']:.2f}")


if __name__ == "__main__":
    main()
