"""A light LwM2M client for e2e scenarios that need many endpoints or exact timing (the unit tests'
lab client over the real transports), so a documented number is asserted without 100 board boots."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "cloud"))

from lab_client import DEFAULT_LINKS, BootstrapFailed, LabDevice, Provisioned  # noqa: E402

__all__ = ["DEFAULT_LINKS", "BootstrapFailed", "LabDevice", "Provisioned", "run"]

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
    """Run one scenario coroutine on a fresh event loop (the service runs on its own)."""
    async def bounded() -> T:
        async with asyncio.timeout(timeout):
            return await coro
    return asyncio.run(bounded())
