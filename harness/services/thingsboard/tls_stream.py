"""TLS on a TCP stream with ssl.MemoryBIO, as amqtt reader/writer adapters.

asyncio's own start_tls drops the TLS alert when the server refuses a handshake, so a device
would only see the connection close; here the alert (e.g. "unknown ca" for a certificate no
device has) is sent before closing, as ThingsBoard's TLS stack does.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl

from amqtt.adapters import ReaderAdapter, WriterAdapter

CHUNK = 65536


class TlsStream:
    """One server-side TLS session over an asyncio reader/writer pair."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 context: ssl.SSLContext) -> None:
        self.reader, self.writer = reader, writer
        self._in, self._out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.ssl = context.wrap_bio(self._in, self._out, server_side=True)
        self._plain = bytearray()
        self.eof = False

    def _flush(self) -> None:
        data = self._out.read()
        if data and not self.writer.is_closing():
            self.writer.write(data)

    async def _receive(self) -> bool:
        data = await self.reader.read(CHUNK)
        if not data:
            self._in.write_eof()
            return False
        self._in.write(data)
        return True

    async def handshake(self) -> None:
        """Run the handshake; on failure the alert is sent, then ssl.SSLError is raised."""
        while True:
            try:
                self.ssl.do_handshake()
            except ssl.SSLWantReadError:
                self._flush()
                if not await self._receive():
                    raise ConnectionError("the client closed the connection during the handshake") from None
                continue
            except ssl.SSLError:
                self._flush()  # the alert
                with contextlib.suppress(Exception):
                    await self.writer.drain()
                raise
            self._flush()
            await self.writer.drain()
            return

    async def read_exactly(self, n: int) -> bytes:
        """n bytes of plaintext; IncompleteReadError at end of stream."""
        while len(self._plain) < n and not self.eof:
            try:
                data = self.ssl.read(CHUNK)
                if not data:  # close_notify or end of the TCP stream
                    self.eof = True
                self._plain += data
            except ssl.SSLWantReadError:
                self._flush()
                if not await self._receive():
                    self.eof = True
            except (ssl.SSLZeroReturnError, ssl.SSLError):
                self.eof = True
        if len(self._plain) < n:
            partial, self._plain = bytes(self._plain), bytearray()
            raise asyncio.IncompleteReadError(partial, n)
        out, self._plain = bytes(self._plain[:n]), self._plain[n:]
        return out

    def write(self, data: bytes) -> None:
        """Encrypt and send."""
        self.ssl.write(data)
        self._flush()

    async def close(self) -> None:
        """close_notify, then close the TCP connection."""
        with contextlib.suppress(Exception):
            self.ssl.unwrap()
        self._flush()
        with contextlib.suppress(Exception):
            await self.writer.drain()
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()


class TlsReader(ReaderAdapter):
    """amqtt reader over a TlsStream."""

    def __init__(self, stream: TlsStream) -> None:
        self.stream = stream

    async def read(self, n: int = -1) -> bytes:
        """Exactly n bytes (n = -1: what is buffered or arrives next)."""
        if n == -1:
            return await self.stream.read_exactly(1)
        return await self.stream.read_exactly(n)

    def feed_eof(self) -> None:
        """Mark the end of the stream."""
        self.stream.eof = True


class TlsWriter(WriterAdapter):
    """amqtt writer over a TlsStream; get_ssl_info() gives the SSLObject (peer certificate)."""

    def __init__(self, stream: TlsStream) -> None:
        self.stream = stream
        self.is_closed = False

    def write(self, data: bytes) -> None:
        """Send application data."""
        if not self.is_closed:
            self.stream.write(data)

    async def drain(self) -> None:
        """Let the TCP write buffer drain."""
        if not self.is_closed:
            await self.stream.writer.drain()

    def get_peer_info(self) -> tuple[str, int] | None:
        """(address, port) of the client."""
        peer = self.stream.writer.get_extra_info("peername")
        return (peer[0], peer[1]) if peer and len(peer) >= 2 else None

    def get_ssl_info(self) -> ssl.SSLObject | None:
        """The TLS session (for the client certificate)."""
        return self.stream.ssl

    async def close(self) -> None:
        """Close the TLS session and the connection."""
        if not self.is_closed:
            self.is_closed = True
            await self.stream.close()
