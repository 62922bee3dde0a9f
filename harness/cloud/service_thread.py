"""Run the Device Management service in a background thread with its own event loop."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.cloud.service import DeviceManagementService, ServiceError
from harness.config import ServiceConfig
from harness.service_runner import ServiceRunner


class ServiceThread(ServiceRunner[DeviceManagementService]):
    """A DeviceManagementService on a daemon thread; start() returns once it listens."""

    def __init__(self, config: ServiceConfig | None = None, data_dir: Path | None = None,
                 **service_kwargs: Any) -> None:
        super().__init__(DeviceManagementService(config, data_dir, **service_kwargs),
                         what="Device Management service", thread_name="dm-service",
                         error=ServiceError)
