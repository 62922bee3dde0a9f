"""Stream connection bounds: first-message and idle timeouts, one cap, one log line per condition."""

import asyncio
import logging
import os
import subprocess
import sys
from pathlib import Path

import aiocoap
from transport_testkit import WAIT, RawTcpLength, coap_con, run, server_site

from harness.transport import (
    ConnectionBudget,
    Endpoint,
    StreamLimits,
    create_server_context,
    server_ssl_context,
)
from harness.transport.limits import AcceptErrorFilter

REPO = Path(__file__).resolve().parents[3]


async def _server(creds, limits: StreamLimits):
    budget = ConnectionBudget(limits)
    site, _hello, _slow = server_site()
    endpoints = [Endpoint("tcp-length", budget=budget),
                 Endpoint("tls-record", budget=budget, ssl_context_factory=lambda: server_ssl_context(
                     creds.server, [creds.device_ca.cert]))]
    return await create_server_context(site, endpoints), budget


async def _closed(peer: RawTcpLength) -> bool:
    """True once the server closed the connection (EOF or reset) within WAIT."""
    try:
        data = await asyncio.wait_for(peer.reader.read(1), WAIT)
    except ConnectionError:
        return True
    return data == b""


async def _hello(peer: RawTcpLength, mid: int) -> str:
    peer.send(coap_con(aiocoap.GET.value, mid, b"t%d" % mid, "hello"))
    return str((await peer.recv()).code)


def test_silent_connections_close_after_the_first_message_timeout(creds):
    async def scenario():
        server, budget = await _server(creds, StreamLimits(first_message_timeout=0.3,
                                                           idle_timeout=0.8, max_connections=50))
        try:
            port = server.bound["tcp-length"][1]
            silent = await RawTcpLength.connect("127.0.0.1", port)
            talker = await RawTcpLength.connect("127.0.0.1", port)
            assert (await _hello(talker, 1)).startswith("2.05")
            assert await _closed(silent)  # closed after 0.3 s: no message
            assert (await _hello(talker, 2)).startswith("2.05")  # still open: it spoke
            assert await _closed(talker)  # then idle 0.8 s -> closed
            assert budget.idle_closed == 2 and not budget.live
        finally:
            await server.shutdown()

    run(scenario())


def test_cap_drops_the_oldest_silent_connection_then_refuses(creds, caplog):
    async def scenario():
        server, budget = await _server(creds, StreamLimits(max_connections=3))
        try:
            tcp = server.bound["tcp-length"][1]
            tls = server.bound["tls-record"][1]
            silent = await RawTcpLength.connect("127.0.0.1", tls)  # a silent TLS peer
            talkers = [await RawTcpLength.connect("127.0.0.1", tcp) for _ in range(2)]
            for i, peer in enumerate(talkers):
                assert (await _hello(peer, 10 + i)).startswith("2.05")
            newcomer = await RawTcpLength.connect("127.0.0.1", tcp)
            assert await _closed(silent)  # evicted for the newcomer (cap shared by listeners)
            assert (await _hello(newcomer, 20)).startswith("2.05")
            refused = [await RawTcpLength.connect("127.0.0.1", tcp) for _ in range(5)]
            for peer in refused:  # every slot holds a peer that spoke: refused at once
                assert await _closed(peer)
            assert (await _hello(talkers[0], 30)).startswith("2.05")
            assert (budget.evicted, budget.refused) == (1, 5)
            for peer in (*talkers, newcomer, *refused):
                await peer.close()
        finally:
            await server.shutdown()

    with caplog.at_level(logging.WARNING, logger="harness.transport"):
        run(scenario())
    lines = [r.getMessage() for r in caplog.records if "max_connections" in r.getMessage()]
    assert len(lines) == 1, lines  # one line for the condition, not one per refused peer


def test_accept_errors_become_one_line_per_listener_per_minute(caplog):
    class Sock:
        def getsockname(self):
            return ("127.0.0.1", 5684)

    seen = []
    clock = iter(range(0, 1000, 1))
    handler = AcceptErrorFilter(lambda loop, ctx: seen.append(ctx), clock=lambda: next(clock))
    context = {"message": "socket.accept() out of system resource",
               "exception": OSError(24, "Too many open files"), "socket": Sock()}
    with caplog.at_level(logging.WARNING, logger="harness.transport"):
        for _ in range(125):  # one retry a second for a little over two minutes
            handler(None, context)
        handler(None, {"message": "something else"})
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3 and "Too many open files" in lines[0]
    assert "59 more retries" in lines[1]
    assert seen == [{"message": "something else"}]  # other contexts reach the old handler


def test_idle_peers_beyond_the_fd_limit_do_not_stop_any_transport():
    """The probe of tools/ in CI size: 300 silent peers against a service limited to 256 fds."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, str(REPO / "tools" / "probe_stream_limits.py"), "--idle", "300",
         "--nofile", "256", "--rounds", "2"],
        capture_output=True, text=True, timeout=120, env=env, check=False)
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    assert '"tracebacks": 0' in result.stdout
