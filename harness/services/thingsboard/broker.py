"""The MQTT side: an amqtt broker whose plugin applies ThingsBoard's rules.

Listeners are ours (plain TCP and TLS, loopback, OS-picked ports) and hand each connection to
amqtt as an external listener, so a TLS handshake the service refuses is recorded as an event.
The plugin authenticates CONNECTs (records accepted/refused with the reason; amqtt answers a
refusal with CONNACK 5, "not authorized", the code ThingsBoard uses), consumes the device's
publishes (telemetry, attributes, provisioning requests) instead of routing them to other
clients, and lets a device subscribe only to its own `v1/devices/me/...` topics.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
from dataclasses import dataclass
from typing import Any

from amqtt.adapters import StreamReaderAdapter, StreamWriterAdapter
from amqtt.broker import Broker
from amqtt.contexts import Action
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin
from amqtt.session import Session
from cryptography import x509

from harness.services.thingsboard import credentials as cr
from harness.services.thingsboard import provisioning as prov
from harness.services.thingsboard.store import TbStore
from harness.services.thingsboard.tls_stream import TlsReader, TlsStream, TlsWriter

log = logging.getLogger(__name__)

TELEMETRY_TOPIC = "v1/devices/me/telemetry"
ATTRIBUTES_TOPIC = "v1/devices/me/attributes"
DEVICE_SUBSCRIPTIONS = ("v1/devices/me/attributes", "v1/devices/me/attributes/response/+",
                        "v1/devices/me/rpc/request/+", "v1/devices/me/rpc/response/+")
CONNACK_NOT_AUTHORIZED = 5
HANDSHAKE_TIMEOUT = 10.0
_HOOKS: dict[str, ThingsBoardRules] = {}


@dataclass
class SessionInfo:
    """What the service knows about an accepted MQTT session."""

    device_id: str | None
    provisioning: bool
    transport: str
    session: Session | None = None


def _transport(session: Session) -> str:
    if session.ssl_object is None:
        return "plain"
    return "tls-x509" if session.ssl_object.getpeercert(binary_form=True) else "tls"


def _peer_cert(session: Session) -> x509.Certificate | None:
    if session.ssl_object is None:
        return None
    der = session.ssl_object.getpeercert(binary_form=True)
    return x509.load_der_x509_certificate(der) if der else None


def parse_telemetry(payload: bytes) -> list[tuple[int | None, dict[str, Any]]]:
    """ThingsBoard's telemetry shapes: {k: v}, {"ts", "values"} or a list of those."""
    data = json.loads(payload)
    items = data if isinstance(data, list) else [data]
    out: list[tuple[int | None, dict[str, Any]]] = []
    for item in items:
        if not isinstance(item, dict):
            raise ValueError("telemetry must be a JSON object or a list of objects")
        if "ts" in item and isinstance(item.get("values"), dict):
            out.append((int(item["ts"]), item["values"]))
        else:
            out.append((None, item))
    return out


def _handshake_reason(exc: BaseException) -> str:
    """The refusal reason of a failed TLS handshake, for the event log."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS handshake refused: unknown certificate ({exc.verify_message})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS handshake refused: {exc.reason or exc}"
    if isinstance(exc, TimeoutError):
        return "TLS handshake timed out"
    return f"TLS handshake failed: {exc}"


class ThingsBoardRules:
    """The service's decisions for one broker (looked up by the plugin through its key)."""

    def __init__(self, store: TbStore) -> None:
        self.store = store
        self.sessions: dict[str, SessionInfo] = {}
        self.broker: Broker | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        store.add_listener(self._on_event)

    def _on_event(self, event: Any) -> None:
        """New credentials end the device's open sessions (it must connect with the new ones)."""
        if event.type == "credentials_updated" and event.device_id and self.loop is not None:
            self.loop.call_soon_threadsafe(self._close_sessions, event.device_id)

    def _close_sessions(self, device_id: str) -> None:
        if self.broker is None:
            return
        for client_id, info in list(self.sessions.items()):
            if info.device_id != device_id or info.provisioning:
                continue
            entry = self.broker._sessions.get(client_id)  # noqa: SLF001 - amqtt has no per-session API
            if entry is not None:
                self.store.record("session_closed", "device credentials were updated", device_id=device_id,
                                  client_id=client_id, transport=info.transport)
                asyncio.get_running_loop().create_task(entry[1].handle_connection_closed())

    def authenticate(self, session: Session) -> bool:
        """Accept or refuse a CONNECT, recording the event with its reason."""
        transport = _transport(session)
        verdict = cr.authenticate(self.store, session.client_id, session.username, session.password,
                                  _peer_cert(session))
        if verdict.accepted:
            self.sessions[session.client_id] = SessionInfo(verdict.device_id, verdict.provisioning, transport,
                                                           session)
            self.store.record("connect_accepted", verdict.reason, device_id=verdict.device_id,
                              client_id=session.client_id, credentials_type=verdict.credentials_type,
                              transport=transport, code=0)
        else:
            self.store.record("connect_refused", verdict.reason, client_id=session.client_id,
                              credentials_type=verdict.credentials_type, transport=transport,
                              code=CONNACK_NOT_AUTHORIZED)
        return verdict.accepted

    async def allow(self, session: Session, topic: str, action: Action) -> bool:
        """Subscriptions: the device's own topics; publishes: consumed here, never routed."""
        info = self.sessions.get(session.client_id)
        if info is None:
            return False
        if action == Action.SUBSCRIBE:
            if info.provisioning:
                return topic == prov.RESPONSE_TOPIC
            return topic in DEVICE_SUBSCRIPTIONS
        return False  # a publish is consumed by `consume`, never routed to other clients

    async def consume(self, client_id: str, topic: str, payload: bytes) -> None:
        """A device's publish: telemetry, attributes or a provisioning request."""
        info = self.sessions.get(client_id)
        if info is None:
            return
        if info.provisioning:
            if topic == prov.REQUEST_TOPIC:
                await self._provision(client_id, payload)
            return
        if info.device_id is None:
            return
        try:
            if topic == TELEMETRY_TOPIC:
                for ts, values in parse_telemetry(payload):
                    self.store.save_data(info.device_id, "telemetry", values, ts)
                self.store.record("telemetry", f"{len(payload)} bytes", device_id=info.device_id,
                                  client_id=client_id)
            elif topic == ATTRIBUTES_TOPIC:
                values = json.loads(payload)
                if not isinstance(values, dict):
                    raise ValueError("attributes must be a JSON object")
                self.store.save_data(info.device_id, "CLIENT_SCOPE", values)
                self.store.record("attributes", ", ".join(sorted(values)), device_id=info.device_id,
                                  client_id=client_id)
        except (ValueError, TypeError) as exc:
            self.store.record("bad_payload", f"{topic}: {exc}", device_id=info.device_id,
                              client_id=client_id)

    async def _provision(self, client_id: str, payload: bytes) -> None:
        try:
            request = json.loads(payload)
            if not isinstance(request, dict):
                raise ValueError("not an object")
        except ValueError:
            request = {}
        response, device_id, reason = prov.provision(self.store, request)
        kind = "provision_success" if response["status"] == prov.SUCCESS else "provision_failure"
        self.store.record(kind, reason, device_id=device_id, client_id=client_id,
                          credentials_type=response.get("credentialsType"))
        await self.send_to(client_id, prov.RESPONSE_TOPIC, json.dumps(response).encode())

    async def send_to(self, client_id: str, topic: str, data: bytes) -> None:
        """Publish to one session only (QoS 0), as ThingsBoard answers a device."""
        if self.broker is None:
            return
        entry = self.broker._sessions.get(client_id)  # noqa: SLF001 - amqtt has no per-session API
        if entry is None:
            return
        _, handler = entry
        asyncio.get_running_loop().create_task(handler.mqtt_publish(topic, data, 0, False))


class TbPlugin(BaseAuthPlugin, BaseTopicPlugin):
    """amqtt plugin: authentication and topic rules of the ThingsBoard service."""

    @dataclass
    class Config:
        """The key of the ThingsBoardRules this broker uses."""

        rules_key: str = ""

    def _rules(self) -> ThingsBoardRules | None:
        return _HOOKS.get(self.config.rules_key)

    async def authenticate(self, *, session: Session) -> bool | None:
        """Accept or refuse the CONNECT (CONNACK 5 when refused)."""
        rules = self._rules()
        return rules.authenticate(session) if rules else False

    async def on_broker_message_received(self, *, client_id: str, message: Any) -> None:
        """A device published: hand it to the rules (they store it; the broker never routes it)."""
        rules = self._rules()
        if rules and message is not None and message.topic:
            await rules.consume(client_id, message.topic, bytes(message.data or b""))

    async def topic_filtering(self, *, session: Session | None = None, topic: str | None = None,
                              action: Action | None = None) -> bool | None:
        """Allow the device's own subscriptions; consume publishes."""
        rules = self._rules()
        if rules is None or session is None or topic is None or action is None:
            return False
        return await rules.allow(session, topic, action)

    async def on_broker_client_disconnected(self, *, client_id: str, client_session: Session) -> None:
        """Forget the session (not a newer one of the same client ID that connected meanwhile)."""
        rules = self._rules()
        if rules:
            info = rules.sessions.get(client_id)
            if info is not None and info.session is client_session:
                del rules.sessions[client_id]


class TbBroker:
    """The broker and its two listeners (plain MQTT and MQTT over TLS)."""

    def __init__(self, rules: ThingsBoardRules | None, tls_context: Any, *, host: str = "127.0.0.1",
                 mqtt_port: int = 0, mqtts_port: int = 0, key: str = "tb") -> None:
        self.rules = rules
        self.tls_context = tls_context  # a callable returning the current ssl.SSLContext
        self.host, self.mqtt_port, self.mqtts_port = host, mqtt_port, mqtts_port
        self.key = key
        self.broker: Broker | None = None
        self._servers: list[asyncio.Server] = []
        self._tasks: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        """Start amqtt and bind the listeners; ports 0 become the ports the OS picked."""
        # amqtt's DEBUG lines show whole CONNECT packets (user name = access token, password):
        # keep them off even when a run turns DEBUG logging on.
        amqtt_log = logging.getLogger("amqtt")
        if amqtt_log.getEffectiveLevel() < logging.INFO:
            amqtt_log.setLevel(logging.INFO)
        external = {"type": "external", "bind": "external"}
        if self.rules is not None:
            _HOOKS[self.key] = self.rules
            plugins: dict[str, Any] = {f"{__name__}.TbPlugin": {"rules_key": self.key}}
        else:  # the bare broker (benchmarks): anyone may connect
            plugins = {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}}
        config = {"listeners": {"default": external, "tls": external}, "plugins": plugins}
        self.broker = Broker(config)
        if self.rules is not None:
            self.rules.broker = self.broker
            self.rules.loop = asyncio.get_running_loop()
        await self.broker.start()
        plain = await asyncio.start_server(self._plain, self.host, self.mqtt_port)
        tls = await asyncio.start_server(self._tls, self.host, self.mqtts_port)
        self._servers = [plain, tls]
        self.mqtt_port = plain.sockets[0].getsockname()[1]
        self.mqtts_port = tls.sockets[0].getsockname()[1]

    def _track(self) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _plain(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._track()
        assert self.broker is not None
        with contextlib.suppress(Exception):
            await self.broker.external_connected(StreamReaderAdapter(reader), StreamWriterAdapter(writer),
                                                 "default")

    async def _tls(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._track()
        assert self.broker is not None
        stream = TlsStream(reader, writer, self.tls_context())
        try:
            await asyncio.wait_for(stream.handshake(), HANDSHAKE_TIMEOUT)
        except (ssl.SSLError, OSError, TimeoutError) as exc:
            if self.rules is not None:
                self.rules.store.record("tls_refused", _handshake_reason(exc), transport="tls")
            await stream.close()
            return
        with contextlib.suppress(Exception):
            await self.broker.external_connected(TlsReader(stream), TlsWriter(stream), "tls")

    async def stop(self) -> None:
        """Close the listeners, the connections and the broker."""
        for server in self._servers:
            server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
        if self.broker is not None:
            with contextlib.suppress(Exception):
                await self.broker.shutdown()
        _HOOKS.pop(self.key, None)
        if self.rules is not None:
            self.rules.store.remove_listener(self.rules._on_event)  # noqa: SLF001
