"""The virtual board's Device Management Client (bootstrap, registration, serving /3/0).

Public API::

    client = DeviceClient(store, firmware, console, platform)
    await client.run()          # until cancelled (power off) or de-registered
    await client.deregister()   # graceful DELETE of the registration, ends run()
    client.registered (asyncio.Event), client.device_id, client.endpoint_name
"""

from harness.sim.client.device_client import DeviceClient
from harness.sim.client.settings import ENV_BACKOFF_BASE, ENV_REQUEST_TIMEOUT, ClientSettings

__all__ = ["ENV_BACKOFF_BASE", "ENV_REQUEST_TIMEOUT", "ClientSettings", "DeviceClient"]
