"""Shared helpers of the transport tests: credentials, a test site, raw wire clients."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiocoap
import aiocoap.resource as resource
from aiocoap import Message

from harness import pki
from harness.transport import (
    Endpoint,
    ServerContext,
    client_ssl_context,
    create_client_context,
    create_server_context,
    peer_certificate,
    server_ssl_context,
)
from harness.transport.framing import length_prefixed, take_length_prefixed, take_tls_record

WAIT = 5.0


def run(coro, timeout: float = 20.0):
    """Run one async scenario with an overall timeout."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


@dataclass
class Creds:
    """The lab PKI of these tests."""

    server_ca: pki.Credential
    device_ca: pki.Credential
    rogue_ca: pki.Credential
    server: pki.Credential
    device: pki.Credential
    rogue_device: pki.Credential


def make_creds() -> Creds:
    """A server CA + cert, a device CA + cert, and an untrusted CA + device cert."""
    server_ca = pki.make_ca("test server CA")
    device_ca = pki.make_ca("test device CA")
    rogue_ca = pki.make_ca("rogue CA")
    return Creds(
        server_ca, device_ca, rogue_ca,
        pki.make_server_cert(server_ca, "lwm2m.test"),
        pki.make_device_cert(device_ca, "ep-test-1"),
        pki.make_device_cert(rogue_ca, "ep-rogue"),
    )


class Hello(resource.Resource):
    """GET echoes who asked; POST remembers the remote (like a Register)."""

    def __init__(self) -> None:
        super().__init__()
        self.remotes: list[object] = []
        self.posted = asyncio.Event()

    async def render_get(self, request):
        cert = peer_certificate(request.remote)
        return Message(payload=b"hello " + (b"cert" if cert else b"plain"))

    async def render_post(self, request):
        self.remotes.append(request.remote)
        self.posted.set()
        return Message(code=aiocoap.CREATED, payload=request.payload)


class Slow(resource.Resource):
    """GET waits until the test releases it (forces a separate response)."""

    def __init__(self) -> None:
        super().__init__()
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def render_get(self, request):
        self.started.set()
        await self.release.wait()
        return Message(payload=b"late")


class Store(resource.Resource):
    """Client-side /1/0: records PUT payloads (server-initiated writes)."""

    def __init__(self) -> None:
        super().__init__()
        self.payloads: list[bytes] = []

    async def render_put(self, request):
        self.payloads.append(request.payload)
        return Message(code=aiocoap.CHANGED)


def server_site() -> tuple[resource.Site, Hello, Slow]:
    """A site with /hello and /slow."""
    site = resource.Site()
    hello, slow = Hello(), Slow()
    site.add_resource(["hello"], hello)
    site.add_resource(["slow"], slow)
    return site, hello, slow


@contextlib.asynccontextmanager
async def serving(creds: Creds, kinds=("tls-record", "tcp-length", "udp"), *,
                  handshake_timeout: float = 10.0) -> AsyncIterator[tuple[ServerContext, Hello, Slow]]:
    """A server on the given kinds, trusting the device CA; shut down afterwards."""
    site, hello, slow = server_site()
    endpoints = [
        Endpoint(k, ssl_context_factory=(
            (lambda: server_ssl_context(creds.server, [creds.device_ca.cert]))
            if k == "tls-record" else None), handshake_timeout=handshake_timeout)
        for k in kinds
    ]
    server = await create_server_context(site, endpoints)
    try:
        yield server, hello, slow
    finally:
        await server.shutdown()


@contextlib.asynccontextmanager
async def client(kind: str, creds: Creds, *, device: pki.Credential | None = None,
                 server_ca=None, site=None) -> AsyncIterator[aiocoap.Context]:
    """A client context of `kind` (tls-record uses the device cert); shut down afterwards."""
    ctx_ssl = None
    if kind == "tls-record":
        ctx_ssl = client_ssl_context(device or creds.device, server_ca or creds.server_ca.cert)
    ctx = await create_client_context(kind, ssl_context=ctx_ssl, site=site)
    try:
        yield ctx
    finally:
        await ctx.shutdown()


def coap_con(code: int, mid: int, token: bytes, path: str = "", payload: bytes = b"") -> bytes:
    """Encode a CON message by hand-picked MID and token."""
    segments = [p for p in path.split("/") if p]
    msg = Message(code=code, uri_path=segments, payload=payload)
    msg.mtype, msg.mid, msg.token = aiocoap.CON, mid, token
    return msg.encode()


def coap_empty_ack(mid: int) -> bytes:
    """Encode an empty ACK for `mid`."""
    msg = Message(code=aiocoap.EMPTY)
    msg.mtype, msg.mid = aiocoap.ACK, mid
    return msg.encode()


class RawTcpLength:
    """A hand-driven tcp-length peer."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer, self.buffer = reader, writer, bytearray()

    @classmethod
    async def connect(cls, host: str, port: int) -> RawTcpLength:
        return cls(*await asyncio.open_connection(host, port))

    def send(self, *messages: bytes) -> None:
        self.writer.write(b"".join(length_prefixed(m) for m in messages))

    async def recv(self) -> Message:
        while True:
            frame = take_length_prefixed(self.buffer)
            if frame is not None:
                return Message.decode(frame)
            data = await asyncio.wait_for(self.reader.read(65536), WAIT)
            if not data:
                raise ConnectionError("closed")
            self.buffer += data

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


class RawTls:
    """A hand-driven tls-record peer: TLS over MemoryBIOs on a plain asyncio stream."""

    def __init__(self, reader, writer, ctx: ssl.SSLContext) -> None:
        self.reader, self.writer = reader, writer
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = ctx.wrap_bio(self.inc, self.out, server_hostname=None)
        self.cipher = bytearray()
        self.records_read = 0

    @classmethod
    async def connect(cls, host: str, port: int, ctx: ssl.SSLContext) -> RawTls:
        self = cls(*await asyncio.open_connection(host, port), ctx)
        while True:
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                self.writer.write(self.out.read())
                await self._feed_one_record()
        self.writer.write(self.out.read())
        return self

    async def _feed_one_record(self) -> None:
        while True:
            record = take_tls_record(self.cipher)
            if record is not None:
                self.inc.write(record)
                return
            data = await asyncio.wait_for(self.reader.read(65536), WAIT)
            if not data:
                raise ConnectionError("closed")
            self.cipher += data

    def send_records(self, *messages: bytes) -> None:
        """Write each message as its own TLS record, all in ONE TCP write."""
        for m in messages:
            self.tls.write(m)
        self.writer.write(self.out.read())

    async def recv(self) -> Message:
        """Read records until one carries plaintext; that plaintext must be one message."""
        while True:
            await self._feed_one_record()
            chunks = []
            with contextlib.suppress(ssl.SSLWantReadError):
                while True:
                    chunks.append(self.tls.read(65536))
            if chunks:
                self.records_read += 1
                return Message.decode(b"".join(chunks))

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()
