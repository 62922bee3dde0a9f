"""udp: aiocoap's own udp6 transport, with undecodable datagrams dropped in one short log line."""

from __future__ import annotations

from aiocoap.transports.udp6 import MessageInterfaceUDP6


class SafeMessageInterfaceUDP6(MessageInterfaceUDP6):
    """aiocoap's udp6 interface; a datagram whose options are not valid UTF-8 (Uri-Path,
    Uri-Query...) is dropped like any unparsable message instead of raising through asyncio."""

    def datagram_msg_received(self, data, ancdata, flags, address) -> None:
        """Hand the datagram to aiocoap; log a decoding failure in one line."""
        try:
            super().datagram_msg_received(data, ancdata, flags, address)
        except UnicodeError:
            self.log.warning("Ignoring a message with a non-UTF-8 text option from %s",
                             address[0] if address else "?")
