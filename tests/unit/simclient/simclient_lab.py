"""A small bootstrap + LwM2M server on loopback tls-record, and the parts a DeviceClient needs."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from aiocoap import Code, Message

from harness import pki
from harness.lwm2m import tlv
from harness.lwm2m.blockwise import answer_blocks_in_order, send_blockwise
from harness.lwm2m.ids import ContentFormat
from harness.provisioning import items
from harness.provisioning.clock import DeviceClock
from harness.provisioning.store import ItemStore
from harness.sim.client import DeviceClient
from harness.sim.client.router import Router, path_of
from harness.transport import Endpoint, create_server_context, server_tls_context

AID = "0169aaaabbbbccccdddd000000000000"
ENDPOINT = "dev-ep-0001"


@contextlib.asynccontextmanager
async def client_task(client: DeviceClient) -> AsyncIterator[asyncio.Task[None]]:
    """Run `client.run()` as a task for the block; cancel it and wait for it on exit."""
    task = asyncio.get_running_loop().create_task(client.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class Console:
    """Collects console lines; waits for a line matching a regex."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._changed = asyncio.Event()

    def __call__(self, line: str) -> None:
        self.lines.append(line)
        self._changed.set()

    async def wait_for(self, pattern: str, timeout: float = 5.0, count: int = 1) -> re.Match[str]:
        """The `count`-th line matching `pattern` (waits up to `timeout`)."""
        regex = re.compile(pattern)

        async def scan() -> re.Match[str]:
            while True:
                found = [m for m in (regex.search(line) for line in self.lines) if m]
                if len(found) >= count:
                    return found[count - 1]
                self._changed.clear()
                await self._changed.wait()

        try:
            return await asyncio.wait_for(scan(), timeout)
        except TimeoutError:
            raise AssertionError(f"no console line {pattern!r}; got:\n" + "\n".join(self.lines)) from None


class Platform:
    """Records reboot / factory reset requests; the clock is 0 until a server sets it."""

    def __init__(self) -> None:
        self.rebooted = asyncio.Event()
        self.factory_reset_done = asyncio.Event()
        self.clock = DeviceClock()

    def reboot(self) -> None:
        """Record a reboot."""
        self.rebooted.set()

    def factory_reset(self) -> None:
        """Record a factory reset."""
        self.factory_reset_done.set()

    def now(self) -> float:
        """Seconds since the epoch as the board sees them (0 on a factory-new board)."""
        return self.clock.now()

    def set_time(self, unix_seconds: float) -> None:
        """The client adopts a server's time."""
        self.clock.set(unix_seconds)


@dataclass
class Pki:
    """One CA for everything, the server cert and the device's bootstrap cert."""

    ca: pki.Credential
    server: pki.Credential
    bootstrap: pki.Credential


@dataclass
class MiniService:
    """Bootstrap (/bs) and LwM2M (/rd) on one tls-record listener; scriptable answers."""

    pki: Pki
    device_id: str = "016f0000000000000000000000000001"
    lwm2m_validity: dt.timedelta = dt.timedelta(days=365)
    bs_answer: tuple[Code, bytes] = (Code.CHANGED, b"")
    register_answer: Code = Code.CREATED
    update_answer: Code = Code.CHANGED
    put_content_format: int = ContentFormat.TLV
    layout: str = "client"
    """"client", or a mistake: "lwm2m-at-0-1", "bare" (resource lists), "aiocoap-blocks"."""
    server_lifetime: int | None = 3600
    bs_requests: list[Message] = field(default_factory=list)
    registers: list[Message] = field(default_factory=list)
    updates: list[Message] = field(default_factory=list)
    deletes: list[Message] = field(default_factory=list)
    write_answers: list[Code] = field(default_factory=list)
    finish_answer: Code | None = None
    event: asyncio.Event = field(default_factory=asyncio.Event)
    context: object = None
    port: int = 0
    lwm2m_certs: list[pki.Credential] = field(default_factory=list)
    _tasks: set = field(default_factory=set)

    async def start(self) -> None:
        """Listen on 127.0.0.1, port 0."""
        def factory():
            return server_tls_context(self.pki.server, [self.pki.ca.cert])

        self.context = await create_server_context(
            Router(self.handle), [Endpoint("tls-record", ssl_context_factory=factory)])
        answer_blocks_in_order(self.context.context)  # the board's Register is pipelined
        self.port = self.context.bound["tls-record"][1]

    @property
    def uri(self) -> str:
        """The service's coaps URI without query."""
        return f"coaps://127.0.0.1:{self.port}"

    async def handle(self, request: Message) -> Message:
        """Serve /bs, /rd and registration updates."""
        path = path_of(request)
        self.event.set()
        if path == ("bs",) and request.code == Code.POST:
            self.bs_requests.append(request)
            code, payload = self.bs_answer
            if code.is_successful():
                task = asyncio.get_running_loop().create_task(self._write(request.remote))
                self._tasks.add(task)
            return Message(code=code, payload=payload)
        if path == ("rd",) and request.code == Code.POST:
            self.registers.append(request)
            if self.register_answer != Code.CREATED:
                return Message(code=self.register_answer)
            return Message(code=Code.CREATED, location_path=("rd", AID, self.device_id))
        if path[:1] == ("rd",) and request.code == Code.POST:
            self.updates.append(request)
            return Message(code=self.update_answer)
        if path[:1] == ("rd",) and request.code == Code.DELETE:
            self.deletes.append(request)
            return Message(code=Code.DELETED)
        return Message(code=Code.NOT_FOUND)

    def lwm2m_credential(self) -> pki.Credential:
        """A fresh LwM2M device certificate (L = device id)."""
        cred = pki.make_device_cert(self.pki.ca, ENDPOINT, organizational_unit=AID,
                                    locality=self.device_id, validity=self.lwm2m_validity)
        self.lwm2m_certs.append(cred)
        return cred

    async def _write(self, remote) -> None:
        cred = self.lwm2m_credential()
        # layout "client" is what the client needs: LwM2M server at /0/0, object-instance TLV,
        # 512-byte blocks with one token (facts 3.1); the others are mistakes it refuses
        lwm2m_iid = 1 if self.layout == "lwm2m-at-0-1" else 0

        def encode(iid: int, resources: dict) -> bytes:
            if self.layout == "bare":
                return tlv.encode_resources(resources)
            return tlv.encode_instances({iid: resources})

        security = encode(lwm2m_iid, {
            0: f"{self.uri}?aid={AID}", 1: False, 2: 2, 3: cred.cert_der,
            4: self.pki.ca.cert_der, 5: cred.key_der, 10: 1})
        writes = [(("0", str(lwm2m_iid)), security, Code.PUT)]
        if self.layout == "client":  # a DELETE first, and First-to-Claim's URI change to /0/1
            writes.insert(0, (("0",), b"", Code.DELETE))
            writes.append((("0", "1"), encode(1, {0: f"{self.uri}?aid={AID}"}), Code.PUT))
        if self.server_lifetime is not None:
            writes.append((("1", "0"), encode(0, {0: 1, 1: self.server_lifetime, 7: "U"}),
                           Code.PUT))
        ctx = self.context.context
        for path, payload, code in writes:
            message = Message(code=code, uri_path=path, payload=payload)
            message.remote = remote
            if code == Code.PUT:
                message.opt.content_format = self.put_content_format
            if self.layout == "aiocoap-blocks":
                response = await ctx.request(message).response  # 1024-byte blocks, new tokens
            else:
                response = await send_blockwise(ctx, message)
            self.write_answers.append(response.code)
            self.event.set()
            if not response.code.is_successful():
                return
        finish_request = Message(code=Code.POST, uri_path=("bs",))
        finish_request.remote = remote
        finish = await ctx.request(finish_request).response
        self.finish_answer = finish.code
        self.event.set()

    async def wait(self, predicate, timeout: float = 5.0) -> None:
        """Wait until `predicate()` is true (re-checked on every server event)."""
        async def loop():
            while not predicate():
                self.event.clear()
                await self.event.wait()
        await asyncio.wait_for(loop(), timeout)

    async def stop(self) -> None:
        """Stop listening and cancel pending writes."""
        for task in self._tasks:
            task.cancel()
        await self.context.shutdown()


def bootstrap_store(lab: Pki, uri: str) -> ItemStore:
    """An in-memory store as factory provisioning leaves it (bootstrap mode)."""
    store = ItemStore(None)
    put = store.put
    put(items.USE_BOOTSTRAP, (1).to_bytes(4, "little"), factory=True)
    put(items.ENDPOINT_NAME, ENDPOINT.encode(), factory=True)
    put(items.BOOTSTRAP_SERVER_URI, uri.encode(), factory=True)
    put(items.BOOTSTRAP_DEVICE_CERT, lab.bootstrap.cert_der, factory=True)
    put(items.BOOTSTRAP_DEVICE_PRIVATE_KEY, lab.bootstrap.key_der, factory=True)
    put(items.BOOTSTRAP_SERVER_CA_CERT, lab.ca.cert_der, factory=True)
    put(items.MANUFACTURER, b"dm-hil", factory=True)
    put(items.MODEL_NUMBER, b"vboard", factory=True)
    put(items.SERIAL_NUMBER, b"SN-0001", factory=True)
    put(items.DEVICE_TYPE, b"virtual", factory=True)
    put(items.HARDWARE_VERSION, b"1.0", factory=True)
    put(items.MEMORY_TOTAL_KB, (512).to_bytes(4, "little"), factory=True)
    return store


FIRMWARE = {"client_version": "4.13.4", "mode": "factory", "transport": "tcp",
            "backoff_base": 0.01, "request_timeout": 3.0}
