"""A minimal LwM2M client for checking the local service (tests, benchmark, `hil cloud` self-checks).

It plays a device over the harness transports: Bootstrap-Request, accepts the server's writes
and Bootstrap-Finish, then Register / Update / De-register, and answers Read/Execute on /3/0.
It is not the virtual board (that lives in harness.sim); it only exercises the service.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

import aiocoap
import aiocoap.resource
from aiocoap import Message
from aiocoap.numbers.codes import Code

from harness.cloud.coap_util import code_text
from harness.lwm2m.ids import ContentFormat
from harness.lwm2m.senml import decode_senml
from harness.lwm2m.tlv import as_int, as_str, decode_resources
from harness.pki import Credential, load_certificate, load_private_key, subject_fields
from harness.transport import (
    client_ssl_context,
    create_client_context,
    device_dtls_context,
    transport,
)

PSK_MODE = 0
"""Security Mode 0, Pre-Shared Key (/0/x/2)."""
DEFAULT_LINKS = '</1/0>,</3/0>,</3/0/0>;rt="manufacturer",</3/0/4>,</3/0/5>'


class BootstrapFailed(Exception):
    """The Bootstrap-Request was refused (code + diagnostic) or did not finish."""

    def __init__(self, code: str, text: str) -> None:
        super().__init__(f"{code} {text}")
        self.code = code
        self.text = text


@dataclass
class Provisioned:
    """What the bootstrap server wrote (raw resource bytes by path), and what it means."""

    writes: dict[str, Any] = field(default_factory=dict)
    content_formats: list[int] = field(default_factory=list)
    finished: asyncio.Event = field(default_factory=asyncio.Event)

    def security(self, instance: int = 0) -> dict[int, Any]:
        """Resources written to /0/<instance>."""
        return self.writes.get(f"/0/{instance}", {})

    @property
    def lwm2m_uri(self) -> str:
        """The LwM2M server URI written to /0/0/0."""
        return _text(self.security()[0])

    @property
    def security_mode(self) -> int:
        """/0/0/2."""
        return _int(self.security()[2])

    @property
    def credential(self) -> Credential | None:
        """The LwM2M device credential written to /0/0/3 and /0/0/5 (None for NoSec and PSK)."""
        sec = self.security()
        if not sec.get(3) or self.psk is not None:
            return None
        return Credential(load_certificate(_bytes(sec[3])), load_private_key(_bytes(sec[5])))

    @property
    def psk(self) -> tuple[str, bytes] | None:
        """The PSK identity (/0/0/3) and key (/0/0/5) of a Security Mode 0 account, else None."""
        sec = self.security()
        if sec.get(2) is None or _int(sec[2]) != PSK_MODE:
            return None
        return _text(sec[3]), _bytes(sec[5])

    @property
    def server_ca_der(self) -> bytes:
        """/0/0/4."""
        return _bytes(self.security()[4])

    @property
    def device_id(self) -> str | None:
        """L= of the LwM2M certificate (the device id), None for NoSec."""
        cred = self.credential
        return subject_fields(cred.cert).get("L") if cred else None

    @property
    def new_bootstrap_uri(self) -> str | None:
        """The bootstrap URI written to the bootstrap instance /0/1 (First-to-Claim), or None."""
        value = self.security(1).get(0)
        return _text(value) if value is not None else None


def _bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


def _text(value: Any) -> str:
    return as_str(value) if isinstance(value, bytes) else str(value)


def _int(value: Any) -> int:
    return as_int(value) if isinstance(value, bytes) else int(value)


class _DeviceSite(aiocoap.resource.Resource, aiocoap.resource.PathCapable):
    """Serves the bootstrap writes, Bootstrap-Finish and /3/0 Read/Execute."""

    def __init__(self, device: LabDevice) -> None:
        super().__init__()
        self.device = device

    async def render(self, request: Message) -> Message:
        path = "/" + "/".join(request.opt.uri_path)
        dev = self.device
        if request.code == Code.PUT:
            ct = request.opt.content_format
            dev.provisioned.content_formats.append(int(ct) if ct is not None else -1)
            if ct is not None and int(ct) == ContentFormat.SENML_JSON:
                for name, value in decode_senml(request.payload).items():
                    parent, _, rid = name.rstrip("/").rpartition("/")
                    if path.count("/") == 3:
                        dev.provisioned.writes[path] = value
                    else:
                        dev.provisioned.writes.setdefault(parent, {})[int(rid)] = value
            else:
                resources = decode_resources(request.payload)
                if request.opt.uri_path and len(request.opt.uri_path) == 3:
                    dev.provisioned.writes[path] = next(iter(resources.values()))
                else:
                    dev.provisioned.writes[path] = resources
            return Message(code=Code.CHANGED)
        if request.code == Code.POST and path == "/bs":
            dev.provisioned.finished.set()
            return Message(code=Code.CHANGED)
        if request.code == Code.POST:
            dev.executed.append(path)
            dev.execute_event.set()
            return Message(code=Code.CHANGED)
        if request.code == Code.GET and path == "/3/0/0":
            return Message(code=Code.CONTENT, payload=dev.manufacturer.encode(),
                           content_format=ContentFormat.TEXT)
        if request.code == Code.DELETE:
            return Message(code=Code.DELETED)
        return Message(code=Code.NOT_FOUND)


def _set_handshake_timeout(ctx: aiocoap.Context, seconds: float) -> None:
    """Give the TLS/DTLS client interface of `ctx` a handshake timeout of `seconds` (a benchmark
    that loads the service on purpose waits for handshakes like its bare-handshake reference)."""
    for manager in ctx.request_interfaces:
        interface = getattr(getattr(manager, "token_interface", None), "message_interface", None)
        for name in ("_handshake_timeout", "handshake_timeout"):  # tls-record, dtls
            if hasattr(interface, name):
                setattr(interface, name, seconds)


class LabDevice:
    """One simulated device session over one transport kind (tls-record, tcp-length or udp)."""

    def __init__(self, kind: str, endpoint_name: str, *, credential: Credential | None = None,
                 server_ca_der: bytes | None = None, manufacturer: str = "dm-hil",
                 handshake_timeout: float | None = None,
                 psk: tuple[str, bytes] | None = None) -> None:
        self.kind = kind
        self.psk = psk  # (identity, key): DTLS-PSK instead of a certificate
        self.handshake_timeout = handshake_timeout  # seconds; None: the transport's 10 s
        self.endpoint_name = endpoint_name
        self.credential = credential
        self.server_ca_der = server_ca_der
        self.manufacturer = manufacturer
        self.provisioned = Provisioned()
        self.executed: list[str] = []
        self.execute_event = asyncio.Event()
        self.location: str | None = None
        self._ctx: aiocoap.Context | None = None

    async def _context(self, credential: Credential | None) -> aiocoap.Context:
        if self._ctx is None:
            ssl_context = None
            family = transport(self.kind).tls_family
            if family == "dtls" and self.psk is not None:
                ssl_context = device_dtls_context(psk=self.psk)
            elif family:
                if credential is None or self.server_ca_der is None:
                    raise ValueError(f"{self.kind} needs a device credential and the server CA")
                make = {"tls": lambda: client_ssl_context(credential, self.server_ca_der),
                        "dtls": lambda: device_dtls_context(cred=credential,
                                                            server_ca=[self.server_ca_der])}
                ssl_context = make[family]()
            self._ctx = await create_client_context(self.kind, ssl_context=ssl_context,
                                                    site=_DeviceSite(self))
            if self.handshake_timeout is not None:
                _set_handshake_timeout(self._ctx, self.handshake_timeout)
        return self._ctx

    async def close(self) -> None:
        """Close the client context (and its connection)."""
        if self._ctx is not None:
            ctx, self._ctx = self._ctx, None
            with contextlib.suppress(Exception):
                await ctx.shutdown()

    async def request(self, code: Code, uri: str, *, payload: bytes = b"",
                      content_format: int | None = None, timeout: float = 10.0) -> Message:
        """Send one request with the current context; the response."""
        ctx = await self._context(self.credential)
        msg = Message(code=code, uri=uri, payload=payload)
        if content_format is not None:
            msg.opt.content_format = content_format
        async with asyncio.timeout(timeout):
            return await ctx.request(msg).response

    async def bootstrap(self, bootstrap_uri: str, *, aid: str | None = None, iep: str | None = None,
                        pct: int | None = None, timeout: float = 10.0) -> Provisioned:
        """Bootstrap-Request, then wait for the writes and Bootstrap-Finish."""
        base, _, uri_query = bootstrap_uri.partition("?")
        query = [f"ep={self.endpoint_name}"]
        if uri_query:
            query.append(uri_query)
        if aid:
            query.append(f"aid={aid}")
        if iep:
            query.append(f"iep={iep}")
        if pct is not None:
            query.append(f"pct={pct}")
        self.provisioned = Provisioned()
        response = await self.request(Code.POST, f"{base}/bs?{'&'.join(query)}", timeout=timeout)
        if not response.code.is_successful():
            raise BootstrapFailed(code_text(response.code), response.payload.decode(errors="replace"))
        try:
            async with asyncio.timeout(timeout):
                await self.provisioned.finished.wait()
        except TimeoutError:
            raise BootstrapFailed("timeout", "no Bootstrap-Finish") from None
        return self.provisioned

    async def switch_to_lwm2m(self, provisioned: Provisioned | None = None) -> None:
        """Drop the bootstrap connection and use the provisioned LwM2M credential from now on."""
        prov = provisioned or self.provisioned
        await self.close()
        if prov.psk is not None:
            self.psk = prov.psk
        elif prov.credential is not None:
            self.credential = prov.credential
            self.server_ca_der = prov.server_ca_der

    async def register(self, lwm2m_uri: str, *, lifetime: int | None = 300, links: str = DEFAULT_LINKS,
                       binding: str = "U", extra_query: str = "", timeout: float = 10.0) -> Message:
        """POST /rd; on 2.01 remembers the location."""
        base, _, uri_query = lwm2m_uri.partition("?")
        query = [f"ep={self.endpoint_name}", f"b={binding}", "lwm2m=1.0"]
        if lifetime is not None:
            query.append(f"lt={lifetime}")
        if uri_query:
            query.append(uri_query)
        if extra_query:
            query.append(extra_query)
        self._lwm2m_base = base
        response = await self.request(Code.POST, f"{base}/rd?{'&'.join(query)}",
                                      payload=links.encode(), content_format=ContentFormat.LINK_FORMAT,
                                      timeout=timeout)
        if response.code == Code.CREATED:
            self.location = "/".join(response.opt.location_path)
        return response

    @property
    def device_id(self) -> str | None:
        """The last segment of the registration location."""
        return self.location.rsplit("/", 1)[-1] if self.location else None

    async def update(self, *, lifetime: int | None = None, links: str = "",
                     timeout: float = 10.0) -> Message:
        """POST /<location>."""
        query = f"?lt={lifetime}" if lifetime is not None else ""
        return await self.request(Code.POST, f"{self._lwm2m_base}/{self.location}{query}",
                                  payload=links.encode(),
                                  content_format=ContentFormat.LINK_FORMAT if links else None,
                                  timeout=timeout)

    async def deregister(self, timeout: float = 10.0) -> Message:
        """DELETE /<location>."""
        return await self.request(Code.DELETE, f"{self._lwm2m_base}/{self.location}", timeout=timeout)
