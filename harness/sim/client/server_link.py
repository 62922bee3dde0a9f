"""The virtual client's connection to one server: the aiocoap context over the board's transport
(TLS/DTLS as the real client offers it), requests with the client's block-wise rules, and how a
failed request becomes a client error."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import aiocoap
from aiocoap import Code, Message
from aiocoap import error as coap_error

from harness.client import console as text
from harness.client.errors import ClientError
from harness.client.failures import Failure
from harness.errors import HilError
from harness.lwm2m.blockwise import send_blockwise
from harness.sim.client.credentials import CredentialError, ServerCredentials, host_port
from harness.sim.client.outcomes import Retry, Stop
from harness.transport import SecureConnectionError, create_client_context, kind_for, transport

log = logging.getLogger(__name__)

BLOCKS_IN_FLIGHT = 2
"""The client sends its Register body as 512-byte Block1 blocks, two in flight (facts 3.1)."""


class ServerLink:
    """At most one open server connection (opening a new one closes the last)."""

    def __init__(self, transport_setting: str, request_timeout: float,
                 clock: Callable[[], float], on_time: Callable[[int], None]) -> None:
        """`transport_setting`: the firmware's transport; `clock`/`on_time`: the board's secure
        time (read for certificate checks, set from each ServerHello)."""
        self.transport_setting = transport_setting
        self.request_timeout = request_timeout
        self.clock = clock
        self.on_time = on_time
        self.context: aiocoap.Context | None = None

    async def open(self, creds: ServerCredentials, site) -> str:
        """Connect to the server of `creds` (requests it sends go to `site`); its base URI.
        Raises Stop for a malformed URI, Retry when the secure context cannot be made."""
        await self.close()
        scheme = creds.uri.partition("://")[0].lower()
        try:
            host, port = host_port(creds.uri, 5684 if scheme == "coaps" else 5683)
        except CredentialError as exc:
            raise Stop(Failure(ClientError.ConnectInvalidParameters, str(exc), retry=False)) \
                from None
        kind = kind_for(self.transport_setting, scheme)
        family = transport(kind).tls_family
        try:
            ssl_context = creds.security_context(family, self.clock, self.on_time) if family \
                else None
            self.context = await create_client_context(kind, ssl_context=ssl_context, site=site)
        except HilError as exc:
            log.warning("client context for %s failed: %s", kind, exc)
            raise Retry(Failure(ClientError.ConnectSecureConnectionFailed,
                                text.DETAILS_SECURE_RETRY)) from None
        shown_host = f"[{host}]" if ":" in host else host
        return f"{scheme}://{shown_host}:{port}"

    async def close(self) -> None:
        """Close the connection (if any)."""
        context, self.context = self.context, None
        if context is not None:
            try:
                await context.shutdown()
            except Exception as exc:  # noqa: BLE001 - a failing close must not hide the cause
                log.debug("client context shutdown: %s", exc)

    async def request(self, code: Code, base: str, path: tuple[str, ...], query: list[str],
                      payload: bytes = b"", content_format: int | None = None) -> Message:
        """One request (block-wise when large) and its final response; Retry on a network or
        secure-connection failure."""
        if self.context is None:
            raise Retry(Failure(ClientError.ConnectNetworkError, text.DETAILS_NETWORK_RETRY))
        message = Message(code=code, uri=base, payload=payload)
        message.opt.uri_path = path
        message.opt.uri_query = tuple(query)
        if content_format is not None:
            message.opt.content_format = content_format
        try:
            async with asyncio.timeout(self.request_timeout):
                return await send_blockwise(self.context, message, window=BLOCKS_IN_FLIGHT,
                                            timeout=self.request_timeout)
        except SecureConnectionError:
            raise Retry(Failure(ClientError.ConnectSecureConnectionFailed,
                                text.DETAILS_SECURE_RETRY)) from None
        except (TimeoutError, coap_error.Error, OSError) as exc:
            log.debug("request %s failed: %r", "/".join(path), exc)
            raise Retry(Failure(ClientError.ConnectNetworkError,
                                text.DETAILS_NETWORK_RETRY)) from None
