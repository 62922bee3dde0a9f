"""udp: aiocoap's own udp6 transport, hardened against floods of undecodable datagrams.

A datagram whose options are not valid UTF-8 (Uri-Path, Uri-Query...) is dropped like any
unparsable message instead of raising through asyncio. A source address that sends more than
STRIKES undecodable datagrams within WINDOW seconds is ignored, unparsed, for the rest of that
window, so a flood from one peer costs the service a dict look-up per datagram.

The socket is read in batches (batch_reader.py), not one datagram per loop iteration as aiocoap
does, so a flood's backlog does not hold up a legitimate datagram.
"""

from __future__ import annotations

import time

from aiocoap import Message, error
from aiocoap.transports.udp6 import MessageInterfaceUDP6

from harness.transport.batch_reader import read_in_batches

STRIKES = 20
WINDOW = 10.0
MAX_TRACKED = 10_000


class SafeMessageInterfaceUDP6(MessageInterfaceUDP6):
    """aiocoap's udp6 interface with undecodable datagrams dropped and flooding peers muted."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._strikes: dict[tuple, int] = {}
        self._window_ends = time.monotonic() + WINDOW
        self.muted_datagrams = 0

    def connection_made(self, transport) -> None:
        """As aiocoap, then read in batches once aiocoap's transport has registered its reader."""
        super().connection_made(transport)
        self.loop.call_soon(self._read_in_batches)

    def _read_in_batches(self) -> None:
        sock = self.transport.get_extra_info("socket")
        if sock is None:
            return
        max_size = self.transport.max_size
        read_in_batches(self.loop, sock, self.transport._read_ready,  # error queue + 1 datagram
                        lambda: sock.recvmsg(max_size, 1024), self.datagram_msg_received,
                        self.error_received)

    def datagram_msg_received(self, data, ancdata, flags, address) -> None:
        """Hand the datagram to aiocoap unless its sender is muted or it is undecodable."""
        now = time.monotonic()
        if now >= self._window_ends or len(self._strikes) > MAX_TRACKED:
            self._strikes.clear()
            self._window_ends = now + WINDOW
        key = tuple(address[:2])
        if self._strikes.get(key, 0) > STRIKES:
            self.muted_datagrams += 1
            return
        try:
            Message.decode(data)  # aiocoap decodes again below; this only tells good from bad
        except (error.UnparsableMessage, UnicodeError):
            self.log.warning("Ignoring an undecodable datagram from %s", key[0])
            self._strike(key)
            return
        super().datagram_msg_received(data, ancdata, flags, address)

    def _strike(self, key: tuple) -> None:
        count = self._strikes.get(key, 0) + 1
        self._strikes[key] = count
        if count == STRIKES + 1:
            self.log.warning("Muting %s for up to %g s: more than %d undecodable datagrams",
                             key[0], WINDOW, STRIKES)
