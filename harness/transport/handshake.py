"""One bare mutual-TLS handshake against a tls-record endpoint (for benchmarks and probes)."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time

from harness.transport.errors import ConnectFailedError, SecureConnectionError
from harness.transport.tls_engine import TlsContext, TlsEngineError, as_tls_context

READ_SIZE = 65536


async def bare_handshake(host: str, port: int, tls_context: TlsContext | ssl.SSLContext, *,
                         timeout: float = 10.0) -> float:
    """Connect, complete one TLS handshake (no CoAP), close; return its duration in seconds.

    The duration runs from the TCP connect to the end of the handshake (a device engine's
    secure-time renegotiation included). Raises SecureConnectionError or ConnectFailedError.
    """
    start = time.perf_counter()
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, TimeoutError) as exc:
        raise ConnectFailedError(f"Cannot connect to {host}:{port} ({exc or 'timeout'}); "
                                 "check that the server runs and the port is right.") from None
    engine = as_tls_context(tls_context).new_engine(server_side=False, server_hostname=host)
    done = False
    try:
        async with asyncio.timeout(timeout):
            while True:
                try:
                    done = engine.handshake()
                except TlsEngineError as exc:
                    raise SecureConnectionError(
                        f"TLS handshake with {host}:{port} failed ({exc.reason}); check that "
                        "each side trusts the CA that issued the other's certificate.") from None
                out = engine.outgoing()
                if out:
                    writer.write(out)
                    await writer.drain()
                if done:
                    return time.perf_counter() - start
                data = await reader.read(READ_SIZE)
                if not data:
                    raise SecureConnectionError(
                        f"{host}:{port} closed the connection during the TLS handshake; check "
                        "that it is a tls-record endpoint that trusts this client's CA.")
                engine.feed(data)
    except TimeoutError:
        raise SecureConnectionError(f"TLS handshake with {host}:{port} took over {timeout:g} s; "
                                    "check that the port is a tls-record endpoint.") from None
    finally:
        if done:  # orderly close; a refused handshake ends with a plain FIN, like the client
            with contextlib.suppress(Exception):
                engine.close_notify()
                writer.write(engine.outgoing())
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        self.queue.put_nowait(data)


async def bare_dtls_handshake(host: str, port: int, dtls_context, *,
                              timeout: float = 10.0) -> float:
    """One DTLS handshake (cookie exchange included, no CoAP) with a dtls endpoint; its seconds.

    `dtls_context` is a DeviceDtlsContext (certificate or PSK). Raises SecureConnectionError.
    """
    loop = asyncio.get_running_loop()
    start = time.perf_counter()
    transport, proto = await loop.create_datagram_endpoint(_Datagrams, remote_addr=(host, port))
    engine = dtls_context.new_engine()
    try:
        async with asyncio.timeout(timeout):
            while True:
                try:
                    done = engine.handshake()
                except TlsEngineError as exc:
                    raise SecureConnectionError(f"DTLS handshake with {host}:{port} failed "
                                                f"({exc.reason}).") from None
                for datagram in engine.outgoing():
                    transport.sendto(datagram)
                if done:
                    return time.perf_counter() - start
                try:
                    data = await asyncio.wait_for(proto.queue.get(),
                                                  engine.retransmit_in() or 1.0)
                except TimeoutError:
                    engine.retransmit()
                    continue
                engine.feed(data)
    except TimeoutError:
        raise SecureConnectionError(f"DTLS handshake with {host}:{port} took over {timeout:g} s; "
                                    "check that the port is a dtls endpoint.") from None
    finally:
        with contextlib.suppress(Exception):
            engine.close_notify()
            for datagram in engine.outgoing():
                transport.sendto(datagram)
        transport.close()
