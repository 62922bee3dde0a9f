"""One MQTT connection of the device (paho-mqtt, MQTT 3.1.1), driven from asyncio.

paho's network loop runs on its own thread; its callbacks are handed to the asyncio loop.
The device speaks TLS 1.2 at most, as the Mbed TLS based boards do.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
import tempfile
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from harness.errors import HilError

CONNECT_TIMEOUT = 10.0
# MQTT 3.1.1 CONNACK return codes; paho reports them as MQTT 5 reason codes
CONNACK_311 = {132: 1, 133: 2, 136: 3, 134: 4, 135: 5}
CONNACK_TEXT = {1: "unacceptable protocol version", 2: "identifier rejected", 3: "server unavailable",
                4: "bad user name or password", 5: "not authorised"}


class ConnectRefused(Exception):
    """The server answered CONNACK with a refusal code."""

    def __init__(self, code: int) -> None:
        super().__init__(f"CONNACK {code} ({CONNACK_TEXT.get(code, 'refused')})")
        self.code = code


class TransportFailed(Exception):
    """TCP or TLS failed before a CONNACK (the reason is the message)."""


@dataclass(frozen=True)
class Endpoint:
    """Where the server is: host, port, and whether it is MQTT over TLS."""

    host: str
    port: int
    tls: bool

    @classmethod
    def parse(cls, uri: str) -> Endpoint:
        """mqtt://host:port or mqtts://host:port; HilError otherwise."""
        parts = urlsplit(uri)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise HilError(f"tb.ServerURI {uri!r} is not mqtt://host:port or mqtts://host:port; "
                           "provision a valid URI.")
        return cls(parts.hostname, parts.port or (8883 if parts.scheme == "mqtts" else 1883),
                   parts.scheme == "mqtts")


def tls_context(ca_der: bytes | None, cert_pem: bytes | None, key_pem: bytes | None) -> ssl.SSLContext:
    """The device's TLS context: verify the server with its CA; present a certificate if it has one."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if ca_der:
        ctx.load_verify_locations(cadata=ca_der)
    if cert_pem and key_pem:
        with tempfile.TemporaryDirectory(prefix="tb-dev-") as tmp:  # paho/ssl need files; removed at once
            cert_file, key_file = os.path.join(tmp, "c.pem"), os.path.join(tmp, "k.pem")
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(key_pem)
            with open(cert_file, "wb") as fh:
                fh.write(cert_pem)
            ctx.load_cert_chain(cert_file, key_file)
    return ctx


class MqttSession:
    """Connect, publish, subscribe and wait for messages on one connection.

    The network loop is our own thread calling paho's `loop()` (paho's `loop_start` would
    reconnect by itself); closing stops it without waiting, so the application stops at once.
    """

    def __init__(self, endpoint: Endpoint, client_id: str, *, user: str | None = None,
                 password: str | None = None, tls: ssl.SSLContext | None = None) -> None:
        self.endpoint = endpoint
        self._client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                   protocol=paho.MQTTv311, clean_session=True)
        if user is not None:
            self._client.username_pw_set(user, password)
        if tls is not None:
            self._client.tls_set_context(tls)
        self._loop = asyncio.get_running_loop()
        self._connack: asyncio.Future[int] = self._loop.create_future()
        self._published: dict[int, asyncio.Future[None]] = {}
        self.messages: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
        self.closed = asyncio.Event()
        self._stop = threading.Event()
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._client.on_publish = self._on_publish

    def _soon(self, func: Any, *args: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the board's loop already ended
            self._loop.call_soon_threadsafe(func, *args)

    def _on_connect(self, _c: Any, _u: Any, _f: Any, reason: Any, _p: Any = None) -> None:
        value = int(getattr(reason, "value", reason))
        self._soon(_settle, self._connack, CONNACK_311.get(value, value))

    def _on_message(self, _c: Any, _u: Any, msg: Any) -> None:
        self._soon(self.messages.put_nowait, (msg.topic, bytes(msg.payload)))

    def _on_publish(self, _c: Any, _u: Any, mid: int, *_rest: Any) -> None:
        self._soon(self._published_ack, mid)

    def _published_ack(self, mid: int) -> None:
        future = self._published.pop(mid, None)
        if future is not None:
            _settle(future, None)

    def _pump(self) -> None:
        while not self._stop.is_set():
            if self._client.loop(timeout=0.1) != paho.MQTT_ERR_SUCCESS:
                break
        self._soon(self._lost)

    def _lost(self) -> None:
        self.closed.set()
        if not self._connack.done():
            self._connack.set_exception(TransportFailed("connection closed before CONNACK"))
        for future in self._published.values():
            if not future.done():
                future.set_exception(TransportFailed("connection lost"))
        self._published.clear()

    async def connect(self) -> None:
        """Open TCP (+TLS), send CONNECT, wait for CONNACK; ConnectRefused or TransportFailed."""
        try:
            await asyncio.to_thread(self._client.connect, self.endpoint.host, self.endpoint.port, 60)
        except ssl.SSLError as exc:
            raise TransportFailed(f"TLS handshake failed: {exc.reason or exc}") from None
        except OSError as exc:
            raise TransportFailed(f"cannot reach the server: {exc.strerror or exc}") from None
        threading.Thread(target=self._pump, name="tb-mqtt", daemon=True).start()
        try:
            code = await asyncio.wait_for(asyncio.shield(self._connack), CONNECT_TIMEOUT)
        except TimeoutError:
            raise TransportFailed(f"no CONNACK within {CONNECT_TIMEOUT:g} s") from None
        if code != 0:
            raise ConnectRefused(code)

    async def publish(self, topic: str, payload: bytes, qos: int = 1) -> None:
        """Publish and wait for the PUBACK (QoS 1) or until it is written (QoS 0)."""
        future: asyncio.Future[None] = self._loop.create_future()
        info = self._client.publish(topic, payload, qos=qos)
        if info.rc != paho.MQTT_ERR_SUCCESS:
            raise TransportFailed(f"publish failed ({paho.error_string(info.rc)})")
        self._published[info.mid] = future
        if info.is_published():
            self._published_ack(info.mid)
        try:
            await asyncio.wait_for(future, CONNECT_TIMEOUT)
        except TimeoutError:
            raise TransportFailed(f"no PUBACK within {CONNECT_TIMEOUT:g} s") from None

    def subscribe(self, topic: str, qos: int = 1) -> None:
        """Subscribe (the SUBACK is not awaited)."""
        self._client.subscribe(topic, qos)

    async def close(self) -> None:
        """Disconnect and stop the network thread (it ends within 0.1 s; not waited for)."""
        with contextlib.suppress(Exception):
            self._client.disconnect()
        self._stop.set()


def _settle(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)
