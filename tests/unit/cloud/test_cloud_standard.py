"""Standard LwM2M clients: standard mode, ordered device state, and the spec's rules.

Each rule names its section: OMA LwM2M 1.1.1 Core (TS-Core) and Transport (TS-Transport),
RFC 7252 (CoAP), RFC 6347 (DTLS 1.2), RFC 4279 (PSK).
"""

from __future__ import annotations

import asyncio

import aiocoap
import aiocoap.resource
import pytest
from aiocoap import Message
from aiocoap.numbers.codes import Code
from cloud_testkit import WAIT, run, running
from lab_client import LabDevice

from harness.cloud.records import DeviceState
from harness.config import PskKey, ServiceConfig, StandardMode, Timing
from harness.transport import create_client_context, device_dtls_context

PSK_ID, PSK_KEY = "std-psk-1", bytes(range(16))


def standard_config(**timing: object) -> ServiceConfig:
    """udp + dtls, a standard account for NoSec/PSK devices, one PSK."""
    return ServiceConfig(
        transports=["udp", "dtls"], bootstrap={"tls_record": 0, "udp": 0, "dtls": 0},
        lwm2m={"tls_record": 0, "udp": 0, "dtls": 0}, timing=Timing(**timing),
        standard=StandardMode(account="standard",
                              psk=[PskKey(identity=PSK_ID, key=PSK_KEY.hex())]))


async def _register(svc, kind: str, query: str, ctx=None) -> Message:
    own = ctx is None
    ctx = ctx or await create_client_context(kind)
    try:
        msg = Message(code=Code.POST, uri=f"{svc.lwm2m_uri(kind)}/rd?{query}",
                      payload=b"</3/0>", content_format=40)
        return await asyncio.wait_for(ctx.request(msg).response, WAIT)
    finally:
        if own:
            await ctx.shutdown()


def test_nosec_client_joins_the_standard_account_from_the_config(tmp_path):
    """Standard mode: a NoSec client that names no account joins service.standard.account."""
    async def scenario():
        async with running(tmp_path, standard_config()) as svc:
            response = await _register(svc, "udp", "ep=std-nosec-1&lt=300&lwm2m=1.0&b=U")
            assert response.code == Code.CREATED
            [account] = [a for a in svc.store.list_accounts() if a.name == "standard"]
            [device] = svc.devices(account.id)
            assert device.endpoint_name == "std-nosec-1" and device.lwm2m_mode == "nosec"
    run(scenario())


def test_psk_client_is_known_by_its_identity_not_as_nosec(tmp_path):
    """RFC 4279 §2 (psk_identity), TS-Transport §5.2 (PSK): the session's identity picks the account."""
    async def scenario():
        async with running(tmp_path, standard_config()) as svc:
            ctx = await create_client_context("dtls", ssl_context=device_dtls_context(
                psk=(PSK_ID, PSK_KEY)))
            try:
                response = await _register(svc, "dtls", "ep=std-psk-dev&lt=300&lwm2m=1.1&b=U",
                                           ctx)
            finally:
                await ctx.shutdown()
            assert response.code == Code.CREATED
            [device] = svc.devices(endpoint_name="std-psk-dev")
            assert device.lwm2m_mode == "psk"
            events = [e for e in svc.store.list_events(device_id=device.id)
                      if e.event_type == "registration"]
            assert events and events[-1].data["mode"] == "psk"
    run(scenario())


def test_a_psk_identity_the_service_does_not_know_fails_the_handshake(tmp_path):
    """RFC 6347 + RFC 4279: an unknown identity has no key, so no session and no registration."""
    async def scenario():
        async with running(tmp_path, standard_config()) as svc:
            ctx = await create_client_context("dtls", ssl_context=device_dtls_context(
                psk=("nobody", PSK_KEY)))
            try:
                with pytest.raises(aiocoap.error.NetworkError):
                    await _register(svc, "dtls", "ep=intruder&lt=300&lwm2m=1.1&b=U", ctx)
            finally:
                await ctx.shutdown()
            assert not svc.devices(endpoint_name="intruder")
    run(scenario())


@pytest.mark.parametrize(("query", "code"), [
    ("ep=v1&lt=300&lwm2m=9.9&b=U", "4.12"),
    ("ep=v2&lt=300&b=U", "4.00"),
    ("ep=v3&lt=300&lwm2m=1.0&b=U", "2.01"),
    ("ep=v4&lt=300&lwm2m=1.1&b=U", "2.01"),
    ("ep=v5&lt=300&lwm2m=1.0.0&b=U", "2.01"),
    ("ep=v6&lt=300&lwm2m=1.2&b=U", "4.12"),
])
def test_version_check(tmp_path, query, code):
    """TS-Transport §6.4.3 Table 6.4.3.-1 / TS-Core §6.2.1.1: unsupported version -> 4.12."""
    async def scenario():
        async with running(tmp_path, standard_config()) as svc:
            response = await _register(svc, "udp", query)
            assert f"{int(response.code) >> 5}.{int(response.code) & 31:02d}" == code
    run(scenario())


@pytest.mark.parametrize(("query", "stored"), [
    ("lwm2m=1.0&b=UQ", "UQ"),
    ("lwm2m=1.0&b=U", "U"),
    ("lwm2m=1.1&b=U&Q", "UQ"),
    ("lwm2m=1.1&b=UT", "UT"),
])
def test_binding_and_queue_mode_are_stored(tmp_path, query, stored):
    """TS-Core 1.0 §5.3.1.1 (b=UQ) and 1.1.1 §6.2.1.1 (b= letters + separate Q)."""
    async def scenario():
        async with running(tmp_path, standard_config()) as svc:
            response = await _register(svc, "udp", f"ep=b-1&lt=300&{query}")
            assert response.code == Code.CREATED
            [device] = svc.devices(endpoint_name="b-1")
            assert device.binding == stored
    run(scenario())


@pytest.mark.parametrize("query", ["lwm2m=1.1&b=UQ", "lwm2m=1.0&b=X", "lwm2m=1.1&b=UU"])
def test_a_binding_of_the_wrong_version_is_refused(tmp_path, query):
    """TS-Core 1.1.1 §6.2.1.1: Q is not a 1.1 binding letter; unknown letters are refused (4.00)."""
    async def scenario():
        async with running(tmp_path, standard_config()) as svc:
            response = await _register(svc, "udp", f"ep=b-2&lt=300&{query}")
            assert response.code == Code.BAD_REQUEST and b"binding" in response.payload
    run(scenario())


def test_lifetime_above_the_maximum_is_refused_for_a_standard_client(tmp_path):
    """TS-Core §6.2.1.1 lt: a standard client does not read Max-Age, so it gets 4.00 naming the range."""
    async def scenario():
        async with running(tmp_path, standard_config(lifetime_max=3600)) as svc:
            high = await _register(svc, "udp", "ep=lt-1&lt=7200&lwm2m=1.0&b=U")
            assert high.code == Code.BAD_REQUEST and b"60..3600" in high.payload
            ok = await _register(svc, "udp", "ep=lt-1&lt=3600&lwm2m=1.0&b=U")
            assert ok.code == Code.CREATED and ok.opt.max_age == 3600
    run(scenario())


def test_an_uri_query_option_over_255_bytes_gets_bad_option(tmp_path):
    """RFC 7252 §5.10 (Uri-Query 0-255 bytes) and §5.4.3/§5.4.1: 4.02 Bad Option."""
    async def scenario():
        async with running(tmp_path, standard_config()) as svc:
            response = await _register(svc, "udp", f"ep=long&lt=300&lwm2m=1.0&b=U&x={'a' * 300}")
            assert response.code == Code.BAD_OPTION
    run(scenario())


class _EagerClient(aiocoap.resource.Resource, aiocoap.resource.PathCapable):
    """A standard client that registers before it even answers Bootstrap-Finish."""

    def __init__(self, register) -> None:
        super().__init__()
        self.register = register
        self.discovered = 0
        self.deleted: list[str] = []

    async def render(self, request: Message) -> Message:
        path = "/".join(request.opt.uri_path)
        if request.code == Code.GET:
            self.discovered += 1
            return Message(code=Code.CONTENT, content_format=40,
                           payload=b'lwm2m="1.1",</0/0>,</0/1>;ssid=7,</1/0>;ssid=7,</3/0>')
        if request.code == Code.DELETE:
            self.deleted.append(path)
            return Message(code=Code.DELETED)
        if request.code == Code.POST and path == "bs":
            await self.register()
        return Message(code=Code.CHANGED)


def test_a_registration_is_never_overwritten_by_a_later_bootstrap_completion(tmp_path):
    """Ordered state: a client registering within a millisecond of Bootstrap-Finish stays registered.

    The client sends its Register before its answer to Bootstrap-Finish (the tightest order), 15
    times; each time the directory says registered, and the Update and De-register work.
    """
    async def scenario():
        async with running(tmp_path, standard_config()) as svc:
            for attempt in range(15):
                ep = f"eager-{attempt}"
                registered: list[Message] = []

                async def register(ep=ep, registered=registered):
                    registered.append(await _register(svc, "udp",
                                                      f"ep={ep}&lt=300&lwm2m=1.1&b=U"))
                site = _EagerClient(register)
                ctx = await create_client_context("udp", site=site)
                try:
                    bs = await ctx.request(Message(
                        code=Code.POST, uri=f"{svc.bootstrap_uri('udp')}/bs?ep={ep}")).response
                    assert bs.code == Code.CHANGED
                    for _ in range(100):
                        [device] = svc.devices(endpoint_name=ep)
                        if device.bootstrapped_timestamp is not None:
                            break
                        await asyncio.sleep(0.02)
                    assert registered and registered[0].code == Code.CREATED, \
                        registered[0].payload if registered else "no Register"
                    assert device.state == DeviceState.REGISTERED, attempt
                    location = "/".join(registered[0].opt.location_path)
                    update = await ctx.request(Message(
                        code=Code.POST, uri=f"{svc.lwm2m_uri('udp')}/{location}")).response
                    assert update.code == Code.CHANGED
                    gone = await ctx.request(Message(
                        code=Code.DELETE, uri=f"{svc.lwm2m_uri('udp')}/{location}")).response
                    assert gone.code == Code.DELETED
                finally:
                    await ctx.shutdown()
            # Bootstrap-Discover found the LwM2M account at /0/1 (ssid) and deleted it
            assert site.discovered == 1 and "0/1" in site.deleted and "1" in site.deleted
    run(scenario(), timeout=90)


def test_bootstrap_writes_for_a_standard_client_skip_its_bootstrap_account(tmp_path):
    """TS-Core §5.2.7.3 Bootstrap-Discover and §5.2.7.5 Bootstrap-Delete: /0/0 (no ssid) is the
    bootstrap account, so the LwM2M account goes to another instance and its URI has no ?aid=."""
    async def scenario():
        async with running(tmp_path, standard_config()) as svc:
            writes: dict[str, bytes] = {}
            done = asyncio.Event()

            class Client(_EagerClient):
                async def render(self, request):
                    if request.code == Code.PUT:
                        writes["/".join(request.opt.uri_path)] = request.payload
                    if request.code == Code.POST:
                        done.set()
                    return await super().render(request)
            ctx = await create_client_context("udp", site=Client(lambda: asyncio.sleep(0)))
            try:
                await ctx.request(Message(code=Code.POST,
                                          uri=f"{svc.bootstrap_uri('udp')}/bs?ep=std-w")).response
                await asyncio.wait_for(done.wait(), WAIT)
            finally:
                await ctx.shutdown()
            assert "0/0" not in writes and "0/1" in writes and "1/0" in writes
            assert svc.lwm2m_uri("udp").encode() in writes["0/1"]
            assert b"?aid=" not in writes["0/1"]
    run(scenario())


def test_the_real_client_still_gets_its_aid_and_instance_0(tmp_path):
    """protocol-facts §3.1 point 4 and the Bootstrap-Request's mccv=: /0/0 with ?aid=."""
    async def scenario():
        async with running(tmp_path, standard_config()) as svc:
            account = [a for a in svc.store.list_accounts() if a.name == "standard"][0]
            dev = LabDevice("udp", "real-1")
            try:
                prov = await dev.bootstrap(f"{svc.bootstrap_uri('udp')}?aid={account.id}"
                                           "&mccv=4.13.4")
            finally:
                await dev.close()
            assert prov.lwm2m_uri.endswith(f"?aid={account.id}")
    run(scenario())
