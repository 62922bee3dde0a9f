"""Read a datagram socket in batches: up to BATCH datagrams per readiness callback.

asyncio's datagram transports (and aiocoap's recvmsg transport) read one datagram per callback
of the event loop. While the loop serves other sockets (a stream flood, say) a flood's backlog
builds up in the socket, and a legitimate datagram waits behind it, one loop iteration per
datagram ahead of it: seconds. Reading in batches drains the backlog as fast as the datagrams
can be looked at.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import Any

BATCH = 64


def read_in_batches(loop: asyncio.AbstractEventLoop, sock: socket.socket,
                    read_one: Callable[[], None], recv: Callable[[], tuple[Any, ...]],
                    deliver: Callable[..., None], on_error: Callable[[OSError], None],
                    add_reader: Callable[..., Any] | None = None) -> None:
    """Replace the loop's reader of `sock`: the transport's own `read_one()`, then up to
    BATCH - 1 more `recv()` results handed to `deliver(*result)` until the socket is empty."""
    if sock.fileno() < 0:
        return

    def ready() -> None:
        read_one()
        for _ in range(BATCH - 1):
            if sock.fileno() < 0:
                return
            try:
                received = recv()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                on_error(exc)
                return
            deliver(*received)

    (add_reader or loop.add_reader)(sock.fileno(), ready)


def read_asyncio_datagrams_in_batches(loop: asyncio.AbstractEventLoop,
                                      transport: asyncio.DatagramTransport) -> None:
    """read_in_batches for a transport of loop.create_datagram_endpoint (selector loops)."""
    sock = transport._sock  # type: ignore[attr-defined]  # the raw socket, not the wrapper
    protocol = transport.get_protocol()
    read_in_batches(loop, sock, transport._read_ready,  # type: ignore[attr-defined]
                    lambda: sock.recvfrom(transport.max_size),  # type: ignore[attr-defined]
                    protocol.datagram_received, protocol.error_received,
                    # loop.add_reader refuses a transport's fd; the transport's own way does not
                    add_reader=loop._add_reader)  # type: ignore[attr-defined]
