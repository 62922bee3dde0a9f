"""The `service:` section: how the Device Management service runs and which one the suite uses."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from harness.config.bootstrap_config import BootstrapConfig
from harness.config.common import Port, Seconds, StrictModel, TransportName


class RateLimit(StrictModel):
    """Registration rate limit: more than `count` operations in `window` s -> held `hold` s."""

    count: int = Field(10, ge=1)
    window: Seconds = 10.0
    hold: Seconds = 60.0


class Timing(StrictModel):
    """Timings the real service fixes, configurable so tests can shorten them."""

    lifetime_min: Seconds = 60.0
    lifetime_max: Seconds = 72 * 3600.0
    lifetime_default: Seconds = 86400.0
    rate_limit: RateLimit = RateLimit()
    lwm2m_credential_validity: Seconds = 30 * 86400.0
    expiry_check_interval: Seconds = 1.0

    @model_validator(mode="after")
    def _bounds(self) -> Timing:
        if self.lifetime_min > self.lifetime_max:
            raise ValueError("lifetime_min must not exceed lifetime_max")
        return self


class ServerPorts(StrictModel):
    """Ports of one CoAP server (bootstrap or LwM2M), one per transport."""

    tls_record: Port = 0
    tcp_length: Port | None = None
    udp: Port | None = 0
    dtls: Port | None = 0


class PskKey(StrictModel):
    """One PSK device: its identity, its key (hex) and, optionally, its endpoint name."""

    identity: str = Field(min_length=1, max_length=128)
    key: str = Field(pattern=r"^([0-9A-Fa-f]{2}){8,64}$", description="the key in hex, 8-64 bytes")
    endpoint: str | None = None

    def __repr__(self) -> str:  # never show the key
        return f"PskKey(identity={self.identity!r}, key=<redacted>)"


class StandardMode(StrictModel):
    """Standard LwM2M clients: which account NoSec and PSK devices belong to, and PSK keys."""

    account: str | None = Field(None, description="account name (created if missing) NoSec and "
                                                  "PSK devices join; none = NoSec refused")
    psk: list[PskKey] = []


class StreamConfig(StrictModel):
    """Bounds on tls-record and tcp-length connections (harness.transport.limits)."""

    idle_timeout: Seconds = Field(1350.0, description="close a connection silent this long "
                                  "(the real client pings every 540 s)")
    first_message_timeout: Seconds = Field(30.0, description="close a connection that sent no "
                                           "CoAP message this long after it opened")
    max_connections: int | None = Field(None, ge=1, description="open connections over all "
                                        "stream listeners; default: half the open-file limit")


class Retention(StrictModel):
    """What peers can make the service write, and how long it keeps it (harness.cloud.retention)."""

    refusals_per_minute: int = Field(600, ge=1, description="refusals recorded as a denial + "
                                     "an event; more are counted in one summary denial")
    refusal_burst: int = Field(30, ge=1, description="refusals recorded at once before the rate "
                               "applies")
    log_lines_per_minute: int = Field(60, ge=1, description="lines per message template a minute "
                                      "from the loggers peers can trigger")
    max_denials: int = Field(10000, ge=1, description="denial rows kept (oldest deleted first)")
    max_events: int = Field(100000, ge=1, description="event rows kept (oldest deleted first)")
    max_age_days: float = Field(30.0, gt=0, description="denials and events older are deleted")
    prune_interval: Seconds = 60.0


class ServiceConfig(StrictModel):
    """The Device Management service: how `hil cloud serve` and the in-process service run, and
    which one the suite uses (`kind`: local = in-process, remote = one started elsewhere)."""

    kind: Literal["local", "remote"] = Field(
        "local", description="local: the suite starts the service in-process; remote: it uses a "
                             "running `hil cloud serve` (url + operator_key_file, or data_dir)")
    url: str | None = Field(None, description="remote: the REST API base URL, http://host:port")
    operator_key_file: Path | None = Field(
        None, description="remote: the service's operator-key file (default <data_dir>/operator-key)")
    host: str = "127.0.0.1"
    transports: list[TransportName] = ["tls-record", "udp", "dtls"]
    bootstrap: ServerPorts = ServerPorts()
    lwm2m: ServerPorts = ServerPorts()
    rest_port: Port = 0
    stream: StreamConfig = StreamConfig()
    retention: Retention = Retention()
    data_dir: Path | None = Field(None, description="SQLite + CA keys; default: a per-run temp dir")
    timing: Timing = Timing()
    standard: StandardMode = StandardMode()
    bootstrap_config: BootstrapConfig = Field(
        BootstrapConfig(), description="what the bootstrap server does before Bootstrap-Finish, "
                                       "for accounts without their own (harness.config.bootstrap_config)")

    @field_validator("transports")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("lists a transport twice")
        if not value:
            raise ValueError("needs at least one transport")
        return value

    @model_validator(mode="after")
    def _service_kind(self) -> ServiceConfig:
        if self.kind == "local" and (self.url or self.operator_key_file):
            raise ValueError("url and operator_key_file are for a remote service; set kind: remote "
                             "or remove them")
        if self.kind == "remote":
            if not self.url and self.data_dir is None:
                raise ValueError("a remote service needs url (its REST API) or data_dir (where "
                                 "`hil cloud serve` keeps its state on this host); add one")
            if self.url and not self.url.startswith(("http://", "https://")):
                raise ValueError(f"url {self.url!r} is not an http:// or https:// URL; give the "
                                 "REST API base URL `hil cloud serve` prints")
            if self.url and self.operator_key_file is None and self.data_dir is None:
                raise ValueError("a remote service at url needs operator_key_file (the "
                                 "operator-key file in the service's data dir); add it")
        return self

