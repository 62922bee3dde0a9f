"""A third-party LwM2M bootstrap server (a lab's own, beside the service): it hands a board a PSK
LwM2M account.

The service writes a PSK account only to a device that bootstrapped over DTLS-PSK; a factory-flow
board bootstraps with a certificate. A lab whose devices are bootstrapped elsewhere (an operator's
own bootstrap server) and register with the service over DTLS-PSK needs this stand-in: it listens
on loopback (dtls or tls-record) with a certificate of its own CA, answers the Bootstrap-Request,
then runs the service's bootstrap sequence (Discover/Delete/writes/Finish) with a PSK account.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field

import aiocoap
import aiocoap.resource
from aiocoap import Code, Message

from harness.cloud.bootstrap_sequence import BootstrapSequence
from harness.cloud.bootstrap_writes import bootstrap_writes
from harness.cloud.coap_util import request_remote
from harness.config.bootstrap_config import BootstrapConfig
from harness.pki import Credential, make_ca, make_server_cert
from harness.transport import Endpoint, create_server_context, server_dtls_context, server_tls_context
from harness.transport.registry import transport

FINISHED_TIMEOUT = 30.0


@dataclass
class PskAccount:
    """The LwM2M account written: the service's URI and the PSK identity and key."""

    lwm2m_uri: str
    identity: str
    key: bytes = field(repr=False)
    binding: str = "U"


class ThirdPartyBootstrap:
    """A loopback bootstrap server (own CA) writing one PSK account; run in a thread."""

    def __init__(self, kind: str, account: PskAccount, device_ca: Credential | None = None) -> None:
        self.kind = kind
        self.account = account
        self.ca = make_ca("third-party bootstrap CA")
        self.cert = make_server_cert(self.ca, "localhost", ip_addresses=["127.0.0.1"],
                                     valid_from_epoch=True)
        self.device_ca = device_ca or self.ca
        self.operations: list[list[str]] = []
        """Each bootstrap's operations and answers, in order."""
        self.failures: list[str] = []
        self.refused = threading.Event()
        self.requests: list[str] = []
        self.finished = threading.Event()
        self.uri = ""
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)

    def __enter__(self) -> ThirdPartyBootstrap:
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the third-party bootstrap server did not start within 30 s")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)

    def wait_finished(self, timeout: float = FINISHED_TIMEOUT) -> list[str]:
        """The last bootstrap's operations once Bootstrap-Finish was answered (fails on timeout)."""
        if not self.finished.wait(timeout):
            raise AssertionError(f"no Bootstrap-Finish within {timeout} s; requests "
                                 f"{self.requests}, operations {self.operations}, failures "
                                 f"{self.failures}")
        return self.operations[-1]

    def wait_refused(self, timeout: float = FINISHED_TIMEOUT) -> list[str]:
        """The first refused bootstrap's operations (fails when none is refused in time)."""
        if not self.refused.wait(timeout):
            raise AssertionError(f"no bootstrap refused within {timeout} s; requests "
                                 f"{self.requests}, operations {self.operations}")
        return self.operations[0]

    def _endpoint(self) -> Endpoint:
        """The listener: dtls or tls-record with the own certificate, plain (NoSec) otherwise."""
        if not transport(self.kind).secure:
            return Endpoint(self.kind)
        make = server_tls_context if transport(self.kind).tls_family == "tls" else server_dtls_context
        security = make(self.cert, [self.device_ca.cert])
        return Endpoint(self.kind, ssl_context_factory=lambda: security)

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        site = aiocoap.resource.Site()
        site.add_resource(["bs"], _Bs(self))
        server = await create_server_context(site, [self._endpoint()])
        self.context = server.context
        self.uri = server.uri(self.kind)
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await server.shutdown()

    async def provision(self, remote: object) -> None:
        """The service's bootstrap sequence with the PSK account, over the board's connection."""
        async def send(code: Code, path: tuple[str, ...], **kw: object) -> Message:
            return await request_remote(self.context, remote, code, path, timeout=10.0, **kw)

        sequence = BootstrapSequence(BootstrapConfig(), send, real_client=True)
        await asyncio.sleep(0)  # the piggybacked 2.04 first
        try:
            await sequence.run(lambda instance: bootstrap_writes(
                lwm2m_uri=self.account.lwm2m_uri, account_id="", credential=None,
                server_ca_der=b"", lifetime=300, binding=self.account.binding, aid_in_uri=False,
                psk=(self.account.identity, self.account.key), security_instance=instance),
                senml=False)
        except Exception as exc:  # noqa: BLE001 - the client refused: recorded for the test
            self.failures.append(f"{type(exc).__name__}: {exc}".strip())
            self.refused.set()
            return
        finally:
            self.operations.append(list(sequence.operations))
        self.finished.set()


class _Bs(aiocoap.resource.Resource):
    def __init__(self, server: ThirdPartyBootstrap) -> None:
        super().__init__()
        self.server = server
        self.tasks: set[asyncio.Task] = set()

    async def render_post(self, request: Message) -> Message:
        self.server.requests.append("&".join(request.opt.uri_query))
        task = asyncio.get_running_loop().create_task(self.server.provision(request.remote))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return Message(code=Code.CHANGED)
