"""A client gives up a request its server never answers after its image's request timeout.

The image's manifest sets the client's request timeout (`request_timeout`, seconds; default 45).
The scenario's bootstrap writes the LwM2M server URI of a listener that accepts the connection
and then says nothing (a server that hangs, a firewall that drops after SYN-ACK): the client's
Register gets no answer, and the board reports the failure once its request timeout has passed,
not the default's 45 s later. (The virtual board's image knob; what the real client does with a
silent server, and after how long, is not measured here.)
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from tests.e2e.bootstrap_configs import configure

pytestmark = pytest.mark.area("troubleshooting")

REQUEST_TIMEOUT = 2
"""The image's request timeout (seconds)."""
NETWORK_ERROR = "Client in reconnection mode NetworkError"
"""The details of ConnectNetworkError (code 7) the board reports for a request that timed out."""
REPORT_WAIT = 3 * REQUEST_TIMEOUT
"""How long the report may take: the request timeout with room for a loaded host, well below the
default 45 s and the ~10 s after which the connection attempt alone gives up."""


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP listener on 127.0.0.1 that accepts and never answers; its port."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def hold() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        for conn in accepted:
            conn.close()
        listener.close()


@pytest.mark.firmware("factory", request_timeout=REQUEST_TIMEOUT)
@pytest.mark.scenario("troubleshooting: a Register no server answers fails after the image's request timeout")
def test_an_unanswered_register_fails_after_the_images_request_timeout(cloud, account, factory,
                                                                        device, silent_server):
    """The bootstrap writes a silent LwM2M server URI into /0/0 (an instance write, so the
    account's credentials stay); the client's Register to it is reported failed within the
    image's 2 s request timeout, and it never registers."""
    configure(cloud, account, {"instance_writes": [
        {"path": "/0/0", "values": {0: f"coaps://127.0.0.1:{silent_server}"}}]})
    factory.bootstrap(ca=factory.own_ca())
    device.expect(rf"Client registering to coaps://127.0.0.1:{silent_server}$", timeout=20)
    start = time.monotonic()
    line = device.expect(r"^Error details : (.*)$", timeout=REPORT_WAIT)
    waited = time.monotonic() - start
    # the request timed out (a network error), before the connection attempt gave up by itself
    # (which the client reports as a failed secure connection: `Re-bootstrapping`)
    assert line.group(1) == NETWORK_ERROR, f"after {waited:.1f} s: {line.group(0)}"
    assert waited >= REQUEST_TIMEOUT * 0.9, f"reported after {waited:.1f} s: {line.group(0)}"
    assert not device.board.seen(r"^Client registered$")
