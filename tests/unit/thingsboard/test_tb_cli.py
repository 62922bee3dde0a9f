"""`hil tb ...` mistakes end in one sentence (no traceback); telemetry payload shapes."""

from __future__ import annotations

import pytest

from harness.cli import main as hil
from harness.services.thingsboard.broker import parse_telemetry


def test_no_running_service_is_one_sentence(tmp_path, capsys):
    assert hil(["tb", "credentials", "dev", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "No running ThingsBoard service found" in err and "hil tb serve" in err
    assert "Traceback" not in err


def test_x509_chain_profile_needs_a_ca(tmp_path, capsys):
    assert hil(["tb", "create-profile", "p", "--strategy", "x509-chain", "--data-dir", str(tmp_path)]) == 2
    assert "needs --ca FILE" in capsys.readouterr().err


def test_unreachable_service_is_one_sentence(capsys):
    assert hil(["tb", "events", "--url", "http://127.0.0.1:9"]) == 2
    assert "Cannot reach the ThingsBoard service" in capsys.readouterr().err


@pytest.mark.parametrize(("payload", "expected"), [
    (b'{"t": 1}', [(None, {"t": 1})]),
    (b'{"ts": 5, "values": {"t": 2}}', [(5, {"t": 2})]),
    (b'[{"t": 1}, {"ts": 6, "values": {"u": 3}}]', [(None, {"t": 1}), (6, {"u": 3})]),
])
def test_telemetry_shapes(payload, expected):
    assert parse_telemetry(payload) == expected


def test_telemetry_must_be_objects():
    with pytest.raises(ValueError):
        parse_telemetry(b"[1, 2]")
