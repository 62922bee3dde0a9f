"""One bootstrap, as its configuration says: Discover, Delete, the writes, Bootstrap-Finish.

The configuration (harness.config.bootstrap_config) names what is sent before Bootstrap-Finish;
unset parts follow the default for the client: the Device Management Client (it sends `mccv=`)
gets its writes only, a standard client Discover of /0 and Delete of its LwM2M accounts and /1
first (harness.cloud.bootstrap_standard). Every request and the client's answer is kept in
`operations` ("DELETE /1 2.02", "GET /0 2.05 </0/0>;ssid=1,..." with the Discover's links),
which the bootstrap events carry.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiocoap import Message
from aiocoap import error as coap_error
from aiocoap.numbers.codes import Code

from harness.cloud.bootstrap_standard import DISCOVER_TIMEOUT, security_instances
from harness.cloud.bootstrap_writes import Write, instance_write
from harness.cloud.coap_util import code_text
from harness.config.bootstrap_config import BootstrapConfig, ExtraWrite
from harness.lwm2m.ids import ContentFormat
from harness.lwm2m.senml import encode_instance_senml
from harness.lwm2m.tlv import encode_resources

log = logging.getLogger(__name__)

Send = Callable[..., Awaitable[Message]]
STANDARD_DISCOVER = ["/0"]
REAL_CLIENT_REBOOTSTRAP_DELETE = ["/0"]
"""What the Device Management Client gets first when it bootstraps again (its request has `iep=`):
it dropped its LwM2M account and made a new empty one at an instance id of its own (measured:
/0/2), which a write of /0/0 does not fill, and Bootstrap-Finish then fails `Invalid security
object`. Delete /0 removes that empty account (never the bootstrap server's), so the writes of
/0/0 are the client's only LwM2M account again."""
DISCOVER_SHOWN = 400
"""How much of a Bootstrap-Discover answer (link-format) an operation record keeps."""


class StepFailed(Exception):
    """A write or Bootstrap-Finish the client refused."""


def segments(path: str) -> tuple[str, ...]:
    """'/0/1' -> ('0', '1'); '/' -> ()."""
    return tuple(p for p in path.split("/") if p)


def extra_write(write: ExtraWrite, *, senml: bool) -> Write:
    """The PUT of one configured resource value (a one-resource TLV, or SenML)."""
    obj, instance, resource = write.ids()
    if senml:
        return Write((obj, instance, resource), ContentFormat.SENML_JSON,
                     encode_instance_senml(f"/{obj}/{instance}/", {resource: write.value}))
    return Write((obj, instance, resource), ContentFormat.TLV, encode_resources({resource: write.value}))


class BootstrapSequence:
    """Sends one client's bootstrap requests through `send` and records each answer."""

    def __init__(self, config: BootstrapConfig, send: Send, *, real_client: bool,
                 rebootstrap: bool = False) -> None:
        self.config = config
        self.send = send
        self.real_client = real_client
        self.rebootstrap = rebootstrap
        self.operations: list[str] = []
        self.step = "start"
        """The request being sent (named in a failure's reason)."""

    def _record(self, request: str, answer: str) -> str:
        self.operations.append(f"{request} {answer}")
        return answer

    async def _ask(self, code: Code, path: tuple[str, ...], **kw: object) -> Message | None:
        """A Discover or Delete: its answer, or None when the client reset it or never answered."""
        request = self.step = f"{code} /{'/'.join(path)}"
        try:
            response = await asyncio.wait_for(self.send(code, path, **kw), DISCOVER_TIMEOUT)
        except (TimeoutError, coap_error.Error) as exc:
            self._record(request, f"failed ({type(exc).__name__})")
            return None
        answer = code_text(response.code)
        if code == Code.GET and response.code.is_successful():  # the Discover's links
            answer += " " + response.payload[:DISCOVER_SHOWN].decode("utf-8", "replace")
        self._record(request, answer)
        return response

    async def prepare(self) -> int:
        """Discover and Delete; the security instance id the LwM2M account goes to."""
        discover = self.config.discover
        if discover is None:
            discover = [] if self.real_client else STANDARD_DISCOVER
        bootstrap_account: set[int] = set()
        servers: set[int] | None = None
        for path in discover:
            response = await self._ask(Code.GET, segments(path), accept=int(ContentFormat.LINK_FORMAT))
            if response is not None and response.code.is_successful() and path in ("/", "/0"):
                found, servers = security_instances(response.payload)
                bootstrap_account = found - servers
        delete = self.config.delete
        if delete is None and self.real_client:
            delete = REAL_CLIENT_REBOOTSTRAP_DELETE if self.rebootstrap else []
        elif delete is None:  # the default: the LwM2M accounts a standard client named, and /1
            delete = [] if servers is None else [f"/0/{i}" for i in sorted(servers)] + ["/1"]
        for path in delete:
            await self._ask(Code.DELETE, segments(path))
        instance = 0
        while instance in bootstrap_account:
            instance += 1
        return instance

    async def put(self, write: Write) -> None:
        """One Bootstrap-Write; StepFailed when the client refuses it."""
        request = self.step = f"PUT /{'/'.join(write.uri_path)}"
        try:
            response = await self.send(Code.PUT, write.uri_path, content_format=write.content_format,
                                       payload=write.payload)
        except coap_error.MessageError:
            if self.real_client:
                raise
            # a standard client that reset the Discover may reset the first write while it
            # enters its bootstrap state (coap-node does): send it once more
            response = await self.send(Code.PUT, write.uri_path, content_format=write.content_format,
                                       payload=write.payload)
        answer = self._record(request, code_text(response.code))
        if not response.code.is_successful():
            raise StepFailed(f"{request} answered {answer} "
                             f"{response.payload[:80].decode(errors='replace')}")

    async def finish(self) -> None:
        """Bootstrap-Finish; StepFailed when the client refuses it."""
        self.step = "Bootstrap-Finish POST /bs"
        response = await self.send(Code.POST, ("bs",))
        answer = self._record("POST /bs", code_text(response.code))
        if not response.code.is_successful():
            raise StepFailed(f"Bootstrap-Finish POST /bs answered {answer}")

    async def run(self, writes_for: Callable[[int], list[Write]], *, senml: bool) -> None:
        """The whole sequence: prepare, the account writes, the extra and instance writes, the
        Executes, Deletes and Discovers after them, the security write again if asked,
        Bootstrap-Finish."""
        instance = await self.prepare()
        account = writes_for(instance) if self.config.write != "none" else []
        writes = account + [extra_write(w, senml=senml) for w in self.config.extra_writes]
        writes += [instance_write(*w.ids(), w.values, senml=senml)
                   for w in self.config.instance_writes]
        for write in writes:
            await self.put(write)
        for path in self.config.execute:
            await self._ask(Code.POST, segments(path))
        for path in self.config.delete_after_writes:
            await self._ask(Code.DELETE, segments(path))
        for path in self.config.discover_after_writes:  # what the client holds now
            await self._ask(Code.GET, segments(path), accept=int(ContentFormat.LINK_FORMAT))
        if self.config.rewrite_security:
            for write in account[:1]:  # the account's security instance, /0/<instance>
                await self.put(write)
        await self.finish()
