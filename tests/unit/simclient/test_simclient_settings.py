"""The virtual client's timings: back-off and settings from the firmware manifest."""

from __future__ import annotations

import pytest

from harness.sim.client.settings import Backoff, ClientSettings


def test_backoff_doubles_with_jitter_and_cap():
    backoff = Backoff(1.0, 5.0)
    delays = [backoff.next_delay() for _ in range(5)]
    assert 0.9 <= delays[0] <= 1.1 and 1.8 <= delays[1] <= 2.2 and 3.6 <= delays[2] <= 4.4
    assert all(d <= 5.5 for d in delays[3:])
    backoff.reset()
    assert backoff.next_delay() <= 1.1
    assert all(20 <= Backoff(10.0, 100.0).rebootstrap_delay() <= 100 for _ in range(50))


def test_settings_from_manifest_and_environment():
    settings = ClientSettings.from_firmware({"client_version": "4.12.0", "transport": "udp"},
                                            {"HIL_SIM_BACKOFF_BASE": "0.5"})
    assert (settings.client_version, settings.transport, settings.backoff_base) == ("4.12.0", "udp", 0.5)
    assert settings.lifetime == 86400 and settings.min_lifetime == 60
    with pytest.raises(Exception, match="transport"):
        ClientSettings.from_firmware({"transport": "sms"}, {})
    with pytest.raises(Exception, match="number"):
        ClientSettings.from_firmware({}, {"HIL_SIM_BACKOFF_BASE": "soon"})
