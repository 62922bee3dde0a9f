"""The `thingsboard:` section: the local ThingsBoard-style device service."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from harness.config.common import Port, StrictModel


class ThingsBoardConfig(StrictModel):
    """The local ThingsBoard-style device service: MQTT (plain + TLS) and its REST subset."""

    enabled: bool = Field(True, description="start it in `hil run` and the ThingsBoard scenarios")
    host: str = "127.0.0.1"
    mqtt_port: Port = Field(0, description="plain MQTT (ThingsBoard: 1883)")
    mqtts_port: Port = Field(0, description="MQTT over TLS, one-way or two-way (ThingsBoard: 8883)")
    rest_port: Port = 0
    data_dir: Path | None = Field(None, description="SQLite + CA keys; default: a per-run temp dir")
    tenant_username: str = Field("tenant@thingsboard.org", min_length=1)
    tenant_password: str = Field("tenant", min_length=1, repr=False)

    @model_validator(mode="after")
    def _distinct_ports(self) -> ThingsBoardConfig:
        fixed = [p for p in (self.mqtt_port, self.mqtts_port, self.rest_port) if p]
        if len(fixed) != len(set(fixed)):
            raise ValueError("mqtt_port, mqtts_port and rest_port must differ (or be 0)")
        return self

