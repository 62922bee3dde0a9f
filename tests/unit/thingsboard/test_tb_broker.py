"""Broker sessions: a client ID that reconnects at once keeps its new session's identity."""

from __future__ import annotations

import threading

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from harness.services.thingsboard.client import TbRestClient
from harness.services.thingsboard.service import TbServiceThread


@pytest.fixture(scope="module")
def service():
    thread = TbServiceThread()
    yield thread.start()
    thread.stop()


def _session(port: int, client_id: str, user: str) -> paho.Client:
    connected = threading.Event()
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv311)
    client.on_connect = lambda *_a: connected.set()
    client.username_pw_set(user)
    client.connect("127.0.0.1", port)
    client.loop_start()
    assert connected.wait(5), "no CONNACK"
    return client


def test_provisioning_then_device_session_with_the_same_client_id(service):
    """The device reuses its client ID right after the provisioning session: its data still counts
    (the old session's disconnect must not forget the new one)."""
    rest = TbRestClient(service.rest_url, service.config.tenant_username, service.config.tenant_password)
    device = rest.create_device("same-id", "SAME-ID-TOKEN")
    all_five = threading.Event()
    seen: list[str] = []

    def on_event(event) -> None:
        if event.type == "telemetry" and event.device_id == device["id"]["id"]:
            seen.append(event.reason)
            if len(seen) == 5:
                all_five.set()

    service.store.add_listener(on_event)
    port = service.broker.mqtt_port
    for round_ in range(5):
        first = _session(port, "same-client", "provision")
        first.disconnect()
        first.loop_stop()
        second = _session(port, "same-client", "SAME-ID-TOKEN")
        second.publish("v1/devices/me/telemetry", f'{{"round": {round_}}}', qos=1).wait_for_publish(5)
        second.disconnect()
        second.loop_stop()
    assert all_five.wait(5), f"telemetry of {len(seen)} of 5 sessions was kept"
    service.store.remove_listener(on_event)
    rest.close()
