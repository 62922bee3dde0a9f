"""Timings and identity of the virtual client, from the firmware manifest and the environment."""

from __future__ import annotations

import os
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.errors import HilError
from harness.transport.registry import NETWORKS

ENV_BACKOFF_BASE = "HIL_SIM_BACKOFF_BASE"
ENV_REQUEST_TIMEOUT = "HIL_SIM_REQUEST_TIMEOUT"
DEFAULT_LIFETIME = 86400
MIN_LIFETIME = 60
DEFAULT_BACKOFF_BASE = 10.0
DEFAULT_BACKOFF_CAP = 4 * 3600.0
DEFAULT_REQUEST_TIMEOUT = 45.0


def firmware_value(firmware: Any, key: str, default: Any = None) -> Any:
    """`key` of a manifest given as a mapping or an object with attributes."""
    if isinstance(firmware, Mapping):
        return firmware.get(key, default)
    if hasattr(firmware, key):
        return getattr(firmware, key)
    manifest = getattr(firmware, "manifest", None)
    if isinstance(manifest, Mapping):
        return manifest.get(key, default)
    return default


def _number(source: str, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise HilError(f"{source} is {value!r}, not a number of seconds; set a number like 0.05.") from None
    if number < 0:
        raise HilError(f"{source} is negative ({number}); set zero or more seconds.")
    return number


@dataclass(frozen=True)
class ClientSettings:
    """What the client reads from its firmware: version, mode, transport and timings."""

    client_version: str
    mode: str
    transport: str
    endpoint_type: str
    lifetime: int
    min_lifetime: int
    queue_mode: bool
    backoff_base: float
    backoff_cap: float
    request_timeout: float

    @classmethod
    def from_firmware(cls, firmware: Any, environ: Mapping[str, str] | None = None) -> ClientSettings:
        """Settings of `firmware` (manifest), with HIL_SIM_* environment overrides."""
        env = os.environ if environ is None else environ
        transport = str(firmware_value(firmware, "transport", "tcp") or "tcp").lower()
        if transport not in NETWORKS:
            raise HilError(f"Firmware transport {transport!r} is unknown; use one of "
                           f"{', '.join(NETWORKS)}.")
        base = firmware_value(firmware, "backoff_base", DEFAULT_BACKOFF_BASE)
        if env.get(ENV_BACKOFF_BASE):
            base = env[ENV_BACKOFF_BASE]
        timeout = firmware_value(firmware, "request_timeout", DEFAULT_REQUEST_TIMEOUT)
        if env.get(ENV_REQUEST_TIMEOUT):
            timeout = env[ENV_REQUEST_TIMEOUT]
        lifetime = int(firmware_value(firmware, "lifetime", DEFAULT_LIFETIME) or DEFAULT_LIFETIME)
        return cls(
            client_version=str(firmware_value(firmware, "client_version", "4.13.4")),
            mode=str(firmware_value(firmware, "mode", "developer")),
            transport=transport,
            endpoint_type=str(firmware_value(firmware, "endpoint_type", "default") or ""),
            lifetime=max(lifetime, 1),
            min_lifetime=max(1, int(firmware_value(firmware, "min_lifetime", MIN_LIFETIME))),
            queue_mode=bool(firmware_value(firmware, "queue_mode", False)),
            backoff_base=_number("Back-off base", base),
            backoff_cap=_number("Back-off cap",
                                firmware_value(firmware, "backoff_cap", DEFAULT_BACKOFF_CAP)),
            request_timeout=_number("Request timeout", timeout) or DEFAULT_REQUEST_TIMEOUT,
        )


class Backoff:
    """Exponential back-off: base x 2^n with +-10 % jitter, capped."""

    def __init__(self, base: float, cap: float, rng: random.Random | None = None) -> None:
        """Start at `base` seconds, never exceed `cap`."""
        self.base = base
        self.cap = cap
        self.attempt = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        """The delay before the next attempt (and count this attempt)."""
        delay = min(self.cap, self.base * (2 ** min(self.attempt, 32)))
        self.attempt += 1
        return delay * self._rng.uniform(0.9, 1.1)

    def reset(self) -> None:
        """Forget earlier failures (after a success)."""
        self.attempt = 0

    def rebootstrap_delay(self) -> float:
        """The re-bootstrap wait: random 20-100 s at the default base (2x-10x the base)."""
        return self._rng.uniform(2.0, 10.0) * self.base
