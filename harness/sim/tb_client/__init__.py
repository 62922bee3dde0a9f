"""The virtual board's ThingsBoard device application (MQTT with paho-mqtt).

A firmware image whose console dialect is `thingsboard_device` runs this application instead of
the Device Management Client (the dispatch is one `if` in harness.sim.runtime).
"""

from __future__ import annotations

from typing import Any

DIALECT = "thingsboard_device"


def is_thingsboard_image(image: Any) -> bool:
    """True when the image's manifest names the ThingsBoard device application's dialect."""
    return getattr(image, "manifest", {}).get("dialect") == DIALECT
