"""The `thingsboard:` section of the lab config and the device's server URI."""

from __future__ import annotations

import pytest

from harness.config import ConfigError, parse_lab_config
from harness.errors import HilError
from harness.sim.tb_client.mqtt import Endpoint


def test_default_lab_has_the_thingsboard_service():
    from harness.config import load_lab_config

    config = load_lab_config()
    assert config.thingsboard is not None and config.thingsboard.enabled


def test_thingsboard_section_mistakes_are_one_line_each():
    text = "thingsboard:\n  mqtt_port: 70000\n  colour: blue\n  rest_port: 1883\n  mqtts_port: 1883\n"
    with pytest.raises(ConfigError) as err:
        parse_lab_config(text)
    problems = err.value.problems
    assert any(p.startswith("thingsboard.mqtt_port (line 2)") for p in problems)
    assert any("thingsboard.colour (line 3): unknown key" in p for p in problems)


def test_fixed_ports_must_differ():
    with pytest.raises(ConfigError, match="must differ"):
        parse_lab_config("thingsboard:\n  rest_port: 1883\n  mqtts_port: 1883\n")


def test_a_lab_may_run_without_the_thingsboard_service():
    assert parse_lab_config("boards: []\n").thingsboard is None


@pytest.mark.parametrize(("uri", "expected"), [
    ("mqtt://127.0.0.1:1883", Endpoint("127.0.0.1", 1883, False)),
    ("mqtts://localhost", Endpoint("localhost", 8883, True)),
    ("mqtts://[::1]:9000", Endpoint("::1", 9000, True)),
])
def test_server_uri(uri, expected):
    assert Endpoint.parse(uri) == expected


def test_bad_server_uri_is_one_sentence():
    with pytest.raises(HilError, match="tb.ServerURI 'coap://x' is not mqtt://"):
        Endpoint.parse("coap://x")
