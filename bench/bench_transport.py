"""Benchmark: CoAP requests/s over tls-record with N concurrent clients (median of 3 runs).

Run: python3 bench/bench_transport.py [--clients 50] [--requests 20] [--kind tls-record]
Each client opens its own connection (full mutual-TLS handshake), then sends its requests one
after another; the clock covers handshakes and requests.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import aiocoap
import aiocoap.resource as resource
from aiocoap import GET, Message

from harness import pki
from harness.transport import (
    Endpoint,
    client_ssl_context,
    create_client_context,
    create_server_context,
    server_ssl_context,
    transport,
)


class Echo(resource.Resource):
    """Answers GET with a short payload."""

    async def render_get(self, request):
        return Message(code=aiocoap.CONTENT, payload=b"ok")


async def one_run(kind: str, clients: int, requests: int) -> tuple[float, float]:
    """Return (requests per second, handshakes per second) of one run."""
    server_ca, device_ca = pki.make_ca("bench server CA"), pki.make_ca("bench device CA")
    server_cert = pki.make_server_cert(server_ca, "bench")
    server_ctx = server_ssl_context(server_cert, [device_ca.cert])
    site = resource.Site()
    site.add_resource(["echo"], Echo())
    server = await create_server_context(
        site, [Endpoint(kind, ssl_context_factory=lambda: server_ctx)])
    devices = [pki.make_device_cert(device_ca, f"bench-{i}") for i in range(clients)]
    contexts = [
        await create_client_context(
            kind, ssl_context=client_ssl_context(d, server_ca.cert) if transport(kind).needs_tls else None)
        for d in devices
    ]
    uri = server.uri(kind) + "/echo"

    async def first(ctx):
        await ctx.request(Message(code=GET, uri=uri)).response

    async def rest(ctx):
        for _ in range(requests - 1):
            await ctx.request(Message(code=GET, uri=uri)).response

    try:
        start = time.perf_counter()
        await asyncio.gather(*(first(c) for c in contexts))
        connected = time.perf_counter()
        await asyncio.gather(*(rest(c) for c in contexts))
        end = time.perf_counter()
    finally:
        for ctx in contexts:
            await ctx.shutdown()
        await server.shutdown()
    return clients * (requests - 1) / (end - connected), clients / (connected - start)


def main() -> None:
    """Parse options, run three times, print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--kind", default="tls-record", choices=["tls-record", "tcp-length"])
    args = parser.parse_args()
    runs = [asyncio.run(one_run(args.kind, args.clients, args.requests)) for _ in range(3)]
    rps = statistics.median(r[0] for r in runs)
    hps = statistics.median(r[1] for r in runs)
    print(f"{args.kind}: {args.clients} clients x {args.requests} requests: "
          f"median {rps:.0f} requests/s, {hps:.0f} connections(handshake+first request)/s")


if __name__ == "__main__":
    main()
