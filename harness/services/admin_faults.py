"""Fault injection through a service's admin API (the local service, or `hil cloud serve`)."""

from __future__ import annotations

from harness.cloud.records import Device
from harness.services.admin_client import AdminClient
from harness.services.base import Faults


class AdminFaults(Faults):
    """Fault injection through the admin API of a service (local, or `hil cloud serve`)."""

    def __init__(self, admin: AdminClient) -> None:
        self.admin = admin

    def inject_bootstrap_error(self, code: str = "5.00", text: str = "Internal error #1",
                               count: int = 1, endpoint_name: str | None = None) -> None:
        """Answer the next `count` Bootstrap-Requests (of `endpoint_name`, or any: on a service
        shared by test workers, name it) with `code` and `text`."""
        self.admin.inject_bootstrap_error(code, text, count, endpoint_name)

    def fail_store(self, stage: str = "directory", count: int = 1,
                   endpoint_name: str | None = None) -> None:
        """Make the service's store fail at `stage` ("directory": deciding the Bootstrap-Request,
        "credentials": issuing the LwM2M credentials) for the next `count` Bootstrap-Requests."""
        self.admin.fail_store(stage, count, endpoint_name)

    def fail_lwm2m_handshakes(self, count: int = 1) -> None:
        """The LwM2M server refuses the next `count` TLS handshakes."""
        self.admin.fail_lwm2m_handshakes(count)

    def add_directory_entry(self, account_id: str, endpoint_name: str, *,
                            device_key: str | None = None) -> Device:
        """Put a device record straight into the directory."""
        return self.admin.add_directory_entry(account_id, endpoint_name, device_key=device_key)
