"""The ThingsBoard device application of a virtual board.

Boot: without ThingsBoard items in storage, run the factory flow (provisioning over the UART);
with a provision key and no credentials, send the device provisioning request and store what
the server returns; then connect with the credentials (access token, basic MQTT or X.509),
publish client attributes and telemetry, and stay connected. A refused or failed connect is
printed with its reason, then retried with exponential back-off.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives import serialization

from harness import pki
from harness.provisioning import thingsboard as tb
from harness.provisioning.der import split_der_chain
from harness.provisioning.store import ItemStore
from harness.sim.client.settings import ENV_BACKOFF_BASE, Backoff
from harness.sim.tb_client.mqtt import ConnectRefused, Endpoint, MqttSession, TransportFailed, tls_context

BOOT_LINE = "ThingsBoard device firmware {version}"
TELEMETRY_TOPIC = "v1/devices/me/telemetry"
ATTRIBUTES_TOPIC = "v1/devices/me/attributes"
PROVISION_REQUEST = "/provision/request"
PROVISION_RESPONSE = "/provision/response"
DEFAULT_BACKOFF_BASE = 1.0
BACKOFF_CAP = 60.0
TELEMETRY_PERIOD = 5.0
PROVISION_TIMEOUT = 10.0
Console = Callable[[str], None]


def has_tb_items(store: ItemStore) -> bool:
    """True once the factory gave the device its ThingsBoard server."""
    return tb.SERVER_URI in store


def credential_kind(store: ItemStore) -> str | None:
    """Which credentials the store holds: X509_CERTIFICATE, MQTT_BASIC, ACCESS_TOKEN or None."""
    if tb.DEVICE_CERT in store and tb.DEVICE_PRIVATE_KEY in store:
        return "X509_CERTIFICATE"
    if tb.CLIENT_ID in store or tb.USER_NAME in store:
        return "MQTT_BASIC"
    if tb.ACCESS_TOKEN in store:
        return "ACCESS_TOKEN"
    return None


class TbDevice:
    """The application: provisioning request (if needed), then connect / publish / retry."""

    def __init__(self, store: ItemStore, console: Console, *, board_id: str, version: str,
                 backoff_base: float) -> None:
        self.store = store
        self.console = console
        self.board_id = board_id
        self.version = version
        self.backoff = Backoff(backoff_base, BACKOFF_CAP)
        self.endpoint = Endpoint.parse(store.get_str(tb.SERVER_URI) or "")
        self.client_id = store.get_str(tb.CLIENT_ID) or f"{board_id}-{secrets.token_hex(3)}"

    # --- TLS material ----------------------------------------------------------------------------
    def _tls(self, with_cert: bool) -> Any:
        if not self.endpoint.tls:
            return None
        ca = self.store.get(tb.SERVER_CA_CERT)
        cert_pem = key_pem = None
        if with_cert and tb.DEVICE_CERT in self.store:
            certs = [pki.load_certificate(c) for c in split_der_chain(self.store.get(tb.DEVICE_CERT) or b"")]
            cert_pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)
            key = pki.load_private_key(self.store.get(tb.DEVICE_PRIVATE_KEY) or b"")
            key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
        return tls_context(ca, cert_pem, key_pem)

    def _session(self, kind: str | None) -> MqttSession:
        if kind is None:  # the provisioning session
            return MqttSession(self.endpoint, self.client_id, user="provision", tls=self._tls(False))
        if kind == "X509_CERTIFICATE":
            return MqttSession(self.endpoint, self.client_id, tls=self._tls(True))
        if kind == "MQTT_BASIC":
            return MqttSession(self.endpoint, self.client_id, user=self.store.get_str(tb.USER_NAME),
                               password=self.store.get_str(tb.PASSWORD), tls=self._tls(False))
        return MqttSession(self.endpoint, self.client_id, user=self.store.get_str(tb.ACCESS_TOKEN),
                           tls=self._tls(False))

    async def _retry(self, why: str) -> None:
        self.console(f"TB: {why}")
        delay = self.backoff.next_delay()
        self.console(f"TB: retrying in {delay:.1f} s")
        await asyncio.sleep(delay)

    # --- provisioning request --------------------------------------------------------------------
    async def provision(self) -> bool:
        """Send the provisioning request until it is answered; True when credentials were stored."""
        name = self.store.get_str(tb.DEVICE_NAME) or self.board_id
        request = {"deviceName": name, "provisionDeviceKey": self.store.get_str(tb.PROVISION_DEVICE_KEY),
                   "provisionDeviceSecret": self.store.get_str(tb.PROVISION_DEVICE_SECRET)}
        while True:
            self.console(f"TB: provisioning {name} at {self.endpoint.host}:{self.endpoint.port}")
            session = self._session(None)
            try:
                await session.connect()
                session.subscribe(PROVISION_RESPONSE)
                await session.publish(PROVISION_REQUEST, json.dumps(request).encode())
                _, payload = await asyncio.wait_for(session.messages.get(), PROVISION_TIMEOUT)
            except (TimeoutError, ConnectRefused, TransportFailed) as exc:
                await session.close()
                await self._retry(f"provisioning request failed: {exc or 'no response'}")
                continue
            await session.close()
            return self._store_provisioned(name, json.loads(payload))

    def _store_provisioned(self, name: str, response: dict[str, Any]) -> bool:
        status = response.get("status")
        if status != "SUCCESS":
            self.console(f"TB: provisioning failed: {status} ({response.get('errorMsg', '')})")
            return False
        kind, value = response.get("credentialsType"), response.get("credentialsValue")
        if kind == "ACCESS_TOKEN" and isinstance(value, str):
            self.store.put(tb.ACCESS_TOKEN, value.encode(), factory=False)
        elif kind == "MQTT_BASIC" and isinstance(value, dict):
            pairs = ((tb.CLIENT_ID, "clientId"), (tb.USER_NAME, "userName"), (tb.PASSWORD, "password"))
            for item, key in pairs:
                if value.get(key):
                    self.store.put(item, str(value[key]).encode(), factory=False)
        elif kind != "X509_CERTIFICATE":
            self.console(f"TB: provisioning failed: unusable credentials type {kind}")
            return False
        self.console(f"TB: provisioned {name} (credentialsType {kind})")
        return True

    # --- connected life --------------------------------------------------------------------------
    async def run(self) -> None:
        """Provision if needed, then stay connected (reconnecting with back-off)."""
        if credential_kind(self.store) is None:
            if tb.PROVISION_DEVICE_KEY not in self.store:
                self.console("TB: no credentials and no provision key; provision the device.")
                return
            if not await self.provision():
                return
        kind = credential_kind(self.store)
        while True:
            self.console(f"TB: connecting to {'mqtts' if self.endpoint.tls else 'mqtt'}://"
                         f"{self.endpoint.host}:{self.endpoint.port} with {kind}")
            session = self._session(kind)
            try:
                await session.connect()
            except ConnectRefused as exc:
                await session.close()
                await self._retry(f"connection refused: {exc}")
                continue
            except TransportFailed as exc:
                await session.close()
                await self._retry(str(exc))
                continue
            self.backoff.reset()
            self.console("TB: connected (CONNACK 0)")
            try:
                await self._online(session)
            except TransportFailed:
                pass  # the broker dropped the connection mid-publish: reconnect, as after any loss
            finally:
                await session.close()
            await self._retry("connection lost")

    async def _online(self, session: MqttSession) -> None:
        session.subscribe(ATTRIBUTES_TOPIC)
        attributes = {"firmwareVersion": self.version, "board": self.board_id}
        await session.publish(ATTRIBUTES_TOPIC, json.dumps(attributes).encode())
        self.console("TB: attributes published")
        count = 0
        while not session.closed.is_set():
            count += 1
            await session.publish(TELEMETRY_TOPIC, json.dumps({"uptimeCount": count,
                                                               "temperature": 21.5}).encode())
            self.console(f"TB: telemetry published ({count})")
            try:
                await asyncio.wait_for(session.closed.wait(), TELEMETRY_PERIOD)
            except TimeoutError:
                continue


async def run_thingsboard_app(runtime: Any, image: Any, console: Console) -> None:
    """The firmware entry: banner, factory flow if unprovisioned, then the device application."""
    console(BOOT_LINE.format(version=image.client_version))
    if not has_tb_items(runtime.store):
        await runtime._factory_flow(console)  # noqa: SLF001 - the board's one factory flow
    base = float(os.environ.get(ENV_BACKOFF_BASE) or DEFAULT_BACKOFF_BASE)
    device = TbDevice(runtime.store, console, board_id=runtime.board_id, version=image.client_version,
                      backoff_base=base)
    await device.run()
